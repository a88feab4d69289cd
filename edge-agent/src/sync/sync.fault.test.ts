import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { centerProcess, dialects, signedInAdmin, testCenter } from '@mecm/center/testing'
import { AppdConfiguration, type EventBody } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { describe, expect, it, vi } from 'vitest'
import { openAgentStore } from '../store/store'
import { testAgent } from '../testing/agent'
import { agentProcess } from '../testing/agent-process'
import { freePort } from '../testing/apps'
import { faultProxy } from '../testing/fault-proxy'
import { testFleet, WAIT } from '../testing/fleet'
import { probeEvent, probeLabels } from '../testing/probe'

const CONVERGE = { timeout: 120_000, interval: 100 }
const configuration = AppdConfiguration.parse(examples.appdConfiguration)

/** How many times each id occurs. */
function counts(ids: readonly string[]): Map<string, number> {
  const seen = new Map<string, number>()
  for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1)
  return seen
}

/** Every id of `expected` exactly once in `actual`, and nothing else. */
function exactlyOnce(actual: readonly string[], expected: readonly string[]) {
  expect(actual.length).toBe(expected.length)
  expect([...counts(actual).values()].every((n) => n === 1)).toBe(true)
  expect(new Set(actual)).toEqual(new Set(expected))
}

/** The ids the center committed for one edge, by kind: rule task ids and probe ids. */
function committed(log: { body: EventBody }[]) {
  return {
    tasks: log.flatMap((e) => (e.body.kind === 'rules.status' && e.body.taskId ? [e.body.taskId] : [])),
    probes: probeLabels(log),
  }
}

