import { Metrics } from '@kubernetes/client-node'
import type { HostMetrics } from '@mecm/protocol'
import type { Cluster } from './cluster'
import { calling, clusterError, codeOf } from './errors'
import { quantity } from './quantity'

type Figures = { cpu: number; memory: number; disk: number }
const sum = (items: Figures[]): Figures =>
  items.reduce((a, b) => ({ cpu: a.cpu + b.cpu, memory: a.memory + b.memory, disk: a.disk + b.disk }), {
    cpu: 0,
    memory: 0,
    disk: 0,
  })
const figures = (resources: { cpu?: string; memory?: string; 'ephemeral-storage'?: string } | undefined): Figures => ({
  cpu: quantity(resources?.cpu),
  memory: quantity(resources?.memory),
  disk: quantity(resources?.['ephemeral-storage']),
})

/** Node and pod usage from the metrics API, or undefined when the cluster has none (no metrics-server). */
async function measuredUsage(cluster: Cluster): Promise<Figures | undefined> {
  try {
    const nodes = await new Metrics(cluster.config).getNodeMetrics()
    return sum(nodes.items.map((node) => ({ ...figures(node.usage), disk: 0 })))
  } catch (error) {
    // 404: metrics.k8s.io is not installed; 503: it is, but metrics-server does not answer
    if (codeOf(error) === 404 || codeOf(error) === 503) return undefined
    throw clusterError(cluster, 'reading node metrics (metrics.k8s.io)', error)
  }
}

/**
 * The cluster's capacity and use, as HostMetrics: capacity is what its nodes can give pods
 * (allocatable); use is what the metrics API measures on the nodes when the cluster has it,
 * otherwise what its running pods request (an honest lower bound, never the capacity itself).
 * Disk use is always the pods' ephemeral-storage requests: the metrics API does not measure disk.
 */
export async function kpiOf(cluster: Cluster, instances: number): Promise<HostMetrics> {
  const [nodes, pods, measured] = await Promise.all([
    calling(cluster, 'listing nodes', () => cluster.core.listNode()),
    calling(cluster, 'listing pods', () =>
      cluster.core.listPodForAllNamespaces({ fieldSelector: 'status.phase!=Succeeded,status.phase!=Failed' }),
    ),
    measuredUsage(cluster),
  ])
  const capacity = sum(nodes.items.map((node) => figures(node.status?.allocatable)))
  const requested = sum(
    pods.items.flatMap((pod) => (pod.spec?.containers ?? []).map((c) => figures(c.resources?.requests))),
  )
  const used = {
    cpu: measured?.cpu ?? requested.cpu,
    memory: measured?.memory ?? requested.memory,
    disk: requested.disk,
  }
  const bytes = (total: number, use: number) => ({
    totalBytes: Math.round(total),
    usedBytes: Math.round(Math.min(use, total)),
  })
  return {
    at: new Date().toISOString(),
    cpu: {
      cores: Math.max(1, Math.floor(capacity.cpu)),
      usedPercent: capacity.cpu > 0 ? Math.min(100, (used.cpu / capacity.cpu) * 100) : 0,
    },
    memory: bytes(capacity.memory, used.memory),
    disk: bytes(capacity.disk, used.disk),
    instances,
  }
}
