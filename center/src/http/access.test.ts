import { examples } from '@mecm/protocol/examples'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Session, type TestCenter, testCenter } from '../testing/center'
import { dialects } from '../testing/stores'
import type { AnyRoute } from './route'

/** A concrete URL for a route, with every path parameter filled. */
function pathOf(route: AnyRoute, tenantId: string): string {
  const values: Record<string, string> = {
    tenantId,
    mechostIp: '10.9.9.9',
    appInstanceId: examples.appInstanceId,
    userId: examples.operationId,
    key: 'store.example',
    accessKey: 'AKnothing',
    capabilityType: 'GPU',
    packageId: examples.appPkgId,
    appPkgId: examples.appPkgId,
    appDId: 'some-appd',
    hostIp: '10.9.9.9',
    digest: examples.digest,
    subscriptionId: examples.operationId,
    vim: 'kubernetes',
    taskId: examples.operationId,
    operationId: examples.operationId,
    appId: examples.appPkgId,
    capabilityId: 'a-service',
    appLcmOpOccId: examples.operationId,
  }
  return route.path.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = values[name]
    if (!value) throw new Error(`no test value for path parameter ${name}`)
    return value
  })
}

const bodyFor = (route: AnyRoute) => (route.method === 'get' ? undefined : {})

describe.each(dialects)('access rules on %s', (dialect) => {
  let t: TestCenter
  let tenant: Session
  let guest: Session

  beforeAll(async () => {
    t = await testCenter(dialect)
    tenant = await t.user('TENANT')
    guest = await t.user('GUEST', tenant.tenantId)
  })
  afterAll(() => t.close())

  const routes = () => t.center.routes.filter((route) => route.access !== 'public')

  it('declares the public routes it means to, and no others', () => {
    expect(t.center.routes.filter((r) => r.access === 'public').map((r) => `${r.method} ${r.path}`)).toEqual([
      'post /auth/v1/login',
      'post /auth/v1/refresh',
      'post /edge/v1/enroll',
    ])
  })

  it('answers 401 to every other route without credentials', async () => {
    for (const route of routes()) {
      const reply = await t.call(route.method.toUpperCase(), pathOf(route, tenant.tenantId), { body: bodyFor(route) })
      expect([route.path, reply.status, reply.headers.get('content-type')]).toEqual([
        route.path,
        401,
        'application/problem+json',
      ])
    }
  })

  it('answers 401 to a wrong, forged or expired token, and to unknown paths', async () => {
    const forged = `${tenant.token.slice(0, -4)}AAAA`
    for (const headers of <Record<string, string>[]>[
      { authorization: 'Bearer nonsense' },
      { authorization: `Bearer ${forged}` },
      { access_token: forged },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
    ]) {
      const reply = await t.call('GET', `/inventory/v1/tenants/${tenant.tenantId}/mechosts`, { headers })
      expect(reply.status).toBe(401)
    }
    expect((await t.call('GET', '/no/such/path')).status).toBe(401)
    expect((await t.call('GET', '/no/such/path', { token: tenant.token })).status).toBe(404)
  })

  it('leaves health, readiness and the docs page open', async () => {
    expect((await t.call('GET', '/healthz')).body).toEqual({ status: 'ok' })
    expect((await t.call('GET', '/readyz')).body).toEqual({ status: 'ready' })
    expect((await t.call('GET', '/inventory/v1/health')).body).toBe('ok')
    const docs = await t.call('GET', '/docs')
    expect(docs.status).toBe(200)
    expect(docs.body).toContain('/openapi.json')
  })

  it('refuses GUEST every write and TENANT every admin route with 403, and users every edge route', async () => {
    for (const route of routes()) {
      const path = pathOf(route, tenant.tenantId)
      const asGuest = await t.call(route.method.toUpperCase(), path, { token: guest.token, body: bodyFor(route) })
      const asTenant = await t.call(route.method.toUpperCase(), path, { token: tenant.token, body: bodyFor(route) })
      const guestRefused = route.access === 'write' || route.access === 'admin' || route.access === 'edge'
      expect([route.method, route.path, 'GUEST', asGuest.status === 403]).toEqual([
        route.method,
        route.path,
        'GUEST',
        guestRefused,
      ])
      expect([route.method, route.path, 'TENANT', asTenant.status === 403]).toEqual([
        route.method,
        route.path,
        'TENANT',
        route.access === 'admin' || route.access === 'edge',
      ])
    }
  })

  it('lets GUEST read its own tenant', async () => {
    const reply = await t.call('GET', `/inventory/v1/tenants/${tenant.tenantId}/mechosts`, { token: guest.token })
    expect(reply.status).toBe(200)
  })
})

