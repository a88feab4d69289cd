import { HwCapability, Uuid } from '@mecm/protocol'
import { badRequest, notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import { HostPath, hostIn } from './host-routes'

const tag = 'inventory: host apps and capabilities'
const base = '/inventory/v1/tenants/:tenantId/mechosts/:mechostIp'

const AppBody = z.object({
  appInstanceId: Uuid,
  appName: z.string().min(1).max(128),
  packageId: z.string().regex(/^[0-9a-f]{32,64}$/, 'must be 32 to 64 lowercase hex characters'),
  capabilities: z.array(z.string().min(1).max(128)).max(64).default([]),
  status: z
    .string()
    .max(128)
    .regex(/^[A-Za-z0-9_ ]*$/, 'must contain only letters, digits, "_" and spaces')
    .default(''),
})
const HostApp = AppBody.extend({ createdAt: z.string(), updatedAt: z.string() })
const AppPath = HostPath.extend({ appInstanceId: Uuid })

/** App records on a host (written by orchestration) and the host's hardware capabilities. */
export function hostAppRoutes(api: Api, store: Store) {
  api.add(
    {
      method: 'get',
      path: `${base}/capabilities`,
      summary: 'List the hardware capabilities of a host',
      tag,
      access: 'read',
      params: HostPath,
      responses: { 200: { description: 'capabilities', schema: z.object({ hwcapabilities: z.array(HwCapability) }) } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json({ hwcapabilities: host.hwCapabilities })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/capabilities/:capabilityType/applications`,
      summary: 'List the apps on a host that use a hardware capability',
      tag,
      access: 'read',
      params: HostPath.extend({ capabilityType: z.string().min(1).max(128) }),
      responses: { 200: { description: 'apps', schema: z.array(HostApp) } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      if (!host.hwCapabilities.some((capability) => capability.hwType === params.capabilityType)) {
        throw notFound(`host ${params.mechostIp} has no ${params.capabilityType} capability`)
      }
      return c.json(await store.hostApps.list(host.hostId, params.capabilityType))
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/apps`,
      summary: 'Record an app on a host',
      tag,
      access: 'write',
      params: HostPath,
      body: AppBody,
      responses: { 201: { description: 'the record', schema: HostApp }, 409: { description: 'already recorded' } },
    },
    async ({ c, params, body }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(await store.hostApps.create(host.hostId, body), 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/apps`,
      summary: 'List the apps recorded on a host',
      tag,
      access: 'read',
      params: HostPath,
      responses: { 200: { description: 'apps', schema: z.array(HostApp) } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(await store.hostApps.list(host.hostId))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/apps/:appInstanceId`,
      summary: 'Show an app record',
      tag,
      access: 'read',
      params: AppPath,
      responses: { 200: { description: 'the record', schema: HostApp }, 404: { description: 'no such record' } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const app = await store.hostApps.get(host.hostId, params.appInstanceId)
      if (!app) throw notFound(`app instance ${params.appInstanceId} not recorded on host ${params.mechostIp}`)
      return c.json(app)
    },
  )

  api.add(
    {
      method: 'put',
      path: `${base}/apps/:appInstanceId`,
      summary: 'Change an app record',
      tag,
      access: 'write',
      params: AppPath,
      body: AppBody,
      responses: { 200: { description: 'the record', schema: HostApp }, 404: { description: 'no such record' } },
    },
    async ({ c, params, body }) => {
      if (body.appInstanceId !== params.appInstanceId) {
        throw badRequest('body.appInstanceId must equal the app instance in the path')
      }
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const app = await store.hostApps.update(host.hostId, body)
      if (!app) throw notFound(`app instance ${params.appInstanceId} not recorded on host ${params.mechostIp}`)
      return c.json(app)
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/apps/:appInstanceId`,
      summary: 'Delete an app record',
      tag,
      access: 'write',
      params: AppPath,
      responses: { 204: { description: 'deleted' }, 404: { description: 'no such record' } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      if (!(await store.hostApps.delete(host.hostId, params.appInstanceId))) {
        throw notFound(`app instance ${params.appInstanceId} not recorded on host ${params.mechostIp}`)
      }
      return c.body(null, 204)
    },
  )
}
