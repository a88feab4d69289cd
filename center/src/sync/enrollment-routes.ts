import { EdgeIdentity, EnrollRequest, RotateKeyRequest, Sha256 } from '@mecm/protocol'
import { hashToken, notFound, unauthorized } from '@mecm/runtime'
import { z } from 'zod'
import type { BlobStore } from '../apm/blob-store'
import { blobResponse } from '../apm/download'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import { HostPath, hostIn } from '../inventory/host-routes'
import { issueEnrollment } from './enrollment'
import type { SyncHub } from './hub'

const tag = 'edges: enrollment and identity'
const hostBase = '/inventory/v1/tenants/:tenantId/mechosts/:mechostIp'

export const EnrollmentView = z.object({
  token: z.string(),
  expiresAt: z.string(),
  command: z.string().describe('run this on the edge host'),
})

/** Where the center is reached from, as the caller sees it: what `mepm enroll --center` needs. */
export const centerUrlOf = (requestUrl: string) => new URL(requestUrl).origin

/**
 * Trust between center and edges (DESIGN.md "Trust"): operators issue and revoke one-time
 * enrollment tokens and revoke identities; an edge spends a token for its identity, rotates its
 * key, and downloads the packages sent to it.
 */
export function enrollmentRoutes(api: Api, deps: { store: Store; hub: SyncHub; blobs: BlobStore; ttlSeconds: number }) {
  const { store, hub } = deps

  api.add(
    {
      method: 'post',
      path: `${hostBase}/enrollment`,
      summary: 'Issue a new enrollment token for a host',
      tag,
      access: 'write',
      params: HostPath,
      responses: { 201: { description: 'the token, shown only now', schema: EnrollmentView } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(await issueEnrollment(store, host.hostId, deps.ttlSeconds, centerUrlOf(c.req.url)), 201)
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${hostBase}/enrollment`,
      summary: 'Revoke the pending enrollment token of a host',
      tag,
      access: 'write',
      params: HostPath,
      responses: { 204: { description: 'revoked' }, 404: { description: 'no pending token' } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      if (!(await store.edges.revokeEnrollment(host.hostId)))
        throw notFound('this host has no pending enrollment token')
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${hostBase}/identity`,
      summary: 'Revoke the identity of an enrolled edge and disconnect it',
      tag,
      access: 'write',
      params: HostPath,
      responses: { 204: { description: 'revoked; the edge must enroll again' }, 404: { description: 'not enrolled' } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      if (!(await store.edges.revoke(host.hostId))) throw notFound('this host has no enrolled edge')
      hub.disconnect(host.hostId, 'the identity of this edge was revoked')
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'post',
      path: '/edge/v1/enroll',
      summary: 'Enroll an edge: spend a one-time token for an identity',
      tag,
      access: 'public',
      body: EnrollRequest,
      responses: {
        201: { description: 'who the edge is now', schema: EdgeIdentity },
        401: { description: 'the token is unknown, used or expired' },
      },
    },
    async ({ c, body }) => {
      const edge = await store.edges.enroll(hashToken(body.token), body.publicKey)
      if (!edge) {
        throw unauthorized('this enrollment token is unknown, already used, or expired: ask the operator for a new one')
      }
      // a re-enrolled edge starts its sessions afresh
      hub.disconnect(edge.hostId, 'the edge enrolled again')
      return c.json(edge, 201)
    },
  )

  api.add(
    {
      method: 'post',
      path: '/edge/v1/identity/rotate',
      summary: 'Replace the key of the calling edge',
      tag,
      access: 'edge',
      body: RotateKeyRequest,
      responses: { 200: { description: 'the edge, now known by the new key', schema: EdgeIdentity } },
    },
    async ({ c, body, edge }) => {
      if (!(await store.edges.rotate(edge.hostId, body.publicKey)))
        throw unauthorized('this edge is no longer enrolled')
      return c.json(edge)
    },
  )

  api.add(
    {
      method: 'get',
      path: '/edge/v1/packages/:digest',
      summary: 'Download package content sent to the calling edge (Range supported)',
      tag,
      access: 'edge',
      params: z.object({ digest: Sha256 }),
      responses: {
        200: { description: 'the package' },
        206: { description: 'part of it' },
        404: { description: 'not sent to this edge' },
      },
    },
    async ({ c, params, edge }) => {
      if (!(await store.edgeOutbox.holdsDigest(edge.hostId, params.digest))) {
        throw notFound(`package content ${params.digest} was not sent to this edge`)
      }
      return blobResponse(c, deps.blobs, params.digest, `${params.digest}.zip`)
    },
  )
}
