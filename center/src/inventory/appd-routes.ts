import { AppdConfiguration, TenantId, Uuid } from '@mecm/protocol'
import { conflict, notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api, Principal } from '../http/route'

const tag = 'inventory: app rules'
/**
 * At EdgeGallery's tenant path, and without the tenant segment, where the caller's own tenant
 * is meant.
 */
const variants = [
  {
    path: '/inventory/v1/tenants/:tenantId/app_instances/:appInstanceId/appd_configuration',
    Path: z.object({ tenantId: TenantId, appInstanceId: Uuid }),
  },
  {
    path: '/inventory/v1/app_instances/:appInstanceId/appd_configuration',
    Path: z.object({ appInstanceId: Uuid }),
  },
] as const
const tenantOf = (params: object, principal: Principal) =>
  'tenantId' in params && typeof params.tenantId === 'string' ? params.tenantId : principal.tenantId

/** The APPD configuration (traffic and DNS rules) recorded for an app instance. */
export function appdRoutes(api: Api, store: Store) {
  const missing = (id: string) => notFound(`app instance ${id} has no appd configuration`)

  for (const { path, Path } of variants) {
    api.add(
      {
        method: 'post',
        path,
        summary: 'Record the rules of an app instance',
        tag,
        access: 'write',
        params: Path,
        body: AppdConfiguration,
        responses: {
          201: { description: 'recorded', schema: AppdConfiguration },
          409: { description: 'already recorded' },
        },
      },
      async ({ c, params, body, principal }) => {
        if (!(await store.appdConfigurations.create(tenantOf(params, principal), params.appInstanceId, body))) {
          throw conflict(
            `app instance ${params.appInstanceId} already has an appd configuration: use PUT to replace it`,
          )
        }
        return c.json(body, 201)
      },
    )

    api.add(
      {
        method: 'put',
        path,
        summary: 'Replace the rules of an app instance',
        tag,
        access: 'write',
        params: Path,
        body: AppdConfiguration,
        responses: {
          200: { description: 'replaced', schema: AppdConfiguration },
          404: { description: 'none recorded' },
        },
      },
      async ({ c, params, body, principal }) => {
        if (!(await store.appdConfigurations.replace(tenantOf(params, principal), params.appInstanceId, body))) {
          throw missing(params.appInstanceId)
        }
        return c.json(body)
      },
    )

    api.add(
      {
        method: 'get',
        path,
        summary: 'Show the rules of an app instance',
        tag,
        access: 'read',
        params: Path,
        responses: {
          200: {
            description:
              "the rules, with `ruleStates`: each Mp1 rule's state (ACTIVE, INACTIVE) as the instance's edge last reported it",
            schema: AppdConfiguration,
          },
          404: { description: 'none recorded' },
        },
      },
      async ({ c, params, principal }) => {
        const tenantId = tenantOf(params, principal)
        const [configuration, ruleStates] = await Promise.all([
          store.appdConfigurations.get(tenantId, params.appInstanceId),
          store.appdConfigurations.states(tenantId, params.appInstanceId),
        ])
        if (!configuration && !ruleStates) throw missing(params.appInstanceId)
        // rules from the APPD alone have states but no record here
        const shown = configuration ?? { appSupportMp1: true, appTrafficRule: [], appDNSRule: [] }
        return c.json(ruleStates ? { ...shown, ruleStates } : shown)
      },
    )

    api.add(
      {
        method: 'delete',
        path,
        summary: 'Delete the rules of an app instance',
        tag,
        access: 'write',
        params: Path,
        responses: { 204: { description: 'deleted' }, 404: { description: 'none recorded' } },
      },
      async ({ c, params, principal }) => {
        if (!(await store.appdConfigurations.delete(tenantOf(params, principal), params.appInstanceId)))
          throw missing(params.appInstanceId)
        return c.body(null, 204)
      },
    )
  }
}
