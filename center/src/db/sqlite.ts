import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import type { Database, Sql, SqlValue } from './driver'

const STATEMENT_CACHE = 256

function bind(params: readonly SqlValue[]): unknown[] {
  return params.map((value) => (typeof value === 'boolean' ? Number(value) : value))
}

/**
 * SQLite through better-sqlite3, which is synchronous. Its transactions are made async-capable
 * by a queue: one unit of work (a statement, or a whole transaction) at a time, so a statement
 * never lands inside another caller's open transaction.
 */
export function openSqlite(file: string): Database {
  if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true })
  const db = new BetterSqlite3(file)
  // first: every statement after it, switching to WAL included, waits for another process's lock
  db.pragma('busy_timeout = 5000')
  db.pragma('journal_mode = WAL')
  // FULL: a commit survives a power loss too (an edge is told its events are safe after one)
  db.pragma('synchronous = FULL')
  db.pragma('foreign_keys = ON')

  // a bounded cache: SQL built per request (label selectors) must not grow it without end
  const statements = new Map<string, BetterSqlite3.Statement>()
  const prepare = (sql: string) => {
    let statement = statements.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      if (statements.size >= STATEMENT_CACHE) statements.delete(statements.keys().next().value as string)
      statements.set(sql, statement)
    }
    return statement
  }

  const direct: Sql = {
    dialect: 'sqlite',
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).all(...bind(params)) as T[],
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => prepare(sql).get(...bind(params)) as T | undefined,
    run: async (sql, params = []) => prepare(sql).run(...bind(params)).changes,
    // already inside the transaction: nested work joins it
    transaction: (work) => work(direct),
  }

  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work, work)
    queue = result.catch(() => undefined)
    return result
  }

  return {
    dialect: 'sqlite',
    all: (sql, params) => serial(() => direct.all(sql, params)),
    get: (sql, params) => serial(() => direct.get(sql, params)),
    run: (sql, params) => serial(() => direct.run(sql, params)),
    transaction: (work) =>
      serial(async () => {
        db.exec('BEGIN IMMEDIATE')
        try {
          const result = await work(direct)
          db.exec('COMMIT')
          return result
        } catch (error) {
          // SQLite may have rolled back by itself (disk full, I/O error): keep the first error
          if (db.inTransaction) db.exec('ROLLBACK')
          throw error
        }
      }),
    exec: (script) => serial(async () => void db.exec(script)),
    close: () => serial(async () => void db.close()),
  }
}
