import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { helloPackage } from './testing/agent'
import { agentProcess, processesOf } from './testing/agent-process'
import { freePort } from './testing/apps'

const dataDir = mkdtempSync(join(tmpdir(), 'mecm-agent-faults-'))
const started = new Set<string>()
afterAll(() => {
  for (const id of started) for (const pid of processesOf(id)) process.kill(pid, 'SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})

interface Instance {
  appInstanceId: string
  status: string
  targetState: string
}

/** Waits until every instance the agent holds has reached what it wants, and checks the processes. */
async function converged(agent: Awaited<ReturnType<typeof agentProcess>>): Promise<Instance[]> {
  let instances: Instance[] = []
  await vi.waitFor(
    async () => {
      instances = (await (await agent.call('GET', '/mepm/v1/instances')).json()) as Instance[]
      for (const i of instances) expect([i.appInstanceId, i.status]).toEqual([i.appInstanceId, i.targetState])
    },
    { timeout: 20_000, interval: 100 },
  )
  return instances
}

describe('the agent killed with SIGKILL during deploys and terminations', () => {
  it('converges every time, with no instance lost or running twice', async () => {
    const port = await freePort()
    let agent = await agentProcess(dataDir, port)
    const bytes = readFileSync(await helloPackage(join(dataDir, 'hello.csar')))
    const pkg = (await (await agent.call('POST', '/mepm/v1/packages', bytes)).json()) as { appPkgId: string }
    const accepted = new Set<string>()
    /** Terminations asked for: the agent may have died before or after taking them. */
    const terminating = new Set<string>()
    const terminated = new Set<string>()

    for (let run = 0; run < 20; run++) {
      // odd runs deploy a new instance, even runs terminate one, and the agent dies somewhere in it
      const live = [...accepted].filter((id) => !terminated.has(id))
      const request = (
        run % 2 === 0 || live.length === 0
          ? agent
              .call('POST', '/mepm/v1/instances', {
                package: pkg.appPkgId,
                parameters: { PORT: String(await freePort()) },
              })
              .then(async (response) => {
                if (response.status === 201) accepted.add(((await response.json()) as Instance).appInstanceId)
              })
          : (() => {
              const victim = live[0] as string
              terminating.add(victim)
              return agent.call('DELETE', `/mepm/v1/instances/${victim}`).then((response) => {
                if (response.status === 202) terminated.add(victim)
              })
            })()
      ).catch(() => undefined)
      await delay(Math.floor(Math.random() * 400))
      await agent.kill()
      await request
      agent = await agentProcess(dataDir, port)
      const instances = await converged(agent)
      for (const i of instances) started.add(i.appInstanceId)

      const present = new Set(instances.map((i) => i.appInstanceId))
      for (const id of accepted) {
        if (terminated.has(id)) {
          expect(present.has(id)).toBe(false)
          expect(processesOf(id)).toEqual([])
        } else if (!terminating.has(id)) {
          expect(present.has(id)).toBe(true)
          expect(processesOf(id)).toHaveLength(1)
        } else if (!present.has(id)) {
          // the agent took the termination before it died
          terminated.add(id)
        }
      }
      // an instance whose request died with the agent is there whole, or not at all
      for (const i of instances) expect(processesOf(i.appInstanceId)).toHaveLength(i.targetState === 'STARTED' ? 1 : 0)
    }
    await agent.kill()
  }, 240_000)
})
