import { z } from 'zod'
import { InstantiationParameters } from '../appd'
import { Hex32, Sha256, TenantId, Timestamp, Uuid } from '../common'
import { AppClass } from '../package'
import { AppdConfiguration } from '../rules'

/** What the center wants an edge to run: one record per app instance, level-triggered. */
export const DesiredInstance = z.object({
  appInstanceId: Uuid,
  tenantId: TenantId,
  appPkgId: Hex32,
  packageDigest: Sha256,
  appName: z.string().min(1).max(128),
  targetState: z.enum(['NOT_INSTANTIATED', 'STARTED', 'STOPPED']),
  parameters: InstantiationParameters.default({}),
  /** The operation this desired state serves, reported back with each status change. */
  operationId: Uuid.nullable(),
  /** Grows with every change of this record, wherever it was made; the larger one wins a conflict. */
  generation: z.number().int().min(1),
})
export type DesiredInstance = z.infer<typeof DesiredInstance>

/** A package an edge should hold, fetched by digest over authenticated HTTP. */
export const PackageRef = z.object({
  appPkgId: Hex32,
  digest: Sha256,
  size: z.number().int().min(0),
  appClass: AppClass,
})
export type PackageRef = z.infer<typeof PackageRef>

export const InstanceRules = z.object({
  appInstanceId: Uuid,
  taskId: Uuid.nullable(),
  configuration: AppdConfiguration,
})
export type InstanceRules = z.infer<typeof InstanceRules>

/** Credentials for a plugin: a kubeconfig, or OpenStack auth as JSON. null removes them. */
export const PluginConfig = z.object({
  vim: z.enum(['kubernetes', 'openstack']),
  config: z
    .string()
    .max(5 * 1024 * 1024)
    .nullable(),
})
export type PluginConfig = z.infer<typeof PluginConfig>

/** Center → edge: a change of desired state. */
export const CommandBody = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('instance.set'), instance: DesiredInstance }),
  z.object({ kind: z.literal('package.distribute'), package: PackageRef }),
  z.object({ kind: z.literal('package.remove'), appPkgId: Hex32 }),
  z.object({ kind: z.literal('rules.set'), rules: InstanceRules }),
  z.object({ kind: z.literal('plugin.configure'), plugin: PluginConfig }),
])
export type CommandBody = z.infer<typeof CommandBody>

/** A command as it sits in the per-edge outbox and travels: sequence numbers start at 1 and have no gaps. */
export const Command = z.object({
  seq: z.number().int().min(1),
  commandId: Uuid,
  issuedAt: Timestamp,
  body: CommandBody,
})
export type Command = z.infer<typeof Command>

/** The whole desired state of an edge, sent instead of a replay when it is too far behind or was reset. */
export const DesiredState = z.object({
  instances: z.array(DesiredInstance),
  packages: z.array(PackageRef),
  rules: z.array(InstanceRules),
  plugins: z.array(PluginConfig).default([]),
})
export type DesiredState = z.infer<typeof DesiredState>
