import { Readable } from 'node:stream'
import type { ReadableStream } from 'node:stream/web'
import type { ArchiveLimits } from '@mecm/csar'
import { PackageError, readPackage } from '@mecm/csar'
import type { Logger } from '@mecm/runtime'
import { ApiError, conflict } from '@mecm/runtime'
import type { Store } from '../db/store'
import type { BlobStore } from './blob-store'
import type { Notifier } from './notifier'
import type { StoredPackage } from './package-store'

export interface OnboardingDeps {
  store: Store
  blobs: BlobStore
  notifier: Notifier
  log: Logger
  limits: ArchiveLimits
  uploadLimit: number
  trustAnchor?: string
}

/** While a package uploads or is checked, its record is touched this often, so other replicas see it alive. */
const HEARTBEAT_MS = 30_000
/** A package UPLOADING or PROCESSING untouched for this long was left by a stopped center. */
export const STALE_MS = 4 * HEARTBEAT_MS

type Blob = { digest: string; size: number }

/**
 * Takes package content in and onboards it: CREATED → UPLOADING → PROCESSING → ONBOARDED, or
 * ERROR with the reason. Content is streamed to the blob store and read entry by entry; on any
 * failure the content is dropped and nothing of it stays behind.
 */
export function onboarding(deps: OnboardingDeps) {
  const { store, blobs } = deps
  const inUse = (digest: string) => store.packages.digestInUse(digest)

  /** Releases a received blob and removes it when no package kept it. */
  async function settle(blob: Blob): Promise<void> {
    blobs.release(blob.digest)
    await blobs.removeUnused(blob.digest, inUse)
  }

  async function alive<T>(appPkgId: string, work: () => Promise<T>): Promise<T> {
    const heartbeat = setInterval(() => void store.packages.touch(appPkgId), HEARTBEAT_MS)
    try {
      return await work()
    } finally {
      clearInterval(heartbeat)
    }
  }

  /** Attaches received content to a package that is UPLOADING, then checks and onboards it. */
  async function process(found: StoredPackage, blob: Blob, sha256?: string | null): Promise<StoredPackage> {
    const { appPkgId, tenantId } = found.pkg
    if (sha256 && sha256 !== blob.digest) {
      const reason = `the content's SHA-256 is ${blob.digest}, not the ${sha256} given for it`
      await store.packages.failed(appPkgId, 'UPLOADING', reason)
      throw new PackageError(reason)
    }
    if (!(await store.packages.uploaded(appPkgId, blob))) {
      throw conflict(`package ${appPkgId} was changed or deleted while its content was uploading`)
    }
    let recorded: boolean
    try {
      const content = await readPackage(blobs.path(blob.digest), { limits: deps.limits, trustAnchor: deps.trustAnchor })
      recorded = await store.packages.onboarded(appPkgId, {
        appClass: content.appClass,
        details: {
          ...found.details,
          appd: content.appd,
          swImages: content.swImages,
          artifacts: content.artifacts,
          exec: content.exec ?? null,
          signed: content.signed,
          manifest: content.manifest.metadata,
        },
      })
    } catch (error) {
      const reason = error instanceof ApiError ? error.message : `processing failed: ${(error as Error).message}`
      await store.packages.failed(appPkgId, 'PROCESSING', reason)
      throw error
    }
    const onboarded = await store.packages.get(tenantId, appPkgId)
    if (!recorded || !onboarded) throw conflict(`package ${appPkgId} was deleted while it was being checked`)
    await deps.notifier.publish('onboarded', onboarded.pkg)
    deps.log.info('package onboarded', { appPkgId, appName: onboarded.pkg.appName, size: blob.size })
    return onboarded
  }

  /** Uploads content to an existing package (ETSI PUT package_content), CREATED or ERROR. */
  async function upload(found: StoredPackage, source: Readable, sha256?: string | null): Promise<StoredPackage> {
    const { appPkgId } = found.pkg
    const from = found.pkg.onboardingState
    if ((from !== 'CREATED' && from !== 'ERROR') || !(await store.packages.startUpload(appPkgId, from))) {
      throw conflict(`package ${appPkgId} is ${from}: content can be uploaded only to a CREATED or ERROR package`)
    }
    return alive(appPkgId, async () => {
      let blob: Blob
      try {
        blob = await blobs.write(source, deps.uploadLimit)
      } catch (error) {
        const reason = error instanceof ApiError ? error.message : 'the upload was interrupted'
        await store.packages.failed(appPkgId, 'UPLOADING', reason)
        throw error
      }
      try {
        return await process(found, blob, sha256)
      } finally {
        await settle(blob)
      }
    })
  }

  return {
    uploadLimit: deps.uploadLimit,
    upload,

    /** Receives content before any record knows of it (EdgeGallery's multipart upload); pass it to create(). */
    receive: (source: Readable): Promise<Blob> => blobs.write(source, deps.uploadLimit),

    /** Gives up received content that create() was never called for. */
    discard: settle,

    /** Creates a package from received content; on failure no record remains. Settles the blob either way. */
    async create(
      tenantId: string,
      input: Parameters<Store['packages']['create']>[1],
      blob: Blob,
    ): Promise<StoredPackage> {
      try {
        const created = await store.packages.create(tenantId, input)
        try {
          await store.packages.startUpload(created.pkg.appPkgId, 'CREATED')
          return await alive(created.pkg.appPkgId, () => process(created, blob))
        } catch (error) {
          await store.packages.delete(tenantId, created.pkg.appPkgId)
          throw error
        }
      } finally {
        await settle(blob)
      }
    },

    /** Fetches content from a URL in the background; the outcome is the package's state. Redirects are refused. */
    fromUrl(found: StoredPackage, url: string, sha256: string | null): Promise<void> {
      return (async () => {
        const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(3_600_000) })
        if (response.status >= 300 && response.status < 400) {
          throw new PackageError(`${url} redirects elsewhere (${response.status}); redirects are not followed`)
        }
        if (!response.ok || !response.body) throw new PackageError(`fetching ${url} answered ${response.status}`)
        await upload(found, Readable.fromWeb(response.body as ReadableStream), sha256)
      })().catch(async (error: Error) => {
        // upload() records its own failures; a fetch that failed before it started is recorded here
        const current = await store.packages.get(found.pkg.tenantId, found.pkg.appPkgId)
        if (
          current?.pkg.onboardingState === 'CREATED' &&
          (await store.packages.startUpload(found.pkg.appPkgId, 'CREATED'))
        ) {
          await store.packages.failed(found.pkg.appPkgId, 'UPLOADING', `could not fetch ${url}: ${error.message}`)
        }
        deps.log.warn('onboarding from a URL failed', { appPkgId: found.pkg.appPkgId, url, error: error.message })
      })
    },

    /**
     * Packages a stopped center left mid-onboarding (untouched for `staleMs`) become ERROR and
     * their content is dropped; run at start and periodically, so replicas recover each other.
     */
    async recover(staleMs = STALE_MS): Promise<void> {
      for (const stuck of await store.packages.interrupted(new Date(Date.now() - staleMs).toISOString())) {
        const reason = 'onboarding was interrupted by a center restart: upload the content again'
        if ((await store.packages.failed(stuck.appPkgId, stuck.state, reason)) && stuck.digest) {
          await blobs.removeUnused(stuck.digest, inUse)
        }
      }
    },

    /** Deletes a package and, when no other package holds the same content, its blob. */
    async remove(found: StoredPackage): Promise<void> {
      const state = found.pkg.onboardingState
      if (state === 'UPLOADING' || state === 'PROCESSING') {
        throw conflict(`package ${found.pkg.appPkgId} is ${state}: wait for onboarding to end`)
      }
      await store.packages.delete(found.pkg.tenantId, found.pkg.appPkgId)
      if (found.digest) await blobs.removeUnused(found.digest, inUse)
      await deps.notifier.publish('deleted', found.pkg)
    },

    /** Removes the content of packages that are gone (a deleted tenant's). */
    async removeContent(digests: string[]): Promise<void> {
      for (const digest of digests) await blobs.removeUnused(digest, inUse)
    },
  }
}
export type Onboarding = ReturnType<typeof onboarding>
