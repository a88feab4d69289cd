import type { Logger, Sealer } from '@mecm/runtime'
import { Hono } from 'hono'
import type { AgentStore } from '../store/store'
import { appSupport } from './app-support/routes'
import type { AppTermination } from './app-support/termination'
import { appAuth, type Mp1Env, tokenRoutes } from './auth'
import { reportRules } from './rules/sync-rules'
import { serviceMgmt } from './service-mgmt/routes'

/**
 * The MEP of this host (ETSI MEC 011 Mp1) for the apps it runs: `POST /mep/token` (signed with
 * the app's AK/SK), then with the token `/mec_service_mgmt/v1` and `/mec_app_support/v1`.
 * `termination` is shared with the reconciler, which waits on it before stopping an app.
 */
export function mp1Api(deps: { store: AgentStore; log: Logger; sealer: Sealer; termination: AppTermination }) {
  const { store } = deps
  const services = serviceMgmt({ store, log: deps.log })
  const support = appSupport({
    store,
    log: deps.log,
    termination: deps.termination,
    rulesChanged: (id) => reportRules(store, id),
  })
  const app = new Hono<Mp1Env>()
  app.route('/', tokenRoutes(deps))
  app.use('/mec_service_mgmt/*', appAuth(store))
  app.use('/mec_app_support/*', appAuth(store))
  app.route('/mec_service_mgmt/v1', services.routes)
  app.route('/mec_app_support/v1', support.routes)
  return {
    app,
    close() {
      services.close()
      support.close()
    },
  }
}
