import { randomUUID } from 'node:crypto'
import { etsiInstanceState, OperationState } from '@mecm/protocol'
import { z } from 'zod'
import type { Sql } from '../db/driver'
import { json, newId, now, parsed } from '../db/rows'
import type { Store } from '../db/store'
import type { StoredInstance } from './instance-store'
import type { StoredOperation } from './operation-store'

/**
 * ETSI MEC 010-2 lifecycle subscriptions (AppInstanceStateChange, AppLcmOpOccStateChange): their
 * records, which instances and operations each one matches, and the notifications queued for them
 * when an operation ends. Delivery is the package notifier's (apm/notifier.ts): the notifications
 * go into the same durable outbox, and its retry loop POSTs them to the callbacks.
 */

export const LCM_BASE = '/app_lcm/v1'

/** The lifecycle operations ETSI's API shows; CREATE, CONFIGURE_RULES and BATCH are this center's own. */
export const ETSI_OPERATIONS = ['INSTANTIATE', 'OPERATE', 'TERMINATE'] as const
export type EtsiOperation = (typeof ETSI_OPERATIONS)[number]
export const isEtsiOperation = (kind: string): kind is EtsiOperation =>
  (ETSI_OPERATIONS as readonly string[]).includes(kind)

/** One value or several: the specification gives single values where a list is the useful reading. */
const oneOrMore = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1).max(16)])
const listOf = <T>(value: T | T[] | undefined): T[] | undefined =>
  value === undefined ? undefined : Array.isArray(value) ? value : [value]

export const AppInstanceState = z.enum(['NOT_INSTANTIATED', 'STARTED', 'STOPPED'])
export type AppInstanceState = z.infer<typeof AppInstanceState>

/** ETSI AppInstanceSubscriptionFilter: which instances a subscription is about. */
export const AppInstanceSubscriptionFilter = z
  .object({
    appInstSelectorType: z.enum(['VOID', 'APP_IDENTITY', 'APP_NAME', 'APP_D_ID', 'APP_FROM_PROVIDER']),
    /** Instance ids (APP_IDENTITY), instance names (APP_NAME) or appDIds (APP_D_ID). */
    appInstances: z.array(z.string().min(1).max(128)).max(1000).optional(),
    appsFromProviders: z
      .array(
        z.object({
          appProvider: z.string().min(1).max(128),
          appProducts: z
            .object({
              appName: z.string().min(1).max(128),
              versions: z
                .object({
                  appSoftVersion: z.string().min(1).max(64),
                  appDVersion: z.array(z.string().min(1).max(64)).max(100).optional(),
                })
                .optional(),
            })
            .optional(),
        }),
      )
      .max(100)
      .optional(),
  })
  .superRefine((filter, context) => {
    const byList = ['APP_IDENTITY', 'APP_NAME', 'APP_D_ID'].includes(filter.appInstSelectorType)
    if (byList && !filter.appInstances?.length)
      context.addIssue({
        code: 'custom',
        path: ['appInstances'],
        message: `must list at least one value when appInstSelectorType is ${filter.appInstSelectorType}`,
      })
    if (filter.appInstSelectorType === 'APP_FROM_PROVIDER' && !filter.appsFromProviders?.length)
      context.addIssue({
        code: 'custom',
        path: ['appsFromProviders'],
        message: 'must list at least one provider when appInstSelectorType is APP_FROM_PROVIDER',
      })
  })
export type AppInstanceSubscriptionFilter = z.infer<typeof AppInstanceSubscriptionFilter>

/** What an AppInstanceStateChange subscription asks for, as stored in its filter column. */
export const AppInstCriteria = z.object({
  appInstanceState: oneOrMore(AppInstanceState).optional(),
  appInstanceSubscriptionFilter: AppInstanceSubscriptionFilter.optional(),
})

/** ETSI AppLcmOpOccSubscriptionFilter. */
export const AppLcmOpOccSubscriptionFilter = z.object({
  appInstanceSubscriptionFilter: AppInstanceSubscriptionFilter.optional(),
  notificationTypes: oneOrMore(z.literal('AppLcmOperationOccurrenceNotification')).optional(),
  operationStates: oneOrMore(OperationState).optional(),
  operationTypes: oneOrMore(z.enum(ETSI_OPERATIONS)).optional(),
})

/** What an AppLcmOpOccStateChange subscription asks for, as stored in its filter column. */
export const AppLcmOpOccCriteria = z.object({ appLcmOpOccSubscriptionFilter: AppLcmOpOccSubscriptionFilter.optional() })

export type LcmSubscription =
  | (Common & { subscriptionType: 'AppInstanceStateChange'; criteria: z.infer<typeof AppInstCriteria> })
  | (Common & { subscriptionType: 'AppLcmOpOccStateChange'; criteria: z.infer<typeof AppLcmOpOccCriteria> })
