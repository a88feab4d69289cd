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

    /** Resolves to false, changing nothing, when the instance already has rules. */
    async create(tenantId: string, appInstanceId: string, configuration: AppdConfiguration): Promise<boolean> {
      const created = await sql.run(
        `INSERT INTO appd_configurations (tenant_id, app_instance_id, configuration, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (tenant_id, app_instance_id) DO NOTHING`,
        [tenantId, appInstanceId, json(configuration), now()],
      )
      return created > 0
    },

    /** Resolves to false, changing nothing, when the instance has no rules to replace. */
    async replace(tenantId: string, appInstanceId: string, configuration: AppdConfiguration): Promise<boolean> {
      const replaced = await sql.run(
        'UPDATE appd_configurations SET configuration = ?, updated_at = ? WHERE tenant_id = ? AND app_instance_id = ?',
        [json(configuration), now(), tenantId, appInstanceId],
      )
      return replaced > 0
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
