import { type AppPackage, etsiInstanceState, InstantiationParameters, redacted, Uuid } from '@mecm/protocol'
import { z } from 'zod'
import type { StoredInstance } from './instance-store'
import { AppInstCriteria, AppLcmOpOccCriteria, LCM_BASE, type LcmSubscription, timeStamp } from './lcm-subscriptions'
import type { StoredOperation } from './operation-store'

/*
 * What the ETSI MEC 010-2 /app_lcm/v1 routes (etsi-routes.ts, etsi-subscription-routes.ts) say and
 * take: their paths, the representations they answer with, the list query and its selectors, and
 * their request bodies.
 */

export const tag = 'app_lcm: ETSI MEC 010-2 application lifecycle'
export const base = LCM_BASE
export const InstancePath = z.object({ appInstanceId: Uuid })
export const OpOccPath = z.object({ appLcmOpOccId: Uuid })
export const SubscriptionPath = z.object({ subscriptionId: Uuid })
export const instanceHref = (id: string) => `${base}/app_instances/${id}`
export const opOccHref = (id: string) => `${base}/app_lcm_op_occs/${id}`
export const subscriptionHref = (id: string) => `${base}/subscriptions/${id}`
export const accepted = {
  202: { description: 'accepted: Location names the app_lcm_op_occs entry of the operation' },
  404: { description: 'no such app instance in your tenant' },
  409: {
    description: 'the instance is not in a state that allows it, or another operation on it is unfinished',
  },
}

// ---------- representations ----------

/** ETSI AppInstanceInfo; the package gives the provider and versions. */
export function appInstanceInfo(instance: StoredInstance, pkg: AppPackage | undefined) {
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
export function appLcmOpOcc(op: StoredOperation) {
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

export function subscriptionInfo(subscription: LcmSubscription) {
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

export const instanceFilterable = [
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
export const opOccFilterable = [
  'id',
  'operationState',
  'lcmOperation',
  'isCancelPending',
  'appInstanceId',
  'startTime/seconds',
  'stateEnteredTime/seconds',
] as const

// ---------- request bodies ----------

export const CreateAppInstanceRequest = z.object({
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
export const CA_CITY = 3

export const InstantiateAppRequest = z
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

export const TerminateAppRequest = z
  .object({
    terminationType: z.enum(['FORCEFUL', 'GRACEFUL']).default('FORCEFUL'),
    gracefulTerminationTimeout: z.number().int().min(0).max(86_400).optional(),
  })
  .default({ terminationType: 'FORCEFUL' })

export const OperateAppRequest = z
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

export const CancelMode = z.object({ cancelMode: z.enum(['GRACEFUL', 'FORCEFUL']).default('FORCEFUL') }).default({
  cancelMode: 'FORCEFUL',
})

const SubscriptionType = z.enum(['AppInstanceStateChange', 'AppLcmOpOccStateChange'])
const CallbackUri = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
export const SubscriptionRequest = z.discriminatedUnion('subscriptionType', [
  AppInstCriteria.extend({ subscriptionType: z.literal('AppInstanceStateChange'), callbackUri: CallbackUri }),
  AppLcmOpOccCriteria.extend({ subscriptionType: z.literal('AppLcmOpOccStateChange'), callbackUri: CallbackUri }),
])
export const SubscriptionTypeQuery = z.object({ subscriptionType: SubscriptionType.optional() })
