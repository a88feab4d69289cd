import { z } from 'zod'
import { Problem, TenantId, Timestamp, Uuid } from './common'

/** ETSI MEC 010-2 operation states, with FAILED_TEMP (retry, fail or cancel) before FAILED. */
export const OperationState = z.enum(['STARTING', 'PROCESSING', 'COMPLETED', 'FAILED_TEMP', 'FAILED'])
export type OperationState = z.infer<typeof OperationState>

/** INSTANTIATE, OPERATE, TERMINATE are ETSI's; the others are MECM operations with their own records. */
export const OperationType = z.enum(['CREATE', 'INSTANTIATE', 'OPERATE', 'TERMINATE', 'CONFIGURE_RULES', 'BATCH'])
export type OperationType = z.infer<typeof OperationType>

/** An LCM operation occurrence: every lifecycle request becomes one. */
export const LcmOpOcc = z.object({
  id: Uuid,
  tenantId: TenantId,
  /** Null for an operation over many instances (BATCH). */
  appInstanceId: Uuid.nullable(),
  lcmOperation: OperationType,
  operationState: OperationState,
  stateEnteredTime: Timestamp,
  startTime: Timestamp,
  operationParams: z.unknown().optional(),
  isCancelPending: z.boolean().default(false),
  attempts: z.number().int().min(0).default(0),
  error: Problem.nullable().default(null),
})
export type LcmOpOcc = z.infer<typeof LcmOpOcc>
