import { z } from 'zod'
import { IpAddress, IpOrCidr, PortOrRange } from './common'

/**
 * Traffic and DNS rules of an app instance (APPD `appTrafficRule` / `appDNSRule`, EdgeGallery's
 * appd_configuration), the model of ETSI MEC 011's TrafficRule and DnsRule.
 */

const RuleId = z
  .string()
  .min(1)
  .max(128)
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'must start with a letter or digit and contain only letters, digits, "_", "-", "."',
  )

export const TrafficFilter = z.object({
  srcAddress: z.array(IpOrCidr).optional(),
  srcPort: z.array(PortOrRange).optional(),
  dstAddress: z.array(IpOrCidr).optional(),
  dstPort: z.array(PortOrRange).optional(),
  protocol: z.array(z.string().min(1).max(16)).optional(),
  qCI: z.number().int().min(1).max(255).optional(),
  dSCP: z.number().int().min(0).max(63).optional(),
  tC: z.number().int().min(0).max(255).optional(),
  tag: z.array(z.string().max(64)).optional(),
  srcTunnelAddress: z.array(IpAddress).optional(),
  dstTunnelAddress: z.array(IpAddress).optional(),
  srcTunnelPort: z.array(PortOrRange).optional(),
  dstTunnelPort: z.array(PortOrRange).optional(),
})

export const TunnelInfo = z.object({
  tunnelType: z.enum(['GTP_U', 'GRE']),
  tunnelDstAddress: z.string().max(128).optional(),
  tunnelSrcAddress: z.string().max(128).optional(),
  tunnelSpecificData: z.string().max(1024).optional(),
})

const MacAddress = z
  .string()
  .regex(/^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$|^([0-9A-Fa-f]{4}\.){2}[0-9A-Fa-f]{4}$/, 'must be a MAC address')

export const DstInterface = z.object({
  interfaceType: z.enum(['TUNNEL', 'MAC', 'IP']),
  tunnelInfo: TunnelInfo.optional(),
  srcMacAddress: MacAddress.optional(),
  dstMacAddress: MacAddress.optional(),
  dstIpAddress: IpAddress.optional(),
})

export const TrafficRule = z.object({
  trafficRuleId: RuleId,
  filterType: z.enum(['FLOW', 'PACKET']),
  priority: z.number().int().min(1).max(255),
  action: z.enum([
    'DROP',
    'PASSTHROUGH',
    'FORWARD_DECAPSULATED',
    'FORWARD_AS_IS',
    'DUPLICATED_DECAPSULATED',
    'DUPLICATE_AS_IS',
  ]),
  trafficFilter: z.array(TrafficFilter).min(1, 'needs at least one traffic filter'),
  dstInterface: z.array(DstInterface).max(2, 'at most 2 destination interfaces').default([]),
})
export type TrafficRule = z.infer<typeof TrafficRule>

export const DnsRule = z.object({
  dnsRuleId: RuleId,
  domainName: z
    .string()
    .min(1)
    .max(253)
    .regex(/^(?!-)[A-Za-z0-9*-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$/, 'must be a domain name'),
  ipAddressType: z.enum(['IP_V4', 'IP_V6']),
  ipAddress: IpAddress,
  ttl: z.number().int().min(0).max(2147483647).optional(),
})
export type DnsRule = z.infer<typeof DnsRule>

function uniqueIds<T>(key: (item: T) => string) {
  return (items: T[]) => new Set(items.map(key)).size === items.length
}

/**
 * A full rule set of one app instance. EdgeGallery's APPO sends `appDNSRule`, its apprulemgr
 * reads `appDnsRule`: both are accepted, `appDNSRule` is what we write.
 */
export const AppdConfiguration = z.preprocess(
  (input) => {
    if (input && typeof input === 'object' && 'appDnsRule' in input && !('appDNSRule' in input)) {
      const { appDnsRule, ...rest } = input as Record<string, unknown>
      return { ...rest, appDNSRule: appDnsRule }
    }
    return input
  },
  z.object({
    appName: z.string().max(128).optional(),
    appSupportMp1: z.boolean().default(true),
    appTrafficRule: z
      .array(TrafficRule)
      .max(1024)
      .default([])
      .refine(
        uniqueIds((rule: TrafficRule) => rule.trafficRuleId),
        'trafficRuleId values must be unique within an app instance',
      ),
    appDNSRule: z
      .array(DnsRule)
      .max(1024)
      .default([])
      .refine(
        uniqueIds((rule: DnsRule) => rule.dnsRuleId),
        'dnsRuleId values must be unique within an app instance',
      ),
  }),
)
export type AppdConfiguration = z.infer<typeof AppdConfiguration>

/** Rules to remove, by id (EdgeGallery's DELETE appd_configuration body). */
export const RuleIds = z.object({
  appTrafficRule: z.array(z.string().min(1).max(128)).max(1024).default([]),
  appDNSRule: z.array(z.string().min(1).max(128)).max(1024).default([]),
})
export type RuleIds = z.infer<typeof RuleIds>

/**
 * The rule set after a change: POST and PUT replace rules by id or add them, DELETE removes them
 * by id (EdgeGallery's APPO `mergeAppRules`; also how an instance's rules override its APPD's).
 */
export function mergeRules(
  current: AppdConfiguration | undefined,
  change: { ruleAction?: 'POST' | 'PUT' | 'DELETE'; rules?: AppdConfiguration | undefined; removeRules?: RuleIds },
): AppdConfiguration {
  const base: AppdConfiguration = current ?? { appSupportMp1: true, appTrafficRule: [], appDNSRule: [] }
  if (change.ruleAction === 'DELETE') {
    const remove = change.removeRules ?? { appTrafficRule: [], appDNSRule: [] }
    return {
      ...base,
      appTrafficRule: base.appTrafficRule.filter((rule) => !remove.appTrafficRule.includes(rule.trafficRuleId)),
      appDNSRule: base.appDNSRule.filter((rule) => !remove.appDNSRule.includes(rule.dnsRuleId)),
    }
  }
  const rules = change.rules ?? { appSupportMp1: true, appTrafficRule: [], appDNSRule: [] }
  const traffic = new Map(base.appTrafficRule.map((rule) => [rule.trafficRuleId, rule]))
  for (const rule of rules.appTrafficRule) traffic.set(rule.trafficRuleId, rule)
  const dns = new Map(base.appDNSRule.map((rule) => [rule.dnsRuleId, rule]))
  for (const rule of rules.appDNSRule) dns.set(rule.dnsRuleId, rule)
  return {
    ...base,
    ...(rules.appName ? { appName: rules.appName } : {}),
    appSupportMp1: rules.appSupportMp1,
    appTrafficRule: [...traffic.values()],
    appDNSRule: [...dns.values()],
  }
}

/** Progress of applying a rule set at the edge (EdgeGallery's apprule task `configResult`). */
export const RuleTaskState = z.enum(['PROCESSING', 'SUCCESS', 'FAILURE'])
export type RuleTaskState = z.infer<typeof RuleTaskState>
