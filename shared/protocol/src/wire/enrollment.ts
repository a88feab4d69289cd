import { z } from 'zod'
import { IpAddress, TenantId, Uuid } from '../common'

/** An Ed25519 public key, SPKI DER in base64: the edge keeps the private half, the center this one. */
export const EdgePublicKey = z
  .string()
  .regex(/^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/, 'an Ed25519 public key: SPKI DER in base64 (44 bytes)')

/** Edge → center, once: the one-time enrollment token and the edge's new public key. */
export const EnrollRequest = z.object({
  token: z.string().min(16).max(256),
  publicKey: EdgePublicKey,
  agentVersion: z.string().min(1).max(64),
})
export type EnrollRequest = z.infer<typeof EnrollRequest>

/** Who the edge now is at the center. */
export const EdgeIdentity = z.object({
  hostId: Uuid,
  tenantId: TenantId,
  mechostIp: IpAddress,
  mechostName: z.string(),
})
export type EdgeIdentity = z.infer<typeof EdgeIdentity>

/** Edge → center, signed with the current key: replace it with this one. */
export const RotateKeyRequest = z.object({ publicKey: EdgePublicKey })

/** The scheme of the Authorization header an edge signs its requests with. */
export const EDGE_SIGNING_SCHEME = 'MECM-EDGE-ED25519'

/**
 * What an edge signs for a request: method, path with query, time, a single-use nonce and the
 * body's SHA-256 (hex; of nothing for a request without a body), one per line. The header reads
 * `MECM-EDGE-ED25519 Host=<hostId>, Date=<ISO>, Nonce=<n>, Signature=<base64>`.
 */
export function edgeSigningString(parts: {
  method: string
  pathWithQuery: string
  date: string
  nonce: string
  bodySha256: string
}) {
  return [parts.method.toUpperCase(), parts.pathWithQuery, parts.date, parts.nonce, parts.bodySha256].join('\n')
}
