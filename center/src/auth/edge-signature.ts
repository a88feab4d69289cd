import { createHash, createPublicKey, verify } from 'node:crypto'
import { EDGE_SIGNING_SCHEME, edgeSigningString } from '@mecm/protocol'
import { unauthorized } from '@mecm/runtime'
import type { CredentialStore } from './credential-store'
import type { EdgeIdentityStore, EdgePrincipal } from './edge-identity-store'
import { SIGNING_SKEW_MS } from './signing'

const HEADER = new RegExp(
  `^${EDGE_SIGNING_SCHEME}\\s+Host=([0-9a-f-]{36}),\\s*Date=([^,\\s]+),\\s*Nonce=([A-Za-z0-9_-]{8,128}),\\s*Signature=([A-Za-z0-9+/=]{86,88})$`,
)

export const isEdgeSignature = (authorization: string | undefined): boolean =>
  authorization?.startsWith(`${EDGE_SIGNING_SCHEME} `) ?? false

/**
 * Checks an edge's signed request (HTTP or the WebSocket upgrade): a known, unrevoked host, a
 * time within 5 minutes of ours, a nonce never seen, and an Ed25519 signature by the host's key
 * over the request and its body.
 */
export async function verifyEdgeRequest(
  stores: { edges: EdgeIdentityStore; credentials: CredentialStore },
  request: { authorization: string; method: string; pathWithQuery: string; body?: Uint8Array },
): Promise<EdgePrincipal> {
  const match = HEADER.exec(request.authorization)
  if (!match) {
    throw unauthorized(
      `malformed ${EDGE_SIGNING_SCHEME} header: expected Host=<host id>, Date=<ISO time>, Nonce=<8-128 chars>, Signature=<base64>`,
    )
  }
  const [, hostId = '', date = '', nonce = '', signature = ''] = match
  const time = Date.parse(date)
  if (Number.isNaN(time) || Math.abs(Date.now() - time) > SIGNING_SKEW_MS) {
    throw unauthorized('the edge signature time is missing or more than 5 minutes from the center clock')
  }
  const edge = await stores.edges.identity(hostId)
  if (!edge) throw unauthorized('this edge is not enrolled, or its identity was revoked: enroll it again')
  const key = createPublicKey({ key: Buffer.from(edge.publicKey, 'base64'), format: 'der', type: 'spki' })
  const bodySha256 = createHash('sha256')
    .update(request.body ?? new Uint8Array())
    .digest('hex')
  const signed = edgeSigningString({
    method: request.method,
    pathWithQuery: request.pathWithQuery,
    date,
    nonce,
    bodySha256,
  })
  if (!verify(null, Buffer.from(signed), key, Buffer.from(signature, 'base64'))) {
    throw unauthorized('the edge signature does not match the key enrolled for this host')
  }
  const expiresAt = new Date(time + SIGNING_SKEW_MS).toISOString()
  if (!(await stores.credentials.rememberNonce(`edge:${hostId}`, nonce, expiresAt))) {
    throw unauthorized('this nonce was already used: a signed edge request is accepted once')
  }
  const { publicKey: _, ...principal } = edge
  return principal
}