describe('sync under faults', () => {
  it.each(dialects)(
    'delivers every event and command exactly once through a proxy that cuts, delays and blackholes at random (%s)',
    async (dialect) => {
      const fleet = await testFleet(dialect, { MECM_EDGE_HEARTBEAT_MS: '300', MECM_EDGE_WINDOW: '100' })
      const proxies = await Promise.all(
        [1, 2, 3].map((seed) =>
          faultProxy({ host: '127.0.0.1', port: Number(new URL(fleet.t.center.url).port) }, { seed }),
        ),
      )
      try {
        const edges = []
        for (const proxy of proxies) edges.push(await fleet.edge({ centerUrl: proxy.url() }))
        const stops = proxies.map((proxy) => proxy.chaos({ everyMs: [150, 600] }))
        // 3 × 3,400 events and 3 × 1,700 commands on SQLite; PostgreSQL runs the same SQL on a
        // shorter stream to keep CI quick (each command is a round-trip transaction there)
        const PER_EDGE = dialect === 'sqlite' ? 1700 : 500
        const issued = edges.map(() => ({ commands: [] as string[], tasks: [] as string[], probes: [] as string[] }))
        const instances = Array.from({ length: 20 }, () => randomUUID())
        for (let round = 0; round < PER_EDGE / 100; round++) {
          for (const [i, edge] of edges.entries()) {
            const mine = issued[i] as (typeof issued)[number]
            for (let n = 0; n < 100; n++) {
              const taskId = randomUUID()
              const command = await fleet.t.center.hub.issue(edge.hostId, {
                kind: 'rules.set',
                rules: {
                  appInstanceId: instances[n % instances.length] as string,
                  taskId,
                  configuration,
                },
              })
              mine.commands.push(command.commandId)
              mine.tasks.push(taskId)
              const probeId = randomUUID()
              edge.agent.store.outbox.append(probeEvent(probeId))
              mine.probes.push(probeId)
            }
          }
          await new Promise((resolve) => setImmediate(resolve))
        }
        await Promise.all(stops.map((stop) => stop()))

        for (const [i, edge] of edges.entries()) {
          const mine = issued[i] as (typeof issued)[number]
          await vi.waitFor(async () => {
            const sync = await fleet.t.store.edgeOutbox.state(edge.hostId)
            expect(sync?.ackedCommandSeq).toBe(sync?.commandSeq)
            expect(edge.agent.store.outbox.count()).toBe(0)
            expect(edge.agent.sync.status().connected).toBe(true)
          }, CONVERGE)
          exactlyOnce(edge.agent.store.appliedCommandIds(), mine.commands)
          expect(edge.agent.store.appliedCommandIds()).toEqual(mine.commands)
          const log = await fleet.t.store.edgeEvents.log(edge.hostId, 100_000)
          expect(new Set(log.map((e) => e.eventId)).size).toBe(log.length)
          const got = committed(log)
          exactlyOnce(got.tasks, mine.tasks)
          exactlyOnce(got.probes, mine.probes)
          // both sides hold the same rules, and the center saw each instance's last task succeed
          for (const id of instances) {
            const center = await fleet.t.store.edgeOutbox.desired<{ taskId: string }>(edge.hostId, 'rules', id)
            expect(edge.agent.store.rules.get(id)?.taskId).toBe(center?.record.taskId)
            expect(center?.reported).toMatchObject({ taskId: center?.record.taskId, state: 'SUCCESS' })
          }
          expect(edge.agent.sync.status().connections).toBeGreaterThan(1)
        }
        const faults = proxies.flatMap((proxy) => proxy.events.map((event) => event.action.split(' ')[0]))
        expect(new Set(faults)).toEqual(new Set(['cut', 'delay', 'blackhole']))
      } finally {
        for (const proxy of proxies) await proxy.close()
        await fleet.close()
      }
    },
    300_000,
  )

  it('loses and repeats nothing when the center is killed with SIGKILL mid-stream and restarted', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mecm-center-'))
    const port = await freePort()
    const env = { MECM_EDGE_HEARTBEAT_MS: '300' }
    let center = await centerProcess(dataDir, port, env)
    const agent = await testAgent()
    try {
      const { as, hosts } = await signedInAdmin(() => center)
      const host = await as('POST', hosts, { ...examples.mecHostInput, mechostIp: '10.30.0.1', vim: 'exec' })
      await agent.agent.sync.enroll(center.url, host.enrollment.token)
      await vi.waitFor(() => expect(agent.agent.sync.status().connected).toBe(true), WAIT)

      const probes: string[] = []
      let lastConfig = ''
      for (let i = 1; i <= 300; i++) {
        if (i === 150) {
          await center.kill('SIGKILL')
          center = await centerProcess(dataDir, port, env)
        }
        // a request cut by the kill may have been committed: its retry is then a second command
        await as('PUT', `${hosts}/10.30.0.1/plugins/kubernetes`, { config: `cfg-${i}` })
        lastConfig = `cfg-${i}`
        const id = randomUUID()
        agent.agent.store.outbox.append(probeEvent(id))
        probes.push(id)
      }
      await vi.waitFor(async () => {
        const sync = await as('GET', `${hosts}/10.30.0.1/sync`)
        expect(sync.status).toBe('ONLINE')
        expect(sync.commands.acknowledged).toBe(sync.commands.issued)
        expect(agent.agent.store.outbox.count()).toBe(0)
      }, CONVERGE)
      const sync = await as('GET', `${hosts}/10.30.0.1/sync`)
      const applied = agent.agent.store.appliedCommandIds()
      expect(applied.length).toBe(sync.commands.issued)
      expect(new Set(applied).size).toBe(applied.length)
      expect(agent.agent.store.commands.lastApplied()).toBe(sync.commands.issued)
      expect(agent.agent.sync.pluginConfig('kubernetes')).toBe(lastConfig)
      const log = (await as('GET', `${hosts}/10.30.0.1/events?limit=1000`)) as { body: EventBody }[]
      exactlyOnce(committed(log).probes, probes)
    } finally {
      await agent.close()
      await center.kill()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 300_000)

  it('loses and repeats nothing when the agent is killed with SIGKILL mid-stream and restarted', async () => {
    const t = await testCenter('sqlite', { MECM_EDGE_HEARTBEAT_MS: '300' })
    const dataDir = mkdtempSync(join(tmpdir(), 'mecm-agent-'))
    const port = await freePort()
    let agent = await agentProcess(dataDir, port)
    try {
      const operator = await t.user('TENANT')
      const hosts = `/inventory/v1/tenants/${operator.tenantId}/mechosts`
      const host = await t.call('POST', hosts, {
        token: operator.token,
        body: { ...examples.mecHostInput, vim: 'exec' },
      })
      const enrolled = await agent.call('POST', '/mepm/v1/sync/enroll', {
        centerUrl: t.center.url,
        token: host.body.enrollment.token,
      })
      expect(enrolled.status).toBe(201)
      const { hostId } = (await enrolled.json()) as { hostId: string }
      const online = async () =>
        vi.waitFor(async () => {
          const shown = await t.call('GET', `${hosts}/${examples.mecHostInput.mechostIp}`, { token: operator.token })
          expect(shown.body.status).toBe('ONLINE')
        }, WAIT)
      await online()
      const commands: string[] = []
      const tasks: string[] = []
      const instance = randomUUID()
      for (let i = 1; i <= 2000; i++) {
        if (i === 700 || i === 1400) {
          await agent.kill()
          agent = await agentProcess(dataDir, port)
        }
        const taskId = randomUUID()
        const command = await t.center.hub.issue(hostId, {
          kind: 'rules.set',
          rules: { appInstanceId: instance, taskId, configuration },
        })
        commands.push(command.commandId)
        tasks.push(taskId)
        if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 5))
      }
      await vi.waitFor(async () => {
        const sync = await t.store.edgeOutbox.state(hostId)
        expect(sync?.ackedCommandSeq).toBe(2000)
        const log = await t.store.edgeEvents.log(hostId, 100_000)
        expect(committed(log).tasks.length).toBeGreaterThanOrEqual(2000)
      }, CONVERGE)
      const store = openAgentStore(join(dataDir, 'agent.db'))
      try {
        exactlyOnce(store.appliedCommandIds(), commands)
        expect(store.rules.get(instance)?.taskId).toBe(tasks.at(-1))
      } finally {
        store.close()
      }
      const log = await t.store.edgeEvents.log(hostId, 100_000)
      expect(new Set(log.map((e) => e.eventId)).size).toBe(log.length)
      exactlyOnce(committed(log).tasks, tasks)
    } finally {
      await agent.kill()
      await t.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }, 300_000)
})
