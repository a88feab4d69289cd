import { randomUUID } from 'node:crypto'
import { type AppPackage, etsiInstanceState, InstantiationParameters, redacted, Uuid } from '@mecm/protocol'
import { badRequest, conflict, notFound } from '@mecm/runtime'
import type { Context } from 'hono'
import { z } from 'zod'
import { checkCallbackUrl } from '../apm/callback-url'
import { matches, parseFilter } from '../apm/etsi-filter'
import type { Store } from '../db/store'
import type { Api, Env } from '../http/route'
import { hostsOf } from './candidates'
import { InstanceBusy, type StoredInstance } from './instance-store'
import type { LcmService } from './lcm'
import {
  AppInstCriteria,
  AppLcmOpOccCriteria,
  isEtsiOperation,
  LCM_BASE,
  type LcmSubscription,
  timeStamp,
} from './lcm-subscriptions'
import type { StoredOperation } from './operation-store'
import { PlacementSpec } from './placement'

const tag = 'app_lcm: ETSI MEC 010-2 application lifecycle'
const base = LCM_BASE
const InstancePath = z.object({ appInstanceId: Uuid })
const OpOccPath = z.object({ appLcmOpOccId: Uuid })
const SubscriptionPath = z.object({ subscriptionId: Uuid })
const instanceHref = (id: string) => `${base}/app_instances/${id}`
const opOccHref = (id: string) => `${base}/app_lcm_op_occs/${id}`
const subscriptionHref = (id: string) => `${base}/subscriptions/${id}`
const accepted = {
  202: { description: 'accepted: Location names the app_lcm_op_occs entry of the operation' },
  404: { description: 'no such app instance in your tenant' },
  409: {
    description: 'the instance is not in a state that allows it, or another operation on it is unfinished',
  },
}

// ---------- representations ----------

/** ETSI AppInstanceInfo; the package gives the provider and versions. */
function appInstanceInfo(instance: StoredInstance, pkg: AppPackage | undefined) {
  const state = etsiInstanceState(instance.status)
  const self = instanceHref(instance.appInstanceId)
  const instantiated = state.instantiationState === 'INSTANTIATED'
  // a task is linked when it is possible now: never while an operation holds the instance
  const free = instance.operationId === null
  const instantiable = free && (instance.status === 'NOT_INSTANTIATED' || instance.status === 'FAILED')
  const operable = free && (instance.status === 'STARTED' || instance.status === 'STOPPED')
  return {
    id: instance.appInstanceId,
    ...(instance.instanceName ? { appInstanceName: instance.instanceName } : {}),
    ...(instance.description ? { appInstanceDescription: instance.description } : {}),
    appDId: instance.appDId,
    appProvider: pkg?.appProvider ?? '',
    appName: instance.appName,
    appSoftVersion: pkg?.appSoftVersion ?? '',
    appDVersion: pkg?.appDVersion ?? '',
    appPkgId: instance.appPkgId,
    instantiationState: state.instantiationState,
    ...(instantiated ? { instantiatedAppState: { operationalState: state.operationalState ?? 'STOPPED' } } : {}),
    _links: {
      self: { href: self },
      ...(instantiable ? { instantiate: { href: `${self}/instantiate` } } : {}),
      ...(free && instantiated ? { terminate: { href: `${self}/terminate` } } : {}),
      ...(operable ? { operate: { href: `${self}/operate` } } : {}),
    },
  }
}

/** The operation's input, in the shape of its ETSI request as far as this center keeps it. */
function operationParams(op: StoredOperation) {
  switch (op.lcmOperation) {
    case 'INSTANTIATE':
      return op.params.parameters ? { parameters: redacted({ parameters: op.params.parameters }).parameters } : {}
    case 'OPERATE':
      return { changeStateTo: op.params.changeStateTo ?? 'STARTED' }
    default:
      return {}
  }
}

