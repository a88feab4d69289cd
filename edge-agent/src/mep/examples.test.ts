import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildExamples } from '../../../examples/build'
import { testAgent } from '../testing/agent'
import { freePort } from '../testing/apps'

/**
 * The example producer and consumer (examples/mep-*), deployed by the agent's exec plugin, find
 * each other through the agent's MEP: the producer registers "greeting" and confirms ready, the
 * consumer discovers it through Mp1 and shows what it answers.
 */
const dir = mkdtempSync(join(tmpdir(), 'mecm-mep-examples-'))
const SETTLE = { timeout: 30_000, interval: 100 }
let t: Awaited<ReturnType<typeof testAgent>>
let built: Record<string, string>

beforeAll(async () => {
  built = await buildExamples(dir)
  t = await testAgent()
})
afterAll(async () => {
  await t.close()
  rmSync(dir, { recursive: true, force: true })
})

async function deploy(name: string, port: number): Promise<string> {
  const added = await t.call('POST', '/mepm/v1/packages', readFileSync(built[name] as string), {
    'content-type': 'application/zip',
  })
  expect(added.status).toBe(201)
  const deployed = await t.call('POST', '/mepm/v1/instances', {
    package: added.body.appPkgId,
    parameters: { PORT: String(port) },
  })
  expect(deployed.status).toBe(201)
  const id = deployed.body.appInstanceId as string
  await vi.waitFor(
    async () => expect((await t.call('GET', `/mepm/v1/instances/${id}`)).body.status).toBe('STARTED'),
    SETTLE,
  )
  return id
}

describe('the Mp1 example pair on one agent', () => {
  it('the consumer finds the producer through the MEP and shows its answer; once the producer is gone, it says so', async () => {
    const consumerPort = await freePort()
    const consumer = await deploy('mep-consumer', consumerPort)
    const show = async () => {
      const response = await fetch(`http://127.0.0.1:${consumerPort}/`)
      return { status: response.status, body: (await response.json()) as Record<string, unknown> }
    }
    // nothing registered yet: the consumer says what it is missing
    expect(await show()).toEqual({
      status: 503,
      body: { error: 'no ACTIVE greeting service is registered on this MEP' },
    })

    const producerPort = await freePort()
    // STARTED once healthy, and the producer is healthy once its service is registered
    const producer = await deploy('mep-producer', producerPort)
    const shown = await show()
    expect(shown).toEqual({
      status: 200,
      body: {
        service: expect.any(String),
        endpoint: `http://127.0.0.1:${producerPort}`,
        answer: { greeting: 'hello from the producer', producer, at: expect.any(String) },
      },
    })
    expect(t.agent.store.mep.services.ofApp(producer).map((s) => s.record.serName)).toEqual(['greeting'])
    expect(t.agent.store.mep.apps.lifecycle(producer).readyAt).not.toBeNull()
    expect(t.agent.store.mep.services.ofApp(consumer)).toEqual([])

    // stopped, it deregisters and is no longer found; started again, it registers anew
    expect((await t.call('POST', `/mepm/v1/instances/${producer}/stop`)).status).toBe(202)
    await vi.waitFor(async () => expect((await show()).status).toBe(503), SETTLE)
    expect(t.agent.store.mep.services.ofApp(producer)).toEqual([])
    expect((await t.call('POST', `/mepm/v1/instances/${producer}/start`)).status).toBe(202)
    await vi.waitFor(async () => expect((await show()).status).toBe(200), SETTLE)
    expect(t.agent.store.mep.services.ofApp(producer).map((s) => s.record.state)).toEqual(['ACTIVE'])

    expect((await t.call('DELETE', `/mepm/v1/instances/${producer}`)).status).toBe(202)
    await vi.waitFor(async () => expect((await show()).status).toBe(503), SETTLE)
    expect(t.agent.store.mep.services.list()).toEqual([])
  })
})
