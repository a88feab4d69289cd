import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DesiredInstance, ExecDescriptor } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { freePort, helloApp } from '../../../testing/apps'
import type { RunSpec } from '../../plugin'
import { execPlugin } from './exec-plugin'
import { groupAlive, markedLeaders, procStartTime, writeRecord } from './process-file'

const root = mkdtempSync(join(tmpdir(), 'mecm-exec-'))
const packageDir = join(root, 'package')
const runDir = join(root, 'run')
helloApp(packageDir)
afterAll(() => rmSync(root, { recursive: true, force: true }))

let instances = 0
async function spec(env: Record<string, string> = {}): Promise<RunSpec> {
  const port = await freePort()
  const id = `00000000-0000-4000-8000-${String(++instances).padStart(12, '0')}`
  return {
    instance: DesiredInstance.parse({
      ...examples.desiredInstance,
      appInstanceId: id,
      parameters: { GREETING: 'hello' },
    }),
    packageDir,
    packageRoot: packageDir,
    artifacts: [],
    exec: ExecDescriptor.parse({
      command: process.execPath,
      args: ['server.js'],
      env: { PORT: String(port), ...env },
      healthCheck: { http: { port, path: '/healthz' }, intervalSeconds: 1, timeoutSeconds: 1 },
    }),
    env: { MECM_APP_INSTANCE_ID: id },
  }
}

const collect = async (lines: AsyncIterable<string>) => {
  const all: string[] = []
  for await (const line of lines) all.push(line)
  return all
}

