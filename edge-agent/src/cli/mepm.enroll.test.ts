import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ADMIN_PASSWORD, testAgent } from '../testing/agent'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'
import { mepmRunner } from '../testing/mepm'

describe('mepm enroll, sync and rotate-key', () => {
  const home = mkdtempSync(join(tmpdir(), 'mepm-home-'))
  let fleet: TestFleet
  let agent: Awaited<ReturnType<typeof testAgent>>
  const mepm = mepmRunner(home, () => agent.agent.url)

  beforeAll(async () => {
    fleet = await testFleet()
    agent = await testAgent()
  })
  afterAll(async () => {
    await agent.close()
    await fleet.close()
    rmSync(home, { recursive: true, force: true })
  })

  it('joins the center with the token from host registration, shows the link, and rotates the key', async () => {
    expect((await mepm('login', '-p', ADMIN_PASSWORD)).code).toBe(0)
    const host = await fleet.register()
    const usage = await mepm('enroll', '--token', host.token)
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('mepm enroll --center URL --token TOKEN')])
    const wrong = await mepm('enroll', '--center', fleet.t.center.url, '--token', 'x'.repeat(43))
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringContaining('unknown, already used, or expired')])

    const enrolled = await mepm('enroll', '--center', fleet.t.center.url, '--token', host.token)
    expect([enrolled.code, enrolled.stdout.trim()]).toEqual([
      0,
      expect.stringMatching(`^enrolled as host ${host.ip} \\(`),
    ])
    await vi.waitFor(async () => {
      const sync = JSON.parse((await mepm('sync', '-o', 'json')).stdout)
      expect(sync).toMatchObject({ enrolled: true, connected: true, centerUrl: fleet.t.center.url })
    }, WAIT)
    const rotated = await mepm('rotate-key')
    expect([rotated.code, rotated.stdout.trim()]).toEqual([0, 'the center now knows this edge by its new key'])
    expect(await fleet.statusOf(host.ip)).toBe('ONLINE')
  })
})
