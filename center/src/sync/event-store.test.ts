import { randomUUID } from 'node:crypto'
import { AppdConfiguration, DesiredInstance, type EventBody, MecHostInput } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { beforeAll, describe, expect, it } from 'vitest'
import type { EdgePrincipal } from '../auth/edge-identity-store'
import { dialects, storeFor } from '../testing/stores'

const id = examples.appInstanceId
const rules = (...dnsRuleIds: string[]) =>
  AppdConfiguration.parse({ appDNSRule: dnsRuleIds.map((dnsRuleId) => ({ ...examples.dnsRule, dnsRuleId })) })
const reported = (configuration?: AppdConfiguration): EventBody => ({
  kind: 'mep.rules',
  appInstanceId: id,
  trafficRules: [],
  dnsRules: (configuration?.appDNSRule ?? []).map((rule) => ({ dnsRuleId: rule.dnsRuleId, state: 'ACTIVE' })),
  ...(configuration ? { configuration } : {}),
})

describe.each(dialects)('rules set at the edge, on %s', (dialect) => {
  const s = storeFor(dialect)
  let edge: EdgePrincipal
  let eventSeq = 0

  beforeAll(async () => {
    const { tenantId } = await s.store.tenants.createTenant('edge-rules')
    const host = await s.store.hosts.create(tenantId, MecHostInput.parse({ ...examples.mecHostInput }))
    edge = { hostId: host.hostId, tenantId, mechostIp: host.mechostIp, mechostName: host.mechostName }
    await s.store.edgeSessions.open(
      edge.hostId,
      { storeId: 'agent-store', lastAppliedCommandSeq: 0, lastAppliedCommandId: null, agentVersion: 'test' },
      randomUUID(),
    )
    await s.store.edgeOutbox.append(edge.hostId, {
      kind: 'instance.set',
      instance: DesiredInstance.parse({ ...examples.desiredInstance, tenantId }),
    })
  })

  const send = (body: EventBody) =>
    s.store.edgeEvents.ingest(edge, 'agent-store', eventSeq, [
      { seq: ++eventSeq, eventId: randomUUID(), at: examples.at, body },
    ])
  const mirror = () => s.store.appdConfigurations.get(edge.tenantId, id)
  /** What a snapshot would send the edge now. */
  const desired = async () => (await s.store.edgeOutbox.snapshot(edge.hostId)).state.rules

  it('adopts them with no command back while the center sent no other rules', async () => {
    const set = rules('e0')
    expect((await send(reported(set))).commands).toEqual([])
    expect(await mirror()).toEqual(set)
    expect(await desired()).toEqual([{ appInstanceId: id, taskId: null, configuration: set }])
    // set again at the edge: nothing to send either
    expect((await send(reported(set))).commands).toEqual([])
  })

  it('sends them back when the center had sent others meanwhile, so that both sides end with the same set', async () => {
    // the edge, cut off, sets E; the operator sets C at the center, queued for the edge
    const fromEdge = rules('e1', 'e2')
    const fromCenter = rules('c1')
    await s.store.appdConfigurations.replace(edge.tenantId, id, fromCenter)
    const queued = await s.store.edgeOutbox.append(edge.hostId, {
      kind: 'rules.set',
      rules: { appInstanceId: id, taskId: randomUUID(), configuration: fromCenter },
    })
    // the edge reconnects and applies C; then E, sent before the edge heard of C, reaches the center
    await s.store.edgeOutbox.ack(edge.hostId, queued.seq)
    const { commands } = await send(reported(fromEdge))

    expect(await mirror()).toEqual(fromEdge)
    const received = await s.store.edgeOutbox.after(edge.hostId, queued.seq, 100)
    expect(received).toEqual(commands)
    expect(received.map((command) => command.body)).toEqual([
      { kind: 'rules.set', rules: { appInstanceId: id, taskId: null, configuration: await mirror() } },
    ])
    expect(await desired()).toEqual([{ appInstanceId: id, taskId: null, configuration: fromEdge }])

    // the edge applies E and reports its rules' states, without a rule set: nothing more goes out
    await s.store.edgeOutbox.ack(edge.hostId, queued.seq + 1)
    expect((await send(reported())).commands).toEqual([])
    expect(await s.store.edgeOutbox.after(edge.hostId, queued.seq + 1, 100)).toEqual([])
    expect(await mirror()).toEqual(fromEdge)
  })
})
