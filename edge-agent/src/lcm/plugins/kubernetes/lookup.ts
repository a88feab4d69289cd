import type { V1DaemonSet, V1Deployment, V1Pod, V1Service, V1StatefulSet } from '@kubernetes/client-node'
import type { Cluster } from './cluster'
import { calling } from './errors'
import type { Footprint } from './footprint'
import { instanceSelector } from './instance'

export interface Workloads {
  deployments: V1Deployment[]
  statefulSets: V1StatefulSet[]
  daemonSets: V1DaemonSet[]
  pods: V1Pod[]
}

/** Lists one kind labelled for the instance in each of its namespaces. */
async function labelled<T>(
  cluster: Cluster,
  footprint: Footprint,
  appInstanceId: string,
  what: string,
  list: (request: { namespace: string; labelSelector: string }) => Promise<{ items: T[] }>,
): Promise<T[]> {
  const labelSelector = instanceSelector(appInstanceId)
  const lists = await Promise.all(
    footprint.namespaces.map((namespace) =>
      calling(cluster, `listing the ${what} of app instance ${appInstanceId} in namespace ${namespace}`, () =>
        list({ namespace, labelSelector }),
      ),
    ),
  )
  return lists.flatMap((found) => found.items)
}

/** The instance's workloads and pods, found by their label. */
export async function workloadsOf(cluster: Cluster, footprint: Footprint, appInstanceId: string): Promise<Workloads> {
  const { apps, core } = cluster
  const [deployments, statefulSets, daemonSets, pods] = await Promise.all([
    labelled(cluster, footprint, appInstanceId, 'deployments', (r) => apps.listNamespacedDeployment(r)),
    labelled(cluster, footprint, appInstanceId, 'stateful sets', (r) => apps.listNamespacedStatefulSet(r)),
    labelled(cluster, footprint, appInstanceId, 'daemon sets', (r) => apps.listNamespacedDaemonSet(r)),
    labelled(cluster, footprint, appInstanceId, 'pods', (r) => core.listNamespacedPod(r)),
  ])
  return { deployments, statefulSets, daemonSets, pods }
}

export async function servicesOf(cluster: Cluster, footprint: Footprint, appInstanceId: string): Promise<V1Service[]> {
  return labelled(cluster, footprint, appInstanceId, 'services', (r) => cluster.core.listNamespacedService(r))
}

/** Pods that run or will: not finished, not being deleted. */
export const isActive = (pod: V1Pod) =>
  !pod.metadata?.deletionTimestamp && !['Succeeded', 'Failed'].includes(pod.status?.phase ?? '')
