import { type InstanceStatus, type InstantiationParameters, instanceLifecycle, transition } from '@mecm/protocol'
import type { Sql } from '../db/driver'
import { json, now, parsed } from '../db/rows'
import type { PlacementSpec } from './placement'

/** An app instance as the orchestrator keeps it: what was asked, where it runs, what holds it. */
export interface StoredInstance {
  appInstanceId: string
  tenantId: string
  appPkgId: string
  appId: string
  appDId: string
  appName: string
  instanceName: string
  description: string
  placement: PlacementSpec
  hostId: string | null
  mechostIp: string | null
  status: InstanceStatus
  parameters: InstantiationParameters
  /** The operation in progress on it, if any: one at a time. */
  operationId: string | null
  lastError: string | null
  createdAt: string
  updatedAt: string
}

export type NewInstance = Omit<
  StoredInstance,
  'status' | 'operationId' | 'lastError' | 'createdAt' | 'updatedAt' | 'hostId' | 'mechostIp'
> & { hostId?: string | null; mechostIp?: string | null }

interface InstanceRow {
  app_instance_id: string
  tenant_id: string
  app_pkg_id: string
  app_id: string
  app_d_id: string
  app_name: string
  instance_name: string
  description: string
  placement: string
  host_id: string | null
  mechost_ip: string | null
  status: InstanceStatus
  parameters: string
  operation_id: string | null
  last_error: string | null
  created_at: string
  updated_at: string
}

