import type { Role } from '@mecm/protocol'
import { createLogger } from '@mecm/runtime'
import { loadConfig } from '../config'
import type { Dialect } from '../db/driver'
import { type Center, startCenter } from '../server'
import { testDatabase } from './stores'

export const ADMIN_PASSWORD = 'Admin-pass1'
export const USER_PASSWORD = 'User-pass1'

// biome-ignore lint/suspicious/noExplicitAny: tests read reply bodies field by field and assert each
export interface Reply<T = any> {
  status: number
  body: T
  headers: Headers
}

export interface Call {
  token?: string
  body?: unknown
  headers?: Record<string, string>
}

/** A signed-in user of the test center, with its token. */
export interface Session {
  userId: string
  tenantId: string
  role: Role
  username: string
  token: string
}

/** A real center on 127.0.0.1 over a fresh store of the given dialect, with an HTTP client. */
export async function testCenter(dialect: Dialect, env: Record<string, string> = {}) {
  const db = await testDatabase(dialect)
  const config = loadConfig([], {
    MECM_LISTEN: '127.0.0.1:0',
    MECM_DATA_DIR: db.dataDir,
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl } : {}),
    MECM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    ...env,
  })
  const center: Center = await startCenter(config, createLogger('silent'))

  // biome-ignore lint/suspicious/noExplicitAny: as Reply
  async function call<T = any>(method: string, path: string, options: Call = {}): Promise<Reply<T>> {
    const headers: Record<string, string> = { ...options.headers }
    if (options.token) headers.authorization = `Bearer ${options.token}`
    let body: string | undefined
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
      headers['content-type'] ??= 'application/json'
    }
    const response = await fetch(center.url + path, { method, headers, body })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = text ? JSON.parse(text) : undefined
    } catch {}
    return { status: response.status, body: parsed as T, headers: response.headers }
  }

  async function login(username: string, password: string): Promise<Session> {
    const reply = await call('POST', '/auth/v1/login', { body: { username, password } })
    if (reply.status !== 200) throw new Error(`login ${username} failed: ${JSON.stringify(reply.body)}`)
    return { ...reply.body.user, token: reply.body.accessToken }
  }

  const admin = await login('admin', ADMIN_PASSWORD)
  let users = 0

  /** A new user of `role`, in `tenantId` or in a tenant of its own, signed in. */
  async function user(role: Role, tenantId?: string): Promise<Session> {
    const username = `${role.toLowerCase()}${++users}`
    const reply = await call('POST', '/auth/v1/users', {
      token: admin.token,
      body: { username, password: USER_PASSWORD, role, ...(tenantId ? { tenantId } : {}) },
    })
    if (reply.status !== 201) throw new Error(`creating ${username} failed: ${JSON.stringify(reply.body)}`)
    return login(username, USER_PASSWORD)
  }

  return {
    center,
    /** Another center on the same database and data dir, as a second replica (with its own settings). */
    replica: (overrides: Partial<typeof config> = {}) =>
      startCenter({ ...config, port: 0, ...overrides }, createLogger('silent')),
    store: center.store,
    dataDir: db.dataDir,
    call,
    login,
    admin,
    user,
    async close() {
      await center.close()
      await db.drop()
    },
  }
}
export type TestCenter = Awaited<ReturnType<typeof testCenter>>
