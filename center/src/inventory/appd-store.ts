import type { AppdConfiguration } from '@mecm/protocol'
import type { Sql } from '../db/driver'
import { json, now, parsed } from '../db/rows'

/** The traffic and DNS rules recorded for an app instance, per tenant. */
export function appdStore(sql: Sql) {
  return {
    async get(tenantId: string, appInstanceId: string): Promise<AppdConfiguration | undefined> {
      const row = await sql.get<{ configuration: string }>(
        'SELECT configuration FROM appd_configurations WHERE tenant_id = ? AND app_instance_id = ?',
        [tenantId, appInstanceId],
      )
      return row && parsed<AppdConfiguration>(row.configuration)
    },

    /** Creates or replaces; resolves to true when it created. */
    async put(tenantId: string, appInstanceId: string, configuration: AppdConfiguration): Promise<boolean> {
      return sql.transaction(async (tx) => {
        const exists = await tx.get(
          'SELECT 1 AS x FROM appd_configurations WHERE tenant_id = ? AND app_instance_id = ?',
          [tenantId, appInstanceId],
        )
        await tx.run(
          `INSERT INTO appd_configurations (tenant_id, app_instance_id, configuration, updated_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (tenant_id, app_instance_id) DO UPDATE SET configuration = excluded.configuration,
             updated_at = excluded.updated_at`,
          [tenantId, appInstanceId, json(configuration), now()],
        )
        return !exists
      })
    },

    async delete(tenantId: string, appInstanceId: string): Promise<boolean> {
      return (
        (await sql.run('DELETE FROM appd_configurations WHERE tenant_id = ? AND app_instance_id = ?', [
          tenantId,
          appInstanceId,
        ])) > 0
      )
    },
  }
}
export type AppdStore = ReturnType<typeof appdStore>