/** ETSI AppInstanceLcmOpOcc (with isCancelPending, cancelMode and error as ETSI's later versions have them). */
function appLcmOpOcc(op: StoredOperation) {
  const self = opOccHref(op.operationId)
  const running = op.state === 'STARTING' || op.state === 'PROCESSING'
  const cancelPending = running && op.cancelPending
  return {
    id: op.operationId,
    operationState: op.state,
    stateEnteredTime: timeStamp(op.stateEnteredTime),
    startTime: timeStamp(op.startTime),
    lcmOperation: op.lcmOperation,
    operationParams: operationParams(op),
    isCancelPending: cancelPending,
    // a cancelled operation stops waiting for its edge at once: FORCEFUL, whatever was asked
    ...(cancelPending ? { cancelMode: 'FORCEFUL' } : {}),
    ...(op.error && (op.state === 'FAILED_TEMP' || op.state === 'FAILED') ? { error: op.error } : {}),
    appInstanceId: op.appInstanceId,
    _links: {
      self: { href: self },
      appInstance: { href: instanceHref(op.appInstanceId ?? '') },
      ...(running ? { cancel: { href: `${self}/cancel` } } : {}),
      ...(op.state === 'FAILED_TEMP' ? { retry: { href: `${self}/retry` }, fail: { href: `${self}/fail` } } : {}),
    },
  }
}

function subscriptionInfo(subscription: LcmSubscription) {
  const common = {
    id: subscription.subscriptionId,
    subscriptionType: subscription.subscriptionType,
    callbackUri: subscription.callbackUri,
    _links: { self: { href: subscriptionHref(subscription.subscriptionId) } },
  }
  if (subscription.subscriptionType === 'AppLcmOpOccStateChange') return { ...common, ...subscription.criteria }
  const { appInstanceState } = subscription.criteria
  return {
    ...common,
    // AppInstSubscriptionInfo names the state subscribed to notificationType
    ...(typeof appInstanceState === 'string' ? { notificationType: appInstanceState } : {}),
    ...subscription.criteria,
  }
}

// ---------- query parameters: filter and attribute selectors ----------

const ListQuery = z
  .object({
    filter: z.string().max(4096).optional(),
    all_fields: z.string().optional(),
    fields: z.string().max(1024).optional(),
    exclude_fields: z.string().max(1024).optional(),
    exclude_default: z.string().optional(),
  })
  .strict()
type ListQuery = z.infer<typeof ListQuery>

/**
 * ETSI GS MEC 009 filter and attribute selectors over a list: all_fields (everything), fields and
 * exclude_fields (complex attributes by name), exclude_default (drops the complex attributes not
 * named in fields). Without a selector, records come whole.
 */
function selectFrom<T extends Record<string, unknown>>(
  records: T[],
  query: ListQuery,
  filterable: readonly string[],
  complex: readonly string[],
): Partial<T>[] {
  const names = (list?: string) => (list ? list.split(',').map((field) => field.trim()) : [])
  for (const field of [...names(query.fields), ...names(query.exclude_fields)]) {
    if (!complex.includes(field))
      throw badRequest(
        complex.length
          ? `"${field}" is not a complex attribute here; those are ${complex.join(', ')}`
          : `"${field}": these records have no complex attributes to select`,
      )
  }
  const conditions = query.filter ? parseFilter(query.filter, filterable) : []
  const drop = new Set<string>(query.all_fields === undefined ? names(query.exclude_fields) : [])
  if (query.all_fields === undefined && (query.exclude_default !== undefined || query.fields !== undefined)) {
    for (const field of complex) if (!names(query.fields).includes(field)) drop.add(field)
  }
  return records
    .filter((record) => matches(record, conditions))
    .map((record) => Object.fromEntries(Object.entries(record).filter(([key]) => !drop.has(key))) as Partial<T>)
}

