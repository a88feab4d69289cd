import type { Sql } from '../db/driver'
import { json, newId, now, parsed } from '../db/rows'

export type SubscriptionType = 'AppPackageOnBoarding' | 'AppPacakgeOperationChange' | 'AppPackageDeletion'

export interface Subscription {
  subscriptionId: string
  tenantId: string
  subscriptionType: SubscriptionType
  callbackUri: string
  /** Attribute-based filters a package must pass to be notified about; empty for all of the tenant's packages. */
  appPkgFilter: string[]
  createdAt: string
}

interface SubscriptionRow {
  subscription_id: string
  tenant_id: string
  subscription_type: SubscriptionType
  callback_uri: string
  app_pkg_filter: string
  created_at: string
}

const toSubscription = (row: SubscriptionRow): Subscription => ({
  subscriptionId: row.subscription_id,
  tenantId: row.tenant_id,
  subscriptionType: row.subscription_type,
  callbackUri: row.callback_uri,
  appPkgFilter: parsed<string[]>(row.app_pkg_filter),
  createdAt: row.created_at,
})

export interface PendingNotification {
  notificationId: string
  callbackUri: string
  payload: unknown
  attempts: number
  dueAt: string
}

/** ETSI package subscriptions, and the outbox of notifications still to deliver to them. */
export function subscriptionStore(sql: Sql) {
  return {
    async create(input: Omit<Subscription, 'subscriptionId' | 'createdAt'>): Promise<Subscription> {
      const subscription = { ...input, subscriptionId: newId(), createdAt: now() }
      await sql.run(
        `INSERT INTO package_subscriptions (subscription_id, tenant_id, subscription_type, callback_uri, app_pkg_filter, created_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
        [
          subscription.subscriptionId,
          input.tenantId,
          input.subscriptionType,
          input.callbackUri,
          json(input.appPkgFilter),
          subscription.createdAt,
        ],
      )
      return subscription
    },

    async get(tenantId: string, subscriptionId: string): Promise<Subscription | undefined> {
      const row = await sql.get<SubscriptionRow>(
        'SELECT * FROM package_subscriptions WHERE tenant_id = ? AND subscription_id = ?',
        [tenantId, subscriptionId],
      )
      return row && toSubscription(row)
    },

    async list(tenantId: string, type?: SubscriptionType): Promise<Subscription[]> {
      const rows = type
        ? await sql.all<SubscriptionRow>(
            'SELECT * FROM package_subscriptions WHERE tenant_id = ? AND subscription_type = ? ORDER BY created_at',
            [tenantId, type],
          )
        : await sql.all<SubscriptionRow>(
            'SELECT * FROM package_subscriptions WHERE tenant_id = ? ORDER BY created_at',
            [tenantId],
          )
      return rows.map(toSubscription)
    },

    /** Removes the subscription and the notifications still queued for it. */
    async delete(tenantId: string, subscriptionId: string): Promise<boolean> {
      return sql.transaction(async (tx) => {
        const removed = await tx.run('DELETE FROM package_subscriptions WHERE tenant_id = ? AND subscription_id = ?', [
          tenantId,
          subscriptionId,
        ])
        if (removed) await tx.run('DELETE FROM notifications WHERE subscription_id = ?', [subscriptionId])
        return removed > 0
      })
    },

    /** Queues a notification for a subscription: a package one, or an ETSI lifecycle one (appo/lcm-subscriptions.ts). */
    async enqueue(
      subscription: Pick<Subscription, 'subscriptionId' | 'callbackUri'>,
      payload: { id: string },
    ): Promise<void> {
      await sql.run(
        `INSERT INTO notifications (notification_id, subscription_id, callback_uri, payload, attempts, next_attempt_at, last_error, created_at)
         VALUES (?, ?, ?, ?, 0, ?, NULL, ?)`,
        [payload.id, subscription.subscriptionId, subscription.callbackUri, json(payload), now(), now()],
      )
    },

    async due(limit: number, at = now()): Promise<PendingNotification[]> {
      const rows = await sql.all<{
        notification_id: string
        callback_uri: string
        payload: string
        attempts: number
        next_attempt_at: string
      }>(
        `SELECT notification_id, callback_uri, payload, attempts, next_attempt_at FROM notifications
         WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?`,
        [at, limit],
      )
      return rows.map((row) => ({
        notificationId: row.notification_id,
        callbackUri: row.callback_uri,
        payload: parsed(row.payload),
        attempts: Number(row.attempts),
        dueAt: row.next_attempt_at,
      }))
    },

    /** Takes a due notification for one delivery attempt; false when another replica took it first. */
    async claim(notificationId: string, dueAt: string, leaseUntil: string): Promise<boolean> {
      const changed = await sql.run(
        'UPDATE notifications SET next_attempt_at = ? WHERE notification_id = ? AND next_attempt_at = ?',
        [leaseUntil, notificationId, dueAt],
      )
      return changed > 0
    },

    async delivered(notificationId: string): Promise<void> {
      await sql.run('DELETE FROM notifications WHERE notification_id = ?', [notificationId])
    },

    async retryLater(notificationId: string, attempts: number, nextAttemptAt: string, error: string): Promise<void> {
      await sql.run(
        'UPDATE notifications SET attempts = ?, next_attempt_at = ?, last_error = ? WHERE notification_id = ?',
        [attempts, nextAttemptAt, error, notificationId],
      )
    },
  }
}
export type SubscriptionStore = ReturnType<typeof subscriptionStore>
