import type { Sql } from '../db/driver'
import { type InstanceStore, instanceStore } from './instance-store'
import { type OperationStore, operationStore } from './operation-store'
import { type RuleTaskStore, ruleTaskStore } from './rule-task-store'

/** The orchestrator's records; `transaction` makes several changes one. */
export interface AppoStore {
  instances: InstanceStore
  operations: OperationStore
  ruleTasks: RuleTaskStore
  transaction<T>(work: (tx: AppoStore) => Promise<T>): Promise<T>
}

export function appoStore(sql: Sql): AppoStore {
  return {
    instances: instanceStore(sql),
    operations: operationStore(sql),
    ruleTasks: ruleTaskStore(sql),
    transaction: (work) => sql.transaction((tx) => work(appoStore(tx))),
  }
}
