import { AppdConfiguration, InstantiationParameters, IpAddress, RuleIds, TenantId, Uuid } from '@mecm/protocol'
import { badRequest, conflict, notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import { hostIn } from '../inventory/host-routes'
import type { SyncHub } from '../sync/hub'
import type { StoredInstance } from './instance-store'
import type { CreateRequest, LcmService } from './lcm'
import { PlacementSpec } from './placement'
import { Rollout } from './rollout'
import { instanceInfo, operationView } from './views'

const tag = 'appo: orchestration (EdgeGallery)'
const base = '/appo/v1/tenants/:tenantId'
const Tenant = z.object({ tenantId: TenantId })
const InstancePath = Tenant.extend({ appInstanceId: Uuid })
const accepted = { 202: { description: 'accepted: the operation runs in the background' } }

/** EdgeGallery's 64-hex appPackageId is appId + packageId; a 32-hex one is the packageId. */
const AppPackageId = z
  .string()
  .regex(/^[0-9a-f]{32}([0-9a-f]{32})?$/, 'must be a 32-hex packageId or a 64-hex appId+packageId')
  .transform((id) => id.slice(-32))

const Name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]*$/, 'must be letters, digits, "_" and "-", starting with a letter or digit')

const CreateBody = z.object({
  appPackageId: AppPackageId,
  appName: Name,
  appId: z
    .string()
    .regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters')
    .optional(),
  appInstanceDescription: z.string().max(256).default(''),
  /** EdgeGallery's explicit host; or leave it out and give a placement. */
  mecHost: IpAddress.optional(),
  hwCapabilities: z.array(z.string().min(1).max(128)).max(10).optional(),
  placement: PlacementSpec.optional(),
  parameters: InstantiationParameters.optional(),
})

const BatchCreateBody = CreateBody.omit({ mecHost: true }).extend({
  mecHost: z.array(IpAddress).min(1).max(10_000).optional(),
  /** Instances to place by the placement; without it, one on every host that fits. */
  count: z.number().int().min(1).max(10_000).optional(),
  /** Instantiate each instance as part of the same batch. */
  instantiate: z.boolean().default(false),
  rollout: Rollout.default(Rollout.parse({})),
})

const TimeoutQuery = z.object({ timeoutMs: z.coerce.number().int().min(100).max(60_000).default(10_000) })

function placementOf(body: { mecHost?: string | string[]; hwCapabilities?: string[]; placement?: PlacementSpec }) {
  if (body.mecHost && body.placement) throw badRequest('give either mecHost or placement, not both')
  const spec = body.placement ?? PlacementSpec.parse({})
  const hosts = body.mecHost === undefined ? spec.hosts : [body.mecHost].flat()
  return PlacementSpec.parse({
    ...spec,
    ...(hosts ? { hosts } : {}),
    ...(body.hwCapabilities?.length ? { hwCapabilities: body.hwCapabilities } : {}),
  })
}

async function checkAppId(store: Store, tenantId: string, appPkgId: string, appId?: string) {
  const found = await store.packages.get(tenantId, appPkgId)
  if (!found) throw notFound(`package ${appPkgId} not found in tenant ${tenantId}`)
  if (appId && appId !== found.pkg.appId) throw badRequest(`appId ${appId} is not the app of package ${appPkgId}`)
}

/**
 * EdgeGallery's APPO API (/appo/v1): create, instantiate, terminate, query, batches, rules,
 * host KPI and MEP capabilities. Lifecycle requests answer 202 with the operation id at once;
 * the operation runs as a BPMN process (see lcm.ts).
 */
