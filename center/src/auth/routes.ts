import type { Api } from '../http/route'
import { accessKeyRoutes } from './access-key-routes'
import type { AuthDeps } from './authenticate'
import { sessionRoutes, type TokenSettings } from './session-routes'
import { tenantRoutes } from './tenant-routes'

export type { TokenSettings }

/** Everything under /auth/v1. */
export function authRoutes(
  api: Api,
  deps: AuthDeps,
  settings: TokenSettings,
  content: Parameters<typeof tenantRoutes>[2],
) {
  sessionRoutes(api, deps, settings)
  tenantRoutes(api, deps.store, content)
  accessKeyRoutes(api, deps)
}
