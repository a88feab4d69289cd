import { type InstanceStatus, redacted } from '@mecm/protocol'
import type { AppoStore } from './appo-store'
import type { StoredInstance } from './instance-store'
import type { StoredOperation } from './operation-store'

/** EdgeGallery's words for an instance's status (labels only, at its compatible endpoints). */
const EDGEGALLERY_STATUS: Record<InstanceStatus, string> = {
  NOT_INSTANTIATED: 'Created',
  INSTANTIATING: 'Instantiating',
  STARTED: 'Instantiated',
  STOPPING: 'Stopping',
  STOPPED: 'Stopped',
  STARTING: 'Starting',
  TERMINATING: 'Terminating',
  FAILED: 'Instantiation failed',
}

/** EdgeGallery's label for an instance status. */
export const edgeGalleryStatus = (status: InstanceStatus): string => EDGEGALLERY_STATUS[status]

/** An instance as EdgeGallery's app_instance_infos shows it, with our status beside its label. */
export function instanceInfo(instance: StoredInstance, holder?: StoredOperation) {
  const creating = holder?.lcmOperation === 'CREATE'
  const label = creating
    ? holder.state === 'FAILED_TEMP' || holder.state === 'FAILED'
      ? 'Create failed'
      : 'Creating'
    : EDGEGALLERY_STATUS[instance.status]
  return {
    appInstanceId: instance.appInstanceId,
    appPackageId: instance.appPkgId,
    appName: instance.appName,
    appId: instance.appId,
    appDescriptor: instance.description,
    appDId: instance.appDId,
    mecHost: instance.mechostIp,
    mepmHost: instance.mechostIp,
    operationalStatus: label,
    operationInfo: instance.lastError ?? holder?.error?.detail ?? '',
    status: instance.status,
    operationId: instance.operationId,
    parameters: redacted(instance).parameters,
    createdAt: instance.createdAt,
    updatedAt: instance.updatedAt,
  }
}

/** An operation with its outcome; a batch adds its progress per host and per child. */
export async function operationView(appo: AppoStore, op: StoredOperation) {
  const view = {
    operationId: op.operationId,
    lcmOperation: op.lcmOperation,
    operationState: op.state,
    appInstanceId: op.appInstanceId,
    parentId: op.parentId,
    startTime: op.startTime,
    stateEnteredTime: op.stateEnteredTime,
    attempts: op.attempts,
    isCancelPending: op.cancelPending,
    error: op.error,
  }
  if (op.lcmOperation !== 'BATCH') return view
  const children = await appo.operations.children(op.operationId)
  const ids = [...new Set(children.flatMap((child) => (child.appInstanceId ? [child.appInstanceId] : [])))]
  const instances = new Map(
    (await appo.instances.list(op.tenantId, { ids })).map((instance) => [instance.appInstanceId, instance]),
  )
  const hosts: Record<string, Record<string, number>> = {}
  const items = []
  for (const child of children) {
    const instance = child.appInstanceId ? instances.get(child.appInstanceId) : undefined
    const host = instance?.mechostIp ?? 'unplaced'
    const counts = hosts[host] ?? { STARTING: 0, PROCESSING: 0, COMPLETED: 0, FAILED_TEMP: 0, FAILED: 0 }
    counts[child.state] = (counts[child.state] ?? 0) + 1
    hosts[host] = counts
    items.push({
      operationId: child.operationId,
      lcmOperation: child.lcmOperation,
      appInstanceId: child.appInstanceId,
      mecHost: instance?.mechostIp ?? null,
      operationState: child.state,
      rollbackOf: child.params.rollbackOf ?? null,
      error: child.error?.detail ?? null,
    })
  }
  return { ...view, batchOf: op.params.batchOf, rollout: op.params.rollout, hosts, items }
}
