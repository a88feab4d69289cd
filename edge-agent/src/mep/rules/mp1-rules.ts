import {
  DnsRule as AppdDnsRule,
  TrafficFilter as AppdFilter,
  DstInterface as AppdInterface,
  TrafficRule as AppdTrafficRule,
  TunnelInfo as AppdTunnel,
  RuleState,
} from '@mecm/protocol'
import { z } from 'zod'

/**
 * MEC 011 v2.1.1's TrafficRule and DnsRule (MecAppSupportApi.yaml): the Mp1 rules the MEP keeps,
 * serves, and takes back from an app by PUT. Field names, enums and required fields are the spec's;
 * each value is checked as in the APPD rules they are made from (@mecm/protocol). Unknown fields
 * are refused, so that a rule in the APPD's shape (a filter's `tag`) is not taken for an Mp1 one.
 */

const filter = AppdFilter.shape
const TrafficFilter = z.strictObject({
  srcAddress: filter.srcAddress,
  dstAddress: filter.dstAddress,
  srcPort: filter.srcPort,
  dstPort: filter.dstPort,
  protocol: filter.protocol,
  token: filter.tag,
  srcTunnelAddress: filter.srcTunnelAddress,
  tgtTunnelAddress: filter.dstTunnelAddress,
  srcTunnelPort: filter.srcTunnelPort,
  dstTunnelPort: filter.dstTunnelPort,
  qCI: filter.qCI,
  dSCP: filter.dSCP,
  tC: filter.tC,
})

const tunnel = AppdTunnel.shape
const TunnelInfo = z.strictObject({
  tunnelType: tunnel.tunnelType,
  tunnelDstAddress: tunnel.tunnelDstAddress,
  tunnelSrcAddress: tunnel.tunnelSrcAddress,
})

const destination = AppdInterface.shape
const DestinationInterface = z.strictObject({
  interfaceType: destination.interfaceType,
  tunnelInfo: TunnelInfo.optional(),
  srcMacAddress: destination.srcMacAddress,
  dstMacAddress: destination.dstMacAddress,
  dstIpAddress: destination.dstIpAddress,
})

const rule = AppdTrafficRule.shape
export const Mp1TrafficRule = z.strictObject({
  trafficRuleId: rule.trafficRuleId,
  filterType: rule.filterType,
  priority: rule.priority,
  trafficFilter: z.array(TrafficFilter).min(1, 'needs at least one traffic filter'),
  action: z.enum([
    'DROP',
    'FORWARD_DECAPSULATED',
    'FORWARD_ENCAPSULATED',
    'PASSTHROUGH',
    'DUPLICATE_DECAPSULATED',
    'DUPLICATE_ENCAPSULATED',
  ]),
  dstInterface: DestinationInterface.optional(),
  state: RuleState,
})
export type Mp1TrafficRule = z.infer<typeof Mp1TrafficRule>

/** The APPD's DnsRule has MEC 011's fields, all but the state. */
export const Mp1DnsRule = z.strictObject({ ...AppdDnsRule.shape, state: RuleState })
export type Mp1DnsRule = z.infer<typeof Mp1DnsRule>