const instanceFilterable = [
  'id',
  'appInstanceName',
  'appInstanceDescription',
  'appDId',
  'appProvider',
  'appName',
  'appSoftVersion',
  'appDVersion',
  'appPkgId',
  'instantiationState',
  'instantiatedAppState/operationalState',
] as const
const opOccFilterable = [
  'id',
  'operationState',
  'lcmOperation',
  'isCancelPending',
  'appInstanceId',
  'startTime/seconds',
  'stateEnteredTime/seconds',
] as const

// ---------- request bodies ----------

const CreateAppInstanceRequest = z.object({
  appDId: z.string().min(1).max(128),
  appInstanceName: z.string().max(128).optional(),
  appInstanceDescription: z.string().max(256).optional(),
})

/** MECHostInformation: hostId is KeyValuePairs in the specification; a host's IP or name (or a map holding one) is taken. */
const MecHostInformation = z.object({
  hostId: z.union([z.string().min(1).max(256), z.record(z.string(), z.unknown())]),
  hostName: z.string().max(128).optional(),
})

const LocationConstraints = z.object({
  countryCode: z.string().regex(/^[A-Z]{2}$/, 'must be a two-letter ISO 3166 code in capitals'),
  civicAddressElement: z
    .array(z.object({ caType: z.number().int().min(0).max(255), caValue: z.string().min(1).max(256) }))
    .max(32)
    .optional(),
})

/** RFC 4776 civic address type of a city (A3). */
const CA_CITY = 3

const InstantiateAppRequest = z
  .object({
    selectedMECHostInfo: z.array(MecHostInformation).min(1).max(256).optional(),
    locationConstraints: LocationConstraints.optional(),
    vimConnectionInfo: z
      .array(z.unknown())
      .max(0, 'is not supported: each edge agent manages its own VIM (direct mode is not offered)')
      .optional(),
    virtualComputeDescriptor: z
      .never({ error: 'is not supported: the resources come from the package APPD' })
      .optional(),
    virtualStorageDescriptor: z
      .array(z.unknown())
      .max(0, 'is not supported: the resources come from the package APPD')
      .optional(),
    /** This center's instantiation parameters (the APPD's inputs), as /appo/v1 takes them. */
    parameters: InstantiationParameters.optional(),
  })
  .default({})

const TerminateAppRequest = z
  .object({
    terminationType: z.enum(['FORCEFUL', 'GRACEFUL']).default('FORCEFUL'),
    gracefulTerminationTimeout: z.number().int().min(0).max(86_400).optional(),
  })
  .default({ terminationType: 'FORCEFUL' })

const OperateAppRequest = z
  .object({
    changeStateTo: z.enum(['STARTED', 'STOPPED']),
    stopType: z.enum(['FORCEFUL', 'GRACEFUL']).optional(),
    gracefulStopTimeout: z.number().int().min(0).max(86_400).optional(),
  })
  .superRefine((request, context) => {
    if (request.changeStateTo === 'STARTED' && (request.stopType || request.gracefulStopTimeout !== undefined))
      context.addIssue({
        code: 'custom',
        path: ['stopType'],
        message: 'stopType and gracefulStopTimeout must be absent when changeStateTo is STARTED',
      })
    if (request.stopType !== 'GRACEFUL' && request.gracefulStopTimeout !== undefined)
      context.addIssue({
        code: 'custom',
        path: ['gracefulStopTimeout'],
        message: 'gracefulStopTimeout goes only with stopType GRACEFUL',
      })
  })

const CancelMode = z.object({ cancelMode: z.enum(['GRACEFUL', 'FORCEFUL']).default('FORCEFUL') }).default({
  cancelMode: 'FORCEFUL',
})

const SubscriptionType = z.enum(['AppInstanceStateChange', 'AppLcmOpOccStateChange'])
const CallbackUri = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
const SubscriptionRequest = z.discriminatedUnion('subscriptionType', [
  AppInstCriteria.extend({ subscriptionType: z.literal('AppInstanceStateChange'), callbackUri: CallbackUri }),
  AppLcmOpOccCriteria.extend({ subscriptionType: z.literal('AppLcmOpOccStateChange'), callbackUri: CallbackUri }),
])
const SubscriptionTypeQuery = z.object({ subscriptionType: SubscriptionType.optional() })

