import { DnsRule, TrafficRule } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { describe, expect, it } from 'vitest'
import { mp1DnsRule, mp1Rules, mp1TrafficRule } from './convert'
import { Mp1DnsRule, Mp1TrafficRule } from './mp1-rules'

const traffic = (patch: Record<string, unknown> = {}) => TrafficRule.parse({ ...examples.trafficRule, ...patch })
const dns = DnsRule.parse(examples.dnsRule)

describe('APPD rules as Mp1 rules', () => {
  it('makes a traffic rule a MEC 011 TrafficRule, ACTIVE unless told', () => {
    expect(mp1TrafficRule(traffic())).toEqual({
      trafficRuleId: 'TrafficRule1',
      filterType: 'FLOW',
      priority: 1,
      trafficFilter: [{ srcAddress: ['192.168.1.0/24'], dstPort: ['8080'], protocol: ['TCP'] }],
      action: 'FORWARD_DECAPSULATED',
      dstInterface: { interfaceType: 'IP', dstIpAddress: '10.0.0.5' },
      state: 'ACTIVE',
    })
    expect(mp1TrafficRule(traffic(), 'INACTIVE').state).toBe('INACTIVE')
  })

  it.each([
    ['FORWARD_AS_IS', 'FORWARD_ENCAPSULATED'],
    ['DUPLICATED_DECAPSULATED', 'DUPLICATE_DECAPSULATED'],
    ['DUPLICATE_AS_IS', 'DUPLICATE_ENCAPSULATED'],
    ['DROP', 'DROP'],
    ['PASSTHROUGH', 'PASSTHROUGH'],
  ])('names the APPD action %s as MEC 011 %s', (action, mp1) => {
    expect(mp1TrafficRule(traffic({ action, dstInterface: [] })).action).toBe(mp1)
  })

  it("renames the filter's tag and target tunnel address, and leaves out an absent interface", () => {
    const rule = mp1TrafficRule(
      traffic({
        trafficFilter: [{ tag: ['t1'], dstTunnelAddress: ['10.1.1.1'], srcTunnelPort: ['2152'], qCI: 9 }],
        dstInterface: [],
      }),
    )
    expect(rule.trafficFilter).toEqual([
      { token: ['t1'], tgtTunnelAddress: ['10.1.1.1'], srcTunnelPort: ['2152'], qCI: 9 },
    ])
    expect(rule).not.toHaveProperty('dstInterface')
  })

  it('keeps the first of two destination interfaces (MEC 011 v2.1.1 has one)', () => {
    const second = { interfaceType: 'MAC', dstMacAddress: '02-00-00-00-00-01' }
    const rule = mp1TrafficRule(
      traffic({ action: 'DUPLICATE_AS_IS', dstInterface: [examples.trafficRule.dstInterface[0], second] }),
    )
    expect(rule.dstInterface).toEqual({ interfaceType: 'IP', dstIpAddress: '10.0.0.5' })
  })

  it('leaves out the tunnel-specific data MEC 011 v2.1.1 has no field for', () => {
    const tunnel = { interfaceType: 'TUNNEL', tunnelInfo: { tunnelType: 'GTP_U', tunnelSpecificData: 'teid=7' } }
    const rule = mp1TrafficRule(traffic({ dstInterface: [tunnel] }))
    expect(rule.dstInterface).toEqual({ interfaceType: 'TUNNEL', tunnelInfo: { tunnelType: 'GTP_U' } })
  })

  it('makes rules that Mp1 takes back as they are', () => {
    const rule = mp1TrafficRule(
      traffic({
        action: 'DUPLICATE_AS_IS',
        trafficFilter: [
          { ...examples.trafficRule.trafficFilter[0], tag: ['t1'], dstTunnelAddress: ['10.1.1.1'], dSCP: 10, tC: 3 },
        ],
        dstInterface: [
          {
            interfaceType: 'TUNNEL',
            tunnelInfo: { tunnelType: 'GRE', tunnelDstAddress: '10.2.2.2', tunnelSpecificData: 'key=1' },
          },
          { interfaceType: 'MAC', srcMacAddress: '02-00-00-00-00-01', dstMacAddress: '02-00-00-00-00-02' },
        ],
      }),
      'INACTIVE',
    )
    expect(Mp1TrafficRule.parse(rule)).toEqual(rule)
    expect(Mp1DnsRule.parse(mp1DnsRule(dns))).toEqual(mp1DnsRule(dns))
  })

  it('makes a DNS rule a MEC 011 DnsRule with its state', () => {
    expect(mp1DnsRule(dns)).toEqual({ ...examples.dnsRule, state: 'ACTIVE' })
  })

  it('keeps the state an app gave a rule, by kind and id', () => {
    const rules = mp1Rules(
      { appTrafficRule: [traffic(), traffic({ trafficRuleId: 'other' })], appDNSRule: [dns] },
      { traffic: new Map([['TrafficRule1', 'INACTIVE']]), dns: new Map([['TrafficRule1', 'ACTIVE']]) },
    )
    expect(rules.map((rule) => [rule.kind, rule.ruleId, rule.record.state])).toEqual([
      ['traffic', 'TrafficRule1', 'INACTIVE'],
      ['traffic', 'other', 'ACTIVE'],
      ['dns', 'dnsRule1', 'ACTIVE'],
    ])
  })
})
