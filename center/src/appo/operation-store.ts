import {
  type AppdConfiguration,
  type InstantiationParameters,
  isFinal,
  lcmOperation,
  type OperationState,
  type OperationType,
  type Problem,
  transition,
} from '@mecm/protocol'
import type { Sql } from '../db/driver'
import { json, now, parsed } from '../db/rows'
import type { PlacementSpec } from './placement'
import type { Rollout } from './rollout'

/** What an operation was asked to do; each kind reads its own fields. */
export interface OperationParams {
  /** INSTANTIATE: the instantiation parameters. */
  parameters?: InstantiationParameters
  /** OPERATE: the state to bring the instance to. */
  changeStateTo?: 'STARTED' | 'STOPPED'
  /** TERMINATE: forget the instance once terminated (EdgeGallery's DELETE). */
  deleteInstance?: boolean
  /** CONFIGURE_RULES: the rule task, and how the rules change the recorded set. */
  ruleTaskId?: string
  ruleAction?: 'POST' | 'PUT' | 'DELETE'
  rules?: AppdConfiguration
  removeRules?: { appTrafficRule: string[]; appDNSRule: string[] }
  /** How long to wait for the edge before giving up; the default is the center's. */
  timeoutMs?: number
  /** CREATE: where the instance should go. */
  placement?: PlacementSpec
  /** BATCH: what each child does, and how the rollout proceeds. */
  batchOf?: Exclude<OperationType, 'BATCH'>
  rollout?: Rollout
  /** A child started to undo another one when its rollout was rolled back. */
  rollbackOf?: string
}

export interface StoredOperation {
  operationId: string
  tenantId: string
  appInstanceId: string | null
  parentId: string | null
  lcmOperation: OperationType
  state: OperationState
  params: OperationParams
  engineState: string | null
  error: Problem | null
  /** What the edge reported for this operation (operation.result), if it did. */
  edgeOutcome: 'COMPLETED' | 'FAILED' | null
  edgeError: string | null
  /** The attempt whose desired state was sent to the edge (a retry sends it again). */
  issuedAttempt: number
  attempts: number
  cancelPending: boolean
  /** The center replica running it, while one does. */
  leaseOwner: string | null
  startTime: string
  stateEnteredTime: string
}

interface OperationRow {
  operation_id: string
  tenant_id: string
  app_instance_id: string | null
  parent_id: string | null
  lcm_operation: OperationType
  state: OperationState
  params: string
  engine_state: string | null
  error: string | null
  edge_outcome: 'COMPLETED' | 'FAILED' | null
  edge_error: string | null
  issued_attempt: number
  attempts: number
  cancel_pending: number
  lease_owner: string | null
  start_time: string
  state_entered_time: string
}

const toOperation = (row: OperationRow): StoredOperation => ({
  operationId: row.operation_id,
  tenantId: row.tenant_id,
  appInstanceId: row.app_instance_id,
  parentId: row.parent_id,
  lcmOperation: row.lcm_operation,
  state: row.state,
  params: parsed<OperationParams>(row.params),
  engineState: row.engine_state,
  error: row.error ? parsed<Problem>(row.error) : null,
  edgeOutcome: row.edge_outcome,
  edgeError: row.edge_error,
  issuedAttempt: Number(row.issued_attempt),
  attempts: Number(row.attempts),
  cancelPending: Boolean(Number(row.cancel_pending)),
  leaseOwner: row.lease_owner,
  startTime: row.start_time,
  stateEnteredTime: row.state_entered_time,
})

const UNFINISHED = "state IN ('STARTING', 'PROCESSING')"

/**
 * LCM operation occurrences and their saved process state. Each state change goes through the
 * LCM operation table; a lease names the center replica running an operation, so a replica
 * that died leaves its operations to be resumed by another (or by itself after a restart).
 */
