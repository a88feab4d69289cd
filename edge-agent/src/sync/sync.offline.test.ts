import { randomUUID } from 'node:crypto'
import { copyFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { testAgent } from '../testing/agent'
import { freePort } from '../testing/apps'
import { type FaultProxy, faultProxy } from '../testing/fault-proxy'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'
import { probeEvent, probeLabels } from '../testing/probe'

describe('sync: autonomy while cut off, and the merge on reconnect', () => {
  let fleet: TestFleet
  let proxy: FaultProxy
  beforeAll(async () => {
    fleet = await testFleet()
    const { port } = new URL(fleet.t.center.url)
    proxy = await faultProxy({ host: '127.0.0.1', port: Number(port) })
  })
  afterAll(async () => {
    await proxy.close()
    await fleet.close()
  })

  const instancesAt = async (ip: string) =>
    (await fleet.call('GET', `${fleet.hostPath(ip)}/instances`)).body as {
      appInstanceId: string
      origin: string
      desired: { targetState: string; generation: number } | null
      observed: { status: string } | null
    }[]

  async function cutOff(ip: string, edge: { agent: { sync: { status(): { connected: boolean } } } }) {
    proxy.refuse(true)
    proxy.cut()
    await vi.waitFor(() => expect(edge.agent.sync.status().connected).toBe(false), WAIT)
    await vi.waitFor(async () => expect(await fleet.statusOf(ip)).toBe('OFFLINE'), WAIT)
  }

  it('applies local deploys and stops at once while cut off, and the center adopts them on reconnect', async () => {
    const edge = await fleet.edge({ centerUrl: proxy.url() })
    const appPkgId = await fleet.onboardHello()
    const x = randomUUID()
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, {
      appPkgId,
      targetState: 'STARTED',
      parameters: { PORT: String(await freePort()) },
    })
    await vi.waitFor(async () => expect((await instancesAt(edge.ip))[0]?.observed?.status).toBe('STARTED'), WAIT)
    const digest = edge.agent.store.desired.get(x)?.packageDigest as string

    await cutOff(edge.ip, edge)
    const stopped = await edge.call('POST', `/mepm/v1/instances/${x}/stop`)
    expect(stopped.status).toBe(202)
    const deployed = await edge.call('POST', '/mepm/v1/instances', {
      package: digest,
      parameters: { PORT: String(await freePort()) },
    })
    expect(deployed.status).toBe(201)
    const y = deployed.body.appInstanceId as string
    await vi.waitFor(() => {
      expect(edge.agent.store.observed.get(x)?.status).toBe('STOPPED')
      expect(edge.agent.store.observed.get(y)?.status).toBe('STARTED')
    }, WAIT)

    proxy.refuse(false)
    await vi.waitFor(async () => {
      const instances = await instancesAt(edge.ip)
      expect(instances.find((i) => i.appInstanceId === x)).toMatchObject({
        origin: 'edge',
        desired: { targetState: 'STOPPED', generation: 2 },
        observed: { status: 'STOPPED' },
      })
      expect(instances.find((i) => i.appInstanceId === y)).toMatchObject({
        origin: 'edge',
        desired: { targetState: 'STARTED', generation: 1, tenantId: fleet.operator.tenantId },
        observed: { status: 'STARTED' },
      })
    }, WAIT)
    expect((await fleet.call('GET', `${fleet.hostPath(edge.ip)}/conflicts`)).body).toEqual([])

    // both sides change x while cut off: the center's change stands, and the conflict is shown
    await cutOff(edge.ip, edge)
    expect((await edge.call('POST', `/mepm/v1/instances/${x}/start`)).status).toBe(202)
    await vi.waitFor(() => expect(edge.agent.store.observed.get(x)?.status).toBe('STARTED'), WAIT)
    const central = await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, {
      appPkgId,
      targetState: 'NOT_INSTANTIATED',
    })
    expect(central.body.generation).toBe(3)
    proxy.refuse(false)
    await vi.waitFor(async () => {
      expect((await instancesAt(edge.ip)).map((i) => i.appInstanceId)).toEqual([y])
      expect(edge.agent.store.desired.get(x)).toBeUndefined()
    }, WAIT)
    const conflicts = (await fleet.call('GET', `${fleet.hostPath(edge.ip)}/conflicts`)).body
    expect(conflicts).toEqual([
      expect.objectContaining({
        appInstanceId: x,
        winner: 'center',
        centerRecord: expect.objectContaining({ targetState: 'NOT_INSTANTIATED', generation: 3 }),
        edgeRecord: expect.objectContaining({ targetState: 'STARTED', generation: 3 }),
      }),
    ])
    await edge.call('DELETE', `/mepm/v1/instances/${y}`)
    await vi.waitFor(async () => expect(await instancesAt(edge.ip)).toEqual([]), WAIT)
  })

  it('sends a full snapshot to an agent whose store was reset, and the agent converges to it', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const x = randomUUID()
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, { appPkgId, targetState: 'STOPPED' })
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/plugins/openstack`, {
      config: '{"auth_url":"http://keystone"}',
    })
    await vi.waitFor(() => expect(edge.agent.store.observed.get(x)?.status).toBe('STOPPED'), WAIT)
    const oldStore = edge.agent.store.storeId
    await edge.stop()
    for (const file of ['agent.db', 'agent.db-wal', 'agent.db-shm']) rmSync(join(edge.dataDir, file), { force: true })

    const again = await testAgent({}, edge.dataDir)
    expect(again.agent.store.storeId).not.toBe(oldStore)
    await vi.waitFor(() => {
      expect(again.agent.store.desired.get(x)).toMatchObject({ targetState: 'STOPPED', origin: 'center' })
      expect(again.agent.store.observed.get(x)?.status).toBe('STOPPED')
      expect(again.agent.sync.pluginConfig('openstack')).toBe('{"auth_url":"http://keystone"}')
      expect(again.agent.store.wanted.list()).toEqual([expect.objectContaining({ appPkgId, state: 'DISTRIBUTED' })])
    }, WAIT)
    const sync = (await fleet.call('GET', `${fleet.hostPath(edge.ip)}/sync`)).body
    expect(sync.commands.acknowledged).toBe(sync.commands.issued)
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, { appPkgId, targetState: 'NOT_INSTANTIATED' })
    await vi.waitFor(() => expect(again.agent.store.desired.get(x)).toBeUndefined(), WAIT)
    await again.close()
  })

  it('keeps every event of an agent store restored from a backup, each once', async () => {
    const edge = await fleet.edge()
    const drained = () => vi.waitFor(() => expect(edge.agent.store.outbox.count()).toBe(0), WAIT)
    edge.agent.store.outbox.append(probeEvent('before-backup'))
    await drained()
    await edge.stop()
    copyFileSync(join(edge.dataDir, 'agent.db'), join(edge.dataDir, 'backup.db'))
    let agent = await testAgent({}, edge.dataDir)
    for (const id of ['lost-1', 'lost-2', 'lost-3']) agent.agent.store.outbox.append(probeEvent(id))
    await vi.waitFor(() => expect(agent.agent.store.outbox.count()).toBe(0), WAIT)
    await agent.stop()
    // the host is restored from last night's backup; the agent numbers new events as it did then
    copyFileSync(join(edge.dataDir, 'backup.db'), join(edge.dataDir, 'agent.db'))
    agent = await testAgent({}, edge.dataDir)
    for (const id of ['after-restore-1', 'after-restore-2']) agent.agent.store.outbox.append(probeEvent(id))
    await vi.waitFor(() => expect(agent.agent.store.outbox.count()).toBe(0), WAIT)
    const log = await fleet.t.store.edgeEvents.log(edge.hostId, 1000)
    expect(probeLabels(log).sort()).toEqual([
      'after-restore-1',
      'after-restore-2',
      'before-backup',
      'lost-1',
      'lost-2',
      'lost-3',
    ])
    await agent.close()
  })

  it('gives concurrent changes of one instance distinct generations, and the edge ends at the last', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const x = randomUUID()
    const replies = await Promise.all(
      ['STOPPED', 'STARTED', 'STOPPED', 'STARTED', 'STOPPED'].map((targetState) =>
        fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, {
          appPkgId,
          targetState,
          parameters: { PORT: '1' },
        }),
      ),
    )
    const generations = replies.map((reply) => reply.body.generation as number).sort()
    expect(generations).toEqual([1, 2, 3, 4, 5])
    const last = replies.find((reply) => reply.body.generation === 5)?.body.targetState
    await vi.waitFor(
      () => expect(edge.agent.store.desired.get(x)).toMatchObject({ generation: 5, targetState: last }),
      WAIT,
    )
    await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, { appPkgId, targetState: 'NOT_INSTANTIATED' })
    await vi.waitFor(() => expect(edge.agent.store.desired.get(x)).toBeUndefined(), WAIT)
  })

  it('does not bring back an instance terminated at the edge with an older command from the center', async () => {
    const edge = await fleet.edge({ centerUrl: proxy.url() })
    const appPkgId = await fleet.onboardHello()
    const x = randomUUID()
    const put = (targetState: string) =>
      fleet.call('PUT', `${fleet.hostPath(edge.ip)}/instances/${x}`, {
        appPkgId,
        targetState,
        parameters: { PORT: '1' },
      })
    await put('STOPPED')
    await vi.waitFor(() => expect(edge.agent.store.observed.get(x)?.status).toBe('STOPPED'), WAIT)
    await cutOff(edge.ip, edge)
    expect((await put('STARTED')).body.generation).toBe(2)
    expect((await edge.call('POST', `/mepm/v1/instances/${x}/start`)).status).toBe(202)
    expect((await edge.call('DELETE', `/mepm/v1/instances/${x}`)).status).toBe(202)
    await vi.waitFor(() => expect(edge.agent.store.desired.get(x)).toBeUndefined(), WAIT)
    proxy.refuse(false)
    await vi.waitFor(async () => {
      expect(edge.agent.sync.status().connected).toBe(true)
      expect(await instancesAt(edge.ip)).toEqual([])
      const sync = await fleet.t.store.edgeOutbox.state(edge.hostId)
      expect(sync?.ackedCommandSeq).toBe(sync?.commandSeq)
    }, WAIT)
    expect(edge.agent.store.desired.get(x)).toBeUndefined()
    expect(edge.agent.store.observed.get(x)).toBeUndefined()
  })

  it('sends a snapshot to an agent that applied commands a center restored from a backup no longer has', async () => {
    const edge = await fleet.edge({ centerUrl: proxy.url() })
    const configure = (config: string) => fleet.call('PUT', `${fleet.hostPath(edge.ip)}/plugins/kubernetes`, { config })
    for (const config of ['cfg-1', 'cfg-2', 'cfg-3']) await configure(config)
    await vi.waitFor(() => expect(edge.agent.sync.pluginConfig('kubernetes')).toBe('cfg-3'), WAIT)
    await cutOff(edge.ip, edge)
    // the center's database goes back to when it had issued only the first command
    const db = new Database(join(fleet.t.dataDir, 'mecm.db'))
    const first = db
      .prepare('SELECT seq, body FROM edge_commands WHERE host_id = ? ORDER BY seq LIMIT 1')
      .get(edge.hostId) as { seq: number; body: string }
    db.prepare('DELETE FROM edge_commands WHERE host_id = ? AND seq > ?').run(edge.hostId, first.seq)
    db.prepare('UPDATE edge_sync SET command_seq = ?, acked_command_seq = ? WHERE host_id = ?').run(
      first.seq,
      first.seq,
      edge.hostId,
    )
    db.prepare("UPDATE edge_desired SET record = ? WHERE host_id = ? AND kind = 'plugin'").run(
      JSON.stringify(JSON.parse(first.body).plugin),
      edge.hostId,
    )
    db.close()
    // it issues two new commands, numbered as the ones the agent applied already
    for (const config of ['cfg-a', 'cfg-b']) await configure(config)
    proxy.refuse(false)
    await vi.waitFor(() => expect(edge.agent.sync.pluginConfig('kubernetes')).toBe('cfg-b'), WAIT)
  })
})
