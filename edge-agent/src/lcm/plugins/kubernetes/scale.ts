import { PatchStrategy } from '@kubernetes/client-node'
import { type Wait, waitUntil } from '../wait'
import type { Cluster } from './cluster'
import { calling, describeObject } from './errors'
import type { Footprint } from './footprint'
import { workloadsOf } from './lookup'

/** Where a stopped workload keeps the replicas it had. */
export const REPLICAS_ANNOTATION = 'mecm.io/replicas'
/** Scaling has its own field manager: it owns spec.replicas and the annotation while an instance is stopped. */
const SCALER = 'mecm-scale'

type Scalable = {
  apiVersion: string
  kind: string
  metadata?: { name?: string; namespace?: string; annotations?: Record<string, string> }
  spec?: { replicas?: number }
}

async function scalables(cluster: Cluster, footprint: Footprint, appInstanceId: string): Promise<Scalable[]> {
  const { deployments, statefulSets } = await workloadsOf(cluster, footprint, appInstanceId)
  return [
    ...deployments.map((d) => ({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' })),
    ...statefulSets.map((s) => ({ ...s, apiVersion: 'apps/v1', kind: 'StatefulSet' })),
  ]
}

function apply(cluster: Cluster, workload: Scalable, replicas: number, annotations?: Record<string, string>) {
  const body = {
    apiVersion: workload.apiVersion,
    kind: workload.kind,
    metadata: {
      name: workload.metadata?.name,
      namespace: workload.metadata?.namespace,
      ...(annotations ? { annotations } : {}),
    },
    spec: { replicas },
  }
  return calling(cluster, `scaling ${describeObject(body)} to ${replicas}`, () =>
    cluster.objects.patch(body, undefined, undefined, SCALER, true, PatchStrategy.ServerSideApply),
  )
}

export const isStopped = (workload: { metadata?: { annotations?: Record<string, string> } }) =>
  Boolean(workload.metadata?.annotations?.[REPLICAS_ANNOTATION])

/** Scales the instance's deployments and stateful sets to 0, remembering their replicas in an annotation. */
export async function scaleDown(cluster: Cluster, footprint: Footprint, appInstanceId: string): Promise<void> {
  const running = (await scalables(cluster, footprint, appInstanceId)).filter((w) => !isStopped(w))
  await Promise.all(running.map((w) => apply(cluster, w, 0, { [REPLICAS_ANNOTATION]: String(w.spec?.replicas ?? 1) })))
}

/**
 * Gives stopped workloads their replicas back; the scaler then applies no annotation, so server-side
 * apply removes it. Answers whether the instance has any workload at all.
 */
export async function scaleUp(cluster: Cluster, footprint: Footprint, appInstanceId: string): Promise<boolean> {
  const workloads = await scalables(cluster, footprint, appInstanceId)
  const stopped = workloads.filter(isStopped)
  await Promise.all(stopped.map((w) => apply(cluster, w, Number(w.metadata?.annotations?.[REPLICAS_ANNOTATION]))))
  return workloads.length > 0
}

/** Waits until the scaled-down workloads have no pods left. */
export async function waitScaledDown(
  cluster: Cluster,
  footprint: Footprint,
  appInstanceId: string,
  wait: Wait,
): Promise<void> {
  await waitUntil(
    wait,
    async () =>
      (await scalables(cluster, footprint, appInstanceId)).filter(
        (w) => ((w as { status?: { replicas?: number } }).status?.replicas ?? 0) > 0,
      ),
    (left) => !left.length,
    (left, waited) =>
      new Error(
        `Kubernetes API at ${cluster.server}: app instance ${appInstanceId} still has pods after ${waited}: ${left.map(describeObject).join(', ')}`,
      ),
  )
}
