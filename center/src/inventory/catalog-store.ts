import { conflict } from '@mecm/runtime'
import { isUniqueViolation, type Sql } from '../db/driver'
import { json, now, parsed } from '../db/rows'

/**
 * App stores and app repositories: admin-managed records keyed by address, each with a
 * password kept sealed and never read back out through the API.
 */
export function catalogStore<T extends object>(sql: Sql, table: 'app_stores' | 'app_repos', what: string) {
  const keyColumn = table === 'app_stores' ? 'appstore_ip' : 'repo_endpoint'

  return {
    async list(): Promise<(T & { hasPassword: boolean })[]> {
      const rows = await sql.all<{ record: string; password_sealed: string | null }>(
        `SELECT record, password_sealed FROM ${table} ORDER BY ${keyColumn}`,
      )
      return rows.map((row) => ({ ...parsed<T>(row.record), hasPassword: row.password_sealed !== null }))
    },

    async get(key: string): Promise<(T & { hasPassword: boolean }) | undefined> {
      const row = await sql.get<{ record: string; password_sealed: string | null }>(
        `SELECT record, password_sealed FROM ${table} WHERE ${keyColumn} = ?`,
        [key],
      )
      return row && { ...parsed<T>(row.record), hasPassword: row.password_sealed !== null }
    },

    /** The sealed password, for the center's own use (pulling packages). */
    async sealedPassword(key: string): Promise<string | null | undefined> {
      const row = await sql.get<{ password_sealed: string | null }>(
        `SELECT password_sealed FROM ${table} WHERE ${keyColumn} = ?`,
        [key],
      )
      return row?.password_sealed
    },

    async create(key: string, record: T, passwordSealed: string | null): Promise<void> {
      try {
        await sql.run(`INSERT INTO ${table} (${keyColumn}, record, password_sealed, updated_at) VALUES (?, ?, ?, ?)`, [
          key,
          json(record),
          passwordSealed,
          now(),
        ])
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`${what} ${key} already exists`)
        throw error
      }
    },

    /** Replaces the record; a null password keeps the stored one. */
    async update(key: string, record: T, passwordSealed: string | null): Promise<boolean> {
      const changed = await sql.run(
        `UPDATE ${table} SET record = ?, password_sealed = COALESCE(?, password_sealed), updated_at = ? WHERE ${keyColumn} = ?`,
        [json(record), passwordSealed, now(), key],
      )
      return changed > 0
    },

    async delete(key: string): Promise<boolean> {
      return (await sql.run(`DELETE FROM ${table} WHERE ${keyColumn} = ?`, [key])) > 0
    },
  }
}
export type CatalogStore<T extends object> = ReturnType<typeof catalogStore<T>>
