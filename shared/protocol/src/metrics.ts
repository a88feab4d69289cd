import { z } from 'zod'
import { Timestamp } from './common'

const Usage = z
  .object({
    totalBytes: z.number().int().min(0),
    usedBytes: z.number().int().min(0),
  })
  .refine((usage) => usage.usedBytes <= usage.totalBytes, 'usedBytes must not exceed totalBytes')

/** The latest resource figures of a host: capacity and use, never use reported as total. */
export const HostMetrics = z.object({
  at: Timestamp,
  cpu: z.object({
    cores: z.number().int().min(1),
    usedPercent: z.number().min(0).max(100),
  }),
  memory: Usage,
  disk: Usage,
  instances: z.number().int().min(0),
})
export type HostMetrics = z.infer<typeof HostMetrics>
