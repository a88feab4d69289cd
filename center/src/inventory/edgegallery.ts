import { MecHostInput } from '@mecm/protocol'
import { z } from 'zod'

const vims: Record<string, string> = {
  k8s: 'kubernetes',
  kubernetes: 'kubernetes',
  openstack: 'openstack',
  exec: 'exec',
}

function coordinatesOf(value: unknown): unknown {
  if (typeof value !== 'string') return value
  if (!value.trim()) return null
  const [latitude, longitude, extra] = value.split(',').map((part) => Number(part.trim()))
  // anything else is passed on unchanged, so that validation says what is wrong with it
  return extra === undefined && Number.isFinite(latitude) && Number.isFinite(longitude)
    ? { latitude, longitude }
    : value
}

/**
 * EdgeGallery sends hosts flat: `city`, `zipCode`, `address`, `coordinates: "lat,lng"`,
 * `vim: "K8S" | "OpenStack"`, `hwcapabilities`. Such a body is reshaped into ours; `affinity`,
 * `userName`, `mepmIp` and `origin` have no meaning here (no MEPM address to push to) and are dropped.
 */
function fromEdgeGallery(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input
  const {
    city,
    zipCode,
    address,
    coordinates,
    hwcapabilities,
    affinity,
    userName,
    mepmIp,
    origin,
    configUploadStatus,
    ...rest
  } = input as Record<string, unknown>
  const vim = typeof rest.vim === 'string' ? (vims[rest.vim.toLowerCase()] ?? rest.vim) : rest.vim
  const flat = [city, zipCode, address, coordinates].some((field) => field !== undefined)
  return {
    ...rest,
    vim,
    ...(flat && rest.location === undefined
      ? {
          location: {
            city: city ?? '',
            zipCode: zipCode ?? '',
            address: address ?? '',
            coordinates: coordinatesOf(coordinates),
          },
        }
      : {}),
    ...(hwcapabilities !== undefined && rest.hwCapabilities === undefined ? { hwCapabilities: hwcapabilities } : {}),
  }
}

/** A host body in our shape or in EdgeGallery's. */
export const HostBody = z.preprocess(fromEdgeGallery, MecHostInput)
