import { Readable } from 'node:stream'
import type { Store } from '../db/store'
import { ApiError, conflict } from '../errors'
import type { Logger } from '../log'
import type { BlobStore } from './blob-store'
import type { ArchiveLimits } from './csar/archive'
import { readPackage } from './csar/csar'
import { PackageError } from './csar/package-error'
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

/**
 * Takes package content in and onboards it: CREATED → UPLOADING → PROCESSING → ONBOARDED, or
 * ERROR with the reason. Content is streamed to the blob store and read entry by entry; on any
 * failure the content is dropped and nothing of it stays behind.
 */
export function onboarding(deps: OnboardingDeps) {
  const { store, blobs } = deps

  async function dropBlob(digest: string | null | undefined) {
    if (digest && !(await store.packages.digestInUse(digest))) await blobs.remove(digest)
  }

  /** Receives content into the blob store, before any record knows of it. */
  function receive(source: Readable | AsyncIterable<Uint8Array>) {
    return blobs.write(source, deps.uploadLimit)
  }

  /** Attaches received content to a package that is UPLOADING, then checks and onboards it. */
  async function process(found: StoredPackage, blob: { digest: string; size: number }, sha256?: string | null) {
    const { appPkgId } = found.pkg
    if (sha256 && sha256 !== blob.digest) {
      const reason = `the content's SHA-256 is ${blob.digest}, not the ${sha256} given for it`
      await store.packages.failed(appPkgId, 'UPLOADING', reason)
      await dropBlob(blob.digest)
      throw new PackageError(reason)
    }
    if (!(await store.packages.uploaded(appPkgId, blob))) {
      await dropBlob(blob.digest)
      throw conflict(`package ${appPkgId} changed while its content was uploading`)
    }
    try {
      const content = await readPackage(blobs.path(blob.digest), { limits: deps.limits, trustAnchor: deps.trustAnchor })
      await store.packages.onboarded(appPkgId, {
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
      await dropBlob(blob.digest)
      throw error
    }
    const onboarded = (await store.packages.get(found.pkg.tenantId, appPkgId)) as StoredPackage
    await deps.notifier.publish('onboarded', onboarded.pkg)
    deps.log.info('package onboarded', { appPkgId, appName: onboarded.pkg.appName, size: blob.size })
    return onboarded
  }

  /** Uploads content to an existing package (ETSI PUT package_content), CREATED or ERROR. */
  async function upload(found: StoredPackage, source: Readable | AsyncIterable<Uint8Array>, sha256?: string | null) {
    const from = found.pkg.onboardingState
    if ((from !== 'CREATED' && from !== 'ERROR') || !(await store.packages.startUpload(found.pkg.appPkgId, from))) {
      throw conflict(
        `package ${found.pkg.appPkgId} is ${from}: content can be uploaded only to a CREATED or ERROR package`,
      )
    }
    let blob: { digest: string; size: number }
    try {
      blob = await receive(source)
    } catch (error) {
      const reason = error instanceof ApiError ? error.message : 'the upload was interrupted'
      await store.packages.failed(found.pkg.appPkgId, 'UPLOADING', reason)
      throw error
    }
    return process(found, blob, sha256)
  }

  return {
    uploadLimit: deps.uploadLimit,
    receive,
    upload,
    dropBlob,

    /** Creates a package from content already received (EdgeGallery's upload); on failure no record remains. */
    async create(
      tenantId: string,
      input: Parameters<Store['packages']['create']>[1],
      blob: { digest: string; size: number },
    ) {
      const created = await store.packages.create(tenantId, input)
      try {
        await store.packages.startUpload(created.pkg.appPkgId, 'CREATED')
        return await process(created, blob)
      } catch (error) {
        await store.packages.delete(tenantId, created.pkg.appPkgId)
        await dropBlob(blob.digest)
        throw error
      }
    },

    /** Fetches content from a URL in the background; the outcome is the package's state. */
    fromUrl(found: StoredPackage, url: string, sha256: string | null): Promise<void> {
      return (async () => {
        const response = await fetch(url, { signal: AbortSignal.timeout(3_600_000) })
        if (!response.ok || !response.body) throw new PackageError(`fetching ${url} answered ${response.status}`)
        await upload(found, Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), sha256)
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

    /** After a restart: packages a stopped center left mid-onboarding are marked ERROR, their content dropped. */
    async recover(): Promise<void> {
      for (const stuck of await store.packages.interrupted()) {
        await store.packages.failed(
          stuck.appPkgId,
          stuck.state,
          'onboarding was interrupted by a center restart: upload the content again',
        )
        await dropBlob(stuck.digest)
      }
    },

    /** Deletes a package and, when no other package holds the same content, its blob. */
    async remove(found: StoredPackage): Promise<void> {
      await store.packages.delete(found.pkg.tenantId, found.pkg.appPkgId)
      await dropBlob(found.digest)
      await deps.notifier.publish('deleted', found.pkg)
    },
  }
}
export type Onboarding = ReturnType<typeof onboarding>
