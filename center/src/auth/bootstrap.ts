import { randomBytes } from 'node:crypto'
import type { Logger } from '@mecm/runtime'
import { ApiError, hashPassword } from '@mecm/runtime'
import type { Store } from '../db/store'

export const SYSTEM_TENANT = 'system'

/**
 * On first start (no ADMIN yet) creates the `admin` account in the system tenant, with the
 * password from MECM_ADMIN_PASSWORD or a generated one printed once. Later starts do nothing.
 */
export async function ensureAdmin(store: Store, log: Logger, password?: string): Promise<void> {
  if ((await store.tenants.countUsers('ADMIN')) > 0) return
  const chosen = password ?? randomBytes(12).toString('base64url')
  try {
    const tenant =
      (await store.tenants.findTenantByName(SYSTEM_TENANT)) ?? (await store.tenants.createTenant(SYSTEM_TENANT))
    await store.tenants.createUser({
      username: 'admin',
      passwordHash: await hashPassword(chosen),
      tenantId: tenant.tenantId,
      role: 'ADMIN',
    })
  } catch (error) {
    // another replica starting at the same moment made it first
    if (error instanceof ApiError && error.status === 409) return
    throw error
  }
  if (password) log.info('created the admin account with the password from MECM_ADMIN_PASSWORD', { username: 'admin' })
  else {
    log.info('created the admin account; its password is shown only this once', { username: 'admin', password: chosen })
  }
}
