import type { Sql } from '../db/driver'
import { isUniqueViolation } from '../db/driver'
import { now } from '../db/rows'

/** Refresh tokens (stored as hashes), AK/SK access keys (secret sealed), and seen request nonces. */
export function credentialStore(sql: Sql) {
  return {
    async addRefreshToken(tokenHash: string, userId: string, expiresAt: string): Promise<void> {
      await sql.run('INSERT INTO refresh_tokens (token_hash, user_id, expires_at) VALUES (?, ?, ?)', [
        tokenHash,
        userId,
        expiresAt,
      ])
    },

    /**
     * Single use: the token is deleted as it is read, in one statement, so that of two
     * concurrent refreshes with the same token only one gets its user.
     */
    async takeRefreshToken(tokenHash: string): Promise<string | undefined> {
      const row = await sql.get<{ user_id: string; expires_at: string }>(
        'DELETE FROM refresh_tokens WHERE token_hash = ? RETURNING user_id, expires_at',
        [tokenHash],
      )
      return row && row.expires_at > now() ? row.user_id : undefined
    },

    async revokeRefreshTokens(userId: string): Promise<void> {
      await sql.run('DELETE FROM refresh_tokens WHERE user_id = ?', [userId])
    },

    async addAccessKey(key: { accessKey: string; userId: string; secretSealed: string; description: string }) {
      const createdAt = now()
      await sql.run(
        'INSERT INTO access_keys (access_key, user_id, secret_sealed, description, created_at) VALUES (?, ?, ?, ?, ?)',
        [key.accessKey, key.userId, key.secretSealed, key.description, createdAt],
      )
      return { accessKey: key.accessKey, description: key.description, createdAt }
    },

    async getAccessKey(accessKey: string): Promise<{ userId: string; secretSealed: string } | undefined> {
      const row = await sql.get<{ user_id: string; secret_sealed: string }>(
        'SELECT user_id, secret_sealed FROM access_keys WHERE access_key = ?',
        [accessKey],
      )
      return row && { userId: row.user_id, secretSealed: row.secret_sealed }
    },

    async listAccessKeys(userId: string) {
      const rows = await sql.all<{ access_key: string; description: string; created_at: string }>(
        'SELECT access_key, description, created_at FROM access_keys WHERE user_id = ? ORDER BY created_at',
        [userId],
      )
      return rows.map((row) => ({ accessKey: row.access_key, description: row.description, createdAt: row.created_at }))
    },

    async deleteAccessKey(userId: string, accessKey: string): Promise<boolean> {
      return (await sql.run('DELETE FROM access_keys WHERE user_id = ? AND access_key = ?', [userId, accessKey])) > 0
    },

    /** Records a signed request's nonce; false when it was seen before (a replay). */
    async rememberNonce(accessKey: string, nonce: string, expiresAt: string): Promise<boolean> {
      await sql.run('DELETE FROM request_nonces WHERE expires_at < ?', [now()])
      try {
        await sql.run('INSERT INTO request_nonces (access_key, nonce, expires_at) VALUES (?, ?, ?)', [
          accessKey,
          nonce,
          expiresAt,
        ])
        return true
      } catch (error) {
        if (isUniqueViolation(error)) return false
        throw error
      }
    },
  }
}
export type CredentialStore = ReturnType<typeof credentialStore>
