import { createHash } from 'node:crypto'
import { route, type Service } from './http'
import { type CloudState, type Image, ServiceError } from './state'

const STORE = 'file'
const CORE = new Set([
  'id',
  'name',
  'disk_format',
  'container_format',
  'min_disk',
  'min_ram',
  'visibility',
  'protected',
  'tags',
])

/** The image as Glance v2 shows it: core properties, then custom ones at the same level. */
function view(image: Image) {
  const { properties, ...core } = image
  return {
    ...properties,
    ...core,
    tags: [],
    self: `/v2/images/${image.id}`,
    file: `/v2/images/${image.id}/file`,
    schema: '/v2/schemas/image',
  }
}

/** Size, md5 checksum and sha512 multihash of the data, as Glance records them. */
async function hashes(data: AsyncIterable<Buffer | Uint8Array>) {
  const md5 = createHash('md5')
  const sha512 = createHash('sha512')
  let size = 0
  for await (const chunk of data) {
    md5.update(chunk)
    sha512.update(chunk)
    size += chunk.length
  }
  return { size, checksum: md5.digest('hex'), os_hash_algo: 'sha512', os_hash_value: sha512.digest('hex') }
}

/**
 * Glance (Image API v2, with interoperable image import): images are created queued; data comes
 * by PUT /file (saving → active) or by POST /import with web-download (importing → active, done
 * asynchronously). A failed web-download puts the image back to queued with the store in
 * os_glance_failed_import, as Glance does.
 */
export function glance(state: CloudState, options: { importMethods: string[] }) {
  const find = (id: string | undefined) => {
    const image = id ? state.images.get(id) : undefined
    if (!image) throw new ServiceError(404, 'Not Found', `No image found with ID ${id}`)
    return image
  }
  const touch = (image: Image, change: Partial<Image>) => Object.assign(image, change, { updated_at: state.now() })
  const transition = (image: Image, to: Image['status']) =>
    new ServiceError(409, 'Conflict', `Image status transition from ${image.status} to ${to} is not allowed`)

  /** Stores the data: the image goes active, or killed when the fault says so. */
  async function store(image: Image, data: AsyncIterable<Buffer | Uint8Array>): Promise<Image['status']> {
    const stored = await hashes(data)
    if (state.faults.images === 'killed') touch(image, { status: 'killed' })
    else touch(image, { ...stored, status: 'active' })
    return image.status
  }

  async function webDownload(image: Image, uri: string): Promise<void> {
    try {
      if (state.faults.images === 'import-failed') throw new Error('the fault says so')
      const response = await fetch(uri)
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`)
      const body = response.body as unknown as AsyncIterable<Uint8Array>
      await state.sleep(state.timings.importMs)
      if (!state.images.has(image.id)) return
      await store(image, body)
      touch(image, { properties: { ...image.properties, os_glance_importing_to_stores: '' } })
    } catch {
      if (!state.images.has(image.id)) return
      touch(image, {
        status: 'queued',
        properties: { ...image.properties, os_glance_importing_to_stores: '', os_glance_failed_import: STORE },
      })
    }
  }

  const service: Service = {
    prefix: '/image',
    // Glance's errors are webob's: {"message", "code": "404 Not Found", "title"} when JSON is asked for
    errorBody: (error) => ({ message: error.message, code: `${error.status} ${error.type}`, title: error.type }),
    routes: [
      route('GET', '/v2/info/import', () => ({
        status: 200,
        body: {
          'import-methods': { description: 'Import methods available.', type: 'array', value: options.importMethods },
        },
      })),
      route('POST', '/v2/images', async (request) => {
        const body = await request.json()
        const properties = Object.fromEntries(
          Object.entries(body)
            .filter(([key]) => !CORE.has(key))
            .map(([key, value]) => [key, String(value)]),
        )
        const image: Image = {
          id: typeof body.id === 'string' ? body.id : state.id(),
          name: String(body.name ?? ''),
          status: 'queued',
          disk_format: typeof body.disk_format === 'string' ? body.disk_format : null,
          container_format: typeof body.container_format === 'string' ? body.container_format : null,
          min_disk: Number(body.min_disk ?? 0),
          min_ram: Number(body.min_ram ?? 0),
          size: null,
          checksum: null,
          os_hash_algo: null,
          os_hash_value: null,
          visibility: String(body.visibility ?? 'shared'),
          protected: body.protected === true,
          created_at: state.now(),
          updated_at: state.now(),
          properties,
        }
        if (state.images.has(image.id))
          throw new ServiceError(409, 'Conflict', `Image with identifier ${image.id} already exists!`)
        state.images.set(image.id, image)
        return {
          status: 201,
          body: view(image),
          headers: {
            location: `${request.base}/image/v2/images/${image.id}`,
            'openstack-image-import-methods': options.importMethods.join(','),
          },
        }
      }),
      route('GET', '/v2/images', (request) => {
        const filters = ['name', 'status', 'os_hash_value', 'checksum', 'visibility'] as const
        const images = [...state.images.values()].filter((image) =>
          filters.every((key) => !request.query.has(key) || String(image[key]) === request.query.get(key)),
        )
        return { status: 200, body: { images: images.map(view), first: '/v2/images', schema: '/v2/schemas/images' } }
      }),
      route('GET', '/v2/images/:id', (request) => ({ status: 200, body: view(find(request.params.id)) })),
      route('DELETE', '/v2/images/:id', (request) => {
        const image = find(request.params.id)
        if (image.protected)
          throw new ServiceError(403, 'Forbidden', `Image ${image.id} is protected and cannot be deleted.`)
        state.images.delete(image.id)
        return { status: 204 }
      }),
      route('PUT', '/v2/images/:id/file', async (request) => {
        const image = find(request.params.id)
        if (image.status !== 'queued') throw transition(image, 'saving')
        if (!image.disk_format || !image.container_format)
          throw new ServiceError(
            400,
            'Bad Request',
            'Properties disk_format, container_format must be set prior to saving data.',
          )
        touch(image, { status: 'saving' })
        if ((await store(image, request.stream)) === 'killed')
          throw new ServiceError(500, 'Internal Server Error', 'Failed to upload image data due to internal error')
        return { status: 204 }
      }),
      route('POST', '/v2/images/:id/import', async (request) => {
        const image = find(request.params.id)
        const method = (await request.json()).method as { name?: string; uri?: string } | undefined
        if (!method?.name || !options.importMethods.includes(method.name))
          throw new ServiceError(400, 'Bad Request', `Import method ${method?.name} is not valid`)
        if (method.name !== 'web-download' || !method.uri)
          throw new ServiceError(400, 'Bad Request', 'This cloud only imports by web-download with a uri')
        if (image.status !== 'queued') throw transition(image, 'importing')
        if (!image.disk_format || !image.container_format)
          throw new ServiceError(409, 'Conflict', 'The disk_format and container_format must be set before importing')
        touch(image, {
          status: 'importing',
          properties: { ...image.properties, os_glance_importing_to_stores: STORE, os_glance_failed_import: '' },
        })
        void webDownload(image, method.uri)
        return { status: 202 }
      }),
    ],
  }
  return { service }
}
