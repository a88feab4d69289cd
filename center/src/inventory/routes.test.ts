import { examples } from '@mecm/protocol/examples'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Session, type TestCenter, testCenter } from '../testing/center'
import { dialects } from '../testing/stores'

describe.each(dialects)('/inventory/v1 on %s', (dialect) => {
  let t: TestCenter
  let op: Session
  const hosts = () => `/inventory/v1/tenants/${op.tenantId}/mechosts`

  beforeAll(async () => {
    t = await testCenter(dialect)
    op = await t.user('TENANT')
  })
  afterAll(() => t.close())

  describe('hosts', () => {
    it('registers a host, answers 201 with its Location, and shows it', async () => {
      const reply = await t.call('POST', hosts(), { token: op.token, body: examples.mecHostInput })
      expect(reply.status).toBe(201)
      expect(reply.headers.get('location')).toBe(`${hosts()}/${examples.mecHostInput.mechostIp}`)
      const { enrollment, ...host } = reply.body
      expect(host).toEqual({
        ...examples.mecHostInput,
        tenantId: op.tenantId,
        status: 'NEVER_CONNECTED',
        lastSeenAt: null,
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
      })
      expect(enrollment).toEqual({
        token: expect.stringMatching(/^[\w-]{43}$/),
        expiresAt: expect.any(String),
        command: `mepm enroll --center ${t.center.url} --token ${enrollment.token}`,
      })
      const shown = await t.call('GET', `${hosts()}/${examples.mecHostInput.mechostIp}`, { token: op.token })
      expect(shown.body).toEqual(host)
      expect((await t.call('POST', hosts(), { token: op.token, body: examples.mecHostInput })).status).toBe(409)
    })

    it("accepts EdgeGallery's flat host body", async () => {
      const reply = await t.call('POST', hosts(), {
        token: op.token,
        body: {
          mechostIp: '10.5.0.1',
          mechostName: 'eg-host',
          zipCode: '518000',
          city: 'Shenzhen',
          address: 'Nanshan',
          affinity: 'part1',
          userName: 'eg',
          coordinates: '22.54,114.06',
          vim: 'K8S',
          hwcapabilities: [{ hwType: 'GPU', hwVendor: 'NVIDIA', hwModel: 'T4' }],
        },
      })
      expect(reply.status).toBe(201)
      expect(reply.body).toMatchObject({
        vim: 'kubernetes',
        location: {
          city: 'Shenzhen',
          zipCode: '518000',
          address: 'Nanshan',
          coordinates: { latitude: 22.54, longitude: 114.06 },
        },
        hwCapabilities: [{ hwType: 'GPU', hwVendor: 'NVIDIA', hwModel: 'T4' }],
      })
    })

    it('refuses a bad body with 400 naming every bad field, and writes nothing', async () => {
      const reply = await t.call('POST', hosts(), {
        token: op.token,
        body: { mechostIp: '10.5.0.999', mechostName: 'bad name', vim: 'docker', labels: { 'bad key': 'x' } },
      })
      expect(reply.status).toBe(400)
      expect(reply.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
        'body.labels.bad key',
        'body.mechostIp',
        'body.mechostName',
        'body.vim',
      ])
      expect((await t.call('POST', hosts(), { token: op.token, body: '{"mechostIp":' })).body.detail).toBe(
        'the request body is not valid JSON',
      )
      expect(await t.store.hosts.count(op.tenantId)).toBe(2)
    })

    it('refuses a body over the size limit with 413', async () => {
      const reply = await t.call('POST', hosts(), {
        token: op.token,
        body: { ...examples.mecHostInput, mechostName: 'x'.repeat(2 * 1024 * 1024) },
      })
      expect(reply.status).toBe(413)
    })

    it('knows an IPv6 host by any spelling of its address', async () => {
      const created = await t.call('POST', hosts(), {
        token: op.token,
        body: { mechostIp: '2001:DB8:0:0:0:0:0:1', mechostName: 'v6' },
      })
      expect(created.body.mechostIp).toBe('2001:db8::1')
      const again = await t.call('POST', hosts(), {
        token: op.token,
        body: { mechostIp: '2001:db8::1', mechostName: 'v6' },
      })
      expect(again.status).toBe(409)
      expect((await t.call('GET', `${hosts()}/2001:db8:0::1`, { token: op.token })).body.mechostName).toBe('v6')
      expect((await t.call('DELETE', `${hosts()}/2001:DB8::1`, { token: op.token })).status).toBe(204)
    })

    it('changes a host, refusing a body that names another host', async () => {
      const path = `${hosts()}/10.5.0.1`
      const changed = await t.call('PUT', path, {
        token: op.token,
        body: { mechostIp: '10.5.0.1', mechostName: 'eg-renamed', labels: { zone: 'south' } },
      })
      expect(changed.body).toMatchObject({ mechostName: 'eg-renamed', labels: { zone: 'south' }, vim: 'exec' })
      const mismatch = await t.call('PUT', path, { token: op.token, body: { mechostIp: '10.5.0.2', mechostName: 'x' } })
      expect(mismatch.status).toBe(400)
      const missing = await t.call('PUT', `${hosts()}/10.5.0.2`, {
        token: op.token,
        body: { mechostIp: '10.5.0.2', mechostName: 'x' },
      })
      expect(missing.status).toBe(404)
    })

    it('lists in pages and filters by status, city and labels', async () => {
      for (let i = 1; i <= 5; i++) {
        await t.call('POST', hosts(), {
          token: op.token,
          body: {
            mechostIp: `10.6.0.${i}`,
            mechostName: `page-${i}`,
            labels: { batch: 'page', parity: i % 2 ? 'odd' : 'even' },
          },
        })
      }
      const first = await t.call('GET', `${hosts()}?limit=2&labelSelector=batch%3Dpage`, { token: op.token })
      expect(first.body.items.map((h: { mechostIp: string }) => h.mechostIp)).toEqual(['10.6.0.1', '10.6.0.2'])
      const next = await t.call(
        'GET',
        `${hosts()}?limit=10&labelSelector=batch%3Dpage&cursor=${first.body.nextCursor}`,
        {
          token: op.token,
        },
      )
      expect(next.body.items.map((h: { mechostIp: string }) => h.mechostIp)).toEqual([
        '10.6.0.3',
        '10.6.0.4',
        '10.6.0.5',
      ])
      expect(next.body.nextCursor).toBeNull()
      const odd = await t.call('GET', `${hosts()}?labelSelector=${encodeURIComponent('parity in (odd),batch')}`, {
        token: op.token,
      })
      expect(odd.body.items).toHaveLength(3)
      const city = await t.call('GET', `${hosts()}?city=Shenzhen`, { token: op.token })
      // the PUT above replaced 10.5.0.1's location with an empty one
      expect(city.body.items.map((h: { mechostIp: string }) => h.mechostIp)).toEqual(['10.1.2.3'])
      expect((await t.call('GET', `${hosts()}?status=ONLINE`, { token: op.token })).body.items).toEqual([])
    })

    it('says what is wrong with a bad filter', async () => {
      const selector = await t.call('GET', `${hosts()}?labelSelector=${encodeURIComponent('zone===x')}`, {
        token: op.token,
      })
      expect([selector.status, selector.body.detail]).toEqual([400, expect.stringContaining('labelSelector')])
      expect((await t.call('GET', `${hosts()}?status=UP`, { token: op.token })).body.errors[0].path).toBe(
        'query.status',
      )
      expect((await t.call('GET', `${hosts()}?limit=501`, { token: op.token })).status).toBe(400)
      expect((await t.call('GET', `${hosts()}/not-an-ip`, { token: op.token })).body.errors[0].path).toBe(
        'path.mechostIp',
      )
    })

    it('deletes one host, then all of them', async () => {
      expect((await t.call('DELETE', `${hosts()}/10.6.0.5`, { token: op.token })).status).toBe(204)
      expect((await t.call('DELETE', `${hosts()}/10.6.0.5`, { token: op.token })).status).toBe(404)
      const all = await t.call('DELETE', hosts(), { token: op.token })
      expect(all.body).toEqual({ deleted: 6 })
      expect((await t.call('GET', hosts(), { token: op.token })).body.items).toEqual([])
    })
  })

  describe('capabilities and app records', () => {
    const ip = '10.8.0.1'
    const host = () => `${hosts()}/${ip}`
    const app = {
      appInstanceId: examples.appInstanceId,
      appName: 'face',
      packageId: examples.appPkgId,
      capabilities: ['GPU'],
    }

    beforeAll(async () => {
      await t.call('POST', hosts(), { token: op.token, body: { ...examples.mecHostInput, mechostIp: ip } })
    })

    it("lists a host's hardware capabilities under EdgeGallery's key", async () => {
      const reply = await t.call('GET', `${host()}/capabilities`, { token: op.token })
      expect(reply.body).toEqual({ hwcapabilities: examples.mecHostInput.hwCapabilities })
    })

    it('records apps and finds them by capability', async () => {
      expect((await t.call('POST', `${host()}/apps`, { token: op.token, body: app })).status).toBe(201)
      expect((await t.call('POST', `${host()}/apps`, { token: op.token, body: app })).status).toBe(409)
      const gpu = await t.call('GET', `${host()}/capabilities/GPU/applications`, { token: op.token })
      expect(gpu.body.map((a: { appName: string }) => a.appName)).toEqual(['face'])
      expect((await t.call('GET', `${host()}/capabilities/FPGA/applications`, { token: op.token })).status).toBe(404)
      expect((await t.call('GET', `${host()}/apps`, { token: op.token })).body).toHaveLength(1)
    })

    it('changes and deletes an app record', async () => {
      const path = `${host()}/apps/${app.appInstanceId}`
      const changed = await t.call('PUT', path, { token: op.token, body: { ...app, status: 'Instantiated' } })
      expect(changed.body.status).toBe('Instantiated')
      expect((await t.call('GET', path, { token: op.token })).body.status).toBe('Instantiated')
      const other = await t.call('PUT', path, {
        token: op.token,
        body: { ...app, appInstanceId: examples.operationId },
      })
      expect(other.status).toBe(400)
      expect((await t.call('DELETE', path, { token: op.token })).status).toBe(204)
      expect((await t.call('GET', path, { token: op.token })).status).toBe(404)
      expect((await t.call('PUT', path, { token: op.token, body: app })).status).toBe(404)
    })

    it('refuses app records on a host that does not exist', async () => {
      const reply = await t.call('POST', `${hosts()}/10.8.0.99/apps`, { token: op.token, body: app })
      expect(reply.status).toBe(404)
    })
  })

  describe('appd configuration', () => {
    const path = () => `/inventory/v1/tenants/${op.tenantId}/app_instances/${examples.appInstanceId}/appd_configuration`

    it('records, replaces, shows and deletes the rules of an app instance', async () => {
      expect((await t.call('GET', path(), { token: op.token })).status).toBe(404)
      expect((await t.call('PUT', path(), { token: op.token, body: examples.appdConfiguration })).status).toBe(404)
      const created = await t.call('POST', path(), { token: op.token, body: examples.appdConfiguration })
      expect(created.status).toBe(201)
      expect((await t.call('POST', path(), { token: op.token, body: examples.appdConfiguration })).status).toBe(409)
      const replaced = await t.call('PUT', path(), { token: op.token, body: { appDnsRule: [examples.dnsRule] } })
      expect(replaced.body).toEqual({ appSupportMp1: true, appTrafficRule: [], appDNSRule: [examples.dnsRule] })
      expect((await t.call('GET', path(), { token: op.token })).body).toEqual(replaced.body)
      expect((await t.call('DELETE', path(), { token: op.token })).status).toBe(204)
      expect((await t.call('DELETE', path(), { token: op.token })).status).toBe(404)
    })

    it("answers at the path without a tenant, for the caller's own tenant", async () => {
      const short = `/inventory/v1/app_instances/${examples.appInstanceId}/appd_configuration`
      expect((await t.call('POST', short, { token: op.token, body: examples.appdConfiguration })).status).toBe(201)
      expect((await t.call('GET', path(), { token: op.token })).body.appDNSRule).toEqual([examples.dnsRule])
      const other = await t.user('TENANT')
      expect((await t.call('GET', short, { token: other.token })).status).toBe(404)
      expect((await t.call('DELETE', short, { token: op.token })).status).toBe(204)
    })

    it('refuses a bad rule with 400 and keeps nothing of it', async () => {
      const reply = await t.call('POST', path(), {
        token: op.token,
        body: { appTrafficRule: [{ ...examples.trafficRule, priority: 999 }] },
      })
      expect(reply.status).toBe(400)
      expect(reply.body.errors[0].path).toBe('body.appTrafficRule.0.priority')
      expect((await t.call('GET', path(), { token: op.token })).status).toBe(404)
    })
  })

  describe('app stores and repositories', () => {
    const store = {
      appstoreIp: '192.0.2.10',
      appstorePort: 30099,
      appstoreName: 'central-store',
      appstoreRepo: '192.0.2.10:5000',
      appstoreRepoName: 'apps',
      appstoreRepoUserName: 'puller',
      appstoreRepoPassword: 'Store-secret-123',
      producer: 'Acme',
    }

    it('lets an admin add a store whose password is sealed and never shown', async () => {
      const reply = await t.call('POST', '/inventory/v1/appstores', { token: t.admin.token, body: store })
      expect(reply.status).toBe(201)
      const { appstoreRepoPassword: _, ...shown } = store
      expect(reply.body).toEqual({ ...shown, hasPassword: true })
      const listed = await t.call('GET', '/inventory/v1/appstores', { token: op.token })
      expect(JSON.stringify(listed.body)).not.toContain(store.appstoreRepoPassword)
      const sealed = await t.store.appStores.sealedPassword(store.appstoreIp)
      expect(sealed).toMatch(/^v1\./)
      expect(sealed).not.toContain(store.appstoreRepoPassword)
    })

    it('keeps the password when an update leaves it out', async () => {
      const { appstoreRepoPassword: _, ...withoutPassword } = store
      const path = `/inventory/v1/appstores/${store.appstoreIp}`
      const reply = await t.call('PUT', path, {
        token: t.admin.token,
        body: { ...withoutPassword, appstoreName: 'renamed' },
      })
      expect(reply.body).toMatchObject({ appstoreName: 'renamed', hasPassword: true })
      expect(
        (await t.call('PUT', path, { token: t.admin.token, body: { ...store, appstoreIp: '192.0.2.11' } })).status,
      ).toBe(400)
      expect((await t.call('GET', path, { token: op.token })).body.appstoreName).toBe('renamed')
      expect((await t.call('DELETE', path, { token: t.admin.token })).status).toBe(204)
      expect((await t.call('GET', path, { token: op.token })).status).toBe(404)
    })

    it('keeps app repositories the same way', async () => {
      const repo = {
        repoEndPoint: 'registry.example.com',
        repoName: 'images',
        repoUserName: 'u',
        repoPassword: 'Repo-secret-1',
      }
      expect((await t.call('POST', '/inventory/v1/apprepos', { token: t.admin.token, body: repo })).status).toBe(201)
      expect((await t.call('POST', '/inventory/v1/apprepos', { token: t.admin.token, body: repo })).status).toBe(409)
      const shown = await t.call('GET', '/inventory/v1/apprepos/registry.example.com', { token: op.token })
      expect(shown.body).toEqual({
        repoEndPoint: repo.repoEndPoint,
        repoName: 'images',
        repoUserName: 'u',
        hasPassword: true,
      })
      const bad = await t.call('POST', '/inventory/v1/apprepos', {
        token: t.admin.token,
        body: { repoEndPoint: 'not a host!' },
      })
      expect(bad.status).toBe(400)
    })
  })

  describe('OpenAPI', () => {
    it('describes every route from the same schemas', async () => {
      const reply = await t.call('GET', '/openapi.json', { token: op.token })
      expect(reply.body.openapi).toBe('3.1.0')
      const described = Object.entries(reply.body.paths as Record<string, object>).flatMap(([path, ops]) =>
        Object.keys(ops).map((method) => `${method} ${path}`),
      )
      const declared = t.center.routes
        .filter((route) => route.path !== '/openapi.json')
        .map((route) => `${route.method} ${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`)
      expect(described.sort()).toEqual(declared.sort())
      const create = reply.body.paths['/inventory/v1/tenants/{tenantId}/mechosts'].post
      expect(create.requestBody.content['application/json'].schema.properties.mechostIp).toBeDefined()
      expect(create.parameters).toEqual([expect.objectContaining({ name: 'tenantId', in: 'path', required: true })])
    })
  })
})
