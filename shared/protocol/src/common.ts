import { z } from 'zod'

/** Identifiers and scalar formats used across the domain. EdgeGallery's rules are the floor. */

/** A tenant id: a lowercase UUID, as EdgeGallery issues them. */
export const TenantId = z
  .string()
  .regex(
    /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/,
    'must be a lowercase UUID such as 3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b',
  )

/** A UUID in any case: app instances, operations, commands, events, sessions. */
export const Uuid = z
  .string()
  .regex(
    /^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$/,
    'must be a UUID such as 3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b',
  )

/** 32 lowercase hex characters: EdgeGallery's appId and packageId (a UUID without dashes). */
export const Hex32 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters')

/** A SHA-256 digest in lowercase hex: the address of a blob. */
export const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 digest: 64 lowercase hex characters')

/** An IPv6 address in its one canonical spelling (lowercase, zeros compressed), so that each host has one key. */
const canonicalIpv6 = (address: string) => new URL(`http://[${address}]`).hostname.slice(1, -1)

export const IpAddress = z.union([z.ipv4(), z.ipv6().transform(canonicalIpv6)], {
  error: 'must be an IPv4 or IPv6 address',
})

/** An address or a network: what traffic filters match on. */
export const IpOrCidr = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()], {
  error: 'must be an IP address or a CIDR block such as 10.0.0.0/24',
})

/** A port (1-65535) or a range of ports "low-high", as a string (EdgeGallery's traffic filters use strings). */
export const PortOrRange = z
  .string()
  .regex(/^\d{1,5}(-\d{1,5})?$/, 'must be a port such as 8080 or a range such as 8000-8080')
  .refine((value) => {
    const [low, high = low] = value.split('-').map(Number) as [number, number?]
    return low >= 1 && high <= 65535 && low <= high
  }, 'ports must lie in 1-65535 and a range must not run backwards')

/** Names of hosts, tenants and apps: letters and digits, with `_`, `-` and `.` inside. */
export const ResourceName = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(
    /^[\p{L}\d](?:[\p{L}\d_.-]*[\p{L}\d])?$/u,
    'must start and end with a letter or digit and contain only letters, digits, "_", "-" and "."',
  )

/** An ISO 8601 timestamp with a UTC offset, as every record carries them. */
export const Timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp' })

const labelKey =
  /^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/
const labelValue = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/

/** Labels with Kubernetes' syntax, so that label selectors read the same everywhere. */
export const Labels = z
  .record(
    z.string().max(253, 'a label key must be at most 253 characters').regex(labelKey, 'is not a valid label key'),
    z.string().max(63, 'a label value must be at most 63 characters').regex(labelValue, 'is not a valid label value'),
  )
  .refine((labels) => Object.keys(labels).length <= 64, 'at most 64 labels')

/** RFC 9457 problem details: the one error shape of every HTTP API. */
export const Problem = z.object({
  type: z.string().min(1),
  title: z.string().min(1),
  status: z.number().int().min(400).max(599),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
})
export type Problem = z.infer<typeof Problem>
