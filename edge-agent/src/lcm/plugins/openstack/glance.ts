import type { Readable } from 'node:stream'
import type { KeystoneSession } from './keystone'
import { OpenStackError } from './request'

/** A Glance v2 image: core properties and custom ones side by side. */
export interface GlanceImage {
  id: string
  name: string
  status: string
  checksum: string | null
  os_hash_algo: string | null
  os_hash_value: string | null
  size: number | null
  disk_format: string | null
  container_format: string | null
  [property: string]: unknown
}

/** Glance (Image API v2): images, data upload, and interoperable import. */
export function glanceApi(session: KeystoneSession) {
  const request = session.request.bind(null, 'image')
  return {
    /** Images matching the filters (name, status, os_hash_value…), following Glance's `next` pages. */
    async list(filters: Record<string, string> = {}): Promise<GlanceImage[]> {
      const images: GlanceImage[] = []
      let marker: string | undefined
      for (;;) {
        const reply = await request('GET', '/v2/images', { query: { ...filters, limit: 100, marker } })
        const page = reply.body as { images: GlanceImage[]; next?: string }
        images.push(...page.images)
        marker = page.next ? (new URL(page.next, 'http://next').searchParams.get('marker') ?? undefined) : undefined
        if (!marker) return images
      }
    },
    async get(id: string): Promise<GlanceImage> {
      return (await request('GET', `/v2/images/${id}`)).body as GlanceImage
    },
    async create(fields: Record<string, unknown>): Promise<GlanceImage> {
      return (await request('POST', '/v2/images', { body: fields })).body as GlanceImage
    },
    async upload(id: string, data: Readable): Promise<void> {
      await request('PUT', `/v2/images/${id}/file`, { stream: data })
    },
    /** The import methods the cloud offers; none when it has no interoperable import. */
    async importMethods(): Promise<string[]> {
      try {
        const reply = await request('GET', '/v2/info/import')
        return (reply.body as { 'import-methods'?: { value?: string[] } })['import-methods']?.value ?? []
      } catch (error) {
        if (error instanceof OpenStackError && error.status === 404) return []
        throw error
      }
    },
    async importFromUrl(id: string, uri: string): Promise<void> {
      await request('POST', `/v2/images/${id}/import`, { body: { method: { name: 'web-download', uri } } })
    },
    /** Deletes the image; one already gone is fine. */
    async delete(id: string): Promise<void> {
      try {
        await request('DELETE', `/v2/images/${id}`)
      } catch (error) {
        if (!(error instanceof OpenStackError && error.status === 404)) throw error
      }
    },
  }
}
export type GlanceApi = ReturnType<typeof glanceApi>
