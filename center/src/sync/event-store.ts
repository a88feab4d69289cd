import { isDeepStrictEqual } from 'node:util'
import {
  type Command,
  type DesiredInstance,
  type EdgeEvent,
  type EventBody,
  IllegalTransition,
  type InstanceRules,
  type InstanceStatus,
  SECRET_PARAMETERS,
} from '@mecm/protocol'
import { packageStore } from '../apm/package-store'
import { operationStore } from '../appo/operation-store'
import { ruleTaskStore } from '../appo/rule-task-store'
import type { EdgePrincipal } from '../auth/edge-identity-store'
import type { Sql, SqlValue } from '../db/driver'
import { json, newId, now, parsed } from '../db/rows'
import { appdStore } from '../inventory/appd-store'
import { outboxStore } from './outbox-store'

export interface ObservedInstance {
  appInstanceId: string
  status: InstanceStatus
  generation: number
  operationId: string | null
  detail: string
  updatedAt: string
}

export interface Conflict {
  conflictId: string
  appInstanceId: string
  centerRecord: DesiredInstance
  edgeRecord: DesiredInstance
  winner: 'center' | 'edge'
  reason: string
  createdAt: string
}

export interface Ingested {
  /** The last event sequence now committed. */
  eventSeq: number
  /** Events refused (recorded with the reason, never applied). */
  rejected: { eventId: string; reason: string }[]
  /**
   * Commands appended on the edge's events: the center's record reasserted after a conflict, and
   * rules set at the edge sent back when other rules had gone to it.
   */
  commands: Command[]
}

/** A batch that does not follow what is committed: the session resumes from the committed sequence. */
export class OutOfOrder extends Error {}

const sameIntent = (a: DesiredInstance, b: DesiredInstance) =>
  a.targetState === b.targetState &&
  a.packageDigest === b.packageDigest &&
  json(Object.entries(a.parameters).sort()) === json(Object.entries(b.parameters).sort())

type Outcome = { rejected?: string; commands?: Command[] }

/**
 * Edge → center: each batch of events is applied and the edge's last sequence advanced in one
 * transaction, so a replayed batch changes nothing ("exactly once in effect"). Every event is
 * kept in the edge's event log, refused ones with the reason.
 */