export type LcmSubscriptionType = LcmSubscription['subscriptionType']
interface Common {
  subscriptionId: string
  tenantId: string
  callbackUri: string
  createdAt: string
}

interface SubscriptionRow {
  subscription_id: string
  tenant_id: string
  subscription_type: LcmSubscriptionType
  callback_uri: string
  filter: string
  created_at: string
}

const toSubscription = (row: SubscriptionRow): LcmSubscription =>
  ({
    subscriptionId: row.subscription_id,
    tenantId: row.tenant_id,
    subscriptionType: row.subscription_type,
    callbackUri: row.callback_uri,
    criteria: parsed(row.filter),
    createdAt: row.created_at,
  }) as LcmSubscription

/** The lcm_subscriptions table. */
export function lcmSubscriptionStore(sql: Sql) {
  return {
    async create(input: Omit<LcmSubscription, 'subscriptionId' | 'createdAt'>): Promise<LcmSubscription> {
      const subscription = { ...input, subscriptionId: newId(), createdAt: now() } as LcmSubscription
      await sql.run(
        `INSERT INTO lcm_subscriptions (subscription_id, tenant_id, subscription_type, callback_uri, filter, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [
          subscription.subscriptionId,
          input.tenantId,
          input.subscriptionType,
          input.callbackUri,
          json(input.criteria),
          subscription.createdAt,
        ],
      )
      return subscription
    },

    async get(tenantId: string, subscriptionId: string): Promise<LcmSubscription | undefined> {
      const row = await sql.get<SubscriptionRow>(
        'SELECT * FROM lcm_subscriptions WHERE tenant_id = ? AND subscription_id = ?',
        [tenantId, subscriptionId],
      )
      return row && toSubscription(row)
    },

    /** A tenant's subscriptions, oldest first; `type` narrows to one kind. */
    async list(tenantId: string, type?: LcmSubscriptionType): Promise<LcmSubscription[]> {
      const rows = await sql.all<SubscriptionRow>(
        `SELECT * FROM lcm_subscriptions WHERE tenant_id = ?${type ? ' AND subscription_type = ?' : ''}
         ORDER BY created_at, subscription_id`,
        type ? [tenantId, type] : [tenantId],
      )
      return rows.map(toSubscription)
    },

    /** Removes the subscription and the notifications still queued for it. */
    async delete(tenantId: string, subscriptionId: string): Promise<boolean> {
      return sql.transaction(async (tx) => {
        const removed = await tx.run('DELETE FROM lcm_subscriptions WHERE tenant_id = ? AND subscription_id = ?', [
          tenantId,
          subscriptionId,
        ])
        if (removed) await tx.run('DELETE FROM notifications WHERE subscription_id = ?', [subscriptionId])
        return removed > 0
      })
    },
  }
}
export type LcmSubscriptionStore = ReturnType<typeof lcmSubscriptionStore>

/** What subscription filters look at: an instance with its package's provider and versions. */
export interface InstanceFacts {
  appInstanceId: string
  appInstanceName?: string
  appDId?: string
  appProvider?: string
  appName?: string
  appSoftVersion?: string
  appDVersion?: string
}

/** Whether an instance passes an AppInstanceSubscriptionFilter (absent or VOID: every instance). */
export function selects(filter: AppInstanceSubscriptionFilter | undefined, facts: InstanceFacts): boolean {
  if (!filter) return true
  const listed = filter.appInstances ?? []
  switch (filter.appInstSelectorType) {
    case 'VOID':
      return true
    case 'APP_IDENTITY':
      return listed.includes(facts.appInstanceId)
    case 'APP_NAME':
      return facts.appInstanceName !== undefined && listed.includes(facts.appInstanceName)
    case 'APP_D_ID':
      return facts.appDId !== undefined && listed.includes(facts.appDId)
    case 'APP_FROM_PROVIDER':
      return (filter.appsFromProviders ?? []).some((from) => {
        if (from.appProvider !== facts.appProvider) return false
        const product = from.appProducts
        if (!product) return true
        if (product.appName !== facts.appName) return false
        const versions = product.versions
        if (!versions) return true
        if (versions.appSoftVersion !== facts.appSoftVersion) return false
        return !versions.appDVersion?.length || versions.appDVersion.includes(facts.appDVersion ?? '')
      })
  }
}

/** Whether an AppLcmOpOccStateChange subscription wants to hear that `op` ended. */
export function wantsOperation(
  criteria: z.infer<typeof AppLcmOpOccCriteria>,
  op: Pick<StoredOperation, 'state' | 'lcmOperation'>,
  facts: InstanceFacts,
): boolean {
  const filter = criteria.appLcmOpOccSubscriptionFilter
  if (!filter) return true
  const states = listOf(filter.operationStates)
  const types = listOf(filter.operationTypes)
  return (
    (!states || states.includes(op.state)) &&
    (!types || (types as string[]).includes(op.lcmOperation)) &&
    selects(filter.appInstanceSubscriptionFilter, facts)
  )
}

/** Whether an AppInstanceStateChange subscription wants to hear that an instance is now in `state`. */
export function wantsInstanceState(
  criteria: z.infer<typeof AppInstCriteria>,
  state: AppInstanceState,
  facts: InstanceFacts,
): boolean {
  const states = listOf(criteria.appInstanceState)
  return (!states || states.includes(state)) && selects(criteria.appInstanceSubscriptionFilter, facts)
}

/** ETSI TimeStamp of an ISO time (or of now). */
export function timeStamp(iso?: string): { seconds: number; nanoSeconds: number } {
  const ms = iso ? Date.parse(iso) : Date.now()
  return { seconds: Math.floor(ms / 1000), nanoSeconds: (ms % 1000) * 1_000_000 }
}

/** The instance's ETSI state name, as AppInst notifications and subscriptions call it. */
export function instanceStateName(instance: Pick<StoredInstance, 'status'>): AppInstanceState {
  const state = etsiInstanceState(instance.status)
  return state.instantiationState === 'NOT_INSTANTIATED' ? 'NOT_INSTANTIATED' : (state.operationalState ?? 'STOPPED')
}

/**
 * The `onChange` of the lifecycle service: when an ETSI lifecycle operation begins PROCESSING or
 * ends (COMPLETED, FAILED_TEMP or FAILED), queues an AppLcmOpOccNotification to each matching AppLcmOpOccStateChange
 * subscription of the tenant and, when it COMPLETED, an AppInstNotification with the instance's new
 * state to each matching AppInstanceStateChange subscription; then `deliver` sends them at once.
 */
export function notifyLcmSubscribers(
  store: Pick<Store, 'lcmSubscriptions' | 'packageSubscriptions' | 'appo' | 'packages'>,
  deliver: () => void,
) {
  return async (op: StoredOperation, ended: StoredInstance | undefined): Promise<void> => {
    if (!isEtsiOperation(op.lcmOperation) || !op.appInstanceId) return
    const subscriptions = await store.lcmSubscriptions.list(op.tenantId)
    if (!subscriptions.length) return
    const appInstanceId = op.appInstanceId
    // a superseded operation comes without its instance; a deleted instance is gone for good
    const instance = ended ?? (await store.appo.instances.get(appInstanceId))
    const pkg = instance ? (await store.packages.get(op.tenantId, instance.appPkgId))?.pkg : undefined
    const facts: InstanceFacts = {
      appInstanceId,
      ...(instance
        ? { appInstanceName: instance.instanceName, appDId: instance.appDId, appName: instance.appName }
        : {}),
      ...(pkg
        ? { appProvider: pkg.appProvider, appSoftVersion: pkg.appSoftVersion, appDVersion: pkg.appDVersion }
        : {}),
    }
    const instanceState = instance && op.state === 'COMPLETED' ? instanceStateName(instance) : undefined
    const links = (subscriptionId: string) => ({
      subscription: { href: `${LCM_BASE}/subscriptions/${subscriptionId}` },
    })
    for (const subscription of subscriptions) {
      const base = { id: randomUUID(), subscriptionId: subscription.subscriptionId, timeStamp: timeStamp() }
      if (subscription.subscriptionType === 'AppLcmOpOccStateChange') {
        if (!wantsOperation(subscription.criteria, op, facts)) continue
        await store.packageSubscriptions.enqueue(subscription, {
          ...base,
          notificationType: op.state,
          appLcmOpOccId: op.operationId,
          appInstanceId,
          lcmOperation: op.lcmOperation,
          operationState: op.state,
          _links: {
            ...links(subscription.subscriptionId),
            appInstance: { href: `${LCM_BASE}/app_instances/${appInstanceId}` },
            appLcmOpOcc: { href: `${LCM_BASE}/app_lcm_op_occs/${op.operationId}` },
          },
        } as { id: string })
      } else if (instance && instanceState && wantsInstanceState(subscription.criteria, instanceState, facts)) {
        await store.packageSubscriptions.enqueue(subscription, {
          ...base,
          notificationType: instanceState,
          appInstanceId,
          appPkgId: instance.appPkgId,
          appDId: instance.appDId,
          _links: links(subscription.subscriptionId),
        } as { id: string })
      }
    }
    deliver()
  }
}
