import { type AppdConfiguration, mergeRules, type RuleState } from '@mecm/protocol'
import type { AgentStore } from '../../store/store'
import type { RuleKind } from '../store'
import { mp1Rules } from './convert'

const ID_FIELD = { traffic: 'trafficRuleId', dns: 'dnsRuleId' } as const
const stateOf = (record: Record<string, unknown>) => record.state as RuleState

/**
 * The rule set an instance runs with: its package's APPD rules, overridden by id by the rules set
 * for the instance (by the center, or here). Undefined for an instance not desired here.
 */
function rulesOf(store: AgentStore, appInstanceId: string): AppdConfiguration | undefined {
  const desired = store.desired.get(appInstanceId)
  if (!desired) return undefined
  const details = store.packages.get(desired.packageDigest)?.details
  return mergeRules(
    { appSupportMp1: true, appTrafficRule: details?.appTrafficRule ?? [], appDNSRule: details?.appDNSRule ?? [] },
    { rules: store.rules.get(appInstanceId)?.configuration },
  )
}

/** The app's Mp1 rules as stored. */
const stored = (store: AgentStore, appInstanceId: string) =>
  (['traffic', 'dns'] as const).flatMap((kind) =>
    store.mep.rules.list(appInstanceId, kind).map((record) => ({ kind, record })),
  )
/** The state of each of these Mp1 rules, by kind and id. */
function statesOf(rules: ReturnType<typeof stored>): Record<RuleKind, Map<string, RuleState>> {
  const states = { traffic: new Map<string, RuleState>(), dns: new Map<string, RuleState>() }
  for (const { kind, record } of rules) states[kind].set(String(record[ID_FIELD[kind]]), stateOf(record))
  return states
}
/** Rules as one comparable text, whatever their order. */
const text = (rules: { kind: RuleKind; record: unknown }[]) =>
  rules
    .map((rule) => `${rule.kind} ${JSON.stringify(rule.record)}`)
    .sort()
    .join('\n')

/**
 * Makes the app's Mp1 rules those of its rule set (`rulesOf`), each rule keeping the state the
 * app set through Mp1, and reports them to the center when they changed. `setHere` is the rule
 * set a person gave at this edge: it is always reported, for the center to take over.
 */
export function syncRules(store: AgentStore, appInstanceId: string, setHere?: AppdConfiguration): void {
  const configuration = rulesOf(store, appInstanceId)
  if (!configuration) return
  store.transaction(() => {
    const current = stored(store, appInstanceId)
    const rules = mp1Rules(configuration, statesOf(current))
    const changed = text(rules) !== text(current)
    if (changed) store.mep.rules.replace(appInstanceId, rules)
    if (changed || setHere) reportRules(store, appInstanceId, setHere)
  })
}

/**
 * Queues the app's Mp1 rules and their state for the center (`mep.rules`), with the rule set
 * given at this edge when there is one. Called after a sync, and after an app changed a rule.
 */
export function reportRules(store: AgentStore, appInstanceId: string, setHere?: AppdConfiguration): void {
  const list = (kind: RuleKind) => store.mep.rules.list(appInstanceId, kind)
  store.outbox.append({
    kind: 'mep.rules',
    appInstanceId,
    trafficRules: list('traffic').map((record) => ({
      trafficRuleId: String(record.trafficRuleId),
      state: stateOf(record),
    })),
    dnsRules: list('dns').map((record) => ({ dnsRuleId: String(record.dnsRuleId), state: stateOf(record) })),
    ...(setHere ? { configuration: setHere } : {}),
  })
}
