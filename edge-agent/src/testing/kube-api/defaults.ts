import type { ResourceType } from './resources'
import type { KubeObject } from './store'

let nextClusterIp = 10

/** Secret.stringData is write-only: the API server folds it into data (base64) on every write. */
function foldStringData(secret: KubeObject) {
  if (!secret.stringData) return
  secret.data = { ...secret.data }
  for (const [key, value] of Object.entries(secret.stringData as Record<string, string>))
    secret.data[key] = Buffer.from(value).toString('base64')
  delete secret.stringData
}

/**
 * The defaults and server-set fields a real API server fills in on every write (only what is
 * missing, so it is idempotent); `existing` is the stored object an update replaces.
 */
export function withDefaults(type: ResourceType, object: KubeObject, existing?: KubeObject): KubeObject {
  // biome-ignore lint/suspicious/noExplicitAny: objects are schemaless JSON here
  const spec = (): Record<string, any> => (object.spec ??= {})
  switch (type.kind) {
    case 'Namespace':
      spec().finalizers ??= ['kubernetes']
      object.status ??= existing?.status ?? { phase: 'Active' }
      object.metadata.labels = { ...object.metadata.labels, 'kubernetes.io/metadata.name': object.metadata.name }
      break
    case 'Service': {
      const service = spec()
      service.type ??= 'ClusterIP'
      service.sessionAffinity ??= 'None'
      service.clusterIP ??=
        existing?.spec?.clusterIP ?? `10.96.${Math.floor(nextClusterIp / 250)}.${(nextClusterIp++ % 250) + 1}`
      service.clusterIPs ??= [service.clusterIP]
      service.ports = (service.ports ?? []).map((port: Record<string, unknown>) => ({
        protocol: 'TCP',
        targetPort: port.port,
        ...port,
      }))
      object.status ??= { loadBalancer: {} }
      break
    }
    case 'Deployment': {
      const deployment = spec()
      deployment.replicas ??= 1
      deployment.revisionHistoryLimit ??= 10
      deployment.progressDeadlineSeconds ??= 600
      deployment.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }
      break
    }
    case 'StatefulSet':
    case 'ReplicaSet':
      spec().replicas ??= 1
      break
    case 'Job': {
      const job = spec()
      job.completions ??= 1
      job.parallelism ??= 1
      job.backoffLimit ??= 6
      break
    }
    case 'Secret':
      object.type ??= 'Opaque'
      foldStringData(object)
      break
    case 'PersistentVolumeClaim':
      // as if a default StorageClass bound it at once
      object.status ??= { phase: 'Bound', accessModes: spec().accessModes, capacity: spec().resources?.requests }
      break
    case 'Pod': {
      const pod = spec()
      pod.restartPolicy ??= 'Always'
      pod.schedulerName ??= 'default-scheduler'
      pod.terminationGracePeriodSeconds ??= 30
      object.status ??= existing?.status ?? { phase: 'Pending', qosClass: 'BestEffort' }
      break
    }
  }
  if (existing?.status && object.status === undefined && type.kind !== 'Secret') object.status = existing.status
  return object
}
