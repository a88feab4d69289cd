import type {
  AppClass,
  Command,
  CommandBody,
  DesiredInstance,
  DesiredState,
  InstanceRules,
  PackageRef,
  PluginConfig,
} from '@mecm/protocol'
import type { Sql } from '../db/driver'
import { json, newId, now, parsed } from '../db/rows'

/** Acknowledged commands kept for replay to an agent restored from a backup; older ones mean a snapshot. */
export const RETAINED_COMMANDS = 1000

export type Origin = 'center' | 'edge'
type DesiredKind = 'instance' | 'package' | 'rules' | 'plugin'

interface SyncRow {
  host_id: string
  store_id: string | null
  command_seq: number
  acked_command_seq: number
  event_seq: number
  session_id: string | null
  agent_version: string | null
  seen_at: string | null
  metrics: string | null
  mep_services: string
}

export interface SyncState {
  storeId: string | null
  commandSeq: number
  ackedCommandSeq: number
  eventSeq: number
  sessionId: string | null
  agentVersion: string | null
  seenAt: string | null
  metrics: unknown
  mepServices: unknown[]
}

const toState = (row: SyncRow): SyncState => ({
  storeId: row.store_id,
  commandSeq: Number(row.command_seq),
  ackedCommandSeq: Number(row.acked_command_seq),
  eventSeq: Number(row.event_seq),
  sessionId: row.session_id,
  agentVersion: row.agent_version,
  seenAt: row.seen_at,
  metrics: row.metrics === null ? null : parsed(row.metrics),
  mepServices: parsed<unknown[]>(row.mep_services),
})

/** Which desired-state record a command changes, or none. */
function desiredItem(
  body: CommandBody,
): { kind: DesiredKind; key: string; record: unknown } | { remove: DesiredKind; key: string } {
  switch (body.kind) {
    case 'instance.set':
      return { kind: 'instance', key: body.instance.appInstanceId, record: body.instance }
    case 'package.distribute':
      return { kind: 'package', key: body.package.appPkgId, record: body.package }
    case 'package.remove':
      return { remove: 'package', key: body.appPkgId }
    case 'rules.set':
      return { kind: 'rules', key: body.rules.appInstanceId, record: body.rules }
    case 'plugin.configure':
      return body.plugin.config === null
        ? { remove: 'plugin', key: body.plugin.vim }
        : { kind: 'plugin', key: body.plugin.vim, record: body.plugin }
  }
}

/**
 * The center's side of the command stream (DESIGN.md "The sync protocol"): a per-edge outbox with
 * gapless sequence numbers, and the desired state those commands add up to, kept current in the
 * same transaction so that a snapshot is one read. Written against `Sql`: over a transaction's
 * handle it joins that transaction.
 */
