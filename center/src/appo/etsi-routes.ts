import { randomUUID } from 'node:crypto'
import { type AppPackage, etsiInstanceState } from '@mecm/protocol'
import { badRequest, conflict, notFound } from '@mecm/runtime'
import type { Context } from 'hono'
import type { z } from 'zod'
import { ListQuery, selectFrom } from '../apm/etsi-filter'
import type { Store } from '../db/store'
import type { Api, Env } from '../http/route'
import { hostsOf } from './candidates'
import {
  accepted,
  appInstanceInfo,
  appLcmOpOcc,
  base,
  CA_CITY,
  CancelMode,
  CreateAppInstanceRequest,
  InstancePath,
  InstantiateAppRequest,
  instanceFilterable,
  instanceHref,
  OperateAppRequest,
  OpOccPath,
  opOccFilterable,
  opOccHref,
  TerminateAppRequest,
  tag,
} from './etsi-views'
import { InstanceBusy, type StoredInstance } from './instance-store'
import type { LcmService } from './lcm'
import { isEtsiOperation } from './lcm-subscriptions'
import type { StoredOperation } from './operation-store'
import { PlacementSpec } from './placement'

/**
 * ETSI MEC 010-2 application lifecycle management under /app_lcm/v1, within the caller's tenant:
 * app instances and their lifecycle operations (app_lcm_op_occs, with retry, fail and cancel);
 * subscriptions to notifications are in etsi-subscription-routes.ts. Instantiate, terminate and
 * operate answer 202 at once; the operation runs in the background (lcm.ts).
 */
