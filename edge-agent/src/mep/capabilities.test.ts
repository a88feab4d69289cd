import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { buildExamples } from '../../../examples/build'
import { freePort } from '../testing/apps'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'

/**
 * The services apps register at an edge's MEP are that host's software capabilities: they sync to
 * the center, which answers EdgeGallery's mep_capabilities and places apps that require them.
 */
const dir = mkdtempSync(join(tmpdir(), 'mecm-capabilities-'))
let fleet: TestFleet
let built: Record<string, string>

beforeAll(async () => {
  built = await buildExamples(dir)
  fleet = await testFleet('sqlite')
})
afterAll(async () => {
  await fleet.close()
  rmSync(dir, { recursive: true, force: true })
})

describe("an edge's MEP services at the center", () => {
  it('lists what the producer registered, places the consumer only where it is, and forgets it once the producer is gone', async () => {
    const [withProducer, without] = [await fleet.edge(), await fleet.edge()]
    const producerPkg = await fleet.onboard(built['mep-producer'] as string, withProducer.ip)
    const consumerPkg = await fleet.onboard(built['mep-consumer'] as string)
    const created = await fleet.call('POST', fleet.appo('/app_instances'), {
      appPackageId: producerPkg,
      appName: 'greeting-producer',
      appInstanceDescription: 'produces greeting',
      mecHost: withProducer.ip,
    })
    expect((await fleet.settled(created.body.response.operationId)).operationState).toBe('COMPLETED')
    const producer = created.body.response.app_instance_id as string
    const started = await fleet.call('POST', fleet.appo(`/app_instances/${producer}`), {
      parameters: { PORT: String(await freePort()) },
    })
    expect((await fleet.settled(started.body.response.operationId)).operationState).toBe('COMPLETED')

    const capabilities = (ip: string) => fleet.call('GET', fleet.appo(`/hosts/${ip}/mep_capabilities`))
    let greeting: { serInstanceId: string } | undefined
    await vi.waitFor(async () => {
      greeting = (await capabilities(withProducer.ip)).body[0]
      expect(greeting).toMatchObject({ serName: 'greeting', version: '1.0', state: 'ACTIVE', appInstanceId: producer })
    }, WAIT)
    const one = await fleet.call(
      'GET',
      fleet.appo(`/hosts/${withProducer.ip}/mep_capabilities/${greeting?.serInstanceId}`),
    )
    expect(one.body).toEqual(greeting)
    expect((await capabilities(without.ip)).body).toEqual([])

    // the consumer requires "greeting": only the host whose MEP has it ACTIVE can take it
    const explained = await fleet.call('POST', fleet.appo('/placement/explain'), {
      appPackageId: consumerPkg,
      count: 1,
    })
    expect(explained.body.chosen).toEqual([withProducer.ip])
    const dropped = explained.body.decisions.find((d: { mechostIp: string }) => d.mechostIp === without.ip)
    expect(dropped.reasons.join(' ')).toContain('MEP service "greeting" v1.0 not ACTIVE here (not registered)')

    const terminated = await fleet.call('DELETE', fleet.appo(`/app_instances/${producer}`))
    expect((await fleet.settled(terminated.body.response.operationId)).operationState).toBe('COMPLETED')
    await vi.waitFor(async () => expect((await capabilities(withProducer.ip)).body).toEqual([]), WAIT)
  })
})