export function outboxStore(sql: Sql) {
  async function ensure(hostId: string): Promise<void> {
    await sql.run(
      `INSERT INTO edge_sync (host_id, command_seq, acked_command_seq, event_seq, mep_services)
       VALUES (?, 0, 0, 0, '[]') ON CONFLICT (host_id) DO NOTHING`,
      [hostId],
    )
  }

  return {
    ensure,

    async state(hostId: string): Promise<SyncState | undefined> {
      const row = await sql.get<SyncRow>('SELECT * FROM edge_sync WHERE host_id = ?', [hostId])
      return row && toState(row)
    },

    /** The sync state of every edge of a tenant that has one, by host id, in one read. */
    async statesOf(tenantId: string): Promise<Map<string, SyncState>> {
      const rows = await sql.all<SyncRow>(
        'SELECT s.* FROM edge_sync s JOIN mec_hosts h ON h.host_id = s.host_id WHERE h.tenant_id = ?',
        [tenantId],
      )
      return new Map(rows.map((row) => [row.host_id, toState(row)]))
    },

    /**
     * Appends a command for one edge and updates its desired state; the caller's transaction, if
     * any, makes both part of its own change. The sequence comes from a row update, which
     * serialises writers per edge on PostgreSQL as on SQLite.
     */
    async append(hostId: string, body: CommandBody, origin: Origin = 'center'): Promise<Command> {
      return sql.transaction(async (tx) => {
        await outboxStore(tx).ensure(hostId)
        const row = await tx.get<{ command_seq: number }>(
          'UPDATE edge_sync SET command_seq = command_seq + 1 WHERE host_id = ? RETURNING command_seq',
          [hostId],
        )
        if (body.kind === 'instance.set') {
          // under the row lock: two changes at once get two generations
          const current = await outboxStore(tx).desired<DesiredInstance>(
            hostId,
            'instance',
            body.instance.appInstanceId,
          )
          const generation = Math.max(body.instance.generation, (current?.record.generation ?? 0) + 1)
          body = { ...body, instance: { ...body.instance, generation } }
        }
        const command: Command = { seq: Number(row?.command_seq), commandId: newId(), issuedAt: now(), body }
        await tx.run('INSERT INTO edge_commands (host_id, seq, command_id, body, issued_at) VALUES (?, ?, ?, ?, ?)', [
          hostId,
          command.seq,
          command.commandId,
          json(body),
          command.issuedAt,
        ])
        // other replicas hear of it when this commits (PostgreSQL); the session holding the edge sends it
        await announce(tx, `command ${hostId}`)
        const item = desiredItem(body)
        if ('remove' in item) {
          await tx.run('DELETE FROM edge_desired WHERE host_id = ? AND kind = ? AND item_key = ?', [
            hostId,
            item.remove,
            item.key,
          ])
        } else {
          await putDesired(tx, hostId, item.kind, item.key, item.record, origin)
        }
        return command
      })
    },

    /** Commands after `seq`, oldest first, at most `limit`. */
    async after(hostId: string, seq: number, limit: number): Promise<Command[]> {
      const rows = await sql.all<{ seq: number; command_id: string; body: string; issued_at: string }>(
        'SELECT seq, command_id, body, issued_at FROM edge_commands WHERE host_id = ? AND seq > ? ORDER BY seq LIMIT ?',
        [hostId, seq, limit],
      )
      return rows.map((row) => ({
        seq: Number(row.seq),
        commandId: row.command_id,
        issuedAt: row.issued_at,
        body: parsed<CommandBody>(row.body),
      }))
    },

    /** The id of the command at `seq`, if it is still held. */
    async commandIdAt(hostId: string, seq: number): Promise<string | undefined> {
      const row = await sql.get<{ command_id: string }>(
        'SELECT command_id FROM edge_commands WHERE host_id = ? AND seq = ?',
        [hostId, seq],
      )
      return row?.command_id
    },

    /** The oldest command still held, or undefined when none is. */
    async oldest(hostId: string): Promise<number | undefined> {
      const row = await sql.get<{ seq: number | null }>('SELECT MIN(seq) AS seq FROM edge_commands WHERE host_id = ?', [
        hostId,
      ])
      return row?.seq == null ? undefined : Number(row.seq)
    },

    /** The agent holds everything up to `seq`; commands far enough behind leave the outbox. */
    async ack(hostId: string, seq: number): Promise<void> {
      await sql.run(
        'UPDATE edge_sync SET acked_command_seq = ? WHERE host_id = ? AND acked_command_seq < ? AND command_seq >= ?',
        [seq, hostId, seq, seq],
      )
      await sql.run('DELETE FROM edge_commands WHERE host_id = ? AND seq <= ?', [hostId, seq - RETAINED_COMMANDS])
    },

    /** The whole desired state and the outbox sequence it corresponds to, read together. */
    async snapshot(hostId: string): Promise<{ seq: number; state: DesiredState }> {
      return sql.transaction(async (tx) => {
        const sync = await tx.get<{ command_seq: number }>('SELECT command_seq FROM edge_sync WHERE host_id = ?', [
          hostId,
        ])
        const rows = await tx.all<{ kind: DesiredKind; record: string }>(
          'SELECT kind, record FROM edge_desired WHERE host_id = ? ORDER BY kind, item_key',
          [hostId],
        )
        const of = <T>(kind: DesiredKind) => rows.filter((row) => row.kind === kind).map((row) => parsed<T>(row.record))
        return {
          seq: Number(sync?.command_seq ?? 0),
          state: {
            instances: of<DesiredInstance>('instance'),
            packages: of<PackageRef>('package'),
            rules: of<InstanceRules>('rules'),
            plugins: of<PluginConfig>('plugin'),
          },
        }
      })
    },

    /** The desired record of one item, with who made it and what the edge last reported about it. */
    async desired<T>(hostId: string, kind: DesiredKind, key: string) {
      const row = await sql.get<{ record: string; origin: Origin; reported: string | null }>(
        'SELECT record, origin, reported FROM edge_desired WHERE host_id = ? AND kind = ? AND item_key = ?',
        [hostId, kind, key],
      )
      return (
        row && { record: parsed<T>(row.record), origin: row.origin, reported: row.reported && parsed(row.reported) }
      )
    },

    async desiredList<T>(hostId: string, kind: DesiredKind) {
      const rows = await sql.all<{ record: string; origin: Origin; reported: string | null; updated_at: string }>(
        'SELECT record, origin, reported, updated_at FROM edge_desired WHERE host_id = ? AND kind = ? ORDER BY item_key',
        [hostId, kind],
      )
      return rows.map((row) => ({
        record: parsed<T>(row.record),
        origin: row.origin,
        reported: row.reported === null ? null : parsed(row.reported),
        updatedAt: row.updated_at,
      }))
    },

    putDesired: (hostId: string, kind: DesiredKind, key: string, record: unknown, origin: Origin) =>
      putDesired(sql, hostId, kind, key, record, origin),

    async removeDesired(hostId: string, kind: DesiredKind, key: string): Promise<void> {
      await sql.run('DELETE FROM edge_desired WHERE host_id = ? AND kind = ? AND item_key = ?', [hostId, kind, key])
    },

    /** What the edge last said about a desired item (a rule task's state, a package's distribution). */
    async report(hostId: string, kind: DesiredKind, key: string, reported: unknown): Promise<void> {
      await sql.run('UPDATE edge_desired SET reported = ? WHERE host_id = ? AND kind = ? AND item_key = ?', [
        json(reported),
        hostId,
        kind,
        key,
      ])
    },

    /**
     * Distributions recorded PENDING for onboarded packages that no command has carried to the
     * host yet: what the distributor sends next.
     */
    async undelivered(limit = 500): Promise<{ hostId: string; package: PackageRef }[]> {
      const rows = await sql.all<{
        host_id: string
        app_pkg_id: string
        digest: string
        size: number
        app_class: AppClass
      }>(
        `SELECT h.host_id, p.app_pkg_id, p.digest, p.size, p.app_class
           FROM package_distributions d
           JOIN app_packages p ON p.app_pkg_id = d.app_pkg_id
           JOIN mec_hosts h ON h.tenant_id = p.tenant_id AND h.mechost_ip = d.host_ip
           LEFT JOIN edge_desired e ON e.host_id = h.host_id AND e.kind = 'package' AND e.item_key = d.app_pkg_id
          WHERE d.state = 'PENDING' AND p.onboarding_state = 'ONBOARDED' AND p.digest IS NOT NULL
            AND p.app_class IS NOT NULL AND e.host_id IS NULL
          ORDER BY h.host_id, p.app_pkg_id LIMIT ?`,
        [limit],
      )
      return rows.map((row) => ({
        hostId: row.host_id,
        package: { appPkgId: row.app_pkg_id, digest: row.digest, size: Number(row.size), appClass: row.app_class },
      }))
    },

    /** Packages sent to a host whose distribution record is gone (undistributed, or the package deleted). */
    async unwanted(limit = 500): Promise<{ hostId: string; appPkgId: string }[]> {
      const rows = await sql.all<{ host_id: string; item_key: string }>(
        `SELECT e.host_id, e.item_key FROM edge_desired e
           JOIN mec_hosts h ON h.host_id = e.host_id
           LEFT JOIN package_distributions d ON d.app_pkg_id = e.item_key AND d.host_ip = h.mechost_ip
          WHERE e.kind = 'package' AND d.app_pkg_id IS NULL
          ORDER BY e.host_id, e.item_key LIMIT ?`,
        [limit],
      )
      return rows.map((row) => ({ hostId: row.host_id, appPkgId: row.item_key }))
    },

    /** Whether the host was sent this package content (so the edge may download it). */
    async holdsDigest(hostId: string, digest: string): Promise<boolean> {
      const rows = await sql.all<{ record: string }>(
        "SELECT record FROM edge_desired WHERE host_id = ? AND kind = 'package'",
        [hostId],
      )
      return rows.some((row) => parsed<PackageRef>(row.record).digest === digest)
    },

    /** The host an app instance is recorded on (desired or observed), if any. */
    async hostOfInstance(appInstanceId: string): Promise<string | undefined> {
      const row = await sql.get<{ host_id: string }>(
        `SELECT host_id FROM edge_desired WHERE kind = 'instance' AND item_key = ?
         UNION SELECT host_id FROM edge_instances WHERE app_instance_id = ?`,
        [appInstanceId, appInstanceId],
      )
      return row?.host_id
    },
  }
}
export type OutboxStore = ReturnType<typeof outboxStore>

async function putDesired(sql: Sql, hostId: string, kind: DesiredKind, key: string, record: unknown, origin: Origin) {
  await sql.run(
    `INSERT INTO edge_desired (host_id, kind, item_key, record, origin, reported, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?)
     ON CONFLICT (host_id, kind, item_key) DO UPDATE SET record = excluded.record, origin = excluded.origin,
       reported = NULL, updated_at = excluded.updated_at`,
    [hostId, kind, key, json(record), origin, now()],
  )
}

/** The channel center replicas tell each other about edges on (PostgreSQL NOTIFY). */
export const EDGE_CHANNEL = 'mecm_edges'

/** Tells every replica, once the transaction commits: `command <hostId>` or `disconnect <hostId>`. */
export async function announce(sql: Sql, message: string): Promise<void> {
  if (sql.dialect === 'postgres') await sql.get('SELECT pg_notify(?, ?)', [EDGE_CHANNEL, message])
}
