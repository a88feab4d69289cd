import { randomBytes, randomUUID } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import {
  type Command,
  DesiredInstance,
  type DistributionState,
  type DnsRule,
  type EdgeEvent,
  EventBody,
  type ExecDescriptor,
  type InstanceRules,
  type InstanceStatus,
  instanceLifecycle,
  MASKED,
  type Origin,
  type PackageArtifact,
  type PackageRef,
  redacted,
  type TrafficRule,
  transition,
} from '@mecm/protocol'
import { isSealed, type Sealer } from '@mecm/runtime'
import BetterSqlite3 from 'better-sqlite3'
import { asc, desc, eq, gt, lt, lte } from 'drizzle-orm'
import { type BetterSQLite3Database, drizzle } from 'drizzle-orm/better-sqlite3'
import { mepStore } from '../mep/store'
import { migrate } from './migrations'
import * as schema from './schema'

export interface ObservedInstance {
  appInstanceId: string
  status: InstanceStatus
  generation: number
  detail: string
  updatedAt: string
}

export interface PackageDetails {
  appName: string
  appSoftVersion: string
  exec: ExecDescriptor | null
  artifacts: PackageArtifact[]
  /** The APPD's traffic and DNS rules (absent in packages stored by an older agent). */
  appTrafficRule?: TrafficRule[]
  appDNSRule?: DnsRule[]
}

export interface StoredPackage {
  digest: string
  appPkgId: string
  appClass: string
  size: number
  addedAt: string
  details: PackageDetails
}

type Db = BetterSQLite3Database<typeof schema>

const now = () => new Date().toISOString()

/** An event's free text (details, errors) cut to what the protocol carries. */
function clipped(body: EventBody): EventBody {
  const cut = (text: string | null) => (text && text.length > 4096 ? `${text.slice(0, 4093)}...` : text)
  if ('detail' in body) return { ...body, detail: cut(body.detail) ?? '' }
  if ('error' in body) return { ...body, error: cut(body.error) }
  return body
}

/** How a snapshot stands in the applied-command log. */
const SNAPSHOT = 'snapshot'

/** Applied command ids kept (the log shows what was applied, by id; the sequence alone guards replays). */
const APPLIED_LOG_KEPT = 100_000

/** The newest entry of the applied-command log. */
function lastEntry(db: Db) {
  return db.select().from(schema.appliedCommands).orderBy(desc(schema.appliedCommands.seq)).limit(1).get()
}
const lastApplied = (db: Db): number => lastEntry(db)?.seq ?? 0

/**
 * The agent's local state in one SQLite file (WAL, synchronous=FULL): every method is one
 * transaction, so a kill -9 at any point leaves either all of a change or none of it.
 *
 * - desired: what should run, per app instance (from the center, or origin = edge)
 * - observed: the lifecycle status reached; every change goes through the instance state
 *   machine and puts an `instance.status` event in the outbox in the same transaction
 * - packages: content held on this host, by digest
 * - outbox: events for the center, with sequence numbers that are never reused; host metrics
 *   coalesce (only the latest waits)
 * - commands: the log of applied center commands; a command at or below the last applied
 *   sequence is skipped, so a replay applies nothing twice
 */