export function etsiLcmRoutes(api: Api, deps: { store: Store; lcm: LcmService }) {
  const { store, lcm } = deps
  const { appo } = store

  async function instanceIn(tenantId: string, appInstanceId: string): Promise<StoredInstance> {
    const instance = await appo.instances.get(appInstanceId, tenantId)
    if (!instance) throw notFound(`app instance ${appInstanceId} not found`)
    return instance
  }

  async function opOccIn(tenantId: string, appLcmOpOccId: string): Promise<StoredOperation> {
    const op = await appo.operations.get(appLcmOpOccId, tenantId)
    if (!op || !isEtsiOperation(op.lcmOperation))
      throw notFound(`app LCM operation occurrence ${appLcmOpOccId} not found`)
    return op
  }

  /** Packages by id, read once per request. */
  function packagesOf(tenantId: string) {
    const seen = new Map<string, Promise<AppPackage | undefined>>()
    return (appPkgId: string) => {
      let found = seen.get(appPkgId)
      if (!found) {
        found = store.packages.get(tenantId, appPkgId).then((stored) => stored?.pkg)
        seen.set(appPkgId, found)
      }
      return found
    }
  }

  const infoOf = async (instance: StoredInstance) =>
    appInstanceInfo(instance, (await store.packages.get(instance.tenantId, instance.appPkgId))?.pkg)

  /** 202 with the Location of the operation's app_lcm_op_occs entry. */
  function acceptedAs(c: Context<Env>, op: StoredOperation) {
    c.header('location', opOccHref(op.operationId))
    return c.body(null, 202)
  }

  const busy = (instance: StoredInstance) =>
    conflict(
      `app instance ${instance.appInstanceId} is busy with operation ${instance.operationId}: ` +
        'wait for it to end, or retry, fail or cancel it first',
    )

  /** What an InstantiateAppRequest asks of the placement: its selected hosts and its city, if any. */
  async function wantedPlacement(tenantId: string, request: z.infer<typeof InstantiateAppRequest>) {
    const wanted: { hosts?: string[]; city?: string } = {}
    if (request.selectedMECHostInfo) {
      const hosts = await hostsOf(store, tenantId)
      wanted.hosts = request.selectedMECHostInfo.map((info, index) => {
        const names = [
          ...(typeof info.hostId === 'string'
            ? [info.hostId]
            : Object.values(info.hostId).filter((value): value is string => typeof value === 'string')),
          ...(info.hostName ? [info.hostName] : []),
        ]
        const host =
          hosts.find((candidate) => names.includes(candidate.mechostIp)) ??
          hosts.find((candidate) => names.includes(candidate.mechostName))
        if (!host)
          throw badRequest(
            `selectedMECHostInfo[${index}]: no MEC host ${names.map((name) => `"${name}"`).join(' or ')} in your tenant`,
          )
        return host.mechostIp
      })
    }
    const city = request.locationConstraints?.civicAddressElement?.find((element) => element.caType === CA_CITY)
    if (city) wanted.city = city.caValue
    return wanted.hosts || wanted.city ? wanted : undefined
  }

  /**
   * Where the instance goes when the request limits its hosts: nowhere new (undefined) when its
   * host is allowed; else the host placement picks among the allowed ones.
   */
  async function hostAsAsked(instance: StoredInstance, wanted: { hosts?: string[]; city?: string }) {
    const spec = PlacementSpec.parse({ ...instance.placement, ...wanted })
    const decision = await lcm.explain(instance.tenantId, instance.appPkgId, spec, 1)
    const here = decision.decisions.find((host) => host.mechostIp === instance.mechostIp)
    if (here?.kept) return undefined
    if (instance.status !== 'NOT_INSTANTIATED')
      throw conflict(
        `app instance ${instance.appInstanceId} is ${instance.status} on host ${instance.mechostIp}: ` +
          'terminate it before instantiating it on another host',
      )
    const ip = decision.chosen[0]
    if (!ip) throw conflict(`no MEC host fits the request: ${decision.summary}`)
    return decision.hostOf(ip)
  }

  // ---------- app instances ----------

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances`,
      summary: 'Create an app instance resource of an onboarded package, by its appDId',
      tag,
      access: 'write',
      body: CreateAppInstanceRequest,
      responses: {
        201: { description: 'AppInstanceInfo, NOT_INSTANTIATED; Location names it' },
        404: { description: 'no onboarded package has this appDId in your tenant' },
        409: { description: 'the package is disabled' },
      },
    },
    async ({ c, body, principal }) => {
      const found = await store.packages.byAppDId(principal.tenantId, body.appDId)
      if (!found) throw notFound(`no onboarded app package has appDId ${body.appDId}`)
      const { instance, operation } = await lcm.create(principal.tenantId, {
        appPkgId: found.pkg.appPkgId,
        instanceName: body.appInstanceName ?? '',
        description: body.appInstanceDescription ?? '',
        placement: PlacementSpec.parse({}),
      })
      // ETSI's create is synchronous: wait for the placing step; where no host fits yet, the
      // instance stays unplaced (and free) until INSTANTIATE places it
      const created = await lcm.runner.run(operation.operationId)
      if (created.state === 'FAILED_TEMP') await lcm.fail(created)
      c.header('location', instanceHref(instance.appInstanceId))
      return c.json(appInstanceInfo(await instanceIn(principal.tenantId, instance.appInstanceId), found.pkg), 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_instances`,
      summary: 'Query app instances (filter, all_fields, fields, exclude_fields, exclude_default)',
      tag,
      access: 'read',
      query: ListQuery,
      responses: {
        200: { description: 'AppInstanceInfo of each matching instance' },
        400: { description: 'bad filter' },
      },
    },
    async ({ c, query, principal }) => {
      const packageOf = packagesOf(principal.tenantId)
      const infos = await Promise.all(
        (await appo.instances.list(principal.tenantId)).map(async (instance) =>
          appInstanceInfo(instance, await packageOf(instance.appPkgId)),
        ),
      )
      return c.json(selectFrom(infos, query, instanceFilterable, []))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_instances/:appInstanceId`,
      summary: 'Read an app instance',
      tag,
      access: 'read',
      params: InstancePath,
      responses: { 200: { description: 'AppInstanceInfo' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) =>
      c.json(await infoOf(await instanceIn(principal.tenantId, params.appInstanceId))),
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/app_instances/:appInstanceId`,
      summary: 'Delete an app instance resource (NOT_INSTANTIATED, with no operation running)',
      tag,
      access: 'write',
      params: InstancePath,
      responses: {
        204: { description: 'deleted' },
        404: { description: 'not found' },
        409: { description: 'instantiated, or busy with an operation' },
      },
    },
    async ({ c, params, principal }) => {
      await appo.transaction(async (tx) => {
        const instance = await tx.instances.get(params.appInstanceId, principal.tenantId)
        if (!instance) throw notFound(`app instance ${params.appInstanceId} not found`)
        // holding it keeps any operation from starting on it until it is gone
        try {
          await tx.instances.hold(instance.appInstanceId, randomUUID())
        } catch (error) {
          if (error instanceof InstanceBusy) throw busy(instance)
          throw error
        }
        if (instance.status !== 'NOT_INSTANTIATED')
          throw conflict(`app instance ${instance.appInstanceId} is ${instance.status}: terminate it first`)
        await tx.instances.remove(instance.appInstanceId)
      })
      await store.appdConfigurations.delete(principal.tenantId, params.appInstanceId)
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/:appInstanceId/instantiate`,
      summary: 'Instantiate an app instance, on the selected MEC hosts or where placement puts it',
      tag,
      access: 'write',
      params: InstancePath,
      body: InstantiateAppRequest,
      responses: { ...accepted, 400: { description: 'bad request, or an unknown host' } },
    },
    async ({ c, params, body, principal }) => {
      const instance = await instanceIn(principal.tenantId, params.appInstanceId)
      if (instance.operationId) throw busy(instance)
      if (instance.status !== 'NOT_INSTANTIATED' && instance.status !== 'FAILED')
        throw conflict(`app instance ${instance.appInstanceId} is ${instance.status}: it is instantiated already`)
      const wanted = await wantedPlacement(principal.tenantId, body)
      const host = wanted ? await hostAsAsked(instance, wanted) : undefined
      const op = await lcm.instantiate(
        principal.tenantId,
        instance.appInstanceId,
        body.parameters ? { parameters: body.parameters } : {},
        host ? { host } : {},
      )
      return acceptedAs(c, op)
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/:appInstanceId/terminate`,
      summary: 'Terminate an app instance (it stays, NOT_INSTANTIATED, until deleted)',
      tag,
      access: 'write',
      params: InstancePath,
      body: TerminateAppRequest,
      responses: accepted,
    },
    async ({ c, params, principal }) => {
      const instance = await instanceIn(principal.tenantId, params.appInstanceId)
      if (instance.operationId) throw busy(instance)
      if (etsiInstanceState(instance.status).instantiationState !== 'INSTANTIATED')
        throw conflict(`app instance ${instance.appInstanceId} is not instantiated`)
      return acceptedAs(c, await lcm.terminate(principal.tenantId, instance.appInstanceId, {}))
    },
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_instances/:appInstanceId/operate`,
      summary: 'Start or stop an app instance',
      tag,
      access: 'write',
      params: InstancePath,
      body: OperateAppRequest,
      responses: accepted,
    },
    async ({ c, params, body, principal }) => {
      const instance = await instanceIn(principal.tenantId, params.appInstanceId)
      if (instance.operationId) throw busy(instance)
      return acceptedAs(c, await lcm.changeState(principal.tenantId, instance.appInstanceId, body.changeStateTo))
    },
  )

  // ---------- operation occurrences ----------

  api.add(
    {
      method: 'get',
      path: `${base}/app_lcm_op_occs`,
      summary: 'Query lifecycle operation occurrences, newest first (filter and attribute selectors)',
      tag,
      access: 'read',
      query: ListQuery,
      responses: { 200: { description: 'AppInstanceLcmOpOcc of each matching operation' } },
    },
    async ({ c, query, principal }) => {
      const ops = (await appo.operations.list(principal.tenantId)).filter((op) => isEtsiOperation(op.lcmOperation))
      return c.json(selectFrom(ops.map(appLcmOpOcc), query, opOccFilterable, ['operationParams', 'error']))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_lcm_op_occs/:appLcmOpOccId`,
      summary: 'Read a lifecycle operation occurrence',
      tag,
      access: 'read',
      params: OpOccPath,
      responses: { 200: { description: 'AppInstanceLcmOpOcc' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) => c.json(appLcmOpOcc(await opOccIn(principal.tenantId, params.appLcmOpOccId))),
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_lcm_op_occs/:appLcmOpOccId/retry`,
      summary: 'Retry a FAILED_TEMP operation from its first step',
      tag,
      access: 'write',
      params: OpOccPath,
      responses: {
        202: { description: 'running again (PROCESSING); Location names it' },
        404: { description: 'not found' },
        409: { description: 'not FAILED_TEMP' },
      },
    },
    async ({ c, params, principal }) =>
      acceptedAs(c, await lcm.retry(await opOccIn(principal.tenantId, params.appLcmOpOccId))),
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_lcm_op_occs/:appLcmOpOccId/fail`,
      summary: 'Give up a FAILED_TEMP operation: FAILED, and the instance is free for another',
      tag,
      access: 'write',
      params: OpOccPath,
      responses: {
        200: { description: 'AppInstanceLcmOpOcc, FAILED' },
        404: { description: 'not found' },
        409: { description: 'not FAILED_TEMP' },
      },
    },
    async ({ c, params, principal }) =>
      c.json(appLcmOpOcc(await lcm.fail(await opOccIn(principal.tenantId, params.appLcmOpOccId)))),
  )

  api.add(
    {
      method: 'post',
      path: `${base}/app_lcm_op_occs/:appLcmOpOccId/cancel`,
      summary:
        'Cancel an operation: a running one stops waiting for its edge and ends FAILED_TEMP; a FAILED_TEMP one ends FAILED',
      tag,
      access: 'write',
      params: OpOccPath,
      body: CancelMode,
      responses: {
        202: { description: 'accepted; Location names the operation' },
        404: { description: 'not found' },
        409: { description: 'COMPLETED or FAILED already' },
      },
    },
    async ({ c, params, principal }) =>
      acceptedAs(c, await lcm.cancel(await opOccIn(principal.tenantId, params.appLcmOpOccId))),
  )
}
