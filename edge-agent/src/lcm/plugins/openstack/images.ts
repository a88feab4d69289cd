import { createReadStream, existsSync } from 'node:fs'
import { Readable } from 'node:stream'
import type { SwImageDescriptor } from '@mecm/protocol'
import { packageFile } from '../package-files'
import { type Wait, waitUntil } from '../wait'
import type { GlanceApi, GlanceImage } from './glance'

export interface PreparedImage {
  id: string
  name: string
  /** Whether this instantiate made it (and so removes it if the instantiate fails). */
  created: boolean
}

/** The checksum a descriptor promises: an md5 (Glance's checksum) or a sha256/sha512 (its os_hash_value). */
function promised(checksum: string): { field: 'checksum' | 'os_hash_value'; value: string } | undefined {
  const value = checksum
    .trim()
    .toLowerCase()
    .replace(/^(md5|sha256|sha512):/, '')
  if (/^[0-9a-f]{32}$/.test(value)) return { field: 'checksum', value }
  if (/^([0-9a-f]{64}|[0-9a-f]{128})$/.test(value)) return { field: 'os_hash_value', value }
  return undefined
}

const isUrl = (source: string) => /^https?:\/\//i.test(source)

/** Polls Glance until the image is active; killed, a failed import, or the time running out is an error. */
function untilActive(glance: GlanceApi, image: GlanceImage, source: string, wait: Wait): Promise<GlanceImage> {
  const what = `Glance: image ${image.name} (${image.id}) from ${source}`
  return waitUntil(
    wait,
    async () => {
      const seen = await glance.get(image.id)
      if (seen.status === 'killed' || seen.status === 'deleted')
        throw new Error(`${what} ended ${seen.status}: Glance could not store its data`)
      if (typeof seen.os_glance_failed_import === 'string' && seen.os_glance_failed_import)
        throw new Error(
          `${what}: the web-download import failed in store ${seen.os_glance_failed_import} (os_glance_failed_import); the image is ${seen.status} again`,
        )
      return seen
    },
    (seen) => seen.status === 'active',
    (seen, waited) => new Error(`${what} is still ${seen.status} after ${waited} (timed out waiting)`),
  )
}

/** Image data from a URL, as a stream to pass on to Glance. */
export async function download(url: string): Promise<Readable> {
  const response = await fetch(url)
  if (!response.ok || !response.body) throw new Error(`cannot download image ${url}: HTTP ${response.status}`)
  return Readable.fromWeb(response.body as import('node:stream/web').ReadableStream)
}

/** The image data: a file inside the package, or a URL streamed through. */
async function imageData(source: string, packageRoot: string): Promise<Readable> {
  if (isUrl(source)) return download(source)
  const file = packageFile(packageRoot, source, `image ${source}`)
  if (!existsSync(file)) throw new Error(`the package has no image file ${source}`)
  return createReadStream(file)
}

/**
 * The Glance image for a descriptor: an active image with the same content (by its checksum) or,
 * without a checksum, one of the same name made from the same source; otherwise a new image,
 * filled by web-download import when the cloud offers it, else streamed up, then waited for.
 * A new image that fails is deleted before the error is thrown.
 */
export async function prepareImage(
  glance: GlanceApi,
  descriptor: SwImageDescriptor,
  packageRoot: string,
  wait: Wait,
): Promise<PreparedImage> {
  const checksum = promised(descriptor.checksum)
  const same =
    checksum?.field === 'os_hash_value'
      ? await glance.list({ os_hash_value: checksum.value, status: 'active' })
      : (await glance.list({ name: descriptor.name, status: 'active' })).filter((image) =>
          checksum ? image.checksum === checksum.value : image.mecm_source === descriptor.swImage,
        )
  if (same[0]) return { id: same[0].id, name: same[0].name, created: false }

  const image = await glance.create({
    name: descriptor.name,
    disk_format: descriptor.diskFormat || 'qcow2',
    container_format: descriptor.containerFormat || 'bare',
    min_disk: descriptor.minDisk,
    min_ram: descriptor.minRam,
    visibility: 'private',
    mecm_source: descriptor.swImage,
  })
  try {
    if (isUrl(descriptor.swImage) && (await glance.importMethods()).includes('web-download'))
      await glance.importFromUrl(image.id, descriptor.swImage)
    else await glance.upload(image.id, await imageData(descriptor.swImage, packageRoot))
    const active = await untilActive(glance, image, descriptor.swImage, wait)
    if (checksum && active[checksum.field] !== checksum.value)
      throw new Error(
        `Glance: image ${image.name} (${image.id}) has ${checksum.field} ${active[checksum.field]}, but Image/SwImageDesc.json says ${checksum.value}`,
      )
    return { id: image.id, name: image.name, created: true }
  } catch (error) {
    await glance.delete(image.id).catch(() => undefined)
    throw error
  }
}
