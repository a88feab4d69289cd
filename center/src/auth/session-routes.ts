import { getConnInfo } from '@hono/node-server/conninfo'
import { Password, User } from '@mecm/protocol'
import { ApiError, decoyHash, hashPassword, hashToken, unauthorized, verifyPassword } from '@mecm/runtime'
import { z } from 'zod'
import type { Api } from '../http/route'
import type { AuthDeps } from './authenticate'
import { loginThrottle } from './login-throttle'
import { newRefreshToken, signToken } from './tokens'

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

const tag = 'auth'

/** Sign-in and tokens: login, refresh, logout, who am I, change my password. */
export function sessionRoutes(api: Api, deps: AuthDeps, settings: TokenSettings) {
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
}
