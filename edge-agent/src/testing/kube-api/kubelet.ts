import { recordEvent } from './events'
import { type Condition, now, setCondition } from './objects'
import { typeOfKind } from './resources'
import type { KubeObject, ObjectStore } from './store'

const pods = typeOfKind('Pod')
const nodes = typeOfKind('Node')

export interface KubeletOptions {
  store: ObjectStore
  /** How long a scheduled pod takes to pull, start and become ready. */
  readyDelayMs: () => number
  /** Images whose pull fails (ErrImagePull, then ImagePullBackOff). */
  failingImages: () => RegExp | undefined
  /** Called when a container starts, so that it has log lines. */
  started(pod: KubeObject, container: string): void
  later(ms: number, work: () => void): void
}

interface Container {
  name: string
  image: string
}

const podConditions = (ready: boolean): Condition[] => {
  let conditions: Condition[] = []
  for (const type of ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled'])
    conditions = setCondition(conditions, {
      type,
      status: ready || ['Initialized', 'PodScheduled'].includes(type) ? 'True' : 'False',
      lastProbeTime: null,
      ...(!ready && (type === 'Ready' || type === 'ContainersReady')
        ? { reason: 'ContainersNotReady', message: 'containers with unready status' }
        : {}),
    })
  return conditions
}

/**
 * The scheduler and the kubelet, for every pod: assign a node (Scheduled), then after the ready
 * delay either run its containers (Pulled, Created, Started; Running and Ready) or fail to pull
 * an image (ErrImagePull, then ImagePullBackOff, with Warning events). Pods of Jobs complete.
 */
export function kubelet(options: KubeletOptions) {
  const { store } = options
  const handled = new Set<string>()
  let nextIp = 2

  const event = (pod: KubeObject, type: 'Normal' | 'Warning', reason: string, message: string) =>
    recordEvent(store, pod, { type, reason, message, component: 'kubelet' })

  const current = (pod: KubeObject) => store.get(pods, pod.metadata.namespace, pod.metadata.name)

  function schedule(pod: KubeObject): KubeObject {
    const candidates = store.list(nodes)
    const load = (node: string) => store.list(pods).filter((p) => p.spec.nodeName === node).length
    const node =
      pod.spec.nodeName ?? candidates.sort((a, b) => load(a.metadata.name) - load(b.metadata.name))[0]?.metadata.name
    const scheduled = store.update(pods, {
      ...pod,
      spec: { ...pod.spec, nodeName: node },
      status: {
        ...pod.status,
        phase: 'Pending',
        conditions: setCondition(pod.status?.conditions, { type: 'PodScheduled', status: 'True', lastProbeTime: null }),
      },
    })
    recordEvent(store, scheduled, {
      type: 'Normal',
      reason: 'Scheduled',
      message: `Successfully assigned ${pod.metadata.namespace}/${pod.metadata.name} to ${node}`,
      component: 'default-scheduler',
    })
    return scheduled
  }

  function waiting(container: Container, reason: string, message: string) {
    return {
      name: container.name,
      image: container.image,
      imageID: '',
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason, message } },
    }
  }

  function pullFailed(pod: KubeObject, failing: Container[], backOff: boolean) {
    const names = failing.map((c) => c.name)
    const fresh = current(pod)
    if (!fresh) return
    const containers = (fresh.spec.containers as Container[]).map((c) =>
      names.includes(c.name)
        ? waiting(
            c,
            backOff ? 'ImagePullBackOff' : 'ErrImagePull',
            backOff
              ? `Back-off pulling image "${c.image}"`
              : `rpc error: code = NotFound desc = failed to pull and unpack image "${c.image}": not found`,
          )
        : waiting(c, 'PodInitializing', ''),
    )
    store.update(pods, {
      ...fresh,
      status: {
        ...fresh.status,
        phase: 'Pending',
        hostIP: '10.0.0.1',
        startTime: fresh.status?.startTime ?? now(),
        conditions: podConditions(false),
        containerStatuses: containers,
      },
    })
    for (const c of failing) {
      if (backOff) {
        event(fresh, 'Normal', 'BackOff', `Back-off pulling image "${c.image}"`)
        event(fresh, 'Warning', 'Failed', 'Error: ImagePullBackOff')
      } else {
        event(fresh, 'Normal', 'Pulling', `Pulling image "${c.image}"`)
        event(fresh, 'Warning', 'Failed', `Failed to pull image "${c.image}": not found`)
        event(fresh, 'Warning', 'Failed', 'Error: ErrImagePull')
      }
    }
    if (!backOff) options.later(options.readyDelayMs() + 50, () => pullFailed(pod, failing, true))
  }

  function run(pod: KubeObject) {
    const fresh = current(pod)
    if (!fresh) return
    const containers = fresh.spec.containers as Container[]
    const pattern = options.failingImages()
    const failing = containers.filter((c) => pattern?.test(c.image))
    if (failing.length) {
      pullFailed(fresh, failing, false)
      return
    }
    const startedAt = now()
    const running = store.update(pods, {
      ...fresh,
      status: {
        ...fresh.status,
        phase: 'Running',
        hostIP: '10.0.0.1',
        podIP: `10.244.0.${nextIp}`,
        podIPs: [{ ip: `10.244.0.${nextIp++}` }],
        startTime: fresh.status?.startTime ?? startedAt,
        conditions: podConditions(true),
        containerStatuses: containers.map((c) => ({
          name: c.name,
          image: c.image,
          imageID: `${c.image}@sha256:${'0'.repeat(64)}`,
          containerID: `containerd://${fresh.metadata.uid.replace(/-/g, '')}${c.name}`,
          ready: true,
          started: true,
          restartCount: 0,
          state: { running: { startedAt } },
        })),
      },
    })
    for (const c of containers) {
      event(running, 'Normal', 'Pulled', `Container image "${c.image}" already present on machine`)
      event(running, 'Normal', 'Created', `Created container ${c.name}`)
      event(running, 'Normal', 'Started', `Started container ${c.name}`)
      options.started(running, c.name)
    }
    const ownedByJob = running.metadata.ownerReferences?.some((ref) => ref.kind === 'Job')
    if (ownedByJob) options.later(options.readyDelayMs(), () => complete(running))
  }

  function complete(pod: KubeObject) {
    const fresh = current(pod)
    if (!fresh) return
    const finishedAt = now()
    store.update(pods, {
      ...fresh,
      status: {
        ...fresh.status,
        phase: 'Succeeded',
        conditions: podConditions(false),
        containerStatuses: fresh.status.containerStatuses.map((status: Record<string, unknown>) => ({
          ...status,
          ready: false,
          started: false,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: fresh.status.startTime, finishedAt } },
        })),
      },
    })
  }

  return {
    /** Takes every new pod through scheduling and starting. */
    sync() {
      for (const pod of store.list(pods)) {
        if (handled.has(pod.metadata.uid) || pod.metadata.deletionTimestamp) continue
        handled.add(pod.metadata.uid)
        const scheduled = schedule(pod)
        options.later(options.readyDelayMs(), () => run(scheduled))
      }
    },

    /** The container exits and the kubelet restarts it: restartCount grows, lastState says why. */
    crash(namespace: string, name: string) {
      const pod = store.get(pods, namespace, name)
      if (!pod?.status?.containerStatuses) throw new Error(`pod ${namespace}/${name} has no running containers`)
      const at = now()
      const statuses = pod.status.containerStatuses.map(
        (status: Record<string, unknown> & { restartCount: number }) => ({
          ...status,
          restartCount: status.restartCount + 1,
          lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: pod.status.startTime, finishedAt: at } },
          state: { running: { startedAt: at } },
        }),
      )
      const restarted = store.update(pods, { ...pod, status: { ...pod.status, containerStatuses: statuses } })
      for (const status of statuses)
        event(
          restarted,
          'Warning',
          'BackOff',
          `Back-off restarting failed container ${status.name} in pod ${name}_${namespace}(${pod.metadata.uid})`,
        )
    },
  }
}
