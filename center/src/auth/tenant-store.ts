import type { Role, Tenant, User } from '@mecm/protocol'
import { conflict } from '@mecm/runtime'
import { isUniqueViolation, type Sql } from '../db/driver'
import { decodeCursor, newId, now, type Page, pageOf } from '../db/rows'

interface TenantRow {
  tenant_id: string
  name: string
  created_at: string
}

const toTenant = (row: TenantRow): Tenant => ({ tenantId: row.tenant_id, name: row.name, createdAt: row.created_at })

interface UserRow {
  user_id: string
  username: string
  tenant_id: string
  role: Role
  created_at: string
  password_hash: string
}

const toUser = (row: UserRow): User => ({
  userId: row.user_id,
  username: row.username,
  tenantId: row.tenant_id,
  role: row.role,
  createdAt: row.created_at,
})

type NewUserRow = { username: string; passwordHash: string; tenantId: string; role: Role }

async function insertTenant(sql: Sql, name: string, tenantId: string): Promise<Tenant> {
  const tenant = { tenantId, name, createdAt: now() }
  try {
    await sql.run('INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?)', [
      tenantId,
      name,
      tenant.createdAt,
    ])
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`a tenant named "${name}" or with id ${tenantId} already exists`)
    throw error
  }
  return tenant
}

async function insertUser(sql: Sql, input: NewUserRow): Promise<User> {
  const user = {
    userId: newId(),
    username: input.username,
    tenantId: input.tenantId,
    role: input.role,
    createdAt: now(),
  }
  try {
    await sql.run(
      'INSERT INTO users (user_id, username, password_hash, tenant_id, role, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      [user.userId, user.username, input.passwordHash, user.tenantId, user.role, user.createdAt],
    )
  } catch (error) {
    if (isUniqueViolation(error)) throw conflict(`the username "${input.username}" is taken`)
    throw error
  }
  return user
}

/** Tenants and their users. Passwords arrive already hashed. */
export function tenantStore(sql: Sql) {
  return {
    createTenant: (name: string, tenantId = newId()): Promise<Tenant> => insertTenant(sql, name, tenantId),

    async findTenantByName(name: string): Promise<Tenant | undefined> {
      const row = await sql.get<TenantRow>('SELECT * FROM tenants WHERE name = ?', [name])
      return row && toTenant(row)
    },

    async getTenant(tenantId: string): Promise<Tenant | undefined> {
      const row = await sql.get<TenantRow>('SELECT * FROM tenants WHERE tenant_id = ?', [tenantId])
      return row && toTenant(row)
    },

    async listTenants(limit: number, cursor?: string): Promise<Page<Tenant>> {
      const rows = await sql.all<TenantRow>('SELECT * FROM tenants WHERE tenant_id > ? ORDER BY tenant_id LIMIT ?', [
        cursor ? decodeCursor(cursor) : '',
        limit + 1,
      ])
      return pageOf(rows, limit, (row) => row.tenant_id, toTenant)
    },

    /** Removes the tenant with everything it owns (users, hosts, records). */
    async deleteTenant(tenantId: string): Promise<boolean> {
      return (await sql.run('DELETE FROM tenants WHERE tenant_id = ?', [tenantId])) > 0
    },

    createUser: (input: NewUserRow): Promise<User> => insertUser(sql, input),

    /** A user with a new tenant named after it: both or neither. */
    createUserWithTenant: (input: Omit<NewUserRow, 'tenantId'>): Promise<User> =>
      sql.transaction(async (tx) => {
        const tenant = await insertTenant(tx, input.username, newId())
        return insertUser(tx, { ...input, tenantId: tenant.tenantId })
      }),

    async getUser(userId: string): Promise<User | undefined> {
      const row = await sql.get<UserRow>('SELECT * FROM users WHERE user_id = ?', [userId])
      return row && toUser(row)
    },

    /** The user with its password hash, for login. */
    async findLogin(username: string): Promise<{ user: User; passwordHash: string } | undefined> {
      const row = await sql.get<UserRow>('SELECT * FROM users WHERE username = ?', [username])
      return row && { user: toUser(row), passwordHash: row.password_hash }
    },

    async listUsers(tenantId: string | undefined, limit: number, cursor?: string): Promise<Page<User>> {
      const after = cursor ? decodeCursor(cursor) : ''
      const rows = tenantId
        ? await sql.all<UserRow>('SELECT * FROM users WHERE tenant_id = ? AND username > ? ORDER BY username LIMIT ?', [
            tenantId,
            after,
            limit + 1,
          ])
        : await sql.all<UserRow>('SELECT * FROM users WHERE username > ? ORDER BY username LIMIT ?', [after, limit + 1])
      return pageOf(rows, limit, (row) => row.username, toUser)
    },

    async setPassword(userId: string, passwordHash: string): Promise<boolean> {
      return (await sql.run('UPDATE users SET password_hash = ? WHERE user_id = ?', [passwordHash, userId])) > 0
    },

    async deleteUser(userId: string): Promise<boolean> {
      return (await sql.run('DELETE FROM users WHERE user_id = ?', [userId])) > 0
    },

    async countUsers(role?: Role): Promise<number> {
      const row = role
        ? await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM users WHERE role = ?', [role])
        : await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM users')
      return Number(row?.n ?? 0)
    },
  }
}
export type TenantStore = ReturnType<typeof tenantStore>
