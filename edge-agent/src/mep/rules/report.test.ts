import { dialects } from '@mecm/center/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type TestFleet, testFleet, WAIT } from '../../testing/fleet'
import { reportRules } from './sync-rules'
import { dns, rulesPackage } from './testing'

describe.each(dialects)('rule states reported to the center on %s', (dialect) => {
  let fleet: TestFleet
  beforeAll(async () => {
    fleet = await testFleet(dialect)
  })
  afterAll(() => fleet.close())

  it("shows each rule's state in the center's appd_configuration, and takes over rules set at the edge", async () => {
    const edge = await fleet.edge()
    const added = await edge.call('POST', '/mepm/v1/packages', await rulesPackage(edge.dataDir))
    const deployed = await edge.call('POST', '/mepm/v1/instances', { package: added.body.appPkgId, state: 'STOPPED' })
    const id: string = deployed.body.appInstanceId
    const mirror = `/inventory/v1/tenants/${fleet.operator.tenantId}/app_instances/${id}/appd_configuration`
    const shown = async (expected: object) =>
      vi.waitFor(async () => {
        const reply = await fleet.call('GET', mirror)
        expect(reply.status).toBe(200)
        expect(reply.body).toMatchObject(expected)
        return reply.body
      }, WAIT)

    // deployed: the APPD's rules run, with no rule set recorded at the center
    await shown({
      appTrafficRule: [],
      appDNSRule: [],
      ruleStates: {
        trafficRules: [{ trafficRuleId: 'tr1', state: 'ACTIVE' }],
        dnsRules: [{ dnsRuleId: 'd1', state: 'ACTIVE' }],
        updatedAt: expect.any(String),
      },
    })

    // set at the edge through apprule: the center records the rule set and sends it back in a snapshot
    expect(
      (await edge.call('PUT', `/apprule/v1/app_instances/${id}/appd_configuration`, { appDNSRule: [dns('d2')] }))
        .status,
    ).toBe(200)
    await shown({
      appDNSRule: [{ dnsRuleId: 'd2' }],
      ruleStates: {
        dnsRules: [
          { dnsRuleId: 'd1', state: 'ACTIVE' },
          { dnsRuleId: 'd2', state: 'ACTIVE' },
        ],
      },
    })
    const snapshot = await fleet.t.center.store.edgeOutbox.snapshot(edge.hostId)
    expect(snapshot.state.rules).toEqual([
      { appInstanceId: id, taskId: null, configuration: expect.objectContaining({ appDNSRule: [dns('d2')] }) },
    ])

    // the app turns a rule off through Mp1
    const store = edge.agent.store
    store.mep.rules.put(id, 'dns', 'd2', { ...store.mep.rules.get(id, 'dns', 'd2'), state: 'INACTIVE' })
    reportRules(store, id)
    await shown({
      ruleStates: {
        dnsRules: [
          { dnsRuleId: 'd1', state: 'ACTIVE' },
          { dnsRuleId: 'd2', state: 'INACTIVE' },
        ],
      },
    })

    // terminated here: the states go
    await edge.call('DELETE', `/mepm/v1/instances/${id}`)
    await vi.waitFor(async () => {
      expect((await fleet.call('GET', mirror)).body.ruleStates).toBeUndefined()
    }, WAIT)
  })
})
