import { randomBytes, randomUUID } from 'node:crypto'
import type { EventBody, MepService } from '@mecm/protocol'
import { forbidden, hashToken, unauthorized } from '@mecm/runtime'
import { and, eq, lt } from 'drizzle-orm'
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import * as schema from '../store/schema'

type Db = BetterSQLite3Database<typeof schema>
export type MepApi = 'mec_service_mgmt' | 'mec_app_support'
export type RuleKind = 'traffic' | 'dns'

/** A registered service: its ServiceInfo as the producer gave it (with serInstanceId), and its owner. */
export interface StoredService {
  appInstanceId: string
  record: Record<string, unknown> & { serInstanceId: string; serName: string; state: string }
  updatedAt: string
}

/** A change of the registry: `before` absent when added, `after` absent when removed. */
export interface ServiceChange {
  before?: StoredService
  after?: StoredService
}

export interface StoredSubscription {
  subscriptionId: string
  appInstanceId: string
  api: MepApi
  record: Record<string, unknown> & { subscriptionType: string; callbackReference: string }
}

export interface AppLifecycle {
  readyAt: string | null
  terminationConfirmedAt: string | null
  terminationAction: string | null
}

const now = () => new Date().toISOString()
/** How many services one app instance may register. */
export const MAX_SERVICES_PER_APP = 32

/** An app instance terminated while its request was being read writes nothing. */
function mustBePresent(tx: Db, appInstanceId: string): void {
  const present = tx
    .select({ id: schema.instanceCredentials.appInstanceId })
    .from(schema.instanceCredentials)
    .where(eq(schema.instanceCredentials.appInstanceId, appInstanceId))
    .get()
  if (!present) throw unauthorized(`app instance ${appInstanceId} is gone`)
}

/** What the center keeps of a service: enough to answer mep_capabilities and place apps by appServiceRequired. */
export function capability({ appInstanceId, record }: Pick<StoredService, 'appInstanceId' | 'record'>): MepService {
  return {
    serInstanceId: record.serInstanceId,
    serName: record.serName,
    version: String(record.version ?? ''),
    state: record.state as MepService['state'],
    appInstanceId,
  }
}

/**
 * The MEP's state in the agent's store: app tokens, the service registry, subscriptions, rules
 * and app lifecycle confirmations. Every change of the registry queues the whole registry for the
 * center (`mep.services`) in the same transaction.
 */
