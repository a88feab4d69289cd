import { createHash, randomUUID } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ArchiveLimits } from '@mecm/csar'
import type { DesiredInstance } from '@mecm/protocol'
import type { Sealer } from '@mecm/runtime'
import { ApiError, notFound } from '@mecm/runtime'
import type { RunSpec } from '../lcm/plugin'
import { PackageOnItsWay } from '../lcm/reconciler'
import type { AgentStore, StoredPackage } from '../store/store'

export interface PackageManagerOptions {
  dataDir: string
  store: AgentStore
  limits?: ArchiveLimits
  uploadLimit?: number
  trustAnchor?: string
  /** The local MEP's address, given to every app (MECM_MEP_ADDRESS). */
  mepAddress?: () => string
  /** Seals the apps' secret keys at rest. */
  sealer: Sealer
}

/**
 * Packages on this host, by content digest: a package file is streamed to disk while hashed,
 * checked as the center checks it (archive safety, manifest hashes, signature), and unpacked
 * whole under <data-dir>/packages/<digest>/ before it is recorded.
 */
export function packageManager(options: PackageManagerOptions) {
  const root = join(options.dataDir, 'packages')
  const dirOf = (digest: string) => join(root, digest)

  return {
    dirOf,

    /**
     * Adds a package from a stream; resolves to its record (the existing one for content already
     * held). `appPkgId` is the center's id for it; a package added here is known by its digest.
     */
    async add(source: Readable, appPkgId?: string): Promise<StoredPackage> {
      await mkdir(join(root, '.incoming'), { recursive: true })
      const file = join(root, '.incoming', `${randomUUID()}.csar`)
      const hash = createHash('sha256')
      let size = 0
      const max = options.uploadLimit ?? 4 * 1024 ** 3
      try {
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              size += chunk.length
              if (size > max) throw new ApiError(413, 'Content Too Large', `the package is larger than ${max} bytes`)
              hash.update(chunk)
              yield chunk
            }
          },
          createWriteStream(file),
        )
        const digest = hash.digest('hex')
        const known = options.store.packages.get(digest)
        if (known) return known
        // loaded only when a package arrives: the zip and YAML readers stay out of an idle agent's memory
        const { defaultLimits, readPackage, unpackPackage } = await import('@mecm/csar')
        const limits = options.limits ?? defaultLimits
        const content = await readPackage(file, {
          limits,
          ...(options.trustAnchor ? { trustAnchor: options.trustAnchor } : {}),
        })
        await unpackPackage(file, dirOf(digest), limits)
        options.store.packages.add({
          digest,
          appPkgId: appPkgId ?? digest.slice(0, 32),
          appClass: content.appClass,
          size,
          details: {
            appName: content.appd.appName,
            appSoftVersion: content.appd.appSoftVersion,
            exec: content.exec ?? null,
            artifacts: content.artifacts,
            appTrafficRule: content.appd.appTrafficRule,
            appDNSRule: content.appd.appDNSRule,
          },
        })
        await rename(file, join(root, `${digest}.csar`)).catch(() => undefined)
        return options.store.packages.get(digest) as StoredPackage
      } finally {
        await rm(file, { force: true })
      }
    },

    /** What a plugin needs to run an instance of a package held here. */
    async prepare(instance: DesiredInstance): Promise<Omit<RunSpec, 'instance'>> {
      const pkg = options.store.packages.get(instance.packageDigest)
      if (!pkg) {
        const wanted = options.store.wanted.list().find((ref) => ref.digest === instance.packageDigest)
        if (wanted && wanted.state !== 'FAILED')
          throw new PackageOnItsWay(`package ${instance.packageDigest} is being fetched (${wanted.state})`)
        throw notFound(`package ${instance.packageDigest} is not on this host`)
      }
      // an exec app runs from the folder of its descriptor (Artifacts/Deployment/Exec/)
      const descriptor = pkg.details.artifacts.find((artifact) => artifact.kind === 'exec')
      return {
        packageDir: descriptor ? join(dirOf(pkg.digest), dirname(descriptor.path)) : dirOf(pkg.digest),
        packageRoot: dirOf(pkg.digest),
        artifacts: pkg.details.artifacts,
        ...(pkg.details.exec ? { exec: pkg.details.exec } : {}),
        env: {
          ...(({ accessKey, secretKey }) => ({
            MECM_AK: accessKey,
            MECM_SK: secretKey,
            // a pair given as the parameters ak/sk reaches the app under those names too (the record keeps sk masked)
            ...(instance.parameters.sk === undefined ? {} : { ak: accessKey, sk: secretKey }),
          }))(options.store.credentials.forInstance(instance, options.sealer)),
          MECM_APP_INSTANCE_ID: instance.appInstanceId,
          MECM_TENANT_ID: instance.tenantId,
          ...(options.mepAddress ? { MECM_MEP_ADDRESS: options.mepAddress() } : {}),
        },
      }
    },
  }
}
export type PackageManager = ReturnType<typeof packageManager>
