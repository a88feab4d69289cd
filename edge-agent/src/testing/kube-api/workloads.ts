import { recordEvent } from './events'
import {
  type Condition,
  controllerRef,
  isActive,
  isReady,
  now,
  ownedBy,
  setCondition,
  suffix,
  templateHash,
  withoutCondition,
} from './objects'
import { typeOfKind } from './resources'
import { StatusError } from './status'
import type { KubeObject, ObjectStore } from './store'

const deployments = typeOfKind('Deployment')
const replicaSets = typeOfKind('ReplicaSet')
const statefulSets = typeOfKind('StatefulSet')
const daemonSets = typeOfKind('DaemonSet')
const jobs = typeOfKind('Job')
const pods = typeOfKind('Pod')
const nodes = typeOfKind('Node')

export interface WorkloadContext {
  store: ObjectStore
  /** Creates a pod through admission, as a controller's create request goes: a quota may refuse it. */
  createPod(pod: KubeObject): KubeObject
  /** Runs `work` again after `ms` (a controller's requeue). */
  later(ms: number, work: () => void): void
}

const live = (object: KubeObject) => !object.metadata.deletionTimestamp

function podsOf(store: ObjectStore, owner: KubeObject): KubeObject[] {
  return store.list(pods, owner.metadata.namespace).filter((pod) => ownedBy(pod, owner) && live(pod))
}

function podFrom(owner: KubeObject, name: string, extraLabels: Record<string, string> = {}, nodeName?: string) {
  const template = owner.spec.template ?? {}
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: owner.metadata.namespace,
      labels: { ...template.metadata?.labels, ...extraLabels },
      ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
      ownerReferences: [controllerRef(owner)],
    },
    spec: { ...structuredClone(template.spec), ...(nodeName ? { nodeName } : {}) },
  } as unknown as KubeObject
}

/** Writes a status when it differs from the stored one. */
function writeStatus(store: ObjectStore, object: KubeObject, status: Record<string, unknown>) {
  if (JSON.stringify(object.status) === JSON.stringify(status)) return
  store.update(typeOfKind(object.kind), { ...object, status })
}

/** Pods a controller could not create (a quota, a terminating namespace) are retried after this long. */
const RETRY_MS = 500

/** Creates what is missing; a refusal becomes a FailedCreate event and a ReplicaFailure condition. */
function createPods(context: WorkloadContext, owner: KubeObject, wanted: KubeObject[], retrying: Set<string>) {
  if (retrying.has(owner.metadata.uid)) return owner.status?.conditions as Condition[] | undefined
  let conditions = owner.status?.conditions as Condition[] | undefined
  for (const pod of wanted) {
    try {
      context.createPod(pod)
      recordEvent(context.store, owner, {
        type: 'Normal',
        reason: 'SuccessfulCreate',
        message: `Created pod: ${pod.metadata.name}`,
        component: `${owner.kind.toLowerCase()}-controller`,
      })
      conditions = withoutCondition(conditions, 'ReplicaFailure')
    } catch (error) {
      if (!(error instanceof StatusError)) throw error
      const message = `Error creating: ${error.message}`
      recordEvent(context.store, owner, {
        type: 'Warning',
        reason: 'FailedCreate',
        message,
        component: `${owner.kind.toLowerCase()}-controller`,
      })
      retrying.add(owner.metadata.uid)
      context.later(RETRY_MS, () => retrying.delete(owner.metadata.uid))
      return setCondition(conditions, { type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message })
    }
  }
  return conditions
}

function deletePods(context: WorkloadContext, owner: KubeObject, extra: KubeObject[]) {
  for (const pod of extra) {
    context.store.remove(pods, pod.metadata.namespace, pod.metadata.name)
    recordEvent(context.store, owner, {
      type: 'Normal',
      reason: 'SuccessfulDelete',
      message: `Deleted pod: ${pod.metadata.name}`,
      component: `${owner.kind.toLowerCase()}-controller`,
    })
  }
}

const counts = (owned: KubeObject[]) => {
  const ready = owned.filter(isReady).length
  return { replicas: owned.length, readyReplicas: ready, availableReplicas: ready }
}

