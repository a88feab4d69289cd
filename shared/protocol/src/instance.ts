import { z } from 'zod'
import { InstantiationParameters } from './appd'
import { Hex32, IpAddress, TenantId, Timestamp, Uuid } from './common'

/**
 * The lifecycle status of an app instance, for people and for the state machine.
 * ETSI's instantiationState and operationalState are derived from it by `etsiInstanceState`.
 */
export const InstanceStatus = z.enum([
  'NOT_INSTANTIATED',
  'INSTANTIATING',
  'STARTED',
  'STOPPING',
  'STOPPED',
  'STARTING',
  'TERMINATING',
  'FAILED',
])
export type InstanceStatus = z.infer<typeof InstanceStatus>

export const InstantiationState = z.enum(['NOT_INSTANTIATED', 'INSTANTIATED'])
export const InstanceOperationalState = z.enum(['STARTED', 'STOPPED'])

export interface EtsiInstanceState {
  instantiationState: z.infer<typeof InstantiationState>
  operationalState?: z.infer<typeof InstanceOperationalState>
}

/** ETSI MEC 010-2 states of an instance in a given lifecycle status. */
export function etsiInstanceState(status: InstanceStatus): EtsiInstanceState {
  switch (status) {
    case 'NOT_INSTANTIATED':
    case 'INSTANTIATING':
      return { instantiationState: 'NOT_INSTANTIATED' }
    case 'STARTED':
    case 'STOPPING':
    case 'TERMINATING':
      return { instantiationState: 'INSTANTIATED', operationalState: 'STARTED' }
    case 'STOPPED':
    case 'STARTING':
    case 'FAILED':
      return { instantiationState: 'INSTANTIATED', operationalState: 'STOPPED' }
  }
}

/** Who made the last change to an instance's desired state: the center, or a person at the edge. */
export const Origin = z.enum(['center', 'edge'])
export type Origin = z.infer<typeof Origin>

export const AppInstance = z.object({
  appInstanceId: Uuid,
  tenantId: TenantId,
  appInstanceName: z.string().max(128).default(''),
  appInstanceDescription: z.string().max(256).default(''),
  appPkgId: Hex32,
  appId: Hex32,
  appDId: z.string().min(1).max(128),
  appName: z.string().min(1).max(128),
  appProvider: z.string().max(128),
  appSoftVersion: z.string().max(64),
  appDVersion: z.string().max(64),
  /** The host it runs on; null until placement chose one. */
  mechostIp: IpAddress.nullable(),
  status: InstanceStatus,
  parameters: InstantiationParameters.default({}),
  origin: Origin,
  lastError: z.string().nullable().default(null),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type AppInstance = z.infer<typeof AppInstance>
