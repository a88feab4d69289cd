import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Command, DesiredInstance, IllegalTransition } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import BetterSqlite3 from 'better-sqlite3'
import { afterAll, describe, expect, it } from 'vitest'
import { migrate } from './migrations'
import { openAgentStore } from './store'

const dir = mkdtempSync(join(tmpdir(), 'mecm-agent-store-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const file = () => join(dir, `agent-${++n}.db`)
const id = examples.appInstanceId
const desired = DesiredInstance.parse(examples.desiredInstance)

/** An event that is never coalesced. */
const ruleStatus = {
  kind: 'rules.status',
  appInstanceId: examples.appInstanceId,
  taskId: null,
  state: 'SUCCESS',
  detail: '',
} as const

describe('the agent store', () => {
  it('keeps its identity and everything in it across a reopen', () => {
    const path = file()
    const first = openAgentStore(path)
    first.desired.put(desired, 'center')
    first.observed.record(id, 'INSTANTIATING', { generation: 1, operationId: null })
    first.packages.add({
      digest: examples.digest,
      appPkgId: examples.appPkgId,
      appClass: 'exec',
      size: 10,
      details: { appName: 'hello', appSoftVersion: '1', exec: null, artifacts: [] },
    })
    first.close()
    const again = openAgentStore(path)
    expect(again.storeId).toBe(first.storeId)
    expect(again.desired.get(id)).toMatchObject({ appInstanceId: id, origin: 'center', generation: 1 })
    expect(again.observed.get(id)?.status).toBe('INSTANTIATING')
    expect(again.packages.get(examples.digest)).toMatchObject({
      appPkgId: examples.appPkgId,
      details: { appName: 'hello' },
    })
    again.close()
  })

  it('replaces a desired instance, lists and removes it', () => {
    const store = openAgentStore(file())
    store.desired.put(desired, 'center')
    store.desired.put({ ...desired, targetState: 'STOPPED', generation: 2 }, 'edge')
    expect(store.desired.list()).toEqual([
      expect.objectContaining({ targetState: 'STOPPED', generation: 2, origin: 'edge' }),
    ])
    expect(() => store.desired.put({ ...desired, generation: 0 }, 'center')).toThrow()
    expect(store.desired.remove(id)).toBe(true)
    expect(store.desired.list()).toEqual([])
    store.close()
  })

  it('moves observed status only through the lifecycle table, with an event for each move', () => {
    const store = openAgentStore(file())
    const info = { generation: 1, operationId: examples.operationId }
    expect(store.observed.record(id, 'INSTANTIATING', info)).toBe(true)
    expect(store.observed.record(id, 'INSTANTIATING', info)).toBe(false)
    expect(() => store.observed.record(id, 'STOPPING', info)).toThrow(IllegalTransition)
    expect(store.observed.record(id, 'STARTED', { ...info, detail: 'pid 42' })).toBe(true)
    expect(store.observed.get(id)).toMatchObject({ status: 'STARTED', detail: 'pid 42' })
    const events = store.outbox.after(0, 10)
    expect(events.map((e) => e.body)).toEqual([
      expect.objectContaining({ kind: 'instance.status', status: 'INSTANTIATING', operationId: examples.operationId }),
      expect.objectContaining({ kind: 'instance.status', status: 'STARTED', detail: 'pid 42' }),
    ])
    store.close()
  })

  it('numbers events once and for all, hands them out in order, and drops what the center acknowledged', () => {
    const store = openAgentStore(file())
    const seqs = [1, 2, 3].map(() => store.outbox.append(ruleStatus))
    expect(seqs).toEqual([1, 2, 3])
    expect(store.outbox.after(1, 10).map((e) => e.seq)).toEqual([2, 3])
    expect(store.outbox.after(0, 2).map((e) => e.seq)).toEqual([1, 2])
    expect(store.outbox.ack(2)).toBe(2)
    expect(store.outbox.after(0, 10).map((e) => e.seq)).toEqual([3])
    store.outbox.ack(3)
    expect(store.outbox.append(ruleStatus)).toBe(4)
    store.close()
  })

  it("clips an event's long text to what the protocol carries, so that it cannot block the outbox", () => {
    const store = openAgentStore(file())
    store.outbox.append({
      kind: 'operation.result',
      operationId: examples.operationId,
      appInstanceId: examples.appInstanceId,
      outcome: 'FAILED',
      error: 'e'.repeat(10_000),
    })
    const [event] = store.outbox.after(0, 10)
    expect(event?.body.kind === 'operation.result' && event.body.error?.length).toBe(4096)
    expect(() => store.outbox.append({ kind: 'rules.status' } as never)).toThrow()
    expect(store.outbox.count()).toBe(1)
    store.close()
  })

  it("moves events waiting at or below the center's sequence above it, in order, and numbers new ones after", () => {
    const store = openAgentStore(file())
    for (let i = 0; i < 4; i++) store.outbox.append(ruleStatus)
    store.outbox.renumberAfter(2)
    expect(store.outbox.after(0, 10).map((e) => e.seq)).toEqual([3, 4, 5, 6])
    store.outbox.renumberAfter(10)
    expect(store.outbox.after(0, 10).map((e) => e.seq)).toEqual([11, 12, 13, 14])
    expect(store.outbox.append(ruleStatus)).toBe(15)
    store.close()
  })

  it('keeps only the latest MEP registry waiting', () => {
    const store = openAgentStore(file())
    store.outbox.append({ kind: 'mep.services', services: [] })
    store.outbox.append(ruleStatus)
    store.outbox.append({
      kind: 'mep.services',
      services: [{ serInstanceId: 's1', serName: 'greeting', version: '1.0', state: 'ACTIVE', appInstanceId: null }],
    })
    expect(
      store.outbox.after(0, 10).map((e) => [e.body.kind, e.body.kind === 'mep.services' && e.body.services.length]),
    ).toEqual([
      ['rules.status', false],
      ['mep.services', 1],
    ])
    store.close()
  })

  it('keeps only the latest host metrics waiting', () => {
    const store = openAgentStore(file())
    store.outbox.append({ kind: 'host.metrics', metrics: examples.metrics })
    store.outbox.append({ kind: 'mep.services', services: [] })
    store.outbox.append({ kind: 'host.metrics', metrics: { ...examples.metrics, instances: 9 } })
    const kinds = store.outbox
      .after(0, 10)
      .map((e) => [e.body.kind, e.body.kind === 'host.metrics' && e.body.metrics.instances])
    expect(kinds).toEqual([
      ['mep.services', false],
      ['host.metrics', 9],
    ])
    store.close()
  })

  it('applies a command once: a replay or an older one is skipped', () => {
    const store = openAgentStore(file())
    const applied: number[] = []
    const command = (seq: number) =>
      Command.parse({ ...examples.command, seq, commandId: `00000000-0000-4000-8000-00000000000${seq}` })
    expect(store.commands.apply(command(1), () => applied.push(1))).toBe(true)
    expect(store.commands.apply(command(2), () => applied.push(2))).toBe(true)
    expect(store.commands.apply(command(2), () => applied.push(22))).toBe(false)
    expect(store.commands.apply(command(1), () => applied.push(11))).toBe(false)
    expect(applied).toEqual([1, 2])
    expect(store.commands.lastApplied()).toBe(2)
    store.close()
  })

  it('records nothing of a command whose effect fails', () => {
    const store = openAgentStore(file())
    expect(() =>
      store.commands.apply(Command.parse(examples.command), () => {
        store.desired.put(desired, 'center')
        throw new Error('disk full')
      }),
    ).toThrow('disk full')
    expect(store.commands.lastApplied()).toBe(0)
    expect(store.desired.list()).toEqual([])
    store.close()
  })

  it('refuses a store written by a newer agent', () => {
    const path = file()
    openAgentStore(path).close()
    const raw = new BetterSqlite3(path)
    raw.prepare('INSERT INTO schema_migrations VALUES (99, ?, ?)').run('future', 'x')
    expect(() => migrate(raw)).toThrow('newer than this agent knows')
    raw.close()
  })
})

describe('the agent store under kill -9', () => {
  it('keeps every committed transition and its event together, whenever the process dies', async () => {
    const path = file()
    for (let run = 0; run < 5; run++) {
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, '../testing/store-writer.ts'), path],
        {
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      )
      const committed: string[] = []
      const target = 20 + Math.floor(Math.random() * 200)
      await new Promise<void>((resolve) => {
        createInterface({ input: child.stdout }).on('line', (line) => {
          committed.push(line)
          if (committed.length === target) child.kill('SIGKILL')
        })
        child.on('exit', () => resolve())
      })
      const store = openAgentStore(path)
      const events = store.outbox.after(0, 1_000_000)
      const last = committed.at(-1)?.split(' ') ?? []
      const observed = store.observed.get(id)
      // every transition the writer saw committed is there; at most the one in flight beyond it
      expect(observed?.generation).toBeGreaterThanOrEqual(Number(last[0]))
      expect(observed?.generation).toBeLessThanOrEqual(Number(last[0]) + 1)
      // the observed row and the newest event were written together
      const newest = events.at(-1)?.body
      expect(newest).toMatchObject({
        kind: 'instance.status',
        status: observed?.status,
        generation: observed?.generation,
      })
      expect(events.map((e) => e.seq)).toEqual([...events.map((e) => e.seq)].sort((a, b) => a - b))
      store.close()
    }
  }, 60_000)
})
