import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DesiredInstance, ExecDescriptor } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { createLogger } from '@mecm/runtime'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { openAgentStore } from '../store/store'
import { freePort, helloApp, packageAt } from '../testing/apps'
import { execPlugin } from './plugins/exec/exec-plugin'
import { procStartTime } from './plugins/exec/process-file'
import { reconciler } from './reconciler'

const dir = mkdtempSync(join(tmpdir(), 'mecm-reconcile-exec-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the reconciler with the exec plugin', () => {
  it('deploys, stops, starts, restarts a killed process, and terminates, with real processes', async () => {
    const store = openAgentStore(join(dir, 'agent.db'))
    const port = await freePort()
    const plugin = execPlugin({ runDir: join(dir, 'run'), stopTimeoutMs: 1000 })
    const exec = ExecDescriptor.parse({
      command: process.execPath,
      args: ['server.js'],
      env: { PORT: String(port) },
      healthCheck: { http: { port, path: '/' }, intervalSeconds: 1, timeoutSeconds: 1 },
    })
    let clock = 0
    const r = reconciler({
      store,
      plugin,
      prepare: async () => ({ ...packageAt(helloApp(join(dir, 'package'))), exec, env: {} }),
      log: createLogger('silent'),
      now: () => clock,
    })
    const want = (targetState: string, generation: number) =>
      store.desired.put(DesiredInstance.parse({ ...examples.desiredInstance, targetState, generation }), 'edge')
    const id = examples.appInstanceId
    const settle = async (status: string) => {
      for (let pass = 0; pass < 50 && store.observed.get(id)?.status !== status; pass++) {
        await r.reconcileAll()
        clock += 60_000
      }
      return store.observed.get(id)?.status
    }

    want('STARTED', 1)
    expect(await settle('STARTED')).toBe('STARTED')
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe('ok')

    want('STOPPED', 2)
    expect(await settle('STOPPED')).toBe('STOPPED')
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()

    want('STARTED', 3)
    expect(await settle('STARTED')).toBe('STARTED')

    const { pid } = JSON.parse(readFileSync(join(dir, 'run', id, 'process.json'), 'utf8'))
    process.kill(-pid, 'SIGKILL')
    // the signal lands asynchronously: the next pass is to see the process gone
    await vi.waitFor(() => expect(procStartTime(pid)).toBeUndefined(), { timeout: 20_000, interval: 20 })
    await r.reconcileAll()
    expect(await settle('STARTED')).toBe('STARTED')
    expect(JSON.parse(readFileSync(join(dir, 'run', id, 'process.json'), 'utf8')).pid).not.toBe(pid)

    want('NOT_INSTANTIATED', 4)
    await r.reconcileAll()
    expect(store.observed.get(id)).toBeUndefined()
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
    store.close()
  }, 60_000)
})
