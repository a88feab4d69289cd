import { z } from 'zod'
import { Hex32, Sha256, Timestamp, Uuid } from '../common'
import { InstanceStatus } from '../instance'
import { HostMetrics } from '../metrics'
import { DistributionState } from '../package'
import { AppdConfiguration, RuleTaskState } from '../rules'
import { DesiredInstance } from './commands'

export const MepService = z.object({
  serInstanceId: z.string().min(1).max(128),
  serName: z.string().min(1).max(128),
  version: z.string().max(32).default(''),
  state: z.enum(['ACTIVE', 'INACTIVE', 'SUSPENDED']),
  appInstanceId: Uuid.nullable(),
})
export type MepService = z.infer<typeof MepService>

/** An Mp1 traffic or DNS rule's state (MEC 011 TrafficRule.State, DnsRule.State). */
export const RuleState = z.enum(['ACTIVE', 'INACTIVE'])
export type RuleState = z.infer<typeof RuleState>

/** Edge → center: something the edge observed or did. */
export const EventBody = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('instance.status'),
    appInstanceId: Uuid,
    status: InstanceStatus,
    generation: z.number().int().min(1),
    operationId: Uuid.nullable(),
    detail: z.string().max(4096).default(''),
  }),
  z.object({
    kind: z.literal('operation.result'),
    operationId: Uuid,
    appInstanceId: Uuid,
    outcome: z.enum(['COMPLETED', 'FAILED']),
    error: z.string().max(4096).nullable(),
  }),
  /** A person at the edge deployed, changed or terminated an instance (origin = edge). */
  z.object({
    kind: z.literal('instance.local_change'),
    change: z.enum(['deployed', 'started', 'stopped', 'terminated']),
    instance: DesiredInstance,
  }),
  z.object({
    kind: z.literal('package.status'),
    appPkgId: Hex32,
    digest: Sha256,
    state: DistributionState,
    error: z.string().max(4096).nullable(),
  }),
  z.object({
    kind: z.literal('rules.status'),
    appInstanceId: Uuid,
    taskId: Uuid.nullable(),
    state: RuleTaskState,
    detail: z.string().max(4096).default(''),
  }),
  z.object({ kind: z.literal('mep.services'), services: z.array(MepService) }),
  /**
   * An app's Mp1 traffic and DNS rules and their state, after they changed. `configuration` is
   * there when a person set the instance's rules at the edge (the agent's apprule API): the
   * center's record of them follows it.
   */
  z.object({
    kind: z.literal('mep.rules'),
    appInstanceId: Uuid,
    trafficRules: z.array(z.object({ trafficRuleId: z.string().min(1).max(128), state: RuleState })).max(1024),
    dnsRules: z.array(z.object({ dnsRuleId: z.string().min(1).max(128), state: RuleState })).max(1024),
    configuration: AppdConfiguration.optional(),
  }),
  /** Coalesced: only the latest is kept in the outbox. */
  z.object({ kind: z.literal('host.metrics'), metrics: HostMetrics }),
])
export type EventBody = z.infer<typeof EventBody>

/** An event as it sits in the agent's outbox and travels: sequence numbers grow and are never reused. */
export const EdgeEvent = z.object({
  seq: z.number().int().min(1),
  eventId: Uuid,
  at: Timestamp,
  body: EventBody,
})
export type EdgeEvent = z.infer<typeof EdgeEvent>
