import pg from 'pg'
import type { Database, Sql, SqlValue } from './driver'

/** `?` placeholders become `$1, $2...`; the store's SQL has no `?` inside string literals. */
function numbered(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

const INT8 = 20
const types = {
  // BIGINT counts and sequences fit in a double: read them as numbers, not strings
  getTypeParser: ((oid: number, format?: string) =>
    oid === INT8 ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
}

type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>

function over(client: Queryable, transaction: Sql['transaction']): Sql {
  const query = async (sql: string, params: readonly SqlValue[] = []) =>
    client.query({ text: numbered(sql), values: params as SqlValue[] })
  return {
    dialect: 'postgres',
    all: async <T>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows as T[],
    get: async <T>(sql: string, params?: readonly SqlValue[]) => (await query(sql, params)).rows[0] as T | undefined,
    run: async (sql, params) => (await query(sql, params)).rowCount ?? 0,
    transaction,
  }
}

export function openPostgres(url: string, poolSize = 10): Database {
  const pool = new pg.Pool({ connectionString: url, max: poolSize, types })
  // an idle client that loses its server must not crash the process; the next query reconnects
  pool.on('error', () => undefined)

  const transaction: Sql['transaction'] = async (work) => {
    const client = await pool.connect()
    const tx = over(client, (nested) => nested(tx))
    let broken: Error | undefined
    try {
      await client.query('BEGIN')
      const result = await work(tx)
      await client.query('COMMIT')
      return result
    } catch (error) {
      await client.query('ROLLBACK').catch((rollback: Error) => {
        broken = rollback
      })
      throw error
    } finally {
      // a connection that could not roll back is dropped, not returned to the pool
      client.release(broken)
    }
  }

  return {
    ...over(pool, transaction),
    exec: async (script) => void (await pool.query(script)),
    async listen(channel, handle) {
      // a client of its own, outside the pool, kept listening across lost connections
      let client: pg.Client | undefined
      let stopped = false
      let retry: NodeJS.Timeout | undefined
      const connect = async (delayMs: number): Promise<void> => {
        const next = new pg.Client({ connectionString: url })
        next.on('notification', (message) => {
          if (message.channel === channel) handle(message.payload ?? '')
        })
        const again = () => {
          if (stopped || client !== next) return
          client = undefined
          retry = setTimeout(() => void connect(Math.min(delayMs * 2, 30_000)), delayMs)
        }
        next.on('error', again)
        next.on('end', again)
        client = next
        try {
          await next.connect()
          await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`)
        } catch {
          again()
        }
      }
      await connect(500)
      return async () => {
        stopped = true
        clearTimeout(retry)
        await client?.end().catch(() => undefined)
      }
    },
    close: () => pool.end(),
  }
}