export function operationStore(sql: Sql) {
  return {
    async insert(op: {
      operationId: string
      tenantId: string
      appInstanceId: string | null
      parentId?: string | null
      /** A child's place in its batch: stages follow this order. */
      position?: number
      lcmOperation: OperationType
      params: OperationParams
    }): Promise<StoredOperation> {
      const at = now()
      await sql.run(
        `INSERT INTO lcm_operations (operation_id, tenant_id, app_instance_id, parent_id, position, lcm_operation, state, params,
           engine_state, error, edge_outcome, edge_error, issued_attempt, attempts, cancel_pending, lease_owner, lease_until,
           start_time, state_entered_time)
         VALUES (?, ?, ?, ?, ?, ?, 'STARTING', ?, NULL, NULL, NULL, NULL, 0, 1, 0, NULL, NULL, ?, ?)`,
        [
          op.operationId,
          op.tenantId,
          op.appInstanceId,
          op.parentId ?? null,
          op.position ?? 0,
          op.lcmOperation,
          json(op.params),
          at,
          at,
        ],
      )
      return (await this.get(op.operationId)) as StoredOperation
    },

    /** One operation; with a tenant, only that tenant's. */
    async get(operationId: string, tenantId?: string): Promise<StoredOperation | undefined> {
      const row = await sql.get<OperationRow>(
        `SELECT * FROM lcm_operations WHERE operation_id = ?${tenantId ? ' AND tenant_id = ?' : ''}`,
        tenantId ? [operationId, tenantId] : [operationId],
      )
      return row && toOperation(row)
    },

    /** A tenant's operations, newest first. */
    async list(tenantId: string, filter: { appInstanceId?: string; limit?: number } = {}) {
      const rows = await sql.all<OperationRow>(
        `SELECT * FROM lcm_operations WHERE tenant_id = ?${filter.appInstanceId ? ' AND app_instance_id = ?' : ''}
         ORDER BY start_time DESC, operation_id LIMIT ?`,
        filter.appInstanceId
          ? [tenantId, filter.appInstanceId, filter.limit ?? 1000]
          : [tenantId, filter.limit ?? 1000],
      )
      return rows.map(toOperation)
    },

    /** The operations with these ids, in one read. */
    async many(operationIds: string[]): Promise<StoredOperation[]> {
      if (operationIds.length === 0) return []
      const rows = await sql.all<OperationRow>(
        `SELECT * FROM lcm_operations WHERE operation_id IN (${operationIds.map(() => '?').join(', ')})`,
        operationIds,
      )
      return rows.map(toOperation)
    },

    async children(parentId: string): Promise<StoredOperation[]> {
      const rows = await sql.all<OperationRow>('SELECT * FROM lcm_operations WHERE parent_id = ? ORDER BY position', [
        parentId,
      ])
      return rows.map(toOperation)
    },

    /** Moves the operation to `to` (a no-op when it is there already); an error is kept with it. */
    async move(operationId: string, to: OperationState, error: Problem | null = null): Promise<StoredOperation> {
      const current = await this.get(operationId)
      if (!current) throw new Error(`operation ${operationId} does not exist`)
      if (current.state === to) return current
      transition(lcmOperation, current.state, to)
      const at = now()
      const final = isFinal(lcmOperation, to)
      await sql.run(
        `UPDATE lcm_operations SET state = ?, error = ?, state_entered_time = ?${final ? ', engine_state = NULL, lease_owner = NULL, lease_until = NULL' : ''}
         WHERE operation_id = ?`,
        [to, error ? json(error) : null, at, operationId],
      )
      return { ...current, state: to, error, stateEnteredTime: at }
    },

    /** ETSI retry: the operation runs again from its first step; its steps are idempotent. */
    async retry(operationId: string): Promise<StoredOperation> {
      await this.move(operationId, 'PROCESSING')
      await sql.run(
        `UPDATE lcm_operations SET attempts = attempts + 1, engine_state = NULL, error = NULL, cancel_pending = 0,
           edge_outcome = NULL, edge_error = NULL WHERE operation_id = ?`,
        [operationId],
      )
      return (await this.get(operationId)) as StoredOperation
    },

    async requestCancel(operationId: string): Promise<void> {
      await sql.run('UPDATE lcm_operations SET cancel_pending = 1 WHERE operation_id = ?', [operationId])
    },

    /** Saves the engine state; false when `owner` no longer holds the operation (another replica took it). */
    async saveEngine(operationId: string, owner: string, engineState: string): Promise<boolean> {
      return (
        (await sql.run(
          `UPDATE lcm_operations SET engine_state = ? WHERE operation_id = ? AND lease_owner = ? AND ${UNFINISHED}`,
          [engineState, operationId, owner],
        )) > 0
      )
    },

    async markIssued(operationId: string, attempt: number): Promise<void> {
      await sql.run('UPDATE lcm_operations SET issued_attempt = ? WHERE operation_id = ?', [attempt, operationId])
    },

    /**
     * The report of edge `hostId` on an operation it ran (inside the event batch's transaction):
     * only about an unfinished operation on an instance placed on that edge.
     */
    async edgeResult(
      hostId: string,
      operationId: string,
      appInstanceId: string,
      outcome: 'COMPLETED' | 'FAILED',
      error: string | null,
    ) {
      await sql.run(
        `UPDATE lcm_operations SET edge_outcome = ?, edge_error = ?
         WHERE operation_id = ? AND app_instance_id = ? AND ${UNFINISHED}
           AND app_instance_id IN (SELECT app_instance_id FROM app_instances WHERE host_id = ?)`,
        [outcome, error, operationId, appInstanceId, hostId],
      )
    },

    /** Takes (or renews) the lease on an operation for `owner`; false when another replica holds it. */
    async claim(operationId: string, owner: string, leaseMs: number): Promise<boolean> {
      const at = new Date()
      return (
        (await sql.run(
          `UPDATE lcm_operations SET lease_owner = ?, lease_until = ?
           WHERE operation_id = ? AND ${UNFINISHED} AND (lease_until IS NULL OR lease_until < ? OR lease_owner = ?)`,
          [owner, new Date(at.getTime() + leaseMs).toISOString(), operationId, at.toISOString(), owner],
        )) > 0
      )
    },

    /** Renews the leases of the operations `owner` is running. */
    async renew(owner: string, operationIds: string[], leaseMs: number): Promise<void> {
      if (operationIds.length === 0) return
      await sql.run(
        `UPDATE lcm_operations SET lease_until = ? WHERE lease_owner = ? AND ${UNFINISHED}
           AND operation_id IN (${operationIds.map(() => '?').join(', ')})`,
        [new Date(Date.now() + leaseMs).toISOString(), owner, ...operationIds],
      )
    },

    /** Gives up leases of `owner` (all, or one), so they resume elsewhere at once. */
    async releaseLeases(owner: string, operationId?: string): Promise<void> {
      await sql.run(
        `UPDATE lcm_operations SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?${operationId ? ' AND operation_id = ?' : ''}`,
        operationId ? [owner, operationId] : [owner],
      )
    },

    /**
     * Unfinished operations no live replica runs: the ones to resume. A batch's children are
     * resumed by their batch, unless the batch itself has ended.
     */
    async orphaned(limit = 100): Promise<string[]> {
      const rows = await sql.all<{ operation_id: string }>(
        `SELECT operation_id FROM lcm_operations WHERE ${UNFINISHED}
           AND (lease_until IS NULL OR lease_until < ?)
           AND (parent_id IS NULL OR parent_id IN (SELECT operation_id FROM lcm_operations WHERE state NOT IN ('STARTING', 'PROCESSING')))
         ORDER BY start_time LIMIT ?`,
        [now(), limit],
      )
      return rows.map((row) => row.operation_id)
    },
  }
}
export type OperationStore = ReturnType<typeof operationStore>
