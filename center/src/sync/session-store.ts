import type { Sql } from '../db/driver'
import { now } from '../db/rows'
import { announce, outboxStore, RETAINED_COMMANDS } from './outbox-store'

export interface Resume {
  /** The last event sequence committed from this agent's store: it resends what follows. */
  eventSeq: number
  /** Replay the outbox after the agent's last applied command, or send a snapshot. */
  mode: 'replay' | 'snapshot'
  /** Why a snapshot, for the log. */
  reason: string
}

/**
 * Where each edge's session stands: which agent store it speaks for, who holds its socket, when
 * it was last heard from. Hosts go ONLINE when a session opens and OFFLINE when it ends or
 * falls silent (the sweep also covers a center that died holding sessions).
 */
export function sessionStore(sql: Sql) {
  return {
    /** A hello arrived: take the host's session and decide how to resume it. */
    async open(
      hostId: string,
      hello: {
        storeId: string
        lastAppliedCommandSeq: number
        lastAppliedCommandId: string | null
        agentVersion: string
      },
      sessionId: string,
    ): Promise<Resume> {
      return sql.transaction(async (tx) => {
        const outbox = outboxStore(tx)
        await outbox.ensure(hostId)
        const at = now()
        // the row is locked before it is read: an older session's batch commits before or after, not between
        await tx.run('UPDATE edge_sync SET session_id = ?, agent_version = ?, seen_at = ? WHERE host_id = ?', [
          sessionId,
          hello.agentVersion,
          at,
          hostId,
        ])
        const state = await outbox.state(hostId)
        if (!state) throw new Error(`host ${hostId} has no sync state`)
        const newStore = state.storeId !== null && state.storeId !== hello.storeId
        // a new agent store numbers its events from 1 again (events seen before are known by id)
        const eventSeq = newStore ? 0 : state.eventSeq
        if (state.storeId !== hello.storeId) {
          await tx.run('UPDATE edge_sync SET store_id = ?, event_seq = ? WHERE host_id = ?', [
            hello.storeId,
            eventSeq,
            hostId,
          ])
        }
        await tx.run("UPDATE mec_hosts SET status = 'ONLINE', last_seen_at = ?, updated_at = ? WHERE host_id = ?", [
          at,
          at,
          hostId,
        ])
        const applied = hello.lastAppliedCommandSeq
        const oldest = (await outbox.oldest(hostId)) ?? state.commandSeq + 1
        const snapshot = (reason: string): Resume => ({ eventSeq, mode: 'snapshot', reason })
        if (newStore) return snapshot('the agent store is new')
        if (applied > state.commandSeq) return snapshot('the agent is ahead of this center: restored from a backup?')
        // the command the agent applied last is not the one this center holds at that number
        const held = hello.lastAppliedCommandId && (await outbox.commandIdAt(hostId, applied))
        if (held && held !== hello.lastAppliedCommandId) {
          return snapshot('the agent applied other commands than this center holds: restored from a backup?')
        }
        if (applied < oldest - 1) return snapshot(`the agent is more than ${RETAINED_COMMANDS} commands behind`)
        return { eventSeq, mode: 'replay', reason: '' }
      })
    },

    /**
     * The session is alive: false when it should end, because the host was removed or its
     * identity revoked, or another session (on any replica) has taken the host over.
     */
    async seen(hostId: string, sessionId: string): Promise<boolean> {
      const at = now()
      const held = await sql.run(
        `UPDATE edge_sync SET seen_at = ? WHERE host_id = ? AND session_id = ?
           AND EXISTS (SELECT 1 FROM edge_identities WHERE host_id = ?)`,
        [at, hostId, sessionId, hostId],
      )
      if (held === 0) return false
      // ONLINE again if a sweep raced with this session's hello
      await sql.run("UPDATE mec_hosts SET status = 'ONLINE', last_seen_at = ? WHERE host_id = ?", [at, hostId])
      return true
    },

    /** Tells every replica to close the edge's socket (it was revoked or removed). */
    announceDisconnect: (hostId: string): Promise<void> => announce(sql, `disconnect ${hostId}`),

    /** The session ended; the host goes OFFLINE unless a newer session holds it. */
    async close(hostId: string, sessionId: string): Promise<boolean> {
      return sql.transaction(async (tx) => {
        const released = await tx.run('UPDATE edge_sync SET session_id = NULL WHERE host_id = ? AND session_id = ?', [
          hostId,
          sessionId,
        ])
        if (released === 0) return false
        await tx.run(
          "UPDATE mec_hosts SET status = 'OFFLINE', updated_at = ? WHERE host_id = ? AND status = 'ONLINE'",
          [now(), hostId],
        )
        return true
      })
    },

    /** Hosts ONLINE but silent since `before` (their center died, or the network did): OFFLINE. */
    async sweep(before: string, keep: readonly string[] = []): Promise<number> {
      const stale = await sql.all<{ host_id: string }>(
        `SELECT h.host_id FROM mec_hosts h JOIN edge_sync s ON s.host_id = h.host_id
         WHERE h.status = 'ONLINE' AND (s.seen_at IS NULL OR s.seen_at < ?)`,
        [before],
      )
      let moved = 0
      for (const { host_id } of stale) {
        if (keep.includes(host_id)) continue
        // only if still silent: a session may have opened since the host was picked
        moved += await sql.run(
          `UPDATE mec_hosts SET status = 'OFFLINE', updated_at = ? WHERE host_id = ? AND status = 'ONLINE'
             AND EXISTS (SELECT 1 FROM edge_sync s WHERE s.host_id = ? AND (s.seen_at IS NULL OR s.seen_at < ?))`,
          [now(), host_id, host_id, before],
        )
        await sql.run('UPDATE edge_sync SET session_id = NULL WHERE host_id = ? AND (seen_at IS NULL OR seen_at < ?)', [
          host_id,
          before,
        ])
      }
      return moved
    },
  }
}
export type SessionStore = ReturnType<typeof sessionStore>
