import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { agentProcess, answers, deployHellos, processesOf } from './testing/agent-process'
import { freePort } from './testing/apps'

const dataDir = mkdtempSync(join(tmpdir(), 'mecm-agent-reboot-'))
const ids: string[] = []
afterAll(() => {
  for (const id of ids) for (const pid of processesOf(id)) process.kill(pid, 'SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

describe('a simulated host reboot', () => {
  it('brings every instance back when the agent starts again, with no center and no one at the console', async () => {
    const count = Number(process.env.MEPM_REBOOT_INSTANCES ?? 20)
    const port = await freePort()
    const agent = await agentProcess(dataDir, port)
    const deployed = await deployHellos(agent, dataDir, count)
    ids.push(...deployed.map((d) => d.appInstanceId))
    const ports = deployed.map((d) => d.port)
    await vi.waitFor(async () => expect(await Promise.all(ports.map(answers))).not.toContain(false), {
      timeout: 30_000,
    })

    // the reboot: the agent and every app process die at once
    await agent.kill()
    for (const id of ids) for (const pid of processesOf(id)) process.kill(pid, 'SIGKILL')
    await vi.waitFor(() => expect(ids.flatMap(processesOf)).toEqual([]), { timeout: 20_000, interval: 100 })
    expect(await Promise.all(ports.map(answers))).not.toContain(true)

    const booted = performance.now()
    const again = await agentProcess(dataDir, port)
    await vi.waitFor(async () => expect(await Promise.all(ports.map(answers))).not.toContain(false), {
      timeout: 30_000,
      interval: 50,
    })
    const seconds = (performance.now() - booted) / 1000
    console.log(`reboot: ${count} instances answering ${seconds.toFixed(2)} s after the agent started`)
    for (const id of ids) expect(processesOf(id)).toHaveLength(1)
    await again.kill()
  }, 120_000)
})