const toInstance = (row: InstanceRow): StoredInstance => ({
  appInstanceId: row.app_instance_id,
  tenantId: row.tenant_id,
  appPkgId: row.app_pkg_id,
  appId: row.app_id,
  appDId: row.app_d_id,
  appName: row.app_name,
  instanceName: row.instance_name,
  description: row.description,
  placement: parsed<PlacementSpec>(row.placement),
  hostId: row.host_id,
  mechostIp: row.mechost_ip,
  status: row.status,
  parameters: parsed<InstantiationParameters>(row.parameters),
  operationId: row.operation_id,
  lastError: row.last_error,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

/** Why an instance cannot take an operation now. */
export class InstanceBusy extends Error {}

/**
 * App instances of the orchestrator. Each status change goes through the instance lifecycle
 * table, and an instance is held by at most one unfinished operation at a time.
 */
export function instanceStore(sql: Sql) {
  return {
    async insert(instance: NewInstance, status: InstanceStatus = 'NOT_INSTANTIATED'): Promise<StoredInstance> {
      const at = now()
      await sql.run(
        `INSERT INTO app_instances (app_instance_id, tenant_id, app_pkg_id, app_id, app_d_id, app_name, instance_name,
           description, placement, host_id, mechost_ip, status, parameters, operation_id, last_error, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?)`,
        [
          instance.appInstanceId,
          instance.tenantId,
          instance.appPkgId,
          instance.appId,
          instance.appDId,
          instance.appName,
          instance.instanceName,
          instance.description,
          json(instance.placement),
          instance.hostId ?? null,
          instance.mechostIp ?? null,
          status,
          json(instance.parameters),
          at,
          at,
        ],
      )
      return {
        ...instance,
        hostId: instance.hostId ?? null,
        mechostIp: instance.mechostIp ?? null,
        status,
        operationId: null,
        lastError: null,
        createdAt: at,
        updatedAt: at,
      }
    },

    /** One instance; with a tenant, only that tenant's. */
    async get(appInstanceId: string, tenantId?: string): Promise<StoredInstance | undefined> {
      const row = await sql.get<InstanceRow>(
        `SELECT * FROM app_instances WHERE app_instance_id = ?${tenantId ? ' AND tenant_id = ?' : ''}`,
        tenantId ? [appInstanceId, tenantId] : [appInstanceId],
      )
      return row && toInstance(row)
    },

    /** A tenant's instances, oldest first; `ids` narrows to those. */
    async list(tenantId: string, filter: { ids?: string[]; appId?: string; appPkgId?: string } = {}) {
      const where = ['tenant_id = ?']
      const params: string[] = [tenantId]
      if (filter.ids) {
        if (filter.ids.length === 0) return []
        where.push(`app_instance_id IN (${filter.ids.map(() => '?').join(', ')})`)
        params.push(...filter.ids)
      }
      if (filter.appId) where.push('app_id = ?') && params.push(filter.appId)
      if (filter.appPkgId) where.push('app_pkg_id = ?') && params.push(filter.appPkgId)
      const rows = await sql.all<InstanceRow>(
        `SELECT * FROM app_instances WHERE ${where.join(' AND ')} ORDER BY created_at, app_instance_id`,
        params,
      )
      return rows.map(toInstance)
    },

    /** How many instances of each app each host holds (spread and pack count them). */
    async countsByHost(appId: string): Promise<Map<string, number>> {
      const rows = await sql.all<{ host_id: string; n: number }>(
        'SELECT host_id, COUNT(*) AS n FROM app_instances WHERE app_id = ? AND host_id IS NOT NULL GROUP BY host_id',
        [appId],
      )
      return new Map(rows.map((row) => [row.host_id, Number(row.n)]))
    },

    /**
     * Takes the instance for an operation. Throws InstanceBusy, naming the operation in the way,
     * when another unfinished operation holds it.
     */
    async hold(appInstanceId: string, operationId: string): Promise<void> {
      const taken = await sql.run(
        // an operation that ended without letting go (a crash in between) holds nothing
        `UPDATE app_instances SET operation_id = ?, updated_at = ? WHERE app_instance_id = ?
           AND (operation_id IS NULL OR operation_id = ?
             OR operation_id IN (SELECT operation_id FROM lcm_operations WHERE state IN ('COMPLETED', 'FAILED')))`,
        [operationId, now(), appInstanceId, operationId],
      )
      if (taken === 0) {
        const row = await sql.get<{ operation_id: string }>(
          'SELECT operation_id FROM app_instances WHERE app_instance_id = ?',
          [appInstanceId],
        )
        throw new InstanceBusy(
          row
            ? `app instance ${appInstanceId} is busy with operation ${row.operation_id}; wait for it to finish (or fail it) first`
            : `app instance ${appInstanceId} does not exist`,
        )
      }
    },

    /** Lets the instance go, if this operation holds it. */
    async release(appInstanceId: string, operationId: string): Promise<void> {
      await sql.run('UPDATE app_instances SET operation_id = NULL WHERE app_instance_id = ? AND operation_id = ?', [
        appInstanceId,
        operationId,
      ])
    },

    /** Moves the instance to `to`; moving to the status it has already is a no-op (a task run again). */
    async move(appInstanceId: string, to: InstanceStatus, lastError: string | null = null): Promise<StoredInstance> {
      const current = await this.get(appInstanceId)
      if (!current) throw new Error(`app instance ${appInstanceId} does not exist`)
      if (current.status === to) return current
      transition(instanceLifecycle, current.status, to)
      const at = now()
      await sql.run('UPDATE app_instances SET status = ?, last_error = ?, updated_at = ? WHERE app_instance_id = ?', [
        to,
        lastError,
        at,
        appInstanceId,
      ])
      return { ...current, status: to, lastError, updatedAt: at }
    },

    async place(appInstanceId: string, host: { hostId: string; mechostIp: string }): Promise<void> {
      await sql.run('UPDATE app_instances SET host_id = ?, mechost_ip = ?, updated_at = ? WHERE app_instance_id = ?', [
        host.hostId,
        host.mechostIp,
        now(),
        appInstanceId,
      ])
    },

    async setParameters(appInstanceId: string, parameters: InstantiationParameters): Promise<void> {
      await sql.run('UPDATE app_instances SET parameters = ?, updated_at = ? WHERE app_instance_id = ?', [
        json(parameters),
        now(),
        appInstanceId,
      ])
    },

    async remove(appInstanceId: string): Promise<boolean> {
      return (await sql.run('DELETE FROM app_instances WHERE app_instance_id = ?', [appInstanceId])) > 0
    },
  }
}
export type InstanceStore = ReturnType<typeof instanceStore>
