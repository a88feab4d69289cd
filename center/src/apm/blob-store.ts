import { createHash, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ApiError } from '@mecm/runtime'

/**
 * Content-addressed blobs (packages, images) under <data-dir>/blobs/sha256/ab/<digest>.
 * A write streams to a temporary file while hashing, then renames it to its digest: a blob is
 * either whole or absent, never in memory, and identical content is stored once.
 *
 * A written blob stays pinned until its writer releases it (after a record refers to it, or
 * after giving up); removal happens only for unpinned blobs that no record uses, and both run
 * under a per-digest lock, so content shared by two packages is never removed under one of them.
 */
export interface BlobStore {
  /** Streams `source` in and pins the blob; refuses (413) past maxBytes and leaves nothing behind on failure. */
  write(source: Readable | AsyncIterable<Uint8Array>, maxBytes: number): Promise<{ digest: string; size: number }>
  release(digest: string): void
  /** Removes the blob unless it is pinned or `inUse` says a record still refers to it. */
  removeUnused(digest: string, inUse: (digest: string) => Promise<boolean>): Promise<void>
  path(digest: string): string
  size(digest: string): Promise<number | undefined>
  read(digest: string, range?: { start: number; end: number }): Readable
  /** Drops temporary files a stopped process left behind. */
  sweep(): Promise<void>
}

export function blobStore(dataDir: string): BlobStore {
  const root = join(dataDir, 'blobs')
  const tmp = join(root, 'tmp')
  const path = (digest: string) => join(root, 'sha256', digest.slice(0, 2), digest)
  const pins = new Map<string, number>()
  const locks = new Map<string, Promise<unknown>>()

  function locked<T>(digest: string, work: () => Promise<T>): Promise<T> {
    const previous = locks.get(digest) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => undefined)
    locks.set(digest, settled)
    void settled.then(() => {
      if (locks.get(digest) === settled) locks.delete(digest)
    })
    return next
  }

  return {
    path,

    async write(source, maxBytes) {
      await mkdir(tmp, { recursive: true })
      const partial = join(tmp, randomUUID())
      const hash = createHash('sha256')
      let size = 0
      try {
        await pipeline(
          source,
          async function* (chunks: AsyncIterable<Uint8Array>) {
            for await (const chunk of chunks) {
              size += chunk.length
              if (size > maxBytes) {
                throw new ApiError(
                  413,
                  'Content Too Large',
                  `the package is larger than the ${maxBytes}-byte upload limit`,
                  undefined,
                  {
                    connection: 'close',
                  },
                )
              }
              hash.update(chunk)
              yield chunk
            }
          },
          createWriteStream(partial, { flags: 'wx' }),
        )
        const digest = hash.digest('hex')
        await locked(digest, async () => {
          pins.set(digest, (pins.get(digest) ?? 0) + 1)
          await mkdir(join(root, 'sha256', digest.slice(0, 2)), { recursive: true })
          await rename(partial, path(digest))
        })
        return { digest, size }
      } catch (error) {
        await rm(partial, { force: true })
        throw error
      }
    },

    release(digest) {
      const count = (pins.get(digest) ?? 0) - 1
      if (count > 0) pins.set(digest, count)
      else pins.delete(digest)
    },

    removeUnused(digest, inUse) {
      return locked(digest, async () => {
        if (pins.has(digest) || (await inUse(digest))) return
        await rm(path(digest), { force: true })
      })
    },

    async size(digest) {
      return stat(path(digest)).then(
        (info) => info.size,
        () => undefined,
      )
    },

    read(digest, range) {
      return createReadStream(path(digest), range)
    },

    async sweep() {
      await rm(tmp, { recursive: true, force: true })
    },
  }
}