export function openAgentStore(file: string) {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const sqlite = new BetterSqlite3(file)
  sqlite.pragma('busy_timeout = 5000')
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  migrate(sqlite)
  const db: Db = drizzle(sqlite, { schema })

  const storeId = db.transaction((tx) => {
    const row = tx.select().from(schema.meta).where(eq(schema.meta.key, 'store_id')).get()
    if (row) return row.value
    const id = randomUUID()
    tx.insert(schema.meta).values({ key: 'store_id', value: id }).run()
    return id
  })

  const appended = new Set<() => void>()
  let notifying = false
  function appendEvent(tx: Db, body: EventBody): number {
    // once per burst, after the surrounding (synchronous) transaction has ended
    if (!notifying) {
      notifying = true
      queueMicrotask(() => {
        notifying = false
        for (const listener of appended) listener()
      })
    }
    // the latest metrics and the latest registry say all: older ones waiting are dropped
    if (body.kind === 'host.metrics' || body.kind === 'mep.services')
      tx.delete(schema.eventOutbox).where(eq(schema.eventOutbox.kind, body.kind)).run()
    // checked here, so that an event that cannot travel (a plugin's long error) never blocks those behind it
    const checked = EventBody.parse(clipped(body))
    const inserted = tx
      .insert(schema.eventOutbox)
      .values({ eventId: randomUUID(), kind: checked.kind, body: JSON.stringify(checked), at: now() })
      .returning({ seq: schema.eventOutbox.seq })
      .get()
    return inserted.seq
  }

  const toPackage = (row: typeof schema.packages.$inferSelect): StoredPackage => ({
    ...row,
    details: JSON.parse(row.details) as PackageDetails,
  })

  const toObserved = (row: typeof schema.observedInstances.$inferSelect): ObservedInstance => ({
    ...row,
    status: row.status as InstanceStatus,
  })

  const mep = mepStore(db, appendEvent)

  return {
    mep,
    storeId,

    desired: {
      put(instance: DesiredInstance, origin: Origin): void {
        const record = DesiredInstance.parse(instance)
        const values = {
          record: JSON.stringify(record),
          generation: record.generation,
          origin,
          updatedAt: now(),
        }
        db.insert(schema.desiredInstances)
          .values({ appInstanceId: record.appInstanceId, ...values })
          .onConflictDoUpdate({ target: schema.desiredInstances.appInstanceId, set: values })
          .run()
      },
      get(appInstanceId: string): (DesiredInstance & { origin: Origin }) | undefined {
        const row = db
          .select()
          .from(schema.desiredInstances)
          .where(eq(schema.desiredInstances.appInstanceId, appInstanceId))
          .get()
        return row && { ...(JSON.parse(row.record) as DesiredInstance), origin: row.origin }
      },
      list(): (DesiredInstance & { origin: Origin })[] {
        return db
          .select()
          .from(schema.desiredInstances)
          .orderBy(asc(schema.desiredInstances.appInstanceId))
          .all()
          .map((row) => ({ ...(JSON.parse(row.record) as DesiredInstance), origin: row.origin }))
      },
      remove(appInstanceId: string): boolean {
        return (
          db.delete(schema.desiredInstances).where(eq(schema.desiredInstances.appInstanceId, appInstanceId)).run()
            .changes > 0
        )
      },
    },

    observed: {
      get(appInstanceId: string): ObservedInstance | undefined {
        const row = db
          .select()
          .from(schema.observedInstances)
          .where(eq(schema.observedInstances.appInstanceId, appInstanceId))
          .get()
        return row && toObserved(row)
      },
      list(): ObservedInstance[] {
        return db
          .select()
          .from(schema.observedInstances)
          .orderBy(asc(schema.observedInstances.appInstanceId))
          .all()
          .map(toObserved)
      },
      /**
       * Moves an instance to `to` (from NOT_INSTANTIATED when it has no row yet) through the
       * lifecycle table, and queues the event; the same status again changes nothing.
       */
      record(
        appInstanceId: string,
        to: InstanceStatus,
        info: { generation: number; operationId: string | null; detail?: string },
      ): boolean {
        return db.transaction((tx) => {
          const row = tx
            .select()
            .from(schema.observedInstances)
            .where(eq(schema.observedInstances.appInstanceId, appInstanceId))
            .get()
          const from = (row?.status ?? 'NOT_INSTANTIATED') as InstanceStatus
          if (from === to && row?.generation === info.generation) return false
          if (from !== to) transition(instanceLifecycle, from, to)
          const values = { status: to, generation: info.generation, detail: info.detail ?? '', updatedAt: now() }
          tx.insert(schema.observedInstances)
            .values({ appInstanceId, ...values })
            .onConflictDoUpdate({ target: schema.observedInstances.appInstanceId, set: values })
            .run()
          appendEvent(tx, {
            kind: 'instance.status',
            appInstanceId,
            status: to,
            generation: info.generation,
            operationId: info.operationId,
            detail: info.detail ?? '',
          })
          // an app that stopped or failed serves nothing: its services say so until it registers again
          if (to === 'STOPPED' || to === 'FAILED') mep.deactivate(tx, appInstanceId)
          return true
        })
      },
      forget(appInstanceId: string): void {
        db.delete(schema.observedInstances).where(eq(schema.observedInstances.appInstanceId, appInstanceId)).run()
      },
    },

    packages: {
      add(pkg: Omit<StoredPackage, 'addedAt'>): void {
        db.insert(schema.packages)
          .values({ ...pkg, details: JSON.stringify(pkg.details), addedAt: now() })
          .onConflictDoNothing()
          .run()
      },
      get(digest: string): StoredPackage | undefined {
        const row = db.select().from(schema.packages).where(eq(schema.packages.digest, digest)).get()
        return row && toPackage(row)
      },
      byAppPkgId(appPkgId: string): StoredPackage | undefined {
        const row = db.select().from(schema.packages).where(eq(schema.packages.appPkgId, appPkgId)).get()
        return row && toPackage(row)
      },
      list(): StoredPackage[] {
        return db.select().from(schema.packages).orderBy(asc(schema.packages.addedAt)).all().map(toPackage)
      },
      remove(digest: string): boolean {
        return db.delete(schema.packages).where(eq(schema.packages.digest, digest)).run().changes > 0
      },
    },

    outbox: {
      append: (body: EventBody): number => db.transaction((tx) => appendEvent(tx, body)),
      /** Events after `seq`, oldest first, at most `limit`. */
      after(seq: number, limit: number): EdgeEvent[] {
        return db
          .select()
          .from(schema.eventOutbox)
          .where(gt(schema.eventOutbox.seq, seq))
          .orderBy(asc(schema.eventOutbox.seq))
          .limit(limit)
          .all()
          .map((row) => ({ seq: row.seq, eventId: row.eventId, at: row.at, body: JSON.parse(row.body) as EventBody }))
      },
      /** Calls `listener` after each event appended; returns the unsubscribe. */
      onAppend(listener: () => void): () => void {
        appended.add(listener)
        return () => appended.delete(listener)
      },
      /** The highest sequence this store has given an event (acknowledged or not). */
      lastSeq: (): number =>
        (
          sqlite.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'event_outbox'").get() as
            | { seq: number }
            | undefined
        )?.seq ?? 0,
      /**
       * The center holds events up to `seq` from this store. Events still waiting at or below it
       * (their ack was lost, or the store was restored from a backup and numbered new events as it
       * did before) move above it, in order, with every event after them; the center skips those
       * it had already by their ids. New events are numbered above all of them.
       */
      renumberAfter(seq: number): void {
        sqlite.transaction(() => {
          const low = (sqlite.prepare('SELECT MIN(seq) AS low FROM event_outbox').get() as { low: number | null }).low
          if (low !== null && low <= seq) {
            // in two steps, so that no row meets another's number on the way
            sqlite.prepare('UPDATE event_outbox SET seq = -seq').run()
            sqlite.prepare('UPDATE event_outbox SET seq = -seq + ?').run(seq - low + 1)
          }
          const high = (sqlite.prepare('SELECT MAX(seq) AS high FROM event_outbox').get() as { high: number | null })
            .high
          const next = Math.max(seq, high ?? 0)
          const known = sqlite
            .prepare("UPDATE sqlite_sequence SET seq = ? WHERE name = 'event_outbox'")
            .run(next).changes
          if (known === 0)
            sqlite.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('event_outbox', ?)").run(next)
        })()
      },
      count: (): number => (sqlite.prepare('SELECT COUNT(*) AS n FROM event_outbox').get() as { n: number }).n,
      /** The center committed everything up to `seq`: it leaves the outbox. */
      ack(seq: number): number {
        return db.delete(schema.eventOutbox).where(lte(schema.eventOutbox.seq, seq)).run().changes
      },
    },

    commands: {
      lastApplied: (): number => lastApplied(db),
      /** The id of the last command applied, or null when that was a snapshot (or none). */
      lastAppliedId(): string | null {
        const id = lastEntry(db)?.commandId
        return id && id !== SNAPSHOT ? id : null
      },
      /**
       * Applies a command once: its effect and its log entry commit together; a command at or
       * below the last applied sequence is skipped and false returned. Only the newest entries
       * of the log are kept: the sequence only ever grows.
       */
      apply(command: Command, effect: () => void): boolean {
        return db.transaction((tx) => {
          if (command.seq <= lastApplied(tx)) return false
          effect()
          tx.insert(schema.appliedCommands)
            .values({ seq: command.seq, commandId: command.commandId, appliedAt: now() })
            .run()
          tx.delete(schema.appliedCommands)
            .where(lt(schema.appliedCommands.seq, command.seq - APPLIED_LOG_KEPT))
            .run()
          return true
        })
      },
    },

    /** The center's desired state arrived whole: the command log restarts at its sequence. */
    resetCommandsTo(seq: number): void {
      db.delete(schema.appliedCommands).run()
      db.insert(schema.appliedCommands).values({ seq, commandId: SNAPSHOT, appliedAt: now() }).run()
    },

    /** Applied command ids, oldest first (what the fault tests count). */
    appliedCommandIds(): string[] {
      return db
        .select({ id: schema.appliedCommands.commandId })
        .from(schema.appliedCommands)
        .orderBy(asc(schema.appliedCommands.seq))
        .all()
        .map((row) => row.id)
        .filter((id) => id !== SNAPSHOT)
    },

    rules: {
      /** An instance's rule set, from the center, or set here (origin edge, kept until the center has it). */
      put(rules: InstanceRules, origin: Origin = 'center'): void {
        const values = {
          taskId: rules.taskId,
          configuration: JSON.stringify(rules.configuration),
          origin,
          updatedAt: now(),
        }
        db.insert(schema.instanceRules)
          .values({ appInstanceId: rules.appInstanceId, ...values })
          .onConflictDoUpdate({ target: schema.instanceRules.appInstanceId, set: values })
          .run()
      },
      get(appInstanceId: string): InstanceRules | undefined {
        const row = db
          .select()
          .from(schema.instanceRules)
          .where(eq(schema.instanceRules.appInstanceId, appInstanceId))
          .get()
        return row && { appInstanceId, taskId: row.taskId, configuration: JSON.parse(row.configuration) }
      },
      /** Forgets the center's rule sets; those set here that the center has not sent back yet stay. */
      clear(): void {
        db.delete(schema.instanceRules).where(eq(schema.instanceRules.origin, 'center')).run()
      },
    },

    /** Plugin credentials, kept sealed: the caller seals and opens them. */
    plugins: {
      put(vim: string, sealed: string): void {
        db.insert(schema.pluginConfigs)
          .values({ vim, sealed, updatedAt: now() })
          .onConflictDoUpdate({ target: schema.pluginConfigs.vim, set: { sealed, updatedAt: now() } })
          .run()
      },
      get: (vim: string): string | undefined =>
        db.select().from(schema.pluginConfigs).where(eq(schema.pluginConfigs.vim, vim)).get()?.sealed,
      remove(vim: string): void {
        db.delete(schema.pluginConfigs).where(eq(schema.pluginConfigs.vim, vim)).run()
      },
      clear(): void {
        db.delete(schema.pluginConfigs).run()
      },
    },

    /** Packages the center sent here; each download moves PENDING → DISTRIBUTING → DISTRIBUTED | FAILED. */
    wanted: {
      /** Wants a package (again); a package already wanted with the same content keeps its state. */
      put(ref: PackageRef): void {
        const current = db
          .select()
          .from(schema.wantedPackages)
          .where(eq(schema.wantedPackages.appPkgId, ref.appPkgId))
          .get()
        // the same content again changes nothing, unless it failed: then it is tried again
        if (current && current.state !== 'FAILED' && (JSON.parse(current.ref) as PackageRef).digest === ref.digest)
          return
        const values = { ref: JSON.stringify(ref), state: 'PENDING' as const, error: null, updatedAt: now() }
        db.transaction((tx) => {
          tx.insert(schema.wantedPackages)
            .values({ appPkgId: ref.appPkgId, ...values })
            .onConflictDoUpdate({ target: schema.wantedPackages.appPkgId, set: values })
            .run()
          appendEvent(tx, {
            kind: 'package.status',
            appPkgId: ref.appPkgId,
            digest: ref.digest,
            state: 'PENDING',
            error: null,
          })
        })
      },
      list(): (PackageRef & { state: DistributionState; error: string | null })[] {
        return db
          .select()
          .from(schema.wantedPackages)
          .orderBy(asc(schema.wantedPackages.appPkgId))
          .all()
          .map((row) => ({ ...(JSON.parse(row.ref) as PackageRef), state: row.state, error: row.error }))
      },
      /** Moves a download on and reports it to the center, together. */
      move(appPkgId: string, state: DistributionState, error: string | null = null): void {
        db.transaction((tx) => {
          const row = tx.select().from(schema.wantedPackages).where(eq(schema.wantedPackages.appPkgId, appPkgId)).get()
          if (!row || row.state === state) return
          tx.update(schema.wantedPackages)
            .set({ state, error, updatedAt: now() })
            .where(eq(schema.wantedPackages.appPkgId, appPkgId))
            .run()
          const ref = JSON.parse(row.ref) as PackageRef
          appendEvent(tx, { kind: 'package.status', appPkgId, digest: ref.digest, state, error })
        })
      },
      remove(appPkgId: string): void {
        db.delete(schema.wantedPackages).where(eq(schema.wantedPackages.appPkgId, appPkgId)).run()
      },
    },

    /** Runs `work` in one transaction (the store methods it calls join it). */
    transaction<T>(work: () => T): T {
      return db.transaction(() => work())
    },

    credentials: {
      /**
       * The instance's AK/SK: the pair given in its parameters (ak, sk), or one made at its first
       * run. The secret key is kept sealed by `sealer`.
       */
      forInstance(instance: DesiredInstance, sealer: Sealer): { accessKey: string; secretKey: string } {
        return db.transaction((tx) => {
          const row = tx
            .select()
            .from(schema.instanceCredentials)
            .where(eq(schema.instanceCredentials.appInstanceId, instance.appInstanceId))
            .get()
          if (row) return { accessKey: row.accessKey, secretKey: sealer.open(row.secretKey) }
          const pair = {
            accessKey: instance.parameters.ak ?? randomBytes(14).toString('base64url'),
            secretKey: instance.parameters.sk ?? randomBytes(36).toString('base64url'),
          }
          tx.insert(schema.instanceCredentials)
            .values({
              appInstanceId: instance.appInstanceId,
              accessKey: pair.accessKey,
              secretKey: sealer.seal(pair.secretKey),
            })
            .run()
          return pair
        })
      },
      /**
       * Takes the AK/SK an instance is given as parameters (`ak`, `sk`) into its credentials, the
       * secret key sealed, and gives back the record with the secret masked, as it is to be kept.
       */
      adopt(instance: DesiredInstance, sealer: Sealer): DesiredInstance {
        const { ak, sk } = instance.parameters
        if (sk === undefined || sk === MASKED) return instance
        db.transaction((tx) => {
          const row = tx
            .select()
            .from(schema.instanceCredentials)
            .where(eq(schema.instanceCredentials.appInstanceId, instance.appInstanceId))
            .get()
          const values = {
            accessKey: ak ?? row?.accessKey ?? randomBytes(14).toString('base64url'),
            secretKey: sealer.seal(sk),
          }
          tx.insert(schema.instanceCredentials)
            .values({ appInstanceId: instance.appInstanceId, ...values })
            .onConflictDoUpdate({ target: schema.instanceCredentials.appInstanceId, set: values })
            .run()
        })
        return { ...instance, parameters: { ...instance.parameters, sk: MASKED } }
      },
      /** The instance an access key belongs to, and its secret key, opened with `sealer`. */
      byAccessKey(accessKey: string, sealer: Sealer): { appInstanceId: string; secretKey: string } | undefined {
        const row = db
          .select()
          .from(schema.instanceCredentials)
          .where(eq(schema.instanceCredentials.accessKey, accessKey))
          .get()
        return row && { appInstanceId: row.appInstanceId, secretKey: sealer.open(row.secretKey) }
      },
      /** Seals the secret keys an older agent stored in the clear. */
      sealPlain(sealer: Sealer): number {
        const plain = db
          .select()
          .from(schema.instanceCredentials)
          .all()
          .filter((row) => !isSealed(row.secretKey))
        for (const row of plain)
          db.update(schema.instanceCredentials)
            .set({ secretKey: sealer.seal(row.secretKey) })
            .where(eq(schema.instanceCredentials.appInstanceId, row.appInstanceId))
            .run()
        return plain.length
      },
      /** Whether another instance holds this access key already. */
      accessKeyTaken(accessKey: string): boolean {
        return (
          db
            .select()
            .from(schema.instanceCredentials)
            .where(eq(schema.instanceCredentials.accessKey, accessKey))
            .get() !== undefined
        )
      },
    },

    /** Forgets an instance that reached NOT_INSTANTIATED as wanted, queueing its operation's result, all at once. */
    retire(appInstanceId: string, completed?: { operationId: string; appInstanceId: string }): void {
      db.transaction((tx) => {
        const desired = tx
          .select({ generation: schema.desiredInstances.generation })
          .from(schema.desiredInstances)
          .where(eq(schema.desiredInstances.appInstanceId, appInstanceId))
          .get()
        if (desired) {
          const values = { generation: desired.generation, retiredAt: now() }
          tx.insert(schema.retiredInstances)
            .values({ appInstanceId, ...values })
            .onConflictDoUpdate({ target: schema.retiredInstances.appInstanceId, set: values })
            .run()
          const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString()
          tx.delete(schema.retiredInstances).where(lt(schema.retiredInstances.retiredAt, monthAgo)).run()
        }
        tx.delete(schema.desiredInstances).where(eq(schema.desiredInstances.appInstanceId, appInstanceId)).run()
        tx.delete(schema.observedInstances).where(eq(schema.observedInstances.appInstanceId, appInstanceId)).run()
        tx.delete(schema.instanceCredentials).where(eq(schema.instanceCredentials.appInstanceId, appInstanceId)).run()
        mep.forget(tx, appInstanceId)
        if (completed) appendEvent(tx, { kind: 'operation.result', ...completed, outcome: 'COMPLETED', error: null })
      })
    },

    /** The generation an instance was terminated at here, if it was (in the last 30 days). */
    retiredAt(appInstanceId: string): number | undefined {
      return db
        .select({ generation: schema.retiredInstances.generation })
        .from(schema.retiredInstances)
        .where(eq(schema.retiredInstances.appInstanceId, appInstanceId))
        .get()?.generation
    },

    /** A change made at the edge: the desired record and the event telling the center, in one transaction. */
    changeLocally(instance: DesiredInstance, change: 'deployed' | 'started' | 'stopped' | 'terminated'): void {
      const record = DesiredInstance.parse(instance)
      db.transaction((tx) => {
        const values = {
          record: JSON.stringify(record),
          generation: record.generation,
          origin: 'edge' as const,
          updatedAt: now(),
        }
        tx.insert(schema.desiredInstances)
          .values({ appInstanceId: record.appInstanceId, ...values })
          .onConflictDoUpdate({ target: schema.desiredInstances.appInstanceId, set: values })
          .run()
        appendEvent(tx, { kind: 'instance.local_change', change, instance: redacted(record) })
      })
    },

    /** The local admin's password hash, and the API's sessions (tokens kept as hashes). */
    local: {
      adminPasswordHash(): string | undefined {
        return db.select().from(schema.meta).where(eq(schema.meta.key, 'admin_password')).get()?.value
      },
      setAdminPasswordHash(hash: string): void {
        db.insert(schema.meta)
          .values({ key: 'admin_password', value: hash })
          .onConflictDoUpdate({ target: schema.meta.key, set: { value: hash } })
          .run()
      },
      addSession(tokenHash: string, expiresAt: string): void {
        db.delete(schema.sessions).where(lt(schema.sessions.expiresAt, now())).run()
        db.insert(schema.sessions).values({ tokenHash, expiresAt }).run()
      },
      sessionValid(tokenHash: string): boolean {
        const row = db.select().from(schema.sessions).where(eq(schema.sessions.tokenHash, tokenHash)).get()
        return row !== undefined && row.expiresAt > now()
      },
      endSession(tokenHash: string): void {
        db.delete(schema.sessions).where(eq(schema.sessions.tokenHash, tokenHash)).run()
      },
    },

    close(): void {
      sqlite.close()
    },
  }
}
export type AgentStore = ReturnType<typeof openAgentStore>
