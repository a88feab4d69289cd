import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { dialects } from '@mecm/center/testing'
import type { DesiredInstance } from '@mecm/protocol'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { freePort } from '../testing/apps'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'
import { localSealer } from './local-key'

describe.each(dialects)('sync on %s: enrollment, connection and commands', (dialect) => {
  let fleet: TestFleet
  beforeAll(async () => {
    fleet = await testFleet(dialect)
  })
  afterAll(() => fleet.close())

  it('enrolls with a one-time token, keeps the identity owner-only, and goes ONLINE', async () => {
    const edge = await fleet.edge()
    expect(statSync(join(edge.dataDir, 'identity.json')).mode & 0o777).toBe(0o600)
    expect(statSync(join(edge.dataDir, 'agent.key')).mode & 0o777).toBe(0o600)
    const sync = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/sync`)
    expect(sync.body).toMatchObject({
      status: 'ONLINE',
      connectedHere: true,
      enrolled: { enrolledAt: expect.any(String) },
    })
    expect(sync.body.pendingEnrollment).toBeNull()
    expect((await edge.call('GET', '/mepm/v1/sync')).body).toMatchObject({
      enrolled: true,
      connected: true,
      hostId: edge.hostId,
    })
  })

  it('deploys an instance set at the center: the package travels by digest, the app runs, its state comes back', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const id = randomUUID()
    const port = await freePort()
    const set = await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${id}`, {
      appPkgId,
      targetState: 'STARTED',
      parameters: { PORT: String(port), sk: 'secret-key-value' },
    })
    expect(set.status).toBe(202)
    expect(set.body).toMatchObject({ generation: 1, parameters: { PORT: String(port), sk: '***' } })
    await vi.waitFor(async () => {
      const instances = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/instances`)
      expect(instances.body).toEqual([
        expect.objectContaining({
          appInstanceId: id,
          origin: 'center',
          observed: expect.objectContaining({ status: 'STARTED' }),
        }),
      ])
    }, WAIT)
    await vi.waitFor(async () => expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(id), WAIT)
    const pkg = await fleet.call('GET', `/apm/v1/tenants/${fleet.operator.tenantId}/packages/${appPkgId}`)
    expect(pkg.body.distributions).toEqual([expect.objectContaining({ hostIp: edge.ip, state: 'DISTRIBUTED' })])

    // live calls, answered by the edge itself
    const live = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/live/instances/${id}`)
    expect(live.body).toMatchObject({ appInstanceId: id, observed: { status: 'STARTED' }, live: { state: 'running' } })
    expect(live.body.desired.parameters.sk).toBe('***')
    // at rest on the edge the secret key is sealed: it is nowhere in the store's files
    const stored = ['agent.db', 'agent.db-wal']
      .map((name) => join(edge.dataDir, name))
      .filter((file) => existsSync(file))
      .map((file) => readFileSync(file).toString('latin1'))
    expect(stored.length).toBeGreaterThan(0)
    for (const bytes of stored) expect(bytes).not.toContain('secret-key-value')
    // the center keeps it sealed too, and opens it only to send it: the agent got the real one
    const kept = await fleet.t.store.edgeOutbox.desired<DesiredInstance>(edge.hostId, 'instance', id)
    expect(kept?.record.parameters.sk).toMatch(/^sealed:v1\./)
    const desired = edge.agent.store.desired.get(id) as DesiredInstance
    expect(edge.agent.store.credentials.forInstance(desired, localSealer(edge.dataDir)).secretKey).toBe(
      'secret-key-value',
    )
    const kpi = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/live/kpi`)
    expect(kpi.body).toMatchObject({ instances: 1, cpu: { cores: expect.any(Number) } })
    await vi.waitFor(async () => {
      const logs = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/live/instances/${id}/logs?tail=10`)
      expect(logs.status).toBe(200)
      expect(logs.body).toContain('listening')
    }, WAIT)
    const unknown = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/live/instances/${randomUUID()}`)
    expect(unknown.status).toBe(502)
    expect(unknown.body.detail).toContain('NOT_FOUND')

    // terminate from the center: the edge stops it, reports, and the center forgets it
    const gone = await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${id}`, {
      appPkgId,
      targetState: 'NOT_INSTANTIATED',
    })
    expect(gone.body.generation).toBe(2)
    await vi.waitFor(async () => {
      expect((await fleet.call('GET', `${fleet.hostPath(edge.ip)}/instances`)).body).toEqual([])
    }, WAIT)
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
  })

  it('sends a package uploaded for a host to its edge, and takes it back when it is undistributed', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello(edge.ip)
    const packagePath = `/apm/v1/tenants/${fleet.operator.tenantId}/packages/${appPkgId}`
    await vi.waitFor(async () => {
      expect(edge.agent.store.wanted.list()).toEqual([expect.objectContaining({ appPkgId, state: 'DISTRIBUTED' })])
      const shown = await fleet.call('GET', packagePath)
      expect(shown.body.distributions).toEqual([expect.objectContaining({ hostIp: edge.ip, state: 'DISTRIBUTED' })])
    }, WAIT)
    expect(edge.agent.store.packages.byAppPkgId(appPkgId)).toBeDefined()
    expect((await fleet.call('DELETE', `${packagePath}/hosts/${edge.ip}`)).status).toBe(204)
    await vi.waitFor(() => expect(edge.agent.store.wanted.list()).toEqual([]), WAIT)

    // a report that arrives after the package was taken back does not bring its record back
    const principal = await fleet.t.store.edges.identity(edge.hostId)
    const committed = (await fleet.t.store.edgeOutbox.state(edge.hostId))?.eventSeq ?? 0
    const late = await fleet.t.store.edgeEvents.ingest(principal as never, edge.agent.store.storeId, committed, [
      {
        seq: committed + 1000,
        eventId: randomUUID(),
        at: new Date().toISOString(),
        body: { kind: 'package.status', appPkgId, digest: 'a'.repeat(64), state: 'DISTRIBUTED', error: null },
      },
    ])
    expect(late.rejected).toEqual([
      { eventId: expect.any(String), reason: expect.stringContaining('no longer distributed') },
    ])
    expect((await fleet.call('GET', packagePath)).body.distributions).toEqual([])
  })

  it('streams a followed log until the caller stops reading', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const id = randomUUID()
    const port = await freePort()
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${id}`, {
      appPkgId,
      targetState: 'STARTED',
      parameters: { PORT: String(port) },
    })
    await vi.waitFor(async () => {
      const live = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/live/instances/${id}`)
      expect(live.body.live?.state).toBe('running')
    }, WAIT)
    const response = await fetch(
      `${fleet.t.center.url}${fleet.hostPath(edge.ip)}/live/instances/${id}/logs?follow=true&tail=0`,
      { headers: { authorization: `Bearer ${fleet.operator.token}` } },
    )
    expect(response.status).toBe(200)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    await vi.waitFor(() => fetch(`http://127.0.0.1:${port}/followed`), WAIT)
    let text = ''
    while (!text.includes('request /followed')) {
      const { value, done } = await reader.read()
      if (done) throw new Error('the log stream ended early')
      text += new TextDecoder().decode(value)
    }
    await reader.cancel()
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${id}`, { appPkgId, targetState: 'NOT_INSTANTIATED' })
  })

  it("shows the edge's latest host metrics at the center", async () => {
    const edge = await fleet.edge({ env: { MEPM_METRICS_MS: '1000' } })
    await vi.waitFor(async () => {
      const sync = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/sync`)
      expect(sync.body.metrics).toMatchObject({
        cpu: { cores: expect.any(Number) },
        memory: { totalBytes: expect.any(Number) },
      })
    }, WAIT)
  })

  it('gives 503 at once for live calls to an edge that is not connected', async () => {
    const host = await fleet.register()
    const started = performance.now()
    const reply = await fleet.call('GET', `${fleet.hostPath(host.ip)}/live/kpi`)
    expect(reply.status).toBe(503)
    expect(reply.body.detail).toContain('not connected')
    expect(performance.now() - started).toBeLessThan(5000)
  })

  it('seals plugin credentials at rest on both sides and delivers them', async () => {
    const edge = await fleet.edge()
    const kubeconfig = 'apiVersion: v1\nkind: Config\nclusters: []\n'
    expect(
      (await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/plugins/kubernetes`, { config: kubeconfig })).status,
    ).toBe(204)
    await vi.waitFor(() => expect(edge.agent.store.plugins.get('kubernetes')).toBeDefined(), WAIT)
    const sealedHere = edge.agent.store.plugins.get('kubernetes') as string
    expect(sealedHere).not.toContain('Config')
    expect(edge.agent.sync.pluginConfig('kubernetes')).toBe(kubeconfig)
    const stored = await fleet.t.store.edgeOutbox.snapshot(edge.hostId)
    expect(JSON.stringify(stored)).not.toContain('kind: Config')
    expect((await fleet.call('DELETE', `${fleet.hostPath(edge.ip)}/plugins/kubernetes`)).status).toBe(204)
    await vi.waitFor(() => expect(edge.agent.store.plugins.get('kubernetes')).toBeUndefined(), WAIT)
  })
})
