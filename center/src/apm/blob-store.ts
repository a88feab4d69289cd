import { createHash, randomUUID } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { ApiError } from '../errors'

/**
 * Content-addressed blobs (packages, images) under <data-dir>/blobs/sha256/ab/<digest>.
 * A write streams to a temporary file while hashing, then renames it to its digest: a blob is
 * either whole or absent, never in memory, and identical content is stored once.
 */
export interface BlobStore {
  /** Streams `source` in; refuses (413) past maxBytes and leaves nothing behind on any failure. */
  write(source: Readable | AsyncIterable<Uint8Array>, maxBytes: number): Promise<{ digest: string; size: number }>
  path(digest: string): string
  size(digest: string): Promise<number | undefined>
  read(digest: string, range?: { start: number; end: number }): Readable
  remove(digest: string): Promise<void>
}

export function blobStore(dataDir: string): BlobStore {
  const root = join(dataDir, 'blobs')
  const path = (digest: string) => join(root, 'sha256', digest.slice(0, 2), digest)

  return {
    path,

    async write(source, maxBytes) {
      const tmp = join(root, 'tmp')
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
                )
              }
              hash.update(chunk)
              yield chunk
            }
          },
          createWriteStream(partial, { flags: 'wx' }),
        )
        const digest = hash.digest('hex')
        const final = path(digest)
        await mkdir(join(root, 'sha256', digest.slice(0, 2)), { recursive: true })
        await rename(partial, final)
        return { digest, size }
      } catch (error) {
        await rm(partial, { force: true })
        throw error
      }
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

    async remove(digest) {
      await rm(path(digest), { force: true })
    },
  }
}
