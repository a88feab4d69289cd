import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN_PASSWORD, helloPackage, testAgent } from '../testing/agent'
import { freePort } from '../testing/apps'
import { mepmRunner } from '../testing/mepm'

const home = mkdtempSync(join(tmpdir(), 'mepm-home-'))
afterAll(() => rmSync(home, { recursive: true, force: true }))

describe('the mepm command', () => {
  let t: Awaited<ReturnType<typeof testAgent>>
  const mepm = mepmRunner(home, () => t.agent.url)

  beforeAll(async () => {
    t = await testAgent()
  })
  afterAll(() => t.close())

  it('asks to sign in first, then keeps the session in a file only its owner reads', async () => {
    const before = await mepm('apps', 'ls')
    expect([before.code, before.stderr]).toEqual([3, expect.stringContaining('mepm login')])
    const wrong = await mepm('login', '-p', 'nope')
    expect([wrong.code, wrong.stderr.trim()]).toEqual([1, 'mepm: wrong username or password'])
    expect((await mepm('login', '-p', ADMIN_PASSWORD)).code).toBe(0)
    expect(statSync(join(home, 'session.json')).mode & 0o777).toBe(0o600)
  })

  it('adds a package, deploys it, shows it, follows its logs, stops, starts and removes it', async () => {
    const file = await helloPackage(join(t.dataDir, 'cli.csar'))
    const added = await mepm('pkgs', 'add', file, '-o', 'json')
    const appPkgId = JSON.parse(added.stdout).appPkgId
    expect((await mepm('pkgs', 'ls')).stdout).toMatch(new RegExp(`${appPkgId}\\s+hello\\s+1.0.0\\s+exec`))

    const port = await freePort()
    const deployed = JSON.parse(
      (await mepm('apps', 'deploy', appPkgId, '--param', `PORT=${port}`, '-o', 'json')).stdout,
    )
    const id = deployed.appInstanceId
    await vi.waitFor(
      async () => expect((await mepm('apps', 'show', id, '-o', 'json')).stdout).toContain('"status": "STARTED"'),
      {
        timeout: 20_000,
      },
    )
    await vi.waitFor(async () => expect(await (await fetch(`http://127.0.0.1:${port}/x`)).text()).toBe(id), {
      timeout: 20_000,
      interval: 100,
    })
    expect((await mepm('apps', 'ls')).stdout).toMatch(new RegExp(`${id}\\s+hello\\s+STARTED\\s+STARTED\\s+edge`))
    expect((await mepm('apps', 'logs', id, '--tail', '5')).stdout).toContain('request /x')

    expect((await mepm('apps', 'stop', id)).stdout).toContain(`stopping ${id}`)
    await vi.waitFor(async () => expect((await mepm('apps', 'show', id)).stdout).toMatch(/status\s+STOPPED/), {
      timeout: 20_000,
      interval: 100,
    })
    expect((await mepm('apps', 'start', id)).code).toBe(0)
    await vi.waitFor(async () => expect((await mepm('apps', 'show', id)).stdout).toMatch(/status\s+STARTED/), {
      timeout: 20_000,
    })
    expect((await mepm('apps', 'rm', id)).stdout).toContain(`terminating ${id}`)
    await vi.waitFor(async () => expect((await mepm('apps', 'ls')).stdout.trim()).toBe('no app instances'), {
      timeout: 20_000,
      interval: 100,
    })
  })

  it('prints KPI and status for people and for scripts', async () => {
    expect((await mepm('kpi')).stdout).toMatch(/^cpu\s+[\d.]+% of \d+ cores/m)
    expect(JSON.parse((await mepm('status', '-o', 'json')).stdout)).toMatchObject({
      vim: 'exec',
      storeId: t.agent.store.storeId,
    })
  })

  it('answers wrong usage with exit code 2, refusals with 1, an unreachable agent with 3', async () => {
    expect((await mepm('apps', 'frobnicate')).code).toBe(2)
    expect((await mepm('apps', 'show')).stderr).toContain('usage: mepm apps show ID')
    expect((await mepm('apps', 'deploy', 'f'.repeat(32))).code).toBe(1)
    expect((await mepm('pkgs', 'add', '/no/such/file.csar')).code).toBe(2)
    const unreachable = await mepmRunner(home, () => 'http://127.0.0.1:9')('status')
    expect([unreachable.code, unreachable.stderr]).toEqual([3, expect.stringContaining('cannot reach the agent')])
  })
})
