import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_PASSWORD, type Session, type TestCenter, testCenter, USER_PASSWORD } from '../testing/center'
import { dialects } from '../testing/stores'
import { signingHeaders } from './signing'

describe.each(dialects)('/auth/v1 on %s', (dialect) => {
  let t: TestCenter
  let alice: Session

  beforeAll(async () => {
    t = await testCenter(dialect)
    alice = await t.user('TENANT')
  })
  afterAll(() => t.close())

  describe('sign-in', () => {
    it('gives a token that works in Authorization: Bearer and in access_token', async () => {
      expect((await t.call('GET', '/auth/v1/me', { token: alice.token })).body).toMatchObject({
        username: alice.username,
        role: 'TENANT',
      })
      const edgeGallery = await t.call('GET', '/auth/v1/me', { headers: { access_token: alice.token } })
      expect(edgeGallery.body.userId).toBe(alice.userId)
    })

    it('says the same for a wrong password and an unknown user', async () => {
      const wrong = await t.call('POST', '/auth/v1/login', {
        body: { username: alice.username, password: 'Nope-nope1' },
      })
      const unknown = await t.call('POST', '/auth/v1/login', { body: { username: 'nobody', password: 'Nope-nope1' } })
      expect([wrong.status, unknown.status]).toEqual([401, 401])
      expect(wrong.body.detail).toBe(unknown.body.detail)
    })

    it('refuses a login body without a password with 400 naming the field', async () => {
      const reply = await t.call('POST', '/auth/v1/login', { body: { username: 'x' } })
      expect(reply.status).toBe(400)
      expect(reply.body.errors).toEqual([{ path: 'body.password', message: expect.any(String) }])
    })

    it('trades a refresh token once', async () => {
      const first = await t.call('POST', '/auth/v1/login', {
        body: { username: alice.username, password: USER_PASSWORD },
      })
      const second = await t.call('POST', '/auth/v1/refresh', { body: { refreshToken: first.body.refreshToken } })
      expect(second.status).toBe(200)
      expect(second.body.refreshToken).not.toBe(first.body.refreshToken)
      expect((await t.call('GET', '/auth/v1/me', { token: second.body.accessToken })).status).toBe(200)
      const replay = await t.call('POST', '/auth/v1/refresh', { body: { refreshToken: first.body.refreshToken } })
      expect(replay.status).toBe(401)
    })

    it('revokes every refresh token at logout', async () => {
      const session = await t.call('POST', '/auth/v1/login', {
        body: { username: alice.username, password: USER_PASSWORD },
      })
      expect((await t.call('POST', '/auth/v1/logout', { token: session.body.accessToken })).status).toBe(204)
      const after = await t.call('POST', '/auth/v1/refresh', { body: { refreshToken: session.body.refreshToken } })
      expect(after.status).toBe(401)
    })

    it('changes a password only with the current one, and only to a strong one', async () => {
      const bob = await t.user('TENANT')
      const path = '/auth/v1/me/password'
      const wrong = await t.call('PUT', path, {
        token: bob.token,
        body: { currentPassword: 'x', newPassword: 'New-pass22' },
      })
      expect(wrong.status).toBe(401)
      const weak = await t.call('PUT', path, {
        token: bob.token,
        body: { currentPassword: USER_PASSWORD, newPassword: 'weak' },
      })
      expect(weak.status).toBe(400)
      const ok = await t.call('PUT', path, {
        token: bob.token,
        body: { currentPassword: USER_PASSWORD, newPassword: 'New-pass22' },
      })
      expect(ok.status).toBe(204)
      await expect(t.login(bob.username, USER_PASSWORD)).rejects.toThrow()
      expect((await t.login(bob.username, 'New-pass22')).userId).toBe(bob.userId)
    })
  })

  describe('tenants and users', () => {
    it('creates a user in a new tenant of its own when none is named', async () => {
      const reply = await t.call('POST', '/auth/v1/users', {
        token: t.admin.token,
        body: { username: 'solo', password: USER_PASSWORD },
      })
      expect(reply.status).toBe(201)
      expect(reply.body.role).toBe('TENANT')
      const tenant = await t.call('GET', `/auth/v1/tenants/${reply.body.tenantId}`, { token: t.admin.token })
      expect(tenant.body.name).toBe('solo')
    })

    it('refuses a taken username with 409 and leaves no tenant behind', async () => {
      const before = (await t.store.tenants.listTenants(500)).items.length
      const reply = await t.call('POST', '/auth/v1/users', {
        token: t.admin.token,
        body: { username: alice.username, password: USER_PASSWORD },
      })
      expect(reply.status).toBe(409)
      expect((await t.store.tenants.listTenants(500)).items.length).toBe(before)
    })

    it('refuses a user in a tenant that does not exist with 404', async () => {
      const reply = await t.call('POST', '/auth/v1/users', {
        token: t.admin.token,
        body: { username: 'ghost', password: USER_PASSWORD, tenantId: '00000000-0000-4000-8000-000000000000' },
      })
      expect(reply.status).toBe(404)
      expect(await t.store.tenants.findLogin('ghost')).toBeUndefined()
    })

    it('refuses a weak password with 400 naming body.password', async () => {
      const reply = await t.call('POST', '/auth/v1/users', {
        token: t.admin.token,
        body: { username: 'weakling', password: 'password' },
      })
      expect(reply.status).toBe(400)
      expect(reply.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.password'])
    })

    it('lists users and tenants in pages', async () => {
      const users = await t.call('GET', `/auth/v1/users?tenantId=${alice.tenantId}`, { token: t.admin.token })
      expect(users.body.items.map((u: { username: string }) => u.username)).toEqual([alice.username])
      const tenants = await t.call('GET', '/auth/v1/tenants?limit=1', { token: t.admin.token })
      expect(tenants.body.items).toHaveLength(1)
      expect(tenants.body.nextCursor).toEqual(expect.any(String))
      expect((await t.call('GET', '/auth/v1/tenants?limit=0', { token: t.admin.token })).status).toBe(400)
    })

    it('creates and deletes tenants; a deleted user is refused at once', async () => {
      const tenant = await t.call('POST', '/auth/v1/tenants', { token: t.admin.token, body: { name: 'short-lived' } })
      expect(tenant.status).toBe(201)
      expect(
        (await t.call('POST', '/auth/v1/tenants', { token: t.admin.token, body: { name: 'short-lived' } })).status,
      ).toBe(409)
      const member = await t.user('TENANT', tenant.body.tenantId)
      expect(
        (await t.call('DELETE', `/auth/v1/tenants/${tenant.body.tenantId}`, { token: t.admin.token })).status,
      ).toBe(204)
      const after = await t.call('GET', '/auth/v1/me', { token: member.token })
      expect(after.status).toBe(401)
      expect(after.body.detail).toContain('no longer exists')
    })

    it('does not let an admin delete its own tenant or itself', async () => {
      expect((await t.call('DELETE', `/auth/v1/tenants/${t.admin.tenantId}`, { token: t.admin.token })).status).toBe(
        409,
      )
      expect((await t.call('DELETE', `/auth/v1/users/${t.admin.userId}`, { token: t.admin.token })).status).toBe(409)
    })
  })

  describe('AK/SK signed requests', () => {
    let accessKey: string
    let secretKey: string
    const path = () => `/inventory/v1/tenants/${alice.tenantId}/mechosts?limit=5`
    const signed = (parts: { method?: string; path?: string; body?: string; date?: string; nonce?: string } = {}) => {
      const method = parts.method ?? 'GET'
      const target = parts.path ?? path()
      const date = parts.date ?? new Date().toISOString()
      const nonce = parts.nonce ?? randomBytes(12).toString('hex')
      const headers = signingHeaders(accessKey, secretKey, {
        method,
        pathWithQuery: target,
        date,
        nonce,
        body: parts.body ?? '',
      })
      return { method, target, headers, nonce }
    }

    beforeAll(async () => {
      const reply = await t.call('POST', '/auth/v1/access_keys', { token: alice.token, body: { description: 'ci' } })
      expect(reply.status).toBe(201)
      accessKey = reply.body.accessKey
      secretKey = reply.body.secretKey
    })

    it('shows the secret only when the key is made', async () => {
      const list = await t.call('GET', '/auth/v1/access_keys', { token: alice.token })
      expect(list.body).toEqual([{ accessKey, description: 'ci', createdAt: expect.any(String) }])
      const row = await t.store.credentials.getAccessKey(accessKey)
      expect(row?.secretSealed).not.toContain(secretKey)
    })

    it('accepts a signed request as its user', async () => {
      const { method, target, headers } = signed()
      const reply = await t.call(method, target, { headers })
      expect(reply.status).toBe(200)
    })

    it('signs the body too: a tampered body is refused', async () => {
      const body = JSON.stringify({ mechostIp: '10.3.0.1', mechostName: 'signed' })
      const target = `/inventory/v1/tenants/${alice.tenantId}/mechosts`
      const ok = signed({ method: 'POST', path: target, body })
      expect((await t.call('POST', target, { headers: ok.headers, body })).status).toBe(201)
      const tampered = signed({ method: 'POST', path: target, body })
      const reply = await t.call('POST', target, {
        headers: tampered.headers,
        body: body.replace('10.3.0.1', '10.3.0.2'),
      })
      expect(reply.status).toBe(401)
      expect(await t.store.hosts.get(alice.tenantId, '10.3.0.2')).toBeUndefined()
    })

    it('refuses a replay, a stale date, a missing nonce and an unknown key', async () => {
      const once = signed()
      expect((await t.call('GET', once.target, { headers: once.headers })).status).toBe(200)
      const replay = await t.call('GET', once.target, { headers: once.headers })
      expect([replay.status, replay.body.detail]).toEqual([401, expect.stringContaining('already used')])

      const stale = signed({ date: new Date(Date.now() - 10 * 60_000).toISOString() })
      expect((await t.call('GET', stale.target, { headers: stale.headers })).body.detail).toContain('5 minutes')

      const noNonce = signed()
      const { 'x-mecm-nonce': _, ...withoutNonce } = noNonce.headers
      expect((await t.call('GET', noNonce.target, { headers: withoutNonce })).status).toBe(401)

      const forged = signed()
      forged.headers.authorization = forged.headers.authorization?.replace(accessKey, 'AKunknown') ?? ''
      expect((await t.call('GET', forged.target, { headers: forged.headers })).body.detail).toBe('unknown access key')
    })

    it('stops working once the key is deleted', async () => {
      expect((await t.call('DELETE', `/auth/v1/access_keys/${accessKey}`, { token: alice.token })).status).toBe(204)
      const { method, target, headers } = signed()
      expect((await t.call(method, target, { headers })).status).toBe(401)
      expect((await t.call('DELETE', `/auth/v1/access_keys/${accessKey}`, { token: alice.token })).status).toBe(404)
    })
  })
})

describe.each(dialects)('/auth/v1 under pressure on %s', (dialect) => {
  let t: TestCenter

  beforeAll(async () => {
    t = await testCenter(dialect)
  })
  afterAll(() => t.close())

  it('trades one refresh token for one new pair even when five ask at once', async () => {
    const session = await t.call('POST', '/auth/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })
    const replies = await Promise.all(
      Array.from({ length: 5 }, () =>
        t.call('POST', '/auth/v1/refresh', { body: { refreshToken: session.body.refreshToken } }),
      ),
    )
    expect(replies.map((reply) => reply.status).sort()).toEqual([200, 401, 401, 401, 401])
  })

  it('lets a client that sends its expired token along still refresh and log in', async () => {
    const session = await t.call('POST', '/auth/v1/login', { body: { username: 'admin', password: ADMIN_PASSWORD } })
    const headers = { authorization: 'Bearer expired.or.garbage' }
    const refreshed = await t.call('POST', '/auth/v1/refresh', {
      headers,
      body: { refreshToken: session.body.refreshToken },
    })
    expect(refreshed.status).toBe(200)
    const login = await t.call('POST', '/auth/v1/login', {
      headers,
      body: { username: 'admin', password: ADMIN_PASSWORD },
    })
    expect(login.status).toBe(200)
    const me = await t.call('GET', '/auth/v1/me', { headers })
    expect([me.status, me.body.detail]).toEqual([401, 'the token signature is not valid'])
  })

  it('refuses NUL characters anywhere with 400, before the store sees them', async () => {
    const login = await t.call('POST', '/auth/v1/login', { body: { username: 'a\u0000b', password: 'x' } })
    expect([login.status, login.body.detail]).toEqual([400, 'body contains a NUL character'])
    const tenants = await t.call('GET', '/auth/v1/tenants?cursor=AA', { token: t.admin.token })
    expect([tenants.status, tenants.body.detail]).toEqual([400, expect.stringContaining('cursor')])
    const city = await t.call('GET', `/inventory/v1/tenants/${t.admin.tenantId}/mechosts?city=%00`, {
      token: t.admin.token,
    })
    expect(city.status).toBe(400)
  })

  it('refuses a username after ten failed logins from one address, with Retry-After', async () => {
    const victim = await t.user('TENANT')
    for (let i = 0; i < 10; i++) {
      const reply = await t.call('POST', '/auth/v1/login', {
        body: { username: victim.username, password: 'Wrong-pass1' },
      })
      expect(reply.status).toBe(401)
    }
    const locked = await t.call('POST', '/auth/v1/login', {
      body: { username: victim.username, password: USER_PASSWORD },
    })
    expect(locked.status).toBe(429)
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await t.login('admin', ADMIN_PASSWORD)).role).toBe('ADMIN')
  })
})