/** The deployment controller: one ReplicaSet per pod template, scaled to spec.replicas; old ones to 0. */
function syncDeployments(context: WorkloadContext) {
  const { store } = context
  for (const deployment of store.list(deployments).filter(live)) {
    const hash = templateHash(deployment.spec.template)
    const owned = store.list(replicaSets, deployment.metadata.namespace).filter((rs) => ownedBy(rs, deployment))
    const replicas = deployment.spec.replicas as number
    let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash)
    const scaled = (rs: KubeObject, from: number, to: number) =>
      recordEvent(store, deployment, {
        type: 'Normal',
        reason: 'ScalingReplicaSet',
        message: `Scaled ${to > from ? 'up' : 'down'} replica set ${rs.metadata.name} ${to > from && from === 0 ? '' : `from ${from} `}to ${to}`,
        component: 'deployment-controller',
      })
    if (!current) {
      const labels = { ...deployment.spec.template.metadata?.labels, 'pod-template-hash': hash }
      current = store.create(replicaSets, {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        metadata: {
          name: `${deployment.metadata.name}-${hash}`,
          namespace: deployment.metadata.namespace,
          labels,
          annotations: { 'deployment.kubernetes.io/revision': String(owned.length + 1) },
          ownerReferences: [controllerRef(deployment)],
        },
        spec: {
          replicas,
          selector: { matchLabels: { ...deployment.spec.selector?.matchLabels, 'pod-template-hash': hash } },
          template: { ...deployment.spec.template, metadata: { ...deployment.spec.template.metadata, labels } },
        },
      })
      scaled(current, 0, replicas)
    } else if (current.spec.replicas !== replicas) {
      const from = current.spec.replicas
      current = store.update(replicaSets, { ...current, spec: { ...current.spec, replicas } })
      scaled(current, from, replicas)
    }
    for (const old of owned.filter((rs) => rs !== current && rs.spec.replicas > 0)) {
      store.update(replicaSets, { ...old, spec: { ...old.spec, replicas: 0 } })
      scaled(old, old.spec.replicas, 0)
    }
    const all = owned.flatMap((rs) => podsOf(store, rs))
    const updated = podsOf(store, current)
    const available = all.filter(isReady).length
    const name = current.metadata.name
    let conditions = deployment.status?.conditions as Condition[] | undefined
    conditions = setCondition(
      conditions,
      available >= replicas
        ? {
            type: 'Available',
            status: 'True',
            reason: 'MinimumReplicasAvailable',
            message: 'Deployment has minimum availability.',
          }
        : {
            type: 'Available',
            status: 'False',
            reason: 'MinimumReplicasUnavailable',
            message: 'Deployment does not have minimum availability.',
          },
      true,
    )
    const done = updated.filter(isReady).length >= replicas && all.length === updated.length
    conditions = setCondition(
      conditions,
      {
        type: 'Progressing',
        status: 'True',
        reason: done ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
        message: done ? `ReplicaSet "${name}" has successfully progressed.` : `ReplicaSet "${name}" is progressing.`,
      },
      true,
    )
    const failure = (current.status?.conditions as Condition[] | undefined)?.find((c) => c.type === 'ReplicaFailure')
    conditions = failure
      ? setCondition(conditions, { ...failure }, true)
      : withoutCondition(conditions, 'ReplicaFailure')
    writeStatus(store, deployment, {
      observedGeneration: deployment.metadata.generation,
      replicas: all.length,
      updatedReplicas: updated.length,
      readyReplicas: available,
      availableReplicas: available,
      ...(replicas > available ? { unavailableReplicas: replicas - available } : {}),
      conditions,
    })
  }
}

function syncReplicaSets(context: WorkloadContext, retrying: Set<string>) {
  const { store } = context
  for (const rs of store.list(replicaSets).filter(live)) {
    const owned = podsOf(store, rs)
    const wanted = rs.spec.replicas as number
    let conditions = rs.status?.conditions as Condition[] | undefined
    if (owned.length < wanted) {
      const missing = Array.from({ length: wanted - owned.length }, () =>
        podFrom(rs, `${rs.metadata.name}-${suffix()}`),
      )
      conditions = createPods(context, rs, missing, retrying)
    }
    if (owned.length > wanted) {
      const byReadiness = [...owned].sort((a, b) => Number(isReady(a)) - Number(isReady(b)))
      deletePods(context, rs, byReadiness.slice(0, owned.length - wanted))
    }
    const now = podsOf(store, rs)
    writeStatus(store, rs, {
      ...counts(now),
      fullyLabeledReplicas: now.length,
      observedGeneration: rs.metadata.generation,
      ...(conditions?.length ? { conditions } : {}),
    })
  }
}

