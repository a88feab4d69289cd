import { randomBytes } from 'node:crypto'
import { getConnInfo } from '@hono/node-server/conninfo'
import { NewUser, Password, Tenant, TenantId, TenantName, User, Uuid } from '@mecm/protocol'
import { z } from 'zod'
import { ApiError, conflict, notFound, unauthorized } from '../errors'
import { Page, PageQuery } from '../http/paging'
import type { Api } from '../http/route'
import type { AuthDeps } from './authenticate'
import { loginThrottle } from './login-throttle'
import { decoyHash, hashPassword, verifyPassword } from './password'
import { hashToken, newRefreshToken, signToken } from './tokens'

export interface TokenSettings {
  accessTokenTtlSeconds: number
  refreshTokenTtlSeconds: number
}

const Login = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(128) })
const TokenPair = z.object({
  accessToken: z.string(),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int(),
  refreshToken: z.string(),
  user: User,
})
const AccessKey = z.object({ accessKey: z.string(), description: z.string(), createdAt: z.string() })

const tag = 'auth'

/** Sign-in, tokens, tenants, users and access keys under /auth/v1. */
export function authRoutes(api: Api, deps: AuthDeps, settings: TokenSettings) {
  const { store } = deps
  const throttle = loginThrottle()

  async function issue(user: User) {
    const refreshToken = newRefreshToken()
    const expiresAt = new Date(Date.now() + settings.refreshTokenTtlSeconds * 1000).toISOString()
    await store.credentials.addRefreshToken(hashToken(refreshToken), user.userId, expiresAt)
    const claims = { sub: user.userId, tenantId: user.tenantId, role: user.role, username: user.username }
    return {
      accessToken: signToken(deps.tokenKey, claims, settings.accessTokenTtlSeconds),
      tokenType: 'Bearer' as const,
      expiresIn: settings.accessTokenTtlSeconds,
      refreshToken,
      user,
    }
  }

  api.add(
    {
      method: 'post',
      path: '/auth/v1/login',
      summary: 'Sign in with a username and password',
      tag,
      access: 'public',
      body: Login,
      responses: { 200: { description: 'an access token and a refresh token', schema: TokenPair } },
    },
    async ({ c, body }) => {
      const address = getConnInfo(c).remote.address ?? 'unknown'
      const wait = throttle.retryAfter(body.username, address)
      if (wait > 0) {
        const detail = `too many failed logins for ${body.username}: try again in ${wait} s`
        throw new ApiError(429, 'Too Many Requests', detail, undefined, { 'retry-after': String(wait) })
      }
      const login = await store.tenants.findLogin(body.username)
      const ok = await verifyPassword(body.password, login?.passwordHash ?? (await decoyHash))
      if (!login || !ok) {
        throttle.failed(body.username, address)
        throw unauthorized('wrong username or password')
      }
      throttle.succeeded(body.username, address)
      return c.json(await issue(login.user))
    },
  )

  api.add(
    {
      method: 'post',
      path: '/auth/v1/refresh',
      summary: 'Trade a refresh token for a new token pair (each refresh token works once)',
      tag,
      access: 'public',
      body: z.object({ refreshToken: z.string().min(1).max(256) }),
      responses: { 200: { description: 'a new token pair', schema: TokenPair } },
    },
    async ({ c, body }) => {
      const userId = await store.credentials.takeRefreshToken(hashToken(body.refreshToken))
      const user = userId && (await store.tenants.getUser(userId))
      if (!user) throw unauthorized('the refresh token is unknown, used or expired: sign in again')
      return c.json(await issue(user))
    },
  )

  api.add(
    {
      method: 'post',
      path: '/auth/v1/logout',
      summary: 'Revoke all of your refresh tokens',
      tag,
      access: 'read',
      responses: { 204: { description: 'signed out' } },
    },
    async ({ c, principal }) => {
      await store.credentials.revokeRefreshTokens(principal.userId)
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'get',
      path: '/auth/v1/me',
      summary: 'Show who you are signed in as',
      tag,
      access: 'read',
      responses: { 200: { description: 'your user', schema: User } },
    },
    async ({ c, principal }) => c.json(await store.tenants.getUser(principal.userId)),
  )

  api.add(
    {
      method: 'put',
      path: '/auth/v1/me/password',
      summary: 'Change your password',
      tag,
      access: 'read',
      body: z.object({ currentPassword: z.string().min(1).max(128), newPassword: Password }),
      responses: { 204: { description: 'changed; every refresh token is revoked' } },
    },
    async ({ c, body, principal }) => {
      const login = await store.tenants.findLogin(principal.username)
      if (!login || !(await verifyPassword(body.currentPassword, login.passwordHash))) {
        throw unauthorized('the current password is wrong')
      }
      await store.tenants.setPassword(principal.userId, await hashPassword(body.newPassword))
      await store.credentials.revokeRefreshTokens(principal.userId)
      return c.body(null, 204)
    },
  )

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
      await store.tenants.deleteTenant(params.tenantId)
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

  api.add(
    {
      method: 'post',
      path: '/auth/v1/access_keys',
      summary: 'Create an AK/SK pair for signing requests (the secret is shown only in this answer)',
      tag,
      access: 'read',
      body: z.object({ description: z.string().max(256).default('') }),
      responses: { 201: { description: 'the pair', schema: AccessKey.extend({ secretKey: z.string() }) } },
    },
    async ({ c, body, principal }) => {
      const accessKey = randomBytes(15).toString('base64url')
      const secretKey = randomBytes(32).toString('base64url')
      const key = await store.credentials.addAccessKey({
        accessKey,
        userId: principal.userId,
        secretSealed: deps.sealer.seal(secretKey),
        description: body.description,
      })
      return c.json({ ...key, secretKey }, 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: '/auth/v1/access_keys',
      summary: 'List your access keys (never their secrets)',
      tag,
      access: 'read',
      responses: { 200: { description: 'your keys', schema: z.array(AccessKey) } },
    },
    async ({ c, principal }) => c.json(await store.credentials.listAccessKeys(principal.userId)),
  )

  api.add(
    {
      method: 'delete',
      path: '/auth/v1/access_keys/:accessKey',
      summary: 'Delete one of your access keys',
      tag,
      access: 'read',
      params: z.object({ accessKey: z.string().regex(/^[A-Za-z0-9_-]+$/) }),
      responses: { 204: { description: 'deleted' } },
    },
    async ({ c, params, principal }) => {
      if (!(await store.credentials.deleteAccessKey(principal.userId, params.accessKey))) {
        throw notFound(`access key ${params.accessKey} not found`)
      }
      return c.body(null, 204)
    },
  )
}
