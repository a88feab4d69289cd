import type { Sql } from '../db/driver'
import { now } from '../db/rows'

/** The edge a request or a socket is from, once its signature checked out. */
export interface EdgePrincipal {
  hostId: string
  tenantId: string
  mechostIp: string
  mechostName: string
}

interface EdgeRow {
  host_id: string
  tenant_id: string
  mechost_ip: string
  mechost_name: string
  public_key: string
}

/**
 * Edge enrollment tokens (one per host, kept as SHA-256 hashes, single use, short-lived) and
 * edge identities (the public half of each edge's Ed25519 key). Both go with their host.
 */
export function edgeIdentityStore(sql: Sql) {
  return {
    /** Replaces the host's pending token, if any. */
    async issueEnrollment(hostId: string, tokenHash: string, expiresAt: string): Promise<void> {
      await sql.transaction(async (tx) => {
        await tx.run('DELETE FROM edge_enrollments WHERE host_id = ?', [hostId])
        await tx.run('INSERT INTO edge_enrollments (host_id, token_hash, expires_at, created_at) VALUES (?, ?, ?, ?)', [
          hostId,
          tokenHash,
          expiresAt,
          now(),
        ])
      })
    },

    async pendingEnrollment(hostId: string): Promise<{ expiresAt: string } | undefined> {
      const row = await sql.get<{ expires_at: string }>('SELECT expires_at FROM edge_enrollments WHERE host_id = ?', [
        hostId,
      ])
      return row && { expiresAt: row.expires_at }
    },

    async revokeEnrollment(hostId: string): Promise<boolean> {
      return (await sql.run('DELETE FROM edge_enrollments WHERE host_id = ?', [hostId])) > 0
    },

    /**
     * Spends a token: the one DELETE that finds it wins, so a token enrolls once however many
     * edges race with it. The new key replaces any earlier identity of the host. Undefined when
     * the token is unknown, spent or expired (an expired one is removed).
     */
    async enroll(tokenHash: string, publicKey: string): Promise<EdgePrincipal | undefined> {
      return sql.transaction(async (tx) => {
        const token = await tx.get<{ host_id: string; expires_at: string }>(
          'DELETE FROM edge_enrollments WHERE token_hash = ? RETURNING host_id, expires_at',
          [tokenHash],
        )
        if (!token || token.expires_at <= now()) return undefined
        const at = now()
        await tx.run(
          `INSERT INTO edge_identities (host_id, public_key, enrolled_at, rotated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (host_id) DO UPDATE SET public_key = excluded.public_key, enrolled_at = excluded.enrolled_at,
             rotated_at = excluded.rotated_at`,
          [token.host_id, publicKey, at, at],
        )
        return edgeOf(tx, token.host_id)
      })
    },

    /** The host's identity with its key, for checking a signature; undefined once revoked or removed. */
    async identity(hostId: string): Promise<(EdgePrincipal & { publicKey: string }) | undefined> {
      const row = await sql.get<EdgeRow>(
        `SELECT h.host_id, h.tenant_id, h.mechost_ip, h.mechost_name, i.public_key
           FROM edge_identities i JOIN mec_hosts h ON h.host_id = i.host_id WHERE i.host_id = ?`,
        [hostId],
      )
      return row && { ...principalOf(row), publicKey: row.public_key }
    },

    async enrolledAt(hostId: string): Promise<{ enrolledAt: string; rotatedAt: string } | undefined> {
      const row = await sql.get<{ enrolled_at: string; rotated_at: string }>(
        'SELECT enrolled_at, rotated_at FROM edge_identities WHERE host_id = ?',
        [hostId],
      )
      return row && { enrolledAt: row.enrolled_at, rotatedAt: row.rotated_at }
    },

    async rotate(hostId: string, publicKey: string): Promise<boolean> {
      return (
        (await sql.run('UPDATE edge_identities SET public_key = ?, rotated_at = ? WHERE host_id = ?', [
          publicKey,
          now(),
          hostId,
        ])) > 0
      )
    },

    async revoke(hostId: string): Promise<boolean> {
      return (await sql.run('DELETE FROM edge_identities WHERE host_id = ?', [hostId])) > 0
    },
  }
}
export type EdgeIdentityStore = ReturnType<typeof edgeIdentityStore>

function principalOf(row: Omit<EdgeRow, 'public_key'>): EdgePrincipal {
  return { hostId: row.host_id, tenantId: row.tenant_id, mechostIp: row.mechost_ip, mechostName: row.mechost_name }
}

async function edgeOf(sql: Sql, hostId: string): Promise<EdgePrincipal | undefined> {
  const row = await sql.get<Omit<EdgeRow, 'public_key'>>(
    'SELECT host_id, tenant_id, mechost_ip, mechost_name FROM mec_hosts WHERE host_id = ?',
    [hostId],
  )
  return row && principalOf(row)
}