export function mepStore(db: Db, appendEvent: (tx: Db, body: EventBody) => number) {
  const watchers = new Set<(change: ServiceChange) => void>()
  /** Tells the watchers once the transaction that made the changes is over. */
  const announce = (changes: ServiceChange[]) =>
    queueMicrotask(() => {
      for (const change of changes) for (const watcher of watchers) watcher(change)
    })
  const servicesChanged = (tx: Db) =>
    appendEvent(tx, {
      kind: 'mep.services',
      services: tx
        .select()
        .from(schema.mepServices)
        .all()
        .map((row) => capability(toService(row))),
    })
  const toService = (row: typeof schema.mepServices.$inferSelect): StoredService => ({
    appInstanceId: row.appInstanceId,
    record: JSON.parse(row.record),
    updatedAt: row.updatedAt,
  })
  const toSubscription = (row: typeof schema.mepSubscriptions.$inferSelect): StoredSubscription => ({
    subscriptionId: row.subscriptionId,
    appInstanceId: row.appInstanceId,
    api: row.api,
    record: JSON.parse(row.record),
  })

  return {
    tokens: {
      /** A new access token for the app, valid `ttlMs`; only its hash is kept. */
      issue(appInstanceId: string, ttlMs: number): { token: string; expiresAt: string } {
        const token = randomBytes(32).toString('base64url')
        const expiresAt = new Date(Date.now() + ttlMs).toISOString()
        db.transaction((tx) => {
          tx.delete(schema.mepTokens).where(lt(schema.mepTokens.expiresAt, now())).run()
          tx.insert(schema.mepTokens)
            .values({ tokenHash: hashToken(token), appInstanceId, expiresAt })
            .run()
        })
        return { token, expiresAt }
      },
      /** The app instance a token belongs to, while it is valid and the instance still has its credentials. */
      appOf(token: string): string | undefined {
        const row = db
          .select({ appInstanceId: schema.mepTokens.appInstanceId, expiresAt: schema.mepTokens.expiresAt })
          .from(schema.mepTokens)
          .innerJoin(
            schema.instanceCredentials,
            eq(schema.instanceCredentials.appInstanceId, schema.mepTokens.appInstanceId),
          )
          .where(eq(schema.mepTokens.tokenHash, hashToken(token)))
          .get()
        return row && row.expiresAt > now() ? row.appInstanceId : undefined
      },
    },

    services: {
      list(): StoredService[] {
        return db.select().from(schema.mepServices).all().map(toService)
      },
      ofApp(appInstanceId: string): StoredService[] {
        return db
          .select()
          .from(schema.mepServices)
          .where(eq(schema.mepServices.appInstanceId, appInstanceId))
          .all()
          .map(toService)
      },
      get(serInstanceId: string): StoredService | undefined {
        const row = db
          .select()
          .from(schema.mepServices)
          .where(eq(schema.mepServices.serInstanceId, serInstanceId))
          .get()
        return row && toService(row)
      },
      /** Registers or replaces a service of the app. */
      put(appInstanceId: string, record: StoredService['record']): StoredService {
        const values = { appInstanceId, record: JSON.stringify(record), updatedAt: now() }
        const after = { appInstanceId, record, updatedAt: values.updatedAt }
        db.transaction((tx) => {
          mustBePresent(tx, appInstanceId)
          const before = tx
            .select()
            .from(schema.mepServices)
            .where(eq(schema.mepServices.serInstanceId, record.serInstanceId))
            .get()
          if (!before) {
            const owned = tx
              .select({ id: schema.mepServices.serInstanceId })
              .from(schema.mepServices)
              .where(eq(schema.mepServices.appInstanceId, appInstanceId))
              .all().length
            if (owned >= MAX_SERVICES_PER_APP)
              throw forbidden(`an app instance may register at most ${MAX_SERVICES_PER_APP} services`)
          }
          tx.insert(schema.mepServices)
            .values({ serInstanceId: record.serInstanceId, ...values })
            .onConflictDoUpdate({ target: schema.mepServices.serInstanceId, set: values })
            .run()
          servicesChanged(tx)
          announce([{ ...(before ? { before: toService(before) } : {}), after }])
        })
        return after
      },
      remove(serInstanceId: string): void {
        db.transaction((tx) => {
          const gone = tx
            .delete(schema.mepServices)
            .where(eq(schema.mepServices.serInstanceId, serInstanceId))
            .returning()
            .all()
          servicesChanged(tx)
          announce(gone.map((row) => ({ before: toService(row) })))
        })
      },
      /** Calls `watcher` after each change of the registry (to notify subscribers); returns how to stop. */
      watch(watcher: (change: ServiceChange) => void): () => void {
        watchers.add(watcher)
        return () => watchers.delete(watcher)
      },
    },

    subscriptions: {
      add(appInstanceId: string, api: MepApi, record: StoredSubscription['record']): StoredSubscription {
        const subscriptionId = randomUUID()
        db.transaction((tx) => {
          mustBePresent(tx, appInstanceId)
          tx.insert(schema.mepSubscriptions)
            .values({ subscriptionId, appInstanceId, api, record: JSON.stringify(record), createdAt: now() })
            .run()
        })
        return { subscriptionId, appInstanceId, api, record }
      },
      /** Every subscription to an API (to notify), or the app's own. */
      list(api: MepApi, appInstanceId?: string): StoredSubscription[] {
        const where = appInstanceId
          ? and(eq(schema.mepSubscriptions.api, api), eq(schema.mepSubscriptions.appInstanceId, appInstanceId))
          : eq(schema.mepSubscriptions.api, api)
        return db.select().from(schema.mepSubscriptions).where(where).all().map(toSubscription)
      },
      get(subscriptionId: string): StoredSubscription | undefined {
        const row = db
          .select()
          .from(schema.mepSubscriptions)
          .where(eq(schema.mepSubscriptions.subscriptionId, subscriptionId))
          .get()
        return row && toSubscription(row)
      },
      remove(subscriptionId: string): void {
        db.delete(schema.mepSubscriptions).where(eq(schema.mepSubscriptions.subscriptionId, subscriptionId)).run()
      },
    },

    rules: {
      list(appInstanceId: string, kind: RuleKind): Record<string, unknown>[] {
        return db
          .select()
          .from(schema.mepRules)
          .where(and(eq(schema.mepRules.appInstanceId, appInstanceId), eq(schema.mepRules.kind, kind)))
          .all()
          .map((row) => JSON.parse(row.record))
      },
      get(appInstanceId: string, kind: RuleKind, ruleId: string): Record<string, unknown> | undefined {
        const row = db
          .select()
          .from(schema.mepRules)
          .where(
            and(
              eq(schema.mepRules.appInstanceId, appInstanceId),
              eq(schema.mepRules.kind, kind),
              eq(schema.mepRules.ruleId, ruleId),
            ),
          )
          .get()
        return row && JSON.parse(row.record)
      },
      put(appInstanceId: string, kind: RuleKind, ruleId: string, record: Record<string, unknown>): void {
        const values = { record: JSON.stringify(record), updatedAt: now() }
        db.insert(schema.mepRules)
          .values({ appInstanceId, kind, ruleId, ...values })
          .onConflictDoUpdate({
            target: [schema.mepRules.appInstanceId, schema.mepRules.kind, schema.mepRules.ruleId],
            set: values,
          })
          .run()
      },
      /** Replaces all the app's rules of both kinds at once. */
      replace(appInstanceId: string, rules: { kind: RuleKind; ruleId: string; record: Record<string, unknown> }[]) {
        db.transaction((tx) => {
          tx.delete(schema.mepRules).where(eq(schema.mepRules.appInstanceId, appInstanceId)).run()
          for (const rule of rules)
            tx.insert(schema.mepRules)
              .values({ appInstanceId, ...rule, record: JSON.stringify(rule.record), updatedAt: now() })
              .run()
        })
      },
    },

    apps: {
      lifecycle(appInstanceId: string): AppLifecycle {
        const row = db.select().from(schema.mepApps).where(eq(schema.mepApps.appInstanceId, appInstanceId)).get()
        return {
          readyAt: row?.readyAt ?? null,
          terminationConfirmedAt: row?.terminationConfirmedAt ?? null,
          terminationAction: row?.terminationAction ?? null,
        }
      },
      confirm(appInstanceId: string, change: Partial<AppLifecycle>): void {
        db.insert(schema.mepApps)
          .values({ appInstanceId, ...change })
          .onConflictDoUpdate({ target: schema.mepApps.appInstanceId, set: change })
          .run()
      },
    },

    /** Marks the app's ACTIVE services INACTIVE, inside the caller's transaction (it stopped or failed). */
    deactivate(tx: Db, appInstanceId: string): void {
      const active = tx
        .select()
        .from(schema.mepServices)
        .where(eq(schema.mepServices.appInstanceId, appInstanceId))
        .all()
        .map(toService)
        .filter((service) => service.record.state === 'ACTIVE')
      if (!active.length) return
      const changes = active.map((before) => {
        const after = { ...before, record: { ...before.record, state: 'INACTIVE' }, updatedAt: now() }
        tx.update(schema.mepServices)
          .set({ record: JSON.stringify(after.record), updatedAt: after.updatedAt })
          .where(eq(schema.mepServices.serInstanceId, before.record.serInstanceId))
          .run()
        return { before, after }
      })
      servicesChanged(tx)
      announce(changes)
    },

    /**
     * Forgets everything of an instance that is gone, inside the caller's transaction: its tokens
     * stop working at once, its services leave the registry.
     */
    forget(tx: Db, appInstanceId: string): void {
      tx.delete(schema.mepTokens).where(eq(schema.mepTokens.appInstanceId, appInstanceId)).run()
      tx.delete(schema.mepSubscriptions).where(eq(schema.mepSubscriptions.appInstanceId, appInstanceId)).run()
      tx.delete(schema.mepRules).where(eq(schema.mepRules.appInstanceId, appInstanceId)).run()
      tx.delete(schema.mepApps).where(eq(schema.mepApps.appInstanceId, appInstanceId)).run()
      const gone = tx
        .delete(schema.mepServices)
        .where(eq(schema.mepServices.appInstanceId, appInstanceId))
        .returning()
        .all()
        .map(toService)
      if (gone.length) servicesChanged(tx)
      announce(gone.map((before) => ({ before })))
    },
  }
}
export type MepStore = ReturnType<typeof mepStore>
