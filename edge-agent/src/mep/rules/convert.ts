import type { AppdConfiguration, DnsRule, RuleState, TrafficRule } from '@mecm/protocol'
import type { RuleKind } from '../store'
import type { Mp1DnsRule, Mp1TrafficRule } from './mp1-rules'

type AppdFilter = TrafficRule['trafficFilter'][number]
type AppdInterface = TrafficRule['dstInterface'][number]
type Mp1Interface = NonNullable<Mp1TrafficRule['dstInterface']>

/** An Mp1 rule as the MEP store keeps it. */
export interface Mp1Rule {
  kind: RuleKind
  ruleId: string
  record: Mp1TrafficRule | Mp1DnsRule
}

/** The APPD's actions (MEC 010-2, with EdgeGallery's spelling) by their MEC 011 names. */
const ACTIONS = {
  DROP: 'DROP',
  PASSTHROUGH: 'PASSTHROUGH',
  FORWARD_DECAPSULATED: 'FORWARD_DECAPSULATED',
  FORWARD_AS_IS: 'FORWARD_ENCAPSULATED',
  DUPLICATED_DECAPSULATED: 'DUPLICATE_DECAPSULATED',
  DUPLICATE_AS_IS: 'DUPLICATE_ENCAPSULATED',
} as const satisfies Record<TrafficRule['action'], Mp1TrafficRule['action']>

/** The APPD names a filter's token `tag` and its target tunnel address `dstTunnelAddress`. */
function mp1Filter({ tag, dstTunnelAddress, ...same }: AppdFilter): Mp1TrafficRule['trafficFilter'][number] {
  return {
    ...same,
    ...(tag ? { token: tag } : {}),
    ...(dstTunnelAddress ? { tgtTunnelAddress: dstTunnelAddress } : {}),
  }
}

/** MEC 011 v2.1.1's TunnelInfo has no `tunnelSpecificData`: the APPD's is left out. */
function mp1Interface({ tunnelInfo, ...same }: AppdInterface): Mp1Interface {
  if (!tunnelInfo) return same
  const { tunnelSpecificData: _, ...mp1Tunnel } = tunnelInfo
  return { ...same, tunnelInfo: mp1Tunnel }
}

/**
 * An APPD traffic rule as an Mp1 TrafficRule. MEC 011 v2.1.1's OpenAPI has one destination
 * interface: the first of the APPD's is kept.
 */
export function mp1TrafficRule(rule: TrafficRule, state: RuleState = 'ACTIVE'): Mp1TrafficRule {
  const [dstInterface] = rule.dstInterface
  return {
    trafficRuleId: rule.trafficRuleId,
    filterType: rule.filterType,
    priority: rule.priority,
    trafficFilter: rule.trafficFilter.map(mp1Filter),
    action: ACTIONS[rule.action],
    ...(dstInterface ? { dstInterface: mp1Interface(dstInterface) } : {}),
    state,
  }
}

export function mp1DnsRule(rule: DnsRule, state: RuleState = 'ACTIVE'): Mp1DnsRule {
  return { ...rule, state }
}

/**
 * A rule set as Mp1 rules: each ACTIVE, unless the rule is among `states` (by kind and id), the
 * states the app set through Mp1, which it keeps.
 */
export function mp1Rules(
  configuration: Pick<AppdConfiguration, 'appTrafficRule' | 'appDNSRule'>,
  states: Record<RuleKind, Map<string, RuleState>>,
): Mp1Rule[] {
  return [
    ...configuration.appTrafficRule.map((rule) => ({
      kind: 'traffic' as const,
      ruleId: rule.trafficRuleId,
      record: mp1TrafficRule(rule, states.traffic.get(rule.trafficRuleId)),
    })),
    ...configuration.appDNSRule.map((rule) => ({
      kind: 'dns' as const,
      ruleId: rule.dnsRuleId,
      record: mp1DnsRule(rule, states.dns.get(rule.dnsRuleId)),
    })),
  ]
}
