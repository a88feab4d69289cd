import { now } from './objects'
import { typeOfKind } from './resources'
import { notFound } from './status'
import type { KubeObject, ObjectStore } from './store'

const pods = typeOfKind('Pod')
const nodes = typeOfKind('Node')

/** What one running container uses, and what a node uses besides its pods (the system, the kubelet). */
export const CONTAINER_USAGE = { cpuNanoCores: 2_000_000, memoryKi: 16 * 1024 }
export const NODE_OVERHEAD = { cpuNanoCores: 150_000_000, memoryKi: 900 * 1024 }

const usage = (cpuNanoCores: number, memoryKi: number) => ({ cpu: `${cpuNanoCores}n`, memory: `${memoryKi}Ki` })
const running = (store: ObjectStore) => store.list(pods).filter((pod) => pod.status?.phase === 'Running')
const meta = (object: KubeObject) => ({
  name: object.metadata.name,
  ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
  creationTimestamp: now(),
  ...(object.metadata.labels ? { labels: object.metadata.labels } : {}),
})

function podMetrics(pod: KubeObject) {
  return {
    metadata: meta(pod),
    timestamp: now(),
    window: '10.007s',
    containers: (pod.spec.containers as Array<{ name: string }>).map((c) => ({
      name: c.name,
      usage: usage(CONTAINER_USAGE.cpuNanoCores, CONTAINER_USAGE.memoryKi),
    })),
  }
}

function nodeMetrics(store: ObjectStore, node: KubeObject) {
  const containers = running(store)
    .filter((pod) => pod.spec.nodeName === node.metadata.name)
    .reduce((sum, pod) => sum + pod.spec.containers.length, 0)
  return {
    metadata: meta(node),
    timestamp: now(),
    window: '20.022s',
    usage: usage(
      NODE_OVERHEAD.cpuNanoCores + containers * CONTAINER_USAGE.cpuNanoCores,
      NODE_OVERHEAD.memoryKi + containers * CONTAINER_USAGE.memoryKi,
    ),
  }
}

const list = (kind: string, items: unknown[]) => ({
  kind,
  apiVersion: 'metrics.k8s.io/v1beta1',
  metadata: {},
  items,
})
const one = (kind: string, item: object) => ({ kind, apiVersion: 'metrics.k8s.io/v1beta1', ...item })

/**
 * The resource metrics API of metrics-server (metrics.k8s.io/v1beta1): NodeMetrics and
 * PodMetrics, computed from the pods that run (each container uses CONTAINER_USAGE).
 * `path` is what follows /apis/metrics.k8s.io/v1beta1/; undefined when it serves nothing there.
 */
export function metricsApi(store: ObjectStore, path: string[]): unknown {
  const [first, second, third, fourth] = path
  if (first === 'nodes' && !third) {
    if (!second)
      return list(
        'NodeMetricsList',
        store.list(nodes).map((node) => nodeMetrics(store, node)),
      )
    const node = store.get(nodes, undefined, second)
    if (!node) throw notFound({ ...nodes, group: 'metrics.k8s.io' }, second)
    return one('NodeMetrics', nodeMetrics(store, node))
  }
  if (first === 'pods' && !second) return list('PodMetricsList', running(store).map(podMetrics))
  if (first === 'namespaces' && second && third === 'pods') {
    const inNamespace = running(store).filter((pod) => pod.metadata.namespace === second)
    if (!fourth) return list('PodMetricsList', inNamespace.map(podMetrics))
    const pod = inNamespace.find((p) => p.metadata.name === fourth)
    if (!pod) throw notFound({ ...pods, group: 'metrics.k8s.io' }, fourth)
    return one('PodMetrics', podMetrics(pod))
  }
  return undefined
}
