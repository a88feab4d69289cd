import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN_PASSWORD, helloPackage, testAgent } from '../testing/agent'
import { freePort } from '../testing/apps'

describe('the local MEPM API', () => {
  let t: Awaited<ReturnType<typeof testAgent>>
  let appPkgId: string
  let id: string
  let port: number

  beforeAll(async () => {
    t = await testAgent()
  })
  afterAll(() => t.close())

  it('answers only health without a session', async () => {
    expect((await fetch(`${t.agent.url}/healthz`)).status).toBe(200)
    for (const path of [
      '/mepm/v1/status',
      '/mepm/v1/instances',
      '/mepm/v1/packages',
      '/mepm/v1/kpi',
      '/mepm/v1/events',
    ]) {
      const response = await fetch(t.agent.url + path)
      expect([path, response.status]).toEqual([path, 401])
    }
    const wrong = await fetch(`${t.agent.url}/mepm/v1/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: `${ADMIN_PASSWORD}x` }),
    })
    expect(wrong.status).toBe(401)
  })

  it('adds a package after checking it, and refuses a broken one keeping nothing', async () => {
    const bytes = readFileSync(await helloPackage(join(t.dataDir, 'hello.csar')))
    const added = await t.call('POST', '/mepm/v1/packages', bytes, { 'content-type': 'application/zip' })
    expect(added.status).toBe(201)
    expect(added.body).toMatchObject({ appClass: 'exec', details: { appName: 'hello', exec: { command: 'node' } } })
    appPkgId = added.body.appPkgId
    const broken = await t.call('POST', '/mepm/v1/packages', Buffer.from('not a zip'), {
      'content-type': 'application/zip',
    })
    expect([broken.status, broken.body.detail]).toEqual([422, expect.stringContaining('not a valid zip')])
    expect((await t.call('GET', '/mepm/v1/packages')).body).toHaveLength(1)
  })

  it('deploys an instance from a held package and runs it', async () => {
    port = await freePort()
    const deployed = await t.call('POST', '/mepm/v1/instances', {
      package: appPkgId,
      parameters: { PORT: String(port) },
    })
    expect(deployed.status).toBe(201)
    id = deployed.body.appInstanceId
    expect(deployed.body).toMatchObject({ appName: 'hello', targetState: 'STARTED', origin: 'edge' })
    await vi.waitFor(
      async () => expect((await t.call('GET', `/mepm/v1/instances/${id}`)).body.status).toBe('STARTED'),
      {
        timeout: 20_000,
      },
    )
    // no health check in this package: STARTED means the process runs; it answers a moment later
    await vi.waitFor(async () => expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(id), {
      timeout: 20_000,
      interval: 100,
    })
  })

  it('shows the logs, stops and starts the instance', async () => {
    await vi.waitFor(
      async () => expect((await t.call('GET', `/mepm/v1/instances/${id}/logs?tail=10`)).body).toContain('request /'),
      { timeout: 20_000, interval: 100 },
    )
    expect((await t.call('POST', `/mepm/v1/instances/${id}/stop`)).status).toBe(202)
    await vi.waitFor(
      async () => expect((await t.call('GET', `/mepm/v1/instances/${id}`)).body.status).toBe('STOPPED'),
      { timeout: 20_000, interval: 100 },
    )
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
    expect((await t.call('POST', `/mepm/v1/instances/${id}/start`)).status).toBe(202)
    await vi.waitFor(
      async () => expect((await t.call('GET', `/mepm/v1/instances/${id}`)).body.status).toBe('STARTED'),
      {
        timeout: 20_000,
      },
    )
  })

  it('reports each local change as an event for the center', async () => {
    const events = (await t.call('GET', '/mepm/v1/events')).body as { body: { kind: string; change?: string } }[]
    expect(events.filter((e) => e.body.kind === 'instance.local_change').map((e) => e.body.change)).toEqual([
      'deployed',
      'stopped',
      'started',
    ])
    expect(events.some((e) => e.body.kind === 'instance.status')).toBe(true)
  })

  it('terminates the instance and forgets it', async () => {
    expect((await t.call('DELETE', `/mepm/v1/instances/${id}`)).status).toBe(202)
    await vi.waitFor(async () => expect((await t.call('GET', `/mepm/v1/instances/${id}`)).status).toBe(404), {
      timeout: 20_000,
      interval: 100,
    })
    expect((await t.call('GET', '/mepm/v1/instances')).body).toEqual([])
  })

  it("answers at EdgeGallery's lcmcontroller paths too", async () => {
    const lcm = '/lcmcontroller/v2/tenants/3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b'
    const eg = '9b2f6a1e-3c4d-4e5f-8a7b-0c1d2e3f4a5b'
    const appPort = await freePort()
    const response = await fetch(`${t.agent.url}${lcm}/app_instances/${eg}/instantiate`, {
      method: 'POST',
      headers: { access_token: t.token },
      body: JSON.stringify({ packageId: appPkgId, parameters: { PORT: String(appPort) } }),
    })
    expect(response.status).toBe(202)
    await vi.waitFor(
      async () => expect((await t.call('GET', `${lcm}/app_instances/${eg}`)).body.status).toBe('STARTED'),
      {
        timeout: 20_000,
      },
    )
    expect((await t.call('GET', `${lcm}/packages`)).body).toHaveLength(1)
    expect((await t.call('GET', `${lcm}/hosts/127.0.0.1/kpi`)).body.cpu.cores).toBeGreaterThan(0)
    expect((await t.call('POST', `${lcm}/app_instances/${eg}/terminate`)).status).toBe(202)
    await vi.waitFor(async () => expect((await t.call('GET', `${lcm}/app_instances/${eg}`)).status).toBe(404), {
      timeout: 20_000,
      interval: 100,
    })
    expect((await fetch(`${t.agent.url}${lcm}/packages`)).status).toBe(401)
    expect(await (await fetch(`${t.agent.url}/lcmcontroller/v1/health`)).text()).toBe('ok')
  })

  it('never shows or reports the secret parameters, and refuses an access key already taken', async () => {
    const appPort = await freePort()
    const parameters = { PORT: String(appPort), ak: 'AK-local-1', sk: 'SK-very-secret' }
    const deployed = await t.call('POST', '/mepm/v1/instances', { package: appPkgId, parameters, state: 'STOPPED' })
    expect(deployed.body.parameters).toEqual({ PORT: String(appPort), ak: '***', sk: '***' })
    await vi.waitFor(
      async () =>
        expect((await t.call('GET', `/mepm/v1/instances/${deployed.body.appInstanceId}`)).body.status).toBe('STOPPED'),
      {
        timeout: 20_000,
        interval: 100,
      },
    )
    const events = JSON.stringify((await t.call('GET', '/mepm/v1/events')).body)
    expect(events).not.toContain('SK-very-secret')
    const twin = await t.call('POST', '/mepm/v1/instances', {
      package: appPkgId,
      parameters: { ak: 'AK-local-1', sk: 'x' },
    })
    expect(twin.status).toBe(409)
    expect((await t.call('DELETE', `/mepm/v1/instances/${deployed.body.appInstanceId}`)).status).toBe(202)
  })

  it('ends a session at logout, whichever header carried it', async () => {
    const login = await fetch(`${t.agent.url}/mepm/v1/login`, {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    })
    const { token } = (await login.json()) as { token: string }
    expect(
      (await fetch(`${t.agent.url}/mepm/v1/logout`, { method: 'POST', headers: { access_token: token } })).status,
    ).toBe(204)
    expect((await fetch(`${t.agent.url}/mepm/v1/status`, { headers: { access_token: token } })).status).toBe(401)
  })

  it('says what is wrong with a bad request', async () => {
    const unknown = await t.call('POST', '/mepm/v1/instances', { package: 'f'.repeat(32) })
    expect([unknown.status, unknown.body.detail]).toEqual([404, expect.stringContaining('mepm pkgs add')])
    const bad = await t.call('POST', '/mepm/v1/instances', { package: 'nope', parameters: { '1bad': 'x' } })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { path: string }) => e.path).sort()).toEqual([
      'body.package',
      'body.parameters.1bad',
    ])
    expect((await t.call('POST', '/mepm/v1/instances/00000000-0000-4000-8000-000000000000/start')).status).toBe(404)
  })

  it('reports host KPI from the host itself', async () => {
    const kpi = (await t.call('GET', '/mepm/v1/kpi')).body
    expect(kpi.cpu.cores).toBeGreaterThan(0)
    expect(kpi.memory.totalBytes).toBeGreaterThan(kpi.memory.usedBytes)
    expect(kpi.disk.totalBytes).toBeGreaterThan(0)
  })
})