describe('the exec plugin', () => {
  const plugin = execPlugin({ runDir, stopTimeoutMs: 500 })

  it('runs an app as a process, healthy once it answers, with the parameters and injected variables', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    expect((await plugin.observe(id, app)).state).toBe('absent')
    await plugin.instantiate(app)
    await vi.waitFor(
      async () => expect(await plugin.observe(id, app)).toMatchObject({ state: 'running', healthy: true }),
      { timeout: 20_000, interval: 100 },
    )
    expect(await collect(plugin.logs(id, { tail: 5 }))).toContain(`started as ${id} with hello`)
    await plugin.terminate(id)
  })

  it('checks the health on the port a parameter gives (${PORT} in the descriptor)', async () => {
    const app = await spec()
    const port = await freePort()
    const moved = {
      ...app,
      instance: { ...app.instance, parameters: { ...app.instance.parameters, PORT: String(port) } },
      exec: ExecDescriptor.parse({ ...app.exec, healthCheck: { http: { port: '${PORT}', path: '/healthz' } } }),
    }
    const id = moved.instance.appInstanceId
    await plugin.instantiate(moved)
    await vi.waitFor(async () => expect((await plugin.observe(id, moved)).healthy).toBe(true), {
      timeout: 20_000,
      interval: 100,
    })
    const elsewhere = { ...moved, instance: { ...moved.instance, parameters: { PORT: String(await freePort()) } } }
    expect((await plugin.observe(id, elsewhere)).healthy).toBe(false)
    await plugin.terminate(id)
  })

  it('does nothing when asked to run an instance that runs', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    await plugin.instantiate(app)
    const first = JSON.parse(readFileSync(join(runDir, id, 'process.json'), 'utf8')).pid
    await plugin.instantiate(app)
    await plugin.start(app)
    expect(JSON.parse(readFileSync(join(runDir, id, 'process.json'), 'utf8')).pid).toBe(first)
    await plugin.terminate(id)
  })

  it('finds its processes again after an agent restart, and stops them', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    await plugin.instantiate(app)
    const pid = JSON.parse(readFileSync(join(runDir, id, 'process.json'), 'utf8')).pid as number
    const restarted = execPlugin({ runDir, stopTimeoutMs: 500 })
    expect((await restarted.observe(id)).detail).toBe(`pid ${pid}`)
    await restarted.stop(id)
    expect((await restarted.observe(id)).state).toBe('absent')
    // gone, or a zombie this test process has not reaped yet
    expect(procStartTime(pid)).toBeUndefined()
    await restarted.terminate(id)
    expect(existsSync(join(runDir, id))).toBe(false)
  })

  it('kills an app that ignores SIGTERM once the stop timeout passes', async () => {
    const app = await spec({ IGNORE_TERM: '1' })
    const id = app.instance.appInstanceId
    await plugin.instantiate(app)
    await vi.waitFor(async () => expect((await collect(plugin.logs(id, { tail: 5 }))).join()).toContain('started'), {
      timeout: 20_000,
      interval: 100,
    })
    await plugin.stop(id)
    expect((await plugin.observe(id)).state).toBe('absent')
    expect(await collect(plugin.logs(id, { tail: 5 }))).toContain('ignoring SIGTERM')
    await plugin.terminate(id)
  })

  it('takes back an app a killed agent started but never recorded, instead of starting a twin', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    const orphan = spawn(process.execPath, ['server.js'], {
      cwd: packageDir,
      env: { ...process.env, ...app.exec?.env, MEPM_EXEC_INSTANCE: id },
      detached: true,
      stdio: 'ignore',
    })
    orphan.unref()
    await plugin.instantiate(app)
    expect(JSON.parse(readFileSync(join(runDir, id, 'process.json'), 'utf8')).pid).toBe(orphan.pid)
    await plugin.terminate(id)
    expect(procStartTime(orphan.pid ?? 0)).toBeUndefined()
  })

  it('does not take a process whose environment merely mentions the marker', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    const stranger = spawn('sleep', ['30'], {
      env: { ...process.env, X: `MEPM_EXEC_INSTANCE=${id}` },
      detached: true,
      stdio: 'ignore',
    })
    stranger.unref()
    await vi.waitFor(() => expect(procStartTime(stranger.pid ?? 0)).toBeDefined(), { timeout: 20_000, interval: 20 })
    expect(markedLeaders(id)).toEqual([])
    process.kill(-(stranger.pid ?? 0), 'SIGKILL')
  })

  it('stops the children an exited app left behind, and ends a followed log when the instance goes', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    const wrapper = {
      ...app,
      exec: ExecDescriptor.parse({ command: 'sh', args: ['-c', 'sleep 300 & echo forked; sleep 0.2; exit 1'] }),
    }
    await plugin.instantiate(wrapper)
    const { pid } = JSON.parse(readFileSync(join(runDir, id, 'process.json'), 'utf8'))
    await vi.waitFor(async () => expect((await plugin.observe(id)).state).toBe('exited'), {
      timeout: 20_000,
      interval: 50,
    })
    expect(groupAlive(pid)).toBe(true)
    const following = (async () => {
      const lines: string[] = []
      for await (const line of plugin.logs(id, { tail: 5, follow: true })) lines.push(line)
      return lines
    })()
    await plugin.terminate(id)
    expect(groupAlive(pid)).toBe(false)
    expect(await following).toContain('forked')
  })

  it('does not take a reused pid for its app', async () => {
    const id = '00000000-0000-4000-8000-99999999999a'
    execFileSync('mkdir', ['-p', join(runDir, id)])
    writeRecord(join(runDir, id, 'process.json'), { pid: process.pid, startTime: 'not this one', startedAt: '' })
    expect((await plugin.observe(id)).state).toBe('exited')
    await plugin.terminate(id)
    expect(existsSync(`/proc/${process.pid}`)).toBe(true)
  })

  it('follows the log as the app writes it', async () => {
    const app = await spec()
    const id = app.instance.appInstanceId
    await plugin.instantiate(app)
    await vi.waitFor(async () => expect((await plugin.observe(id, app)).healthy).toBe(true), {
      timeout: 20_000,
      interval: 100,
    })
    const controller = new AbortController()
    const seen: string[] = []
    const following = (async () => {
      for await (const line of plugin.logs(id, { tail: 0, follow: true, signal: controller.signal })) {
        seen.push(line)
        if (line === 'request /ping') controller.abort()
      }
    })()
    const port = app.exec?.env.PORT
    await fetch(`http://127.0.0.1:${port}/ping`).then((r) => r.text())
    await following
    expect(seen).toContain('request /ping')
    await plugin.terminate(id)
  })

  it('rotates a log past its size while the app keeps writing to it', async () => {
    const small = execPlugin({ runDir, stopTimeoutMs: 500, maxLogBytes: 10, keepLogs: 2 })
    const app = await spec()
    const id = app.instance.appInstanceId
    await small.instantiate(app)
    await vi.waitFor(async () => expect((await small.observe(id, app)).healthy).toBe(true), {
      timeout: 20_000,
      interval: 100,
    })
    small.rotateLogs(id)
    expect(readFileSync(join(runDir, id, 'app.log.1'), 'utf8')).toContain('started as')
    await fetch(`http://127.0.0.1:${app.exec?.env.PORT}/after-rotation`).then((r) => r.text())
    await vi.waitFor(
      () => expect(readFileSync(join(runDir, id, 'app.log'), 'utf8')).toContain('request /after-rotation'),
      { timeout: 20_000, interval: 100 },
    )
    await small.terminate(id)
  })

  it('says why it cannot start an app', async () => {
    const app = await spec()
    await expect(
      plugin.instantiate({ ...app, exec: { ...(app.exec as ExecDescriptor), command: '/no/such/binary' } }),
    ).rejects.toThrow('could not start /no/such/binary')
    await expect(plugin.instantiate({ ...app, exec: undefined })).rejects.toThrow('has no exec descriptor')
    await plugin.terminate(app.instance.appInstanceId)
  })
})
