import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, inject } from 'vitest'
import type { Dialect } from '../db/driver'
import { openStore, type Store } from '../db/store'

/** Every store test runs on both: a SQLite file in a temp dir, and a fresh database on the test PostgreSQL. */
export const dialects: Dialect[] = ['sqlite', 'postgres']

export interface TestDatabase {
  dialect: Dialect
  /** For openStore / the center config. */
  dataDir: string
  databaseUrl?: string
  drop(): Promise<void>
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}

export async function testDatabase(dialect: Dialect): Promise<TestDatabase> {
  const dataDir = mkdtempSync(join(tmpdir(), 'mecm-test-'))
  if (dialect === 'sqlite') {
    return { dialect, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) }
  }
  const name = `mecm_test_${randomBytes(6).toString('hex')}`
  await admin((client) => client.query(`CREATE DATABASE ${name}`))
  const url = new URL(inject('databaseUrl'))
  url.pathname = `/${name}`
  return {
    dialect,
    dataDir,
    databaseUrl: url.toString(),
    drop: async () => {
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/**
 * A migrated store on a fresh database of the dialect for the enclosing describe block: opened
 * before its tests, closed and dropped after them.
 */
export function storeFor(dialect: Dialect): { readonly db: TestDatabase; readonly store: Store } {
  const handle = {} as { db: TestDatabase; store: Store }
  beforeAll(async () => {
    handle.db = await testDatabase(dialect)
    handle.store = await openStore(handle.db)
  })
  afterAll(async () => {
    await handle.store.close()
    await handle.db.drop()
  })
  return handle
}