/**
 * ETSI MEC 010-2 application lifecycle management under /app_lcm/v1, within the caller's tenant:
 * app instances, their lifecycle operations (app_lcm_op_occs, with retry, fail and cancel) and
 * subscriptions to notifications. Instantiate, terminate and operate answer 202 at once; the
 * operation runs in the background (lcm.ts).
 */
export function etsiLcmRoutes(api: Api, deps: { store: Store; lcm: LcmService; callbackAllowLoopback: boolean }) {
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

  // ---------- subscriptions ----------

  api.add(
    {
      method: 'post',
      path: `${base}/subscriptions`,
      summary: 'Subscribe to app instance state changes or to lifecycle operation occurrence changes',
      tag,
      access: 'write',
      query: SubscriptionTypeQuery,
      body: SubscriptionRequest,
      responses: {
        201: { description: 'AppInstSubscriptionInfo or AppLcmOpOccSubscriptionInfo; Location names it' },
        400: { description: 'bad request, or a callbackUri this center may not call' },
      },
    },
    async ({ c, query, body, principal }) => {
      if (query.subscriptionType && query.subscriptionType !== body.subscriptionType)
        throw badRequest(
          `the subscriptionType query parameter (${query.subscriptionType}) differs from the body's (${body.subscriptionType})`,
        )
      await checkCallbackUrl(body.callbackUri, deps.callbackAllowLoopback)
      const { subscriptionType, callbackUri, ...criteria } = body
      const subscription = await store.lcmSubscriptions.create({
        tenantId: principal.tenantId,
        callbackUri,
        ...(subscriptionType === 'AppInstanceStateChange'
          ? { subscriptionType, criteria: AppInstCriteria.parse(criteria) }
          : { subscriptionType, criteria: AppLcmOpOccCriteria.parse(criteria) }),
      })
      c.header('location', subscriptionHref(subscription.subscriptionId))
      return c.json(subscriptionInfo(subscription), 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/subscriptions`,
      summary: 'List lifecycle subscriptions (optionally of one subscriptionType)',
      tag,
      access: 'read',
      query: SubscriptionTypeQuery,
      responses: { 200: { description: 'SubscriptionLinkList' } },
    },
    async ({ c, query, principal }) => {
      const subscriptions = await store.lcmSubscriptions.list(principal.tenantId, query.subscriptionType)
      return c.json({
        _links: {
          self: { href: `${base}/subscriptions` },
          subscriptions: subscriptions.map((s) => ({
            href: subscriptionHref(s.subscriptionId),
            subscriptionType: s.subscriptionType,
          })),
        },
      })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/subscriptions/:subscriptionId`,
      summary: 'Read a lifecycle subscription',
      tag,
      access: 'read',
      params: SubscriptionPath,
      query: SubscriptionTypeQuery,
      responses: { 200: { description: 'the SubscriptionInfo' }, 404: { description: 'not found' } },
    },
    async ({ c, params, query, principal }) => {
      const subscription = await store.lcmSubscriptions.get(principal.tenantId, params.subscriptionId)
      if (!subscription || (query.subscriptionType && query.subscriptionType !== subscription.subscriptionType))
        throw notFound(`${query.subscriptionType ?? 'lifecycle'} subscription ${params.subscriptionId} not found`)
      return c.json(subscriptionInfo(subscription))
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/subscriptions/:subscriptionId`,
      summary: 'Delete a lifecycle subscription (and the notifications still queued for it)',
      tag,
      access: 'write',
      params: SubscriptionPath,
      responses: { 204: { description: 'deleted' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) => {
      if (!(await store.lcmSubscriptions.delete(principal.tenantId, params.subscriptionId)))
        throw notFound(`lifecycle subscription ${params.subscriptionId} not found`)
      return c.body(null, 204)
    },
  )
}
