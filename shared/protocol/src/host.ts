import { z } from 'zod'
import { IpAddress, Labels, ResourceName, TenantId, Timestamp } from './common'

/** How a host runs applications: the edge agent plugin that drives it. */
export const VimKind = z.enum(['exec', 'kubernetes', 'openstack'])
export type VimKind = z.infer<typeof VimKind>

/** A host is NEVER_CONNECTED until its agent first connects; then the sync channel keeps it ONLINE or OFFLINE. */
export const HostStatus = z.enum(['NEVER_CONNECTED', 'ONLINE', 'OFFLINE'])
export type HostStatus = z.infer<typeof HostStatus>

export const Coordinates = z.object({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
})

export const Location = z.object({
  city: z
    .string()
    .max(128, 'must be at most 128 characters')
    .regex(/^[\p{L}\d /.,'-]*$/u, "must contain only letters, digits, spaces and / . , ' -")
    .default(''),
  zipCode: z
    .string()
    .max(16, 'must be at most 16 characters')
    .regex(/^[A-Za-z0-9 -]*$/, 'must contain only letters, digits, spaces and -')
    .default(''),
  address: z.string().max(256, 'must be at most 256 characters').default(''),
  coordinates: Coordinates.nullable().default(null),
})
export type Location = z.infer<typeof Location>

/** A hardware capability of a host (GPU, FPGA, NPU...), matched by hwType at placement. */
export const HwCapability = z.object({
  hwType: z.string().min(1).max(128),
  hwVendor: z.string().max(128).default(''),
  hwModel: z.string().max(128).default(''),
})
export type HwCapability = z.infer<typeof HwCapability>

/** What an operator sends to register or change a MEC host. */
export const MecHostInput = z.object({
  mechostIp: IpAddress,
  mechostName: ResourceName,
  location: Location.default(() => Location.parse({})),
  labels: Labels.default({}),
  vim: VimKind.default('exec'),
  hwCapabilities: z.array(HwCapability).max(64, 'at most 64 hardware capabilities').default([]),
})
export type MecHostInput = z.infer<typeof MecHostInput>

/** A MEC host as the inventory keeps it. */
export const MecHost = MecHostInput.extend({
  tenantId: TenantId,
  status: HostStatus,
  lastSeenAt: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
})
export type MecHost = z.infer<typeof MecHost>
