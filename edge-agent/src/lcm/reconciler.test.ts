import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DesiredInstance, ExecDescriptor, type InstanceStatus } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { createLogger } from '@mecm/runtime'
import { afterAll, describe, expect, it } from 'vitest'
import { openAgentStore } from '../store/store'
import { packageAt } from '../testing/apps'
import type { Observation, Plugin } from './plugin'
import { PackageOnItsWay, reconciler } from './reconciler'

const dir = mkdtempSync(join(tmpdir(), 'mecm-reconciler-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const id = examples.appInstanceId

/** A plugin whose behaviour each case scripts, recording what it was asked to do. */
function scripted(script: { failInstantiate?: number; unhealthyObserves?: number; exited?: boolean } = {}) {
  const calls: string[] = []
  let running = false
  let failures = script.failInstantiate ?? 0
  let unhealthy = script.unhealthyObserves ?? 0
  const run = async (name: string) => {
    calls.push(name)
    if (failures > 0) {
      failures--
      throw new Error('image pull failed')
    }
    running = true
  }
  const plugin: Plugin = {
    kind: 'exec',
    instantiate: () => run('instantiate'),
    start: () => run('start'),
    stop: async () => {
      calls.push('stop')
      running = false
    },
    terminate: async () => {
      calls.push('terminate')
      running = false
    },
    observe: async (): Promise<Observation> => {
      if (script.exited) return { state: 'exited', healthy: false, detail: 'exited with 1' }
      if (!running) return { state: 'absent', healthy: false, detail: '' }
      if (unhealthy > 0) {
        unhealthy--
        return { state: 'running', healthy: false, detail: 'warming up' }
      }
      return { state: 'running', healthy: true, detail: 'pid 1' }
    },
    logs: async function* () {},
  }
  return {
    plugin,
    calls,
    set exited(value: boolean) {
      script.exited = value
    },
  }
}

interface Case {
  name: string
  target?: 'STARTED' | 'STOPPED' | 'NOT_INSTANTIATED'
  /** Statuses to walk the observed record through before the reconciler starts. */
  from?: InstanceStatus[]
  script?: Parameters<typeof scripted>[0]
  restart?: 'never' | 'on-failure'
  /** Passes of the reconciler, with the clock moved on a minute between them. */
  passes?: number
  statuses: InstanceStatus[]
  calls: string[]
  final: InstanceStatus | 'forgotten'
  results?: ('COMPLETED' | 'FAILED')[]
}

const cases: Case[] = [
  {
    name: 'deploys a new instance',
    target: 'STARTED',
    statuses: ['INSTANTIATING', 'STARTED'],
    calls: ['instantiate'],
    final: 'STARTED',
    results: ['COMPLETED'],
  },
  {
    name: 'instantiates an instance wanted stopped without running it',
    target: 'STOPPED',
    statuses: ['INSTANTIATING', 'STOPPED'],
    calls: ['stop'],
    final: 'STOPPED',
  },
  {
    name: 'stops a running instance',
    target: 'STOPPED',
    from: ['INSTANTIATING', 'STARTED'],
    statuses: ['STOPPING', 'STOPPED'],
    calls: ['stop'],
    final: 'STOPPED',
  },
  {
    name: 'starts a stopped instance',
    target: 'STARTED',
    from: ['INSTANTIATING', 'STARTED', 'STOPPING', 'STOPPED'],
    statuses: ['STARTING', 'STARTED'],
    calls: ['start'],
    final: 'STARTED',
  },
  {
    name: 'terminates an instance and forgets it',
    target: 'NOT_INSTANTIATED',
    from: ['INSTANTIATING', 'STARTED'],
    statuses: ['TERMINATING', 'NOT_INSTANTIATED'],
    calls: ['terminate'],
    final: 'forgotten',
    results: ['COMPLETED'],
  },
  {
    name: 'terminates an instance nobody wants any more',
    from: ['INSTANTIATING', 'STARTED'],
    statuses: ['TERMINATING', 'NOT_INSTANTIATED'],
    calls: ['terminate'],
    final: 'forgotten',
  },
  {
    name: 'retries a failed instantiate after a backoff',
    target: 'STARTED',
    script: { failInstantiate: 1 },
    passes: 2,
    statuses: ['INSTANTIATING', 'FAILED', 'INSTANTIATING', 'STARTED'],
    calls: ['instantiate', 'instantiate'],
    final: 'STARTED',
    results: ['FAILED', 'COMPLETED'],
  },
  {
    name: 'waits for the health check before calling an instance started',
    target: 'STARTED',
    script: { unhealthyObserves: 2 },
    passes: 3,
    statuses: ['INSTANTIATING', 'STARTED'],
    calls: ['instantiate', 'instantiate', 'instantiate'],
    final: 'STARTED',
  },
  {
    name: 'resumes an instantiate a killed agent left half done',
    target: 'STARTED',
    from: ['INSTANTIATING'],
    statuses: ['STARTED'],
    calls: ['instantiate'],
    final: 'STARTED',
  },
  {
    name: 'resumes a terminate a killed agent left half done',
    target: 'NOT_INSTANTIATED',
    from: ['INSTANTIATING', 'STARTED', 'TERMINATING'],
    statuses: ['NOT_INSTANTIATED'],
    calls: ['terminate'],
    final: 'forgotten',
  },
  {
    name: 'calls off an instantiate that has not come up yet',
    target: 'NOT_INSTANTIATED',
    from: ['INSTANTIATING'],
    statuses: ['NOT_INSTANTIATED'],
    calls: ['terminate'],
    final: 'forgotten',
  },
  {
    name: 'fails an instance that never turns healthy, then retries it',
    target: 'STARTED',
    script: { unhealthyObserves: 1000 },
    passes: 4,
    statuses: ['INSTANTIATING', 'FAILED', 'INSTANTIATING'],
    calls: ['instantiate', 'instantiate', 'instantiate', 'instantiate'],
    final: 'INSTANTIATING',
    results: ['FAILED'],
  },
  {
    name: 'does not restart an app whose restart policy is never',
    target: 'STARTED',
    from: ['INSTANTIATING', 'STARTED'],
    script: { exited: true },
    restart: 'never',
    passes: 2,
    statuses: ['FAILED'],
    calls: [],
    final: 'FAILED',
  },
]

describe('the reconciler', () => {
  it.each(cases)('$name', async (c) => {
    const store = openAgentStore(join(dir, `${c.name.replaceAll(' ', '-')}.db`))
    let clock = 1_000_000
    const { plugin, calls } = scripted(c.script)
    const exec = ExecDescriptor.parse({ command: 'app', restart: c.restart ?? 'on-failure' })
    const r = reconciler({
      store,
      plugin,
      prepare: async () => ({ ...packageAt(dir), exec, env: {} }),
      log: createLogger('silent'),
      backoffMs: 1000,
      now: () => clock,
    })
    for (const status of c.from ?? []) store.observed.record(id, status, { generation: 1, operationId: null })
    const seen = store.outbox.after(0, 1000).length
    if (c.target)
      store.desired.put(DesiredInstance.parse({ ...examples.desiredInstance, targetState: c.target }), 'center')

    for (let pass = 0; pass < (c.passes ?? 1); pass++) {
      await r.reconcileAll()
      clock += 60_000
    }

    const events = store.outbox
      .after(0, 1000)
      .slice(seen)
      .map((e) => e.body)
    expect(events.flatMap((e) => (e.kind === 'instance.status' ? [e.status] : []))).toEqual(c.statuses)
    expect(events.flatMap((e) => (e.kind === 'operation.result' ? [e.outcome] : []))).toEqual(
      c.results ?? (c.target ? expect.any(Array) : []),
    )
    expect(calls).toEqual(c.calls)
    expect(c.final === 'forgotten' ? store.observed.get(id) : store.observed.get(id)?.status).toEqual(
      c.final === 'forgotten' ? undefined : c.final,
    )
    if (c.final === 'forgotten') expect(store.desired.get(id)).toBeUndefined()
    store.close()
  })

  it('restarts an app whose process exited', async () => {
    const store = openAgentStore(join(dir, 'restart.db'))
    const scriptedPlugin = scripted()
    let clock = 0
    const r = reconciler({
      store,
      plugin: scriptedPlugin.plugin,
      prepare: async () => ({ ...packageAt(dir), exec: ExecDescriptor.parse({ command: 'app' }), env: {} }),
      log: createLogger('silent'),
      now: () => clock,
    })
    store.desired.put(DesiredInstance.parse(examples.desiredInstance), 'center')
    await r.reconcileAll()
    scriptedPlugin.exited = true
    await r.reconcileAll()
    expect(store.observed.get(id)?.status).toBe('FAILED')
    // the restart found it still down: the next try waits for the backoff
    scriptedPlugin.exited = false
    await r.reconcileAll()
    expect(store.observed.get(id)?.status).toBe('FAILED')
    clock += 60_000
    await r.reconcileAll()
    expect(store.observed.get(id)?.status).toBe('STARTED')
    expect(scriptedPlugin.calls).toEqual(['instantiate', 'instantiate', 'instantiate'])
    store.close()
  })

  it('waits, without failing, for a package on its way while the instance is wanted running, and not after', async () => {
    const store = openAgentStore(join(dir, 'on-its-way.db'))
    const scriptedPlugin = scripted()
    let arrived = false
    const r = reconciler({
      store,
      plugin: scriptedPlugin.plugin,
      prepare: async () => {
        if (!arrived) throw new PackageOnItsWay('the package is being fetched (DISTRIBUTING)')
        return { ...packageAt(dir), exec: ExecDescriptor.parse({ command: 'app' }), env: {} }
      },
      log: createLogger('silent'),
      now: () => clock,
    })
    let clock = 0
    const wanted = DesiredInstance.parse({ ...examples.desiredInstance, operationId: examples.operationId })
    store.desired.put(wanted, 'center')
    await r.reconcileAll()
    await r.reconcileAll()
    expect(store.observed.get(id)?.status).toBe('INSTANTIATING')
    const reported = () => store.outbox.after(0, 1000).map((event) => event.body.kind)
    expect(reported()).not.toContain('operation.result')
    arrived = true
    await r.reconcileAll()
    expect(store.observed.get(id)?.status).toBe('STARTED')

    // stopped, then started again and removed while the package is away: removing does not wait for it
    store.desired.put({ ...wanted, targetState: 'STOPPED', generation: 2 }, 'center')
    await r.reconcileAll()
    arrived = false
    store.desired.put({ ...wanted, targetState: 'STARTED', generation: 3 }, 'center')
    await r.reconcileAll()
    expect(store.observed.get(id)?.status).toBe('STARTING')
    store.desired.put({ ...wanted, targetState: 'NOT_INSTANTIATED', generation: 4 }, 'center')
    // it fails without its package and, once past the backoff, is terminated
    for (let pass = 0; pass < 5 && store.observed.get(id); pass++) {
      await r.reconcileAll()
      clock += 60_000
    }
    expect(store.observed.get(id)).toBeUndefined()
    store.close()
  })
})
