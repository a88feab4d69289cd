import type { RuleTaskState } from '@mecm/protocol'
import { ruleTask, transition } from '@mecm/protocol'
import type { Sql } from '../db/driver'
import { now } from '../db/rows'

/** Progress of one change of an instance's traffic and DNS rules (EdgeGallery's apprule task). */
export interface RuleTask {
  taskId: string
  tenantId: string
  appInstanceId: string
  operationId: string
  state: RuleTaskState
  detail: string
  createdAt: string
  updatedAt: string
}

interface RuleTaskRow {
  task_id: string
  tenant_id: string
  app_instance_id: string
  operation_id: string
  state: RuleTaskState
  detail: string
  created_at: string
  updated_at: string
}

const toTask = (row: RuleTaskRow): RuleTask => ({
  taskId: row.task_id,
  tenantId: row.tenant_id,
  appInstanceId: row.app_instance_id,
  operationId: row.operation_id,
  state: row.state,
  detail: row.detail,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

export function ruleTaskStore(sql: Sql) {
  return {
    /** Records a task once; recording it again (a step run twice) changes nothing. */
    async open(task: { taskId: string; tenantId: string; appInstanceId: string; operationId: string }): Promise<void> {
      const at = now()
      await sql.run(
        `INSERT INTO rule_tasks (task_id, tenant_id, app_instance_id, operation_id, state, detail, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'PROCESSING', '', ?, ?) ON CONFLICT (task_id) DO NOTHING`,
        [task.taskId, task.tenantId, task.appInstanceId, task.operationId, at, at],
      )
    },

    async get(taskId: string, tenantId?: string): Promise<RuleTask | undefined> {
      const row = await sql.get<RuleTaskRow>(
        `SELECT * FROM rule_tasks WHERE task_id = ?${tenantId ? ' AND tenant_id = ?' : ''}`,
        tenantId ? [taskId, tenantId] : [taskId],
      )
      return row && toTask(row)
    },

    /** A task failed with its operation goes on when the operation is retried. */
    async reopen(taskId: string): Promise<void> {
      const task = await this.get(taskId)
      if (task?.state !== 'FAILURE') return
      transition(ruleTask, task.state, 'PROCESSING')
      await sql.run("UPDATE rule_tasks SET state = 'PROCESSING', detail = '', updated_at = ? WHERE task_id = ?", [
        now(),
        taskId,
      ])
    },

    /** An edge's report on a task: only about an instance placed on that edge. */
    async settleFromEdge(hostId: string, taskId: string, appInstanceId: string, state: RuleTaskState, detail: string) {
      const placed = await sql.get('SELECT 1 AS x FROM app_instances WHERE app_instance_id = ? AND host_id = ?', [
        appInstanceId,
        hostId,
      ])
      return placed ? this.settle(taskId, appInstanceId, state, detail) : false
    },

    /** Settles a task still in progress; a late or repeated report about a settled one changes nothing. */
    async settle(taskId: string, appInstanceId: string, state: RuleTaskState, detail: string): Promise<boolean> {
      const task = await this.get(taskId)
      if (!task || task.appInstanceId !== appInstanceId || task.state !== 'PROCESSING' || state === 'PROCESSING')
        return false
      transition(ruleTask, task.state, state)
      return (
        (await sql.run(
          "UPDATE rule_tasks SET state = ?, detail = ?, updated_at = ? WHERE task_id = ? AND state = 'PROCESSING'",
          [state, detail, now(), taskId],
        )) > 0
      )
    },
  }
}
export type RuleTaskStore = ReturnType<typeof ruleTaskStore>
