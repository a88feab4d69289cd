import { NewUser, Tenant, TenantId, TenantName, User, Uuid } from '@mecm/protocol'
import { conflict, hashPassword, notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import { Page, PageQuery } from '../http/paging'
import type { Api } from '../http/route'

const tag = 'auth'

/** Tenants and users, managed by admins. */
export function tenantRoutes(api: Api, store: Store, content: { removeContent(digests: string[]): Promise<void> }) {
  api.add(
    {
      method: 'get',
      path: '/auth/v1/tenants',
      summary: 'List tenants',
      tag,
      access: 'admin',
      query: PageQuery,
      responses: { 200: { description: 'a page of tenants', schema: Page(Tenant) } },
    },
    async ({ c, query }) => c.json(await store.tenants.listTenants(query.limit, query.cursor)),
  )

  api.add(
    {
      method: 'post',
      path: '/auth/v1/tenants',
      summary: 'Create a tenant',
      tag,
      access: 'admin',
      body: z.object({ name: TenantName, tenantId: TenantId.optional() }),
      responses: { 201: { description: 'the tenant', schema: Tenant }, 409: { description: 'name or id taken' } },
    },
    async ({ c, body }) => c.json(await store.tenants.createTenant(body.name, body.tenantId), 201),
  )

  api.add(
    {
      method: 'get',
      path: '/auth/v1/tenants/:tenantId',
      summary: 'Show a tenant',
      tag,
      access: 'read',
      params: z.object({ tenantId: TenantId }),
      responses: { 200: { description: 'the tenant', schema: Tenant } },
    },
    async ({ c, params }) => c.json(await store.tenants.getTenant(params.tenantId)),
  )

  api.add(
    {
      method: 'delete',
      path: '/auth/v1/tenants/:tenantId',
      summary: 'Delete a tenant with its users and records',
      tag,
      access: 'admin',
      params: z.object({ tenantId: TenantId }),
      responses: { 204: { description: 'deleted' } },
    },
    async ({ c, params, principal }) => {
      if (params.tenantId === principal.tenantId) throw conflict('you cannot delete your own tenant')
      const digests = await store.packages.digestsOf(params.tenantId)
      await store.tenants.deleteTenant(params.tenantId)
      await content.removeContent(digests)
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'get',
      path: '/auth/v1/users',
      summary: 'List users',
      tag,
      access: 'admin',
      query: PageQuery.extend({ tenantId: TenantId.optional() }),
      responses: { 200: { description: 'a page of users', schema: Page(User) } },
    },
    async ({ c, query }) => c.json(await store.tenants.listUsers(query.tenantId, query.limit, query.cursor)),
  )

  api.add(
    {
      method: 'post',
      path: '/auth/v1/users',
      summary: 'Create a user (a new tenant named after the user when no tenantId is given)',
      tag,
      access: 'admin',
      body: NewUser,
      responses: { 201: { description: 'the user', schema: User }, 409: { description: 'username taken' } },
    },
    async ({ c, body }) => {
      const user = { username: body.username, passwordHash: await hashPassword(body.password), role: body.role }
      if (!body.tenantId) return c.json(await store.tenants.createUserWithTenant(user), 201)
      if (!(await store.tenants.getTenant(body.tenantId))) throw notFound(`tenant ${body.tenantId} not found`)
      return c.json(await store.tenants.createUser({ ...user, tenantId: body.tenantId }), 201)
    },
  )

  api.add(
    {
      method: 'delete',
      path: '/auth/v1/users/:userId',
      summary: 'Delete a user',
      tag,
      access: 'admin',
      params: z.object({ userId: Uuid }),
      responses: { 204: { description: 'deleted' } },
    },
    async ({ c, params, principal }) => {
      if (params.userId === principal.userId) throw conflict('you cannot delete yourself')
      if (!(await store.tenants.deleteUser(params.userId))) throw notFound(`user ${params.userId} not found`)
      return c.body(null, 204)
    },
  )
}