describe.each(dialects)('tenant isolation on %s', (dialect) => {
  let t: TestCenter
  let owner: Session
  let intruder: Session
  const ip = '10.7.0.1'

  beforeAll(async () => {
    t = await testCenter(dialect)
    owner = await t.user('TENANT')
    intruder = await t.user('TENANT')
    const created = await t.call('POST', `/inventory/v1/tenants/${owner.tenantId}/mechosts`, {
      token: owner.token,
      body: { ...examples.mecHostInput, mechostIp: ip },
    })
    expect(created.status).toBe(201)
    const app = {
      appInstanceId: examples.appInstanceId,
      appName: 'face',
      packageId: examples.appPkgId,
      capabilities: ['GPU'],
    }
    expect(
      (
        await t.call('POST', `/inventory/v1/tenants/${owner.tenantId}/mechosts/${ip}/apps`, {
          token: owner.token,
          body: app,
        })
      ).status,
    ).toBe(201)
    const rules = `/inventory/v1/tenants/${owner.tenantId}/app_instances/${examples.appInstanceId}/appd_configuration`
    expect((await t.call('POST', rules, { token: owner.token, body: examples.appdConfiguration })).status).toBe(201)
  })
  afterAll(() => t.close())

  const ownerPaths = () => {
    const host = `/inventory/v1/tenants/${owner.tenantId}/mechosts/${ip}`
    return [
      ['GET', `/inventory/v1/tenants/${owner.tenantId}/mechosts`],
      ['DELETE', `/inventory/v1/tenants/${owner.tenantId}/mechosts`],
      ['GET', host],
      ['PUT', host, { ...examples.mecHostInput, mechostIp: ip, mechostName: 'hijacked' }],
      ['DELETE', host],
      ['GET', `${host}/capabilities`],
      ['GET', `${host}/capabilities/GPU/applications`],
      ['GET', `${host}/apps`],
      ['GET', `${host}/apps/${examples.appInstanceId}`],
      ['DELETE', `${host}/apps/${examples.appInstanceId}`],
      ['GET', `/inventory/v1/tenants/${owner.tenantId}/app_instances/${examples.appInstanceId}/appd_configuration`],
      ['DELETE', `/inventory/v1/tenants/${owner.tenantId}/app_instances/${examples.appInstanceId}/appd_configuration`],
      ['GET', `/auth/v1/tenants/${owner.tenantId}`],
    ] as const
  }

  it("answers 404 to another tenant reading, changing or deleting the owner's records", async () => {
    for (const [method, path, body] of ownerPaths()) {
      const reply = await t.call(method, path, { token: intruder.token, body })
      expect([method, path, reply.status]).toEqual([method, path, 404])
    }
  })

  it("answers 404 when the intruder names the owner's host under its own tenant", async () => {
    const own = `/inventory/v1/tenants/${intruder.tenantId}/mechosts/${ip}`
    expect((await t.call('GET', own, { token: intruder.token })).status).toBe(404)
    expect((await t.call('DELETE', own, { token: intruder.token })).status).toBe(404)
    const list = await t.call('GET', `/inventory/v1/tenants/${intruder.tenantId}/mechosts`, { token: intruder.token })
    expect(list.body.items).toEqual([])
  })

  it('changed nothing of the owner', async () => {
    const host = await t.call('GET', `/inventory/v1/tenants/${owner.tenantId}/mechosts/${ip}`, { token: owner.token })
    expect(host.body.mechostName).toBe(examples.mecHostInput.mechostName)
    const apps = await t.call('GET', `/inventory/v1/tenants/${owner.tenantId}/mechosts/${ip}/apps`, {
      token: owner.token,
    })
    expect(apps.body).toHaveLength(1)
    const rules = await t.call(
      'GET',
      `/inventory/v1/tenants/${owner.tenantId}/app_instances/${examples.appInstanceId}/appd_configuration`,
      { token: owner.token },
    )
    expect(rules.status).toBe(200)
  })

  it("lets an admin act in the owner's tenant, and answers 404 for a tenant that does not exist", async () => {
    const reply = await t.call('GET', `/inventory/v1/tenants/${owner.tenantId}/mechosts/${ip}`, {
      token: t.admin.token,
    })
    expect(reply.status).toBe(200)
    const missing = await t.call('GET', '/inventory/v1/tenants/00000000-0000-4000-8000-000000000000/mechosts', {
      token: t.admin.token,
    })
    expect(missing.status).toBe(404)
  })
})
