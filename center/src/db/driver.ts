/**
 * The one SQL surface the store is written against. SQL uses `?` placeholders and a portable
 * subset of SQL (TEXT timestamps, JSON as TEXT, ON CONFLICT upserts), so that every store method
 * is written once and runs on SQLite and on PostgreSQL.
 */
export type Dialect = 'sqlite' | 'postgres'

export type SqlValue = string | number | boolean | null

export interface Sql {
  readonly dialect: Dialect
  /** All rows of a query. */
  all<T>(sql: string, params?: readonly SqlValue[]): Promise<T[]>
  /** The first row, or undefined. */
  get<T>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>
  /**
   * Runs `work` in one transaction: committed when it resolves, rolled back when it throws.
   * Inside, use only `tx`: the outer handle waits for the transaction to end (on SQLite, forever).
   */
  transaction<T>(work: (tx: Sql) => Promise<T>): Promise<T>
}

export interface Database extends Sql {
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>
  /**
   * PostgreSQL only: calls `handle` with the payload of every NOTIFY on `channel` (from any
   * replica, sent with pg_notify in a committed transaction) until the returned stop is called.
   */
  listen?(channel: string, handle: (payload: string) => void): Promise<() => Promise<void>>
  close(): Promise<void>
}

/** A write referred to a row that does not exist (any more). */
export function isForeignKeyViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY'
}

/** A write broke a UNIQUE or PRIMARY KEY constraint. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY'
}