export function eventStore(sql: Sql) {
  return {
    /**
     * Commits a batch that follows the event `after`. A batch after a gap (a batch before it was
     * lost) is refused with OutOfOrder: the edge resends from what is committed. An event whose id
     * is known already (sent again by a store restored from a backup) is skipped.
     */
    async ingest(edge: EdgePrincipal, storeId: string, after: number, events: readonly EdgeEvent[]): Promise<Ingested> {
      return sql.transaction(async (tx) => {
        // the row lock orders concurrent batches of one edge on PostgreSQL
        const row = await tx.get<{ event_seq: number }>(
          'UPDATE edge_sync SET event_seq = event_seq WHERE host_id = ? AND store_id = ? RETURNING event_seq',
          [edge.hostId, storeId],
        )
        if (!row) throw new OutOfOrder('another session of this edge, with another agent store, has taken over')
        const result: Ingested = { eventSeq: Number(row.event_seq), rejected: [], commands: [] }
        if (after > result.eventSeq) {
          throw new OutOfOrder(`events after ${after} arrived, but only ${result.eventSeq} are committed`)
        }
        const fresh = events.filter((event) => event.seq > result.eventSeq)
        if (fresh.length === 0) return result
        const known = new Set(
          (
            await tx.all<{ event_id: string }>(
              `SELECT event_id FROM edge_events WHERE event_id IN (${fresh.map(() => '?').join(', ')})`,
              fresh.map((event) => event.eventId),
            )
          ).map((row) => row.event_id),
        )
        const batch: Batch = { tx, edge, owners: new Map(), reports: new Map() }
        const receivedAt = now()
        const rows: SqlValue[][] = []
        for (const event of fresh) {
          result.eventSeq = event.seq
          if (known.has(event.eventId)) continue
          known.add(event.eventId)
          const outcome = await apply(batch, event.body)
          if (outcome.rejected) result.rejected.push({ eventId: event.eventId, reason: outcome.rejected })
          result.commands.push(...(outcome.commands ?? []))
          rows.push([
            edge.hostId,
            storeId,
            event.seq,
            event.eventId,
            event.body.kind,
            json(event.body),
            event.at,
            receivedAt,
            outcome.rejected ?? null,
          ])
        }
        const outbox = outboxStore(tx)
        for (const [kind, key, reported] of batch.reports.values())
          await outbox.report(edge.hostId, kind, key, reported)
        for (let i = 0; i < rows.length; i += 100) {
          const chunk = rows.slice(i, i + 100)
          await tx.run(
            `INSERT INTO edge_events (host_id, store_id, seq, event_id, kind, body, at, received_at, rejected)
             VALUES ${chunk.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
            chunk.flat(),
          )
        }
        await tx.run('UPDATE edge_sync SET event_seq = ? WHERE host_id = ?', [result.eventSeq, edge.hostId])
        return result
      })
    },

    /** What the edge reported about each instance on it. */
    async observed(hostId: string): Promise<ObservedInstance[]> {
      const rows = await sql.all<{
        app_instance_id: string
        status: InstanceStatus
        generation: number
        operation_id: string | null
        detail: string
        updated_at: string
      }>('SELECT * FROM edge_instances WHERE host_id = ? ORDER BY app_instance_id', [hostId])
      return rows.map((row) => ({
        appInstanceId: row.app_instance_id,
        status: row.status,
        generation: Number(row.generation),
        operationId: row.operation_id,
        detail: row.detail,
        updatedAt: row.updated_at,
      }))
    },

    async conflicts(hostId: string, limit = 100): Promise<Conflict[]> {
      const rows = await sql.all<{
        conflict_id: string
        app_instance_id: string
        center_record: string
        edge_record: string
        winner: 'center' | 'edge'
        reason: string
        created_at: string
      }>('SELECT * FROM edge_conflicts WHERE host_id = ? ORDER BY created_at DESC, conflict_id LIMIT ?', [
        hostId,
        limit,
      ])
      return rows.map((row) => ({
        conflictId: row.conflict_id,
        appInstanceId: row.app_instance_id,
        centerRecord: parsed(row.center_record),
        edgeRecord: parsed(row.edge_record),
        winner: row.winner,
        reason: row.reason,
        createdAt: row.created_at,
      }))
    },

    /** The edge's event log, newest first. */
    async log(hostId: string, limit: number) {
      const rows = await sql.all<{
        seq: number
        event_id: string
        body: string
        at: string
        received_at: string
        rejected: string | null
      }>(
        'SELECT seq, event_id, body, at, received_at, rejected FROM edge_events WHERE host_id = ? ORDER BY received_at DESC, seq DESC LIMIT ?',
        [hostId, limit],
      )
      return rows.map((row) => ({
        seq: Number(row.seq),
        eventId: row.event_id,
        at: row.at,
        receivedAt: row.received_at,
        rejected: row.rejected,
        body: parsed<EventBody>(row.body),
      }))
    },

    /** How many times each event id was committed (the fault tests' exactly-once check). */
    async eventIds(hostId: string): Promise<string[]> {
      const rows = await sql.all<{ event_id: string }>('SELECT event_id FROM edge_events WHERE host_id = ?', [hostId])
      return rows.map((row) => row.event_id)
    },

    /** Forgets event log entries received before `before`. */
    async prune(before: string): Promise<number> {
      return sql.run('DELETE FROM edge_events WHERE received_at < ?', [before])
    },
  }
}
export type EventStore = ReturnType<typeof eventStore>

/** The reason an edge may not report on this instance, if it may not. */
/** One batch being committed: its transaction, its edge, and the hosts of the instances it named. */
interface Batch {
  tx: Sql
  edge: EdgePrincipal
  owners: Map<string, string | undefined>
  /** What the edge reported about desired items: only the last report of each is written. */
  reports: Map<string, ['rules' | 'package', string, unknown]>
}

async function notOwn({ tx, edge, owners }: Batch, appInstanceId: string): Promise<string | undefined> {
  if (!owners.has(appInstanceId)) owners.set(appInstanceId, await outboxStore(tx).hostOfInstance(appInstanceId))
  const host = owners.get(appInstanceId)
  return host !== undefined && host !== edge.hostId
    ? `app instance ${appInstanceId} is not on this edge: an edge reports only on its own instances`
    : undefined
}

async function apply(batch: Batch, body: EventBody): Promise<Outcome> {
  const { tx, edge } = batch
  const outbox = outboxStore(tx)
  switch (body.kind) {
    case 'instance.status': {
      const refused = await notOwn(batch, body.appInstanceId)
      if (refused) return { rejected: refused }
      const desired = await outbox.desired<DesiredInstance>(edge.hostId, 'instance', body.appInstanceId)
      const gone = body.status === 'NOT_INSTANTIATED' && (!desired || desired.record.targetState === 'NOT_INSTANTIATED')
      if (gone) {
        // terminated as wanted: the edge has forgotten it, and so does the center's view of the edge
        await tx.run('DELETE FROM edge_instances WHERE app_instance_id = ?', [body.appInstanceId])
        await outbox.removeDesired(edge.hostId, 'instance', body.appInstanceId)
        await appdStore(tx).forgetStates(edge.tenantId, body.appInstanceId, edge.hostId)
        return {}
      }
      await tx.run(
        `INSERT INTO edge_instances (app_instance_id, host_id, status, generation, operation_id, detail, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_instance_id) DO UPDATE SET status = excluded.status, generation = excluded.generation,
           operation_id = excluded.operation_id, detail = excluded.detail, updated_at = excluded.updated_at`,
        [body.appInstanceId, edge.hostId, body.status, body.generation, body.operationId, body.detail, now()],
      )
      return {}
    }
    case 'operation.result':
    case 'rules.status': {
      const refused = await notOwn(batch, body.appInstanceId)
      if (refused) return { rejected: refused }
      if (body.kind === 'operation.result') {
        await operationStore(tx).edgeResult(edge.hostId, body.operationId, body.appInstanceId, body.outcome, body.error)
        return {}
      }
      const { kind: _, ...reported } = body
      batch.reports.set(`rules ${body.appInstanceId}`, ['rules', body.appInstanceId, reported])
      if (body.taskId)
        await ruleTaskStore(tx).settleFromEdge(edge.hostId, body.taskId, body.appInstanceId, body.state, body.detail)
      return {}
    }
    case 'instance.local_change':
      return merge(batch, body.instance)
    case 'package.status': {
      const owned = await tx.get('SELECT 1 AS x FROM app_packages WHERE app_pkg_id = ? AND tenant_id = ?', [
        body.appPkgId,
        edge.tenantId,
      ])
      if (!owned) return { rejected: `package ${body.appPkgId} is not a package of this edge's tenant` }
      const recorded = await tx.get('SELECT 1 AS x FROM package_distributions WHERE app_pkg_id = ? AND host_ip = ?', [
        body.appPkgId,
        edge.mechostIp,
      ])
      // a late report about a package taken back from this host does not bring its record back
      if (!recorded) return { rejected: `package ${body.appPkgId} is no longer distributed to this host` }
      batch.reports.set(`package ${body.appPkgId}`, [
        'package',
        body.appPkgId,
        { state: body.state, error: body.error },
      ])
      try {
        await packageStore(tx).distribute(body.appPkgId, edge.mechostIp, body.state, body.error)
      } catch (error) {
        // a report out of step with the distribution record is kept in the log, not applied
        if (error instanceof IllegalTransition) return { rejected: error.message }
        throw error
      }
      return {}
    }
    case 'mep.services':
      await tx.run('UPDATE edge_sync SET mep_services = ? WHERE host_id = ?', [json(body.services), edge.hostId])
      return {}
    case 'mep.rules': {
      const refused = await notOwn(batch, body.appInstanceId)
      if (refused) return { rejected: refused }
      const appd = appdStore(tx)
      await appd.reportStates(edge.tenantId, body.appInstanceId, edge.hostId, body)
      if (!body.configuration) return {}
      // set at the edge (its apprule API): the center's record follows, and so does what a snapshot sends back
      const { appInstanceId, configuration } = body
      await appd.put(edge.tenantId, appInstanceId, configuration)
      const rules: InstanceRules = { appInstanceId, taskId: null, configuration }
      const sent = await outbox.desired<InstanceRules>(edge.hostId, 'rules', appInstanceId)
      if (!sent || isDeepStrictEqual(sent.record.configuration, configuration)) {
        await outbox.putDesired(edge.hostId, 'rules', appInstanceId, rules, 'edge')
        return {}
      }
      // other rules went (or are queued) to the edge, which may have applied them after this change
      // was made: the set adopted here goes back, so that the edge ends with it too
      return { commands: [await outbox.append(edge.hostId, { kind: 'rules.set', rules }, 'edge')] }
    }
    case 'host.metrics':
      await tx.run('UPDATE edge_sync SET metrics = ? WHERE host_id = ?', [json(body.metrics), edge.hostId])
      return {}
  }
}

/**
 * A change made at the edge while it was cut off meets the center's record (DESIGN.md
 * "Authority"). The rule: each side raises the generation when it changes a record; the higher
 * generation wins, and at equal generations the center wins. When the center wins against a
 * different intent, the conflict is recorded and the center's record goes out again with a
 * generation above both, so the edge converges to it.
 */
async function merge(batch: Batch, incoming: DesiredInstance): Promise<Outcome> {
  const { tx, edge } = batch
  const id = incoming.appInstanceId
  const refused = await notOwn(batch, id)
  if (refused) return { rejected: refused }
  // what people deploy at an edge belongs to the edge's tenant, whatever the edge called it
  incoming = { ...incoming, tenantId: edge.tenantId }
  const outbox = outboxStore(tx)
  const current = await outbox.desired<DesiredInstance>(edge.hostId, 'instance', id)
  if (!current || incoming.generation > current.record.generation) {
    const parameters = { ...incoming.parameters }
    for (const key of SECRET_PARAMETERS) {
      const kept = current?.record.parameters[key]
      if (kept !== undefined) parameters[key] = kept
      else delete parameters[key]
    }
    await outbox.putDesired(edge.hostId, 'instance', id, { ...incoming, parameters }, 'edge')
    return {}
  }
  if (sameIntent(current.record, incoming)) return {}
  const winner = { ...current.record, generation: Math.max(current.record.generation, incoming.generation) + 1 }
  await tx.run(
    `INSERT INTO edge_conflicts (conflict_id, host_id, app_instance_id, center_record, edge_record, winner, reason, created_at)
     VALUES (?, ?, ?, ?, ?, 'center', ?, ?)`,
    [
      newId(),
      edge.hostId,
      id,
      json(current.record),
      json(incoming),
      `the edge changed generation ${incoming.generation - 1} while the center was at ${current.record.generation}: the center's record stands`,
      now(),
    ],
  )
  const command = await outbox.append(edge.hostId, { kind: 'instance.set', instance: winner })
  return { commands: [command] }
}
