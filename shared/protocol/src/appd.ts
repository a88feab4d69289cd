import { z } from 'zod'
import { DnsRule, TrafficRule } from './rules'

/** The subset of the application descriptor (APPD, TOSCA) that MECM reads, in camelCase. */

export const VirtualComputeDescriptor = z.object({
  virtualCpu: z.object({
    numVirtualCpu: z.number().int().min(1),
    cpuArchitecture: z.string().max(32).optional(),
  }),
  /** Memory in MiB. */
  virtualMemory: z.object({ virtualMemSize: z.number().int().min(1) }),
  /** Local storage in GiB. */
  virtualLocalStorage: z.object({ sizeOfStorage: z.number().int().min(0) }).optional(),
})
export type VirtualComputeDescriptor = z.infer<typeof VirtualComputeDescriptor>

/** One entry of `Image/SwImageDesc.json`: a container image reference or a VM disk image. */
export const SwImageDescriptor = z.object({
  id: z.string().min(1).max(128),
  name: z.string().min(1).max(256),
  version: z.string().max(64).default(''),
  checksum: z.string().max(256).default(''),
  containerFormat: z.string().max(32).default(''),
  diskFormat: z.string().max(32).default(''),
  minDisk: z.number().int().min(0).default(0),
  minRam: z.number().int().min(0).default(0),
  architecture: z.string().max(32).optional(),
  size: z.number().int().min(0).default(0),
  swImage: z.string().min(1).max(2048),
  operatingSystem: z.string().max(128).optional(),
  supportedVirtualisationEnvironment: z.string().max(128).optional(),
})
export type SwImageDescriptor = z.infer<typeof SwImageDescriptor>

const ServiceName = z.string().min(1).max(128)

export const AppServiceRequired = z.object({
  serName: ServiceName,
  version: z.string().max(32).optional(),
  requestedPermissions: z.boolean().optional(),
  appId: z.string().max(64).optional(),
  packageId: z.string().max(64).optional(),
})

export const AppServiceProduced = z.object({
  serName: ServiceName,
  version: z.string().max(32).default(''),
  dnsRuleIdList: z.array(z.string()).default([]),
  trafficRuleIdList: z.array(z.string()).default([]),
})

export const AppFeatureRequired = z.object({
  featureName: z.string().min(1).max(128),
  version: z.string().max(32).default(''),
})

/** An instantiation input declared in `topology_template.inputs` (EdgeGallery's apptemplate). */
export const InstantiationInput = z.object({
  name: z.string().min(1).max(128),
  type: z.string().min(1).max(32),
  defaultValue: z.union([z.string(), z.number(), z.boolean()]).optional(),
  description: z.string().max(1024).default(''),
})
export type InstantiationInput = z.infer<typeof InstantiationInput>

const parameterName = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/

/** The values an operator gives at instantiate, by input name. */
export const InstantiationParameters = z
  .record(
    z.string().regex(parameterName, 'a parameter name must start with a letter or "_" and be at most 128 characters'),
    z.string().max(4096, 'a parameter value must be at most 4096 characters'),
  )
  .refine((parameters) => Object.keys(parameters).length <= 256, 'at most 256 parameters')
export type InstantiationParameters = z.infer<typeof InstantiationParameters>

/** Parameters that carry an instance's secrets (its AK/SK): never shown, never sent back by an edge. */
export const SECRET_PARAMETERS: readonly string[] = ['ak', 'sk']

/** What a secret parameter reads as once masked (shown, reported, or kept elsewhere sealed). */
export const MASKED = '***'

/** The record with its secret parameters masked, for showing or reporting. */
export function redacted<T extends { parameters: Record<string, string> }>(record: T): T {
  const parameters = Object.fromEntries(
    Object.entries(record.parameters).map(([key, value]) => [key, SECRET_PARAMETERS.includes(key) ? MASKED : value]),
  )
  return { ...record, parameters }
}

export const AppD = z.object({
  appDId: z.string().min(1).max(128),
  appName: z.string().min(1).max(128),
  appProvider: z.string().min(1).max(128),
  appSoftVersion: z.string().min(1).max(64),
  appDVersion: z.string().min(1).max(64),
  appDescription: z.string().max(1024).default(''),
  virtualComputeDescriptor: VirtualComputeDescriptor.optional(),
  swImageDescriptor: z.array(SwImageDescriptor).default([]),
  appServiceRequired: z.array(AppServiceRequired).default([]),
  appServiceProduced: z.array(AppServiceProduced).default([]),
  appFeatureRequired: z.array(AppFeatureRequired).default([]),
  appTrafficRule: z.array(TrafficRule).default([]),
  appDNSRule: z.array(DnsRule).default([]),
  inputs: z.array(InstantiationInput).default([]),
})
export type AppD = z.infer<typeof AppD>
