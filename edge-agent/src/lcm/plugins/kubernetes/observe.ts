import type { CoreV1Event, V1Pod, V1Service } from '@kubernetes/client-node'
import type { BackendEvent, Observation, ObservedResource } from '../../plugin'
import type { Cluster } from './cluster'
import { calling, unlessAbsent } from './errors'
import type { Footprint } from './footprint'
import { instanceNamespace } from './instance'
import { isActive, servicesOf, workloadsOf } from './lookup'
import { isReady, notReady, readyPods } from './readiness'
import { isStopped } from './scale'

const RECENT_EVENTS = 50

/** kubectl's STATUS column: the waiting or terminated reason of a container, else the phase. */
function podStatus(pod: V1Pod): string {
  if (pod.metadata?.deletionTimestamp) return 'Terminating'
  const statuses = pod.status?.containerStatuses ?? []
  return (
    statuses.find((s) => s.state?.waiting?.reason)?.state?.waiting?.reason ??
    statuses.find((s) => s.state?.terminated?.reason)?.state?.terminated?.reason ??
    pod.status?.phase ??
    'Pending'
  )
}

const podResource = (pod: V1Pod): ObservedResource => ({
  kind: 'Pod',
  name: pod.metadata?.name ?? '',
  status: podStatus(pod),
  ready: isReady(pod),
  restarts: (pod.status?.containerStatuses ?? []).reduce((sum, s) => sum + s.restartCount, 0),
  addresses: pod.status?.podIP ? [pod.status.podIP] : [],
})

/** A service's addresses: cluster IP and ports, node ports, load balancer ingress. */
function serviceResource(service: V1Service): ObservedResource {
  const ports = service.spec?.ports ?? []
  const clusterIp = service.spec?.clusterIP
  const ingress = (service.status?.loadBalancer?.ingress ?? []).flatMap((i) => i.ip ?? i.hostname ?? [])
  return {
    kind: 'Service',
    name: service.metadata?.name ?? '',
    status: service.spec?.type ?? 'ClusterIP',
    addresses: [
      ...(clusterIp && clusterIp !== 'None' ? ports.map((p) => `${clusterIp}:${p.port}/${p.protocol ?? 'TCP'}`) : []),
      ...ports.flatMap((p) => (p.nodePort ? [`node:${p.nodePort}/${p.protocol ?? 'TCP'}`] : [])),
      ...ingress.flatMap((address) => ports.map((p) => `${address}:${p.port}/${p.protocol ?? 'TCP'}`)),
    ],
  }
}

const timeOf = (event: CoreV1Event) =>
  new Date(event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp ?? 0)

/** The recent events about the instance's objects (and the replica sets between its deployments and pods), oldest first. */
async function eventsAbout(cluster: Cluster, footprint: Footprint, uids: Set<string>): Promise<BackendEvent[]> {
  const lists = await Promise.all(
    footprint.namespaces.map((namespace) =>
      calling(cluster, `listing events in namespace ${namespace}`, () =>
        cluster.core.listNamespacedEvent({ namespace }),
      ),
    ),
  )
  return lists
    .flatMap((list) => list.items)
    .filter((event) => uids.has(event.involvedObject.uid ?? ''))
    .sort((a, b) => timeOf(a).getTime() - timeOf(b).getTime())
    .slice(-RECENT_EVENTS)
    .map((event) => ({
      at: timeOf(event).toISOString(),
      object: `${event.involvedObject.kind}/${event.involvedObject.name}`,
      reason: event.reason ?? '',
      message: event.message ?? '',
      ...(event.type === 'Normal' || event.type === 'Warning' ? { type: event.type } : {}),
    }))
}

/** What runs for the instance on the cluster: pods, services, workloads, their recent events. */
export async function observeInstance(
  cluster: Cluster,
  footprint: Footprint,
  appInstanceId: string,
): Promise<Observation> {
  const [workloads, services] = await Promise.all([
    workloadsOf(cluster, footprint, appInstanceId),
    servicesOf(cluster, footprint, appInstanceId),
  ])
  const scalable = [...workloads.deployments, ...workloads.statefulSets]
  const owned = [...scalable, ...workloads.daemonSets, ...workloads.pods, ...services]
  if (!owned.length) {
    const own = instanceNamespace(appInstanceId)
    const namespace = footprint.ownNamespace
      ? await unlessAbsent(cluster, `reading namespace ${own}`, () => cluster.core.readNamespace({ name: own }))
      : undefined
    if (!namespace) return { state: 'absent', healthy: false, detail: 'nothing of the instance is on the cluster' }
  }
  const replicaSets = (
    await Promise.all(
      footprint.namespaces.map((namespace) =>
        calling(cluster, `listing replica sets in namespace ${namespace}`, () =>
          cluster.apps.listNamespacedReplicaSet({ namespace }),
        ),
      ),
    )
  ).flatMap((list) =>
    list.items.filter((rs) =>
      rs.metadata?.ownerReferences?.some((o) => scalable.some((w) => w.metadata?.uid === o.uid)),
    ),
  )
  const uids = new Set([...owned, ...replicaSets].flatMap((o) => o.metadata?.uid ?? []))
  const resources = [...workloads.pods.map(podResource), ...services.map(serviceResource)]
  const events = await eventsAbout(cluster, footprint, uids)
  const active = workloads.pods.filter(isActive)
  const stopped = scalable.length > 0 && scalable.every(isStopped) && !workloads.daemonSets.length
  const wantsPods = scalable.some((w) => (w.spec?.replicas ?? 1) > 0) || workloads.daemonSets.length > 0
  if (stopped || (!active.length && !wantsPods))
    return {
      state: 'exited',
      healthy: false,
      detail: stopped ? 'stopped: its workloads are scaled to 0' : 'no pod of the instance runs',
      resources,
      events,
    }
  const problems = notReady(workloads)
  return {
    state: 'running',
    healthy: problems.length === 0,
    detail: problems.length ? problems.join('; ') : `${readyPods(workloads)} of ${active.length} pods ready`,
    resources,
    events,
  }
}
