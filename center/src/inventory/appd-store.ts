import type { AppdConfiguration, RuleState } from '@mecm/protocol'
import type { Sql } from '../db/driver'
import { json, now, parsed } from '../db/rows'

/** The state of each of an app instance's Mp1 rules, as its edge last reported them. */
export interface RuleStates {
  trafficRules: { trafficRuleId: string; state: RuleState }[]
  dnsRules: { dnsRuleId: string; state: RuleState }[]
  updatedAt: string
}

/** The traffic and DNS rules recorded for an app instance, per tenant, and the states its edge reported. */
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

    /** Records the rules, replacing any the instance had. */
    async put(tenantId: string, appInstanceId: string, configuration: AppdConfiguration): Promise<void> {
      await sql.run(
        `INSERT INTO appd_configurations (tenant_id, app_instance_id, configuration, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (tenant_id, app_instance_id) DO UPDATE SET configuration = excluded.configuration,
           updated_at = excluded.updated_at`,
        [tenantId, appInstanceId, json(configuration), now()],
      )
    },

    /** Deletes the rules, and the states reported of them. */
    async delete(tenantId: string, appInstanceId: string): Promise<boolean> {
      await sql.run('DELETE FROM app_rule_states WHERE tenant_id = ? AND app_instance_id = ?', [
        tenantId,
        appInstanceId,
      ])
      return (
        (await sql.run('DELETE FROM appd_configurations WHERE tenant_id = ? AND app_instance_id = ?', [
          tenantId,
          appInstanceId,
        ])) > 0
      )
    },

    async states(tenantId: string, appInstanceId: string): Promise<RuleStates | undefined> {
      const row = await sql.get<{ states: string; updated_at: string }>(
        'SELECT states, updated_at FROM app_rule_states WHERE tenant_id = ? AND app_instance_id = ?',
        [tenantId, appInstanceId],
      )
      return row && { ...parsed<Omit<RuleStates, 'updatedAt'>>(row.states), updatedAt: row.updated_at }
    },

    /** What the edge `hostId` reported of the instance's rules: it replaces what it reported before. */
    async reportStates(
      tenantId: string,
      appInstanceId: string,
      hostId: string,
      states: Omit<RuleStates, 'updatedAt'>,
    ): Promise<void> {
      await sql.run(
        `INSERT INTO app_rule_states (tenant_id, app_instance_id, host_id, states, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (tenant_id, app_instance_id) DO UPDATE SET host_id = excluded.host_id, states = excluded.states,
           updated_at = excluded.updated_at`,
        [
          tenantId,
          appInstanceId,
          hostId,
          json({ trafficRules: states.trafficRules, dnsRules: states.dnsRules }),
          now(),
        ],
      )
    },

    /** The instance is gone from the edge `hostId`, and its Mp1 rules with it: what another edge reported stays. */
    async forgetStates(tenantId: string, appInstanceId: string, hostId: string): Promise<void> {
      await sql.run('DELETE FROM app_rule_states WHERE tenant_id = ? AND app_instance_id = ? AND host_id = ?', [
        tenantId,
        appInstanceId,
        hostId,
      ])
    },
  }
}
export type AppdStore = ReturnType<typeof appdStore>
