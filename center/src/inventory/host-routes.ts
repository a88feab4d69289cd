import { HostStatus, IpAddress, MecHost, TenantId } from '@mecm/protocol'
import { badRequest, notFound, parseLabelSelector } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import { Page, PageQuery } from '../http/paging'
import type { Api } from '../http/route'
import { centerUrlOf, EnrollmentView } from '../sync/enrollment-routes'
import { HostBody } from './edgegallery'

const tag = 'inventory: hosts'
const base = '/inventory/v1/tenants/:tenantId/mechosts'
export const HostPath = z.object({ tenantId: TenantId, mechostIp: IpAddress })

/** Resolves a host within the path tenant, or answers 404. */
export async function hostIn(store: Store, tenantId: string, ip: string) {
  const host = await store.hosts.get(tenantId, ip)
  if (!host) throw notFound(`host ${ip} not found in tenant ${tenantId}`)
  return host
}

const withoutId = <T extends { hostId: string }>({ hostId: _, ...host }: T) => host

/** How host registration reaches the edges: a token to enroll with, and the socket to close on removal. */
export interface EdgeLinks {
  enroll(hostId: string, centerUrl: string): Promise<z.infer<typeof EnrollmentView>>
  disconnect(hostId: string, reason: string): void
}

/** MEC hosts CRUD at EdgeGallery's inventory paths, paginated and filterable. */
export function hostRoutes(api: Api, store: Store, edges: EdgeLinks) {
  api.add(
    {
      method: 'post',
      path: base,
      summary: 'Register a MEC host',
      tag,
      access: 'write',
      params: z.object({ tenantId: TenantId }),
      body: HostBody,
      responses: {
        201: {
          description: 'the host, with the one-time token its edge enrolls with (shown only now)',
          schema: MecHost.and(z.object({ enrollment: EnrollmentView })),
        },
        409: { description: 'already registered' },
      },
    },
    async ({ c, params, body }) => {
      const host = await store.hosts.create(params.tenantId, body)
      const enrollment = await edges.enroll(host.hostId, centerUrlOf(c.req.url))
      c.header('location', `/inventory/v1/tenants/${params.tenantId}/mechosts/${host.mechostIp}`)
      return c.json({ ...withoutId(host), enrollment }, 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: base,
      summary: 'List MEC hosts',
      tag,
      access: 'read',
      params: z.object({ tenantId: TenantId }),
      query: PageQuery.extend({
        status: HostStatus.optional(),
        city: z.string().max(128).optional(),
        labelSelector: z.string().max(1024).optional(),
      }),
      responses: { 200: { description: 'a page of hosts, ordered by IP', schema: Page(MecHost) } },
    },
    async ({ c, params, query }) => {
      const page = await store.hosts.list(params.tenantId, {
        ...query,
        labels: parseLabelSelector(query.labelSelector ?? ''),
      })
      return c.json({ items: page.items.map(withoutId), nextCursor: page.nextCursor })
    },
  )

  api.add(
    {
      method: 'delete',
      path: base,
      summary: 'Delete every MEC host of the tenant',
      tag,
      access: 'write',
      params: z.object({ tenantId: TenantId }),
      responses: { 200: { description: 'how many were deleted', schema: z.object({ deleted: z.number() }) } },
    },
    async ({ c, params }) => {
      const hosts = await store.hosts.ids(params.tenantId)
      const deleted = await store.hosts.deleteAll(params.tenantId)
      for (const hostId of hosts) edges.disconnect(hostId, 'this host was removed from the inventory')
      return c.json({ deleted })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/:mechostIp`,
      summary: 'Show a MEC host',
      tag,
      access: 'read',
      params: HostPath,
      responses: { 200: { description: 'the host', schema: MecHost }, 404: { description: 'no such host' } },
    },
    async ({ c, params }) => c.json(withoutId(await hostIn(store, params.tenantId, params.mechostIp))),
  )

  api.add(
    {
      method: 'put',
      path: `${base}/:mechostIp`,
      summary: 'Change a MEC host',
      tag,
      access: 'write',
      params: HostPath,
      body: HostBody,
      responses: { 200: { description: 'the host', schema: MecHost }, 404: { description: 'no such host' } },
    },
    async ({ c, params, body }) => {
      if (body.mechostIp !== params.mechostIp) {
        throw badRequest(`body.mechostIp (${body.mechostIp}) must equal the host in the path (${params.mechostIp})`)
      }
      const host = await store.hosts.update(params.tenantId, params.mechostIp, body)
      if (!host) throw notFound(`host ${params.mechostIp} not found in tenant ${params.tenantId}`)
      return c.json(withoutId(host))
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/:mechostIp`,
      summary: 'Delete a MEC host',
      tag,
      access: 'write',
      params: HostPath,
      responses: { 204: { description: 'deleted' }, 404: { description: 'no such host' } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      if (!(await store.hosts.delete(params.tenantId, params.mechostIp))) {
        throw notFound(`host ${params.mechostIp} not found in tenant ${params.tenantId}`)
      }
      edges.disconnect(host.hostId, 'this host was removed from the inventory')
      return c.body(null, 204)
    },
  )
}