export function edgeGalleryAppoRoutes(api: Api, deps: { store: Store; hub: SyncHub; lcm: LcmService }) {
  const { store, hub, lcm } = deps
  const { appo } = store

  async function instanceIn(tenantId: string, appInstanceId: string) {
    const instance = await appo.instances.get(appInstanceId, tenantId)
    if (!instance) throw notFound(`app instance ${appInstanceId} not found in tenant ${tenantId}`)
    return instance
  }

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/batch_create`,
      summary: 'Create many app instances, placed by hosts or a placement, optionally instantiating them',
      tag,
      access: 'write',
      params: Tenant,
      body: BatchCreateBody,
      responses: { ...accepted, 409: { description: 'no host fits, or the package cannot be used' } },
    },
    async ({ c, params, body }) => {
      await checkAppId(store, params.tenantId, body.appPackageId, body.appId)
      // each listed host gets one instance (any number of them); a placement spreads the count
      const placement = placementOf({ ...body, mecHost: undefined })
      if (body.mecHost && body.placement?.hosts) throw badRequest('give either mecHost or placement.hosts, not both')
      const count = body.mecHost
        ? body.mecHost.length
        : (body.count ?? (await lcm.everyFittingHost(params.tenantId, body.appPackageId, placement)))
      if (count === 0) {
        const why = await lcm.explain(params.tenantId, body.appPackageId, placement, 1)
        throw conflict(`no host fits: ${why.summary}`)
      }
      const creates: CreateRequest[] = Array.from({ length: count }, (_, index) => ({
        appPkgId: body.appPackageId,
        instanceName: count > 1 ? `${body.appName}-${index + 1}` : body.appName,
        description: body.appInstanceDescription,
        // each listed host gets one instance; a placement spreads the rest
        placement: body.mecHost ? PlacementSpec.parse({ ...placement, hosts: [body.mecHost[index]] }) : placement,
        ...(body.parameters ? { parameters: body.parameters } : {}),
      }))
      const result = await lcm.batch(
        params.tenantId,
        body.instantiate ? 'INSTANTIATE' : 'CREATE',
        [],
        body.rollout,
        creates,
      )
      return c.json(
        {
          response: result.items.map((item) => ({
            appInstanceId: item.appInstanceId,
            host: item.mecHost,
            status: item.status,
          })),
          operationId: result.operation.operationId,
        },
        202,
      )
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/batch_instantiate`,
      summary: 'Instantiate many app instances as a staged rollout',
      tag,
      access: 'write',
      params: Tenant,
      body: z.object({
        instantiationParameters: z
          .array(z.object({ appInstanceId: Uuid, parameters: InstantiationParameters.optional() }))
          .min(1)
          .max(10_000),
        rollout: Rollout.default(Rollout.parse({})),
      }),
      responses: accepted,
    },
    async ({ c, params, body }) => {
      const result = await lcm.batch(
        params.tenantId,
        'INSTANTIATE',
        body.instantiationParameters.map((entry) => ({
          appInstanceId: entry.appInstanceId,
          params: entry.parameters ? { parameters: entry.parameters } : {},
        })),
        body.rollout,
      )
      return c.json({ response: result.items, operationId: result.operation.operationId }, 202)
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/batch_terminate`,
      summary: 'Terminate (and forget) many app instances as a staged rollout',
      tag,
      access: 'write',
      params: Tenant,
      body: z.object({
        appInstanceIds: z.array(Uuid).min(1).max(10_000),
        rollout: Rollout.default(Rollout.parse({})),
      }),
      responses: accepted,
    },
    async ({ c, params, body }) => {
      const result = await lcm.batch(
        params.tenantId,
        'TERMINATE',
        body.appInstanceIds.map((appInstanceId) => ({
          appInstanceId,
          params: { deleteInstance: !body.rollout.rollback },
        })),
        body.rollout,
      )
      return c.json({ response: result.items, operationId: result.operation.operationId }, 202)
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances`,
      summary: 'Create an app instance on a host, or where a placement puts it',
      tag,
      access: 'write',
      params: Tenant,
      body: CreateBody,
      responses: {
        ...accepted,
        404: { description: 'no such package' },
        409: { description: 'the package is not usable' },
      },
    },
    async ({ c, params, body }) => {
      await checkAppId(store, params.tenantId, body.appPackageId, body.appId)
      const placement = placementOf(body)
      if (placement.hosts) for (const ip of placement.hosts) await hostIn(store, params.tenantId, ip)
      const { instance, operation } = await lcm.create(params.tenantId, {
        appPkgId: body.appPackageId,
        instanceName: body.appName,
        description: body.appInstanceDescription,
        placement,
        ...(body.parameters ? { parameters: body.parameters } : {}),
      })
      return c.json({ response: { app_instance_id: instance.appInstanceId, operationId: operation.operationId } }, 202)
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/:appInstanceId`,
      summary: 'Instantiate an app instance',
      tag,
      access: 'write',
      params: InstancePath,
      body: z.object({ parameters: InstantiationParameters.default({}) }).default({ parameters: {} }),
      responses: { ...accepted, 409: { description: 'instantiated already, or busy with another operation' } },
    },
    async ({ c, params, body }) => {
      const op = await lcm.instantiate(
        params.tenantId,
        params.appInstanceId,
        { parameters: body.parameters },
        { supersede: true },
      )
      return c.json({ response: { operationId: op.operationId } }, 202)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_instances/:appInstanceId`,
      summary: 'Ask the edge for the live state of an app instance',
      tag,
      access: 'read',
      params: InstancePath,
      query: TimeoutQuery,
      responses: {
        200: { description: 'what the edge plugin sees now' },
        412: { description: 'the instance is not instantiated' },
        503: { description: 'the edge is not connected' },
      },
    },
    async ({ c, params, query }) => {
      const instance = await instanceIn(params.tenantId, params.appInstanceId)
      if (!instance.hostId || ['NOT_INSTANTIATED', 'INSTANTIATING'].includes(instance.status)) {
        return c.json(
          {
            type: 'about:blank',
            title: 'Precondition Failed',
            status: 412,
            detail: `app instance is ${instance.status}`,
          },
          412,
        )
      }
      const live = await hub.ask(
        instance.hostId,
        'instance.status',
        { appInstanceId: instance.appInstanceId },
        query.timeoutMs,
      )
      return c.json({ response: live })
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/app_instances/:appInstanceId`,
      summary: 'Terminate an app instance and forget it',
      tag,
      access: 'write',
      params: InstancePath,
      responses: { ...accepted, 409: { description: 'busy with another operation' } },
    },
    async ({ c, params }) => {
      const op = await lcm.terminate(params.tenantId, params.appInstanceId, { deleteInstance: true }, true)
      return c.json({ response: { operationId: op.operationId } }, 202)
    },
  )

  for (const method of ['post', 'put'] as const) {
    api.add(
      {
        method,
        path: `${base}/app_instances/:appInstanceId/appd_configuration`,
        summary:
          method === 'post'
            ? 'Add traffic and DNS rules to an app instance'
            : "Replace an app instance's traffic and DNS rules by id",
        tag,
        access: 'write',
        params: InstancePath,
        body: AppdConfiguration,
        responses: { ...accepted, 409: { description: 'the instance is busy or not in a state that takes rules' } },
      },
      async ({ c, params, body }) => {
        const { ruleTaskId } = await lcm.configureRules(params.tenantId, params.appInstanceId, {
          ruleAction: method === 'post' ? 'POST' : 'PUT',
          rules: body,
        })
        return c.json({ response: { apprule_task_id: ruleTaskId } }, 202)
      },
    )
  }

  api.add(
    {
      method: 'delete',
      path: `${base}/app_instances/:appInstanceId/appd_configuration`,
      summary: "Remove some of an app instance's traffic and DNS rules by id",
      tag,
      access: 'write',
      params: InstancePath,
      body: RuleIds,
      responses: accepted,
    },
    async ({ c, params, body }) => {
      const { ruleTaskId } = await lcm.configureRules(params.tenantId, params.appInstanceId, {
        ruleAction: 'DELETE',
        removeRules: body,
      })
      return c.json({ response: { apprule_task_id: ruleTaskId } }, 202)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/apprule_task_infos/:taskId`,
      summary: 'Read the progress of a rule change',
      tag,
      access: 'read',
      params: Tenant.extend({ taskId: Uuid }),
      responses: { 200: { description: 'configResult PROCESSING, SUCCESS or FAILURE' } },
    },
    async ({ c, params }) => {
      const task = await appo.ruleTasks.get(params.taskId, params.tenantId)
      if (!task) throw notFound(`rule task ${params.taskId} not found in tenant ${params.tenantId}`)
      return c.json({
        response: {
          taskId: task.taskId,
          appInstanceId: task.appInstanceId,
          configResult: task.state,
          detailed: task.detail,
          operationId: task.operationId,
        },
      })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_instance_infos`,
      summary: 'List app instances as recorded (filter with appInstIds=id1,id2)',
      tag,
      access: 'read',
      params: Tenant,
      query: z.object({
        appInstIds: z
          .string()
          .max(64 * 1024)
          .optional(),
        appInstId: z
          .string()
          .max(64 * 1024)
          .optional(),
        appinstanceids: z
          .string()
          .max(64 * 1024)
          .optional(),
      }),
      responses: { 200: { description: 'the instances' } },
    },
    async ({ c, params, query }) => {
      const filter = query.appInstIds ?? query.appInstId ?? query.appinstanceids
      const ids = filter
        ?.split(',')
        .map((id) => id.trim())
        .filter(Boolean)
      const parsedIds = ids ? z.array(Uuid).safeParse(ids) : undefined
      if (parsedIds && !parsedIds.success) throw badRequest('appInstIds: every id must be a UUID')
      const list = await appo.instances.list(params.tenantId, parsedIds ? { ids: parsedIds.data } : {})
      return c.json({ response: await infosOf(list) })
    },
  )

  /** EdgeGallery's view of instances, with the operations holding them read at once. */
  const infosOf = async (list: StoredInstance[]) => {
    const ids = list.flatMap((one) => (one.operationId ? [one.operationId] : []))
    const holders = new Map((await appo.operations.many(ids)).map((op) => [op.operationId, op]))
    return list.map((one) => instanceInfo(one, one.operationId ? holders.get(one.operationId) : undefined))
  }

  api.add(
    {
      method: 'get',
      path: `${base}/app_instance_infos/:appInstanceId`,
      summary: 'Read one app instance as recorded',
      tag,
      access: 'read',
      params: InstancePath,
      responses: { 200: { description: 'the instance' } },
    },
    async ({ c, params }) => {
      const instance = await instanceIn(params.tenantId, params.appInstanceId)
      return c.json({ response: (await infosOf([instance]))[0] })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/apps/:appId/packages/:packageId/status`,
      summary: 'List the instances of a package and their status',
      tag,
      access: 'read',
      params: Tenant.extend({
        appId: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters'),
        packageId: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters'),
      }),
      responses: { 200: { description: 'the instances of the package' } },
    },
    async ({ c, params }) => {
      const list = await appo.instances.list(params.tenantId, { appId: params.appId, appPkgId: params.packageId })
      return c.json({
        data: await infosOf(list),
      })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/hosts/:mechostIp/kpi`,
      summary: 'Ask an edge for its host KPI now',
      tag,
      access: 'read',
      params: Tenant.extend({ mechostIp: IpAddress }),
      query: TimeoutQuery,
      responses: { 200: { description: 'the KPI' }, 503: { description: 'the edge is not connected' } },
    },
    async ({ c, params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json({ response: await hub.ask(host.hostId, 'host.kpi', {}, query.timeoutMs) })
    },
  )

  const capabilitiesOf = async (tenantId: string, ip: string) => {
    const host = await hostIn(store, tenantId, ip)
    return ((await store.edgeOutbox.state(host.hostId))?.mepServices ?? []) as { serInstanceId: string }[]
  }

  api.add(
    {
      method: 'get',
      path: `${base}/hosts/:mechostIp/mep_capabilities`,
      summary: 'List the MEP services (software capabilities) an edge last reported',
      tag,
      access: 'read',
      params: Tenant.extend({ mechostIp: IpAddress }),
      responses: { 200: { description: 'the capabilities, as synced from the edge' } },
    },
    async ({ c, params }) => c.json(await capabilitiesOf(params.tenantId, params.mechostIp)),
  )

  api.add(
    {
      method: 'get',
      path: `${base}/hosts/:mechostIp/mep_capabilities/:capabilityId`,
      summary: 'Read one MEP service (software capability) of an edge',
      tag,
      access: 'read',
      params: Tenant.extend({ mechostIp: IpAddress, capabilityId: z.string().min(1).max(128) }),
      responses: { 200: { description: 'the capability' }, 404: { description: 'no such capability' } },
    },
    async ({ c, params }) => {
      const found = (await capabilitiesOf(params.tenantId, params.mechostIp)).find(
        (service) => service.serInstanceId === params.capabilityId,
      )
      if (!found) throw notFound(`capability ${params.capabilityId} not found on host ${params.mechostIp}`)
      return c.json(found)
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/placement/explain`,
      summary: 'Explain where a placement would put instances of a package, and why each host is kept or dropped',
      tag,
      access: 'read',
      params: Tenant,
      body: z.object({
        appPackageId: AppPackageId,
        placement: PlacementSpec.default(PlacementSpec.parse({})),
        count: z.number().int().min(1).max(10_000).default(1),
      }),
      responses: { 200: { description: 'the hosts chosen, and a decision with reasons for every host' } },
    },
    async ({ c, params, body }) => {
      const { hostOf: _, ...decision } = await lcm.explain(
        params.tenantId,
        body.appPackageId,
        body.placement,
        body.count,
      )
      return c.json(decision)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/operations/:operationId`,
      summary: 'Read an operation; a batch shows its progress per host and per instance',
      tag,
      access: 'read',
      params: Tenant.extend({ operationId: Uuid }),
      responses: { 200: { description: 'the operation' } },
    },
    async ({ c, params }) => {
      const op = await appo.operations.get(params.operationId, params.tenantId)
      if (!op) throw notFound(`operation ${params.operationId} not found in tenant ${params.tenantId}`)
      return c.json(await operationView(appo, op))
    },
  )
}
