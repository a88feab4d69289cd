import type { V1Pod } from '@kubernetes/client-node'
import { type Wait, waitUntil } from '../wait'
import type { Cluster } from './cluster'
import type { Footprint } from './footprint'
import { isActive, type Workloads, workloadsOf } from './lookup'

/** Why a pod is not ready, in the words kubectl shows: `ErrImagePull: …`, `Unschedulable: …`, `Pending`. */
function podProblem(pod: V1Pod): string {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]
  const waiting = statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting
  if (waiting) return `${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`
  const terminated = statuses.find((s) => s.state?.terminated)?.state?.terminated
  if (terminated) return `container exited (${terminated.reason ?? `code ${terminated.exitCode}`})`
  const unscheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False')
  if (unscheduled) return `${unscheduled.reason ?? 'Unschedulable'}: ${unscheduled.message ?? ''}`
  return pod.status?.phase === 'Running' ? 'not ready' : (pod.status?.phase ?? 'Pending')
}

export const isReady = (pod: V1Pod) =>
  pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

/** What keeps the instance from being ready, one phrase each; empty when it is. */
export function notReady(workloads: Workloads): string[] {
  const problems: string[] = []
  for (const d of workloads.deployments) {
    const wanted = d.spec?.replicas ?? 1
    const available = d.status?.availableReplicas ?? 0
    const observed = (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0)
    const failure = d.status?.conditions?.find((c) => c.type === 'ReplicaFailure' && c.status === 'True')
    if (!observed || available < wanted || (d.status?.updatedReplicas ?? 0) < wanted)
      problems.push(
        `deployment ${d.metadata?.name}: ${available} of ${wanted} available${failure ? ` (${failure.reason}: ${failure.message})` : ''}`,
      )
  }
  for (const s of workloads.statefulSets) {
    const wanted = s.spec?.replicas ?? 1
    const ready = s.status?.readyReplicas ?? 0
    if (ready < wanted) problems.push(`statefulset ${s.metadata?.name}: ${ready} of ${wanted} ready`)
  }
  for (const s of workloads.daemonSets) {
    const wanted = s.status?.desiredNumberScheduled ?? 0
    const ready = s.status?.numberReady ?? 0
    if (ready < wanted) problems.push(`daemonset ${s.metadata?.name}: ${ready} of ${wanted} ready`)
  }
  for (const pod of workloads.pods.filter(isActive).filter((p) => !isReady(p)))
    problems.push(`pod ${pod.metadata?.name}: ${podProblem(pod)}`)
  return problems
}

export const readyPods = (workloads: Workloads) => workloads.pods.filter(isActive).filter(isReady).length

/**
 * Waits until the instance's deployments and stateful sets are available and its pods ready;
 * after `timeoutMs`, fails saying what is not ready and why.
 */
export async function waitReady(
  cluster: Cluster,
  footprint: Footprint,
  appInstanceId: string,
  wait: Wait,
): Promise<void> {
  await waitUntil(
    wait,
    async () => notReady(await workloadsOf(cluster, footprint, appInstanceId)),
    (problems) => !problems.length,
    (problems, waited) =>
      new Error(
        `Kubernetes API at ${cluster.server}: app instance ${appInstanceId} was not ready within ${waited} in namespace ${footprint.namespaces.join(', ')}: ${problems.join('; ')}`,
      ),
  )
}