/** Pods web-0, web-1… (created together: podManagementPolicy Parallel). */
function syncStatefulSets(context: WorkloadContext, retrying: Set<string>) {
  const { store } = context
  for (const set of store.list(statefulSets).filter(live)) {
    const owned = podsOf(store, set)
    const wanted = set.spec.replicas as number
    const revision = `${set.metadata.name}-${templateHash(set.spec.template)}`
    const names = Array.from({ length: wanted }, (_, i) => `${set.metadata.name}-${i}`)
    const missing = names
      .filter((name) => !owned.some((pod) => pod.metadata.name === name))
      .map((name) =>
        podFrom(set, name, { 'statefulset.kubernetes.io/pod-name': name, 'controller-revision-hash': revision }),
      )
    const conditions = missing.length ? createPods(context, set, missing, retrying) : set.status?.conditions
    deletePods(
      context,
      set,
      owned.filter((pod) => !names.includes(pod.metadata.name)),
    )
    const now = podsOf(store, set)
    writeStatus(store, set, {
      observedGeneration: set.metadata.generation,
      ...counts(now),
      currentReplicas: now.length,
      updatedReplicas: now.length,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
      ...(conditions?.length ? { conditions } : {}),
    })
  }
}

/** One pod on every node. */
function syncDaemonSets(context: WorkloadContext, retrying: Set<string>) {
  const { store } = context
  const nodeNames = store.list(nodes).map((node) => node.metadata.name)
  for (const set of store.list(daemonSets).filter(live)) {
    const owned = podsOf(store, set)
    const missing = nodeNames
      .filter((node) => !owned.some((pod) => pod.spec.nodeName === node))
      .map((node) => podFrom(set, `${set.metadata.name}-${suffix()}`, {}, node))
    const conditions = missing.length ? createPods(context, set, missing, retrying) : set.status?.conditions
    const now = podsOf(store, set)
    const ready = now.filter(isReady).length
    writeStatus(store, set, {
      currentNumberScheduled: now.length,
      desiredNumberScheduled: nodeNames.length,
      numberMisscheduled: 0,
      numberReady: ready,
      numberAvailable: ready,
      updatedNumberScheduled: now.length,
      observedGeneration: set.metadata.generation,
      ...(conditions?.length ? { conditions } : {}),
    })
  }
}

/** Runs pods until spec.completions of them succeeded. */
function syncJobs(context: WorkloadContext, retrying: Set<string>) {
  const { store } = context
  for (const job of store.list(jobs).filter(live)) {
    const owned = store.list(pods, job.metadata.namespace).filter((pod) => ownedBy(pod, job))
    const succeeded = owned.filter((pod) => pod.status?.phase === 'Succeeded').length
    const active = owned.filter(isActive)
    const completions = job.spec.completions as number
    const labels = { 'job-name': job.metadata.name, 'batch.kubernetes.io/job-name': job.metadata.name }
    let conditions = job.status?.conditions as Condition[] | undefined
    if (succeeded + active.length < completions)
      conditions = createPods(context, job, [podFrom(job, `${job.metadata.name}-${suffix()}`, labels)], retrying)
    const complete = succeeded >= completions
    if (complete) conditions = setCondition(conditions, { type: 'Complete', status: 'True' })
    writeStatus(store, job, {
      ...(job.status?.startTime ? { startTime: job.status.startTime } : { startTime: job.metadata.creationTimestamp }),
      ...(complete ? { completionTime: job.status?.completionTime ?? now() } : {}),
      active: active.length,
      succeeded,
      failed: owned.filter((pod) => pod.status?.phase === 'Failed').length,
      ...(conditions?.length ? { conditions } : {}),
    })
  }
}

/** The workload controllers of kube-controller-manager, each level-triggered over the whole store. */
export function workloadControllers(context: WorkloadContext) {
  const retrying = new Set<string>()
  return () => {
    syncDeployments(context)
    syncReplicaSets(context, retrying)
    syncStatefulSets(context, retrying)
    syncDaemonSets(context, retrying)
    syncJobs(context, retrying)
  }
}
