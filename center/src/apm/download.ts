import { Readable } from 'node:stream'
import { ApiError, notFound } from '@mecm/runtime'
import type { Context } from 'hono'
import type { BlobStore } from './blob-store'

/** The answers of every route that serves package content. */
export const contentResponses = {
  200: { description: 'the CSAR' },
  206: { description: 'part of it' },
  416: { description: 'the range lies outside the content' },
}

/** One byte range of `size` bytes, from a Range header; null when the header asks for none we serve. */
export function byteRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'unsatisfiable' {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/)
  if (!match) return null // absent, or several ranges: the whole body is served (RFC 9110 allows it)
  const [, from = '', to = ''] = match
  if (!from && !to) return 'unsatisfiable'
  if (!from) {
    const suffix = Number(to)
    return suffix === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 }
  }
  const start = Number(from)
  const end = to ? Math.min(Number(to), size - 1) : size - 1
  if (to && Number(to) < start) return null // a range that runs backwards is ignored (RFC 9110 14.1.1)
  return start >= size ? 'unsatisfiable' : { start, end }
}

/**
 * Serves a blob with HTTP Range, so an interrupted transfer resumes: 200 whole, 206 with a
 * Content-Range, 416 when the range lies outside it. The ETag is the digest.
 */
export async function blobResponse(c: Context, blobs: BlobStore, digest: string, filename: string): Promise<Response> {
  const size = await blobs.size(digest)
  if (size === undefined) throw notFound('the package content is not stored here')
  const headers: Record<string, string> = {
    'accept-ranges': 'bytes',
    etag: `"${digest}"`,
    'content-type': 'application/zip',
    'content-disposition': `attachment; filename="${filename.replace(/[^\w.-]/g, '_')}"`,
  }
  const ifRange = c.req.header('if-range')
  const range = ifRange && ifRange !== `"${digest}"` ? null : byteRange(c.req.header('range'), size)
  if (range === 'unsatisfiable') {
    throw new ApiError(416, 'Range Not Satisfiable', `the content is ${size} bytes long`, undefined, {
      'content-range': `bytes */${size}`,
    })
  }
  const body = Readable.toWeb(blobs.read(digest, range ?? undefined)) as ReadableStream
  if (!range) return new Response(body, { status: 200, headers: { ...headers, 'content-length': String(size) } })
  return new Response(body, {
    status: 206,
    headers: {
      ...headers,
      'content-length': String(range.end - range.start + 1),
      'content-range': `bytes ${range.start}-${range.end}/${size}`,
    },
  })
}
