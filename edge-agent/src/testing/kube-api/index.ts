import { randomBytes } from 'node:crypto'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { admit } from './admission'
import { withDefaults } from './defaults'
import { kubelet } from './kubelet'
import { deletion } from './lifecycle'
import { podLogs } from './logs'
import { typeOfKind } from './resources'
import { route } from './routes'
import { unauthorized } from './status'
import { type KubeObject, objectStore } from './store'
import { workloadControllers } from './workloads'

export interface NodeSpec {
  name: string
  /** Quantities, e.g. { cpu: '4', memory: '8Gi', 'ephemeral-storage': '100Gi', pods: '110' }. */
  capacity: Record<string, string>
  allocatable: Record<string, string>
}

export interface KubeApiServerOptions {
  /** How long a pod takes from scheduled to Running and Ready (50 ms). */
  readyDelayMs?: number
  /** How long a deleted namespace stays Terminating before it and its content are gone (200 ms). */
  namespaceDeletionMs?: number
  /** Images whose pull fails: their pods stay Pending with ErrImagePull, then ImagePullBackOff. */
  failingImages?: RegExp
  /** Whether the metrics API (metrics.k8s.io, served by metrics-server) is installed (true). */
  metricsServer?: boolean
  nodes?: NodeSpec[]
}

const defaultNodes: NodeSpec[] = [
  {
    name: 'node-1',
    capacity: { cpu: '4', memory: '8148916Ki', 'ephemeral-storage': '102687672Ki', pods: '110' },
    allocatable: { cpu: '3800m', memory: '7734196Ki', 'ephemeral-storage': '94635070922', pods: '110' },
  },
]

const kubeconfigOf = (url: string, token: string) => `apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: ${url}
      insecure-skip-tls-verify: true
users:
  - name: test
    user:
      token: ${token}
contexts:
  - name: test
    context:
      cluster: test
      user: test
current-context: test
`

/**
 * A Kubernetes API server for tests, on 127.0.0.1 over plain HTTP: the REST API's wire format
 * (discovery, CRUD with resourceVersion, server-side apply, watch, Status errors), bearer-token
 * auth, and the controllers that make objects come alive (deployments make replica sets make
 * pods; pods get scheduled, pull images, start and log; namespaces take time to delete), plus
 * fault controls for what a real cluster does wrong.
 */
export async function kubeApiServer(options: KubeApiServerOptions = {}) {
  const store = objectStore()
  const settings = {
    readyDelayMs: options.readyDelayMs ?? 50,
    namespaceDeletionMs: options.namespaceDeletionMs ?? 200,
    failingImages: options.failingImages,
    metricsServer: options.metricsServer ?? true,
  }
  const quota = new Map<string, number>()
  /** The token the kubeconfig carries, and the one the server accepts (none once it expired). */
  let issued = randomBytes(24).toString('base64url')
  let accepted: string | undefined = issued
  let closed = false
  const timers = new Set<NodeJS.Timeout>()
  let pending: NodeJS.Immediate | undefined

  /** Runs the controllers once the current burst of changes is over. */
  const reconcile = () => {
    if (closed || pending) return
    pending = setImmediate(() => {
      pending = undefined
      if (closed) return
      lifecycle.sync()
      controllers()
      pods.sync()
    })
  }
  const later = (ms: number, work: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      if (closed) return
      work()
      reconcile()
    }, ms)
    timers.add(timer)
  }
  const admission = (type: Parameters<typeof admit>[2], namespace: string | undefined, name: string) =>
    admit(store, quota, type, namespace, name)

  const logs = podLogs(store)
  const lifecycle = deletion({ store, namespaceDeletionMs: () => settings.namespaceDeletionMs, later })
  const podType = typeOfKind('Pod')
  const controllers = workloadControllers({
    store,
    later,
    createPod(pod: KubeObject) {
      admission(podType, pod.metadata.namespace, pod.metadata.name)
      return store.create(podType, withDefaults(podType, pod))
    },
  })
  const pods = kubelet({
    store,
    later,
    readyDelayMs: () => settings.readyDelayMs,
    failingImages: () => settings.failingImages,
    started: logs.started,
  })

  const namespaces = typeOfKind('Namespace')
  for (const name of ['default', 'kube-system', 'kube-public'])
    store.create(
      namespaces,
      withDefaults(namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } } as KubeObject),
    )
  for (const node of options.nodes ?? defaultNodes)
    store.create(typeOfKind('Node'), {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: node.name, labels: { 'kubernetes.io/hostname': node.name, 'kubernetes.io/os': 'linux' } },
      spec: {},
      status: {
        capacity: node.capacity,
        allocatable: node.allocatable,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
        ],
        addresses: [
          { type: 'InternalIP', address: '10.0.0.1' },
          { type: 'Hostname', address: node.name },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.31.0',
          containerRuntimeVersion: 'containerd://1.7.20',
          architecture: 'amd64',
          operatingSystem: 'linux',
        },
      },
    })
  const unsubscribe = store.subscribe(reconcile)

  const watches = new Set<ServerResponse>()
  const sockets = new Set<Socket>()
  let serverAddress = ''
  const server = createServer((request, response) => {
    if (!accepted || request.headers.authorization !== `Bearer ${accepted}`) {
      const error = unauthorized()
      response.writeHead(401, { 'content-type': 'application/json' })
      response.end(JSON.stringify(error.status))
      return
    }
    route(
      {
        store,
        admit: admission,
        deletion: lifecycle,
        logs,
        metricsServer: () => settings.metricsServer,
        serverAddress,
        watches,
      },
      request,
      response,
    ).catch((error: Error) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/json' })
      response.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: error.message,
          reason: 'InternalError',
          code: 500,
        }),
      )
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve((server.address() as AddressInfo).port)
      })
    })
  /** Stops listening and cuts every open connection, watches included. */
  const hangUp = async () => {
    for (const response of watches) response.destroy()
    for (const socket of sockets) socket.destroy()
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  const port = await listen(0)
  const url = `http://127.0.0.1:${port}`
  serverAddress = `127.0.0.1:${port}`

  return {
    url,
    /** A kubeconfig for this server with the last token issued (insecure-skip-tls-verify: it is plain HTTP). */
    get kubeconfig() {
      return kubeconfigOf(url, issued)
    },

    /** The token stops working: every request answers 401 until rotateToken(). */
    expireToken() {
      accepted = undefined
    },
    /** Issues a new token (the old one no longer works); returns the kubeconfig that carries it. */
    rotateToken(): string {
      issued = randomBytes(24).toString('base64url')
      accepted = issued
      return kubeconfigOf(url, issued)
    },

    /** Limits a resource in every namespace as a ResourceQuota would: `pods`, `services`, `count/deployments.apps`. */
    setQuota(resource: string, limit: number) {
      quota.set(resource, limit)
    },
    clearQuota() {
      quota.clear()
    },

    /** Images matching the pattern fail to pull from now on (undefined: none). */
    failImages(pattern: RegExp | undefined) {
      settings.failingImages = pattern
    },
    /** Installs or removes metrics-server: without it, metrics.k8s.io answers 404. */
    setMetricsServer(installed: boolean) {
      settings.metricsServer = installed
    },
    setReadyDelay(ms: number) {
      settings.readyDelayMs = ms
    },

    /** A container of the pod exits and is restarted (restartCount grows, a BackOff event). */
    crashPod(namespace: string, pod: string) {
      pods.crash(namespace, pod)
    },
    /** A container writes a line to its log. */
    writeLog(namespace: string, pod: string, line: string, container?: string) {
      const found = store.get(podType, namespace, pod)
      if (!found) throw new Error(`no pod ${namespace}/${pod}`)
      logs.write(found, container ?? found.spec.containers[0].name, line)
    },

    /** The API becomes unreachable (connections refused) until reachable(). */
    async unreachable() {
      await hangUp()
    },
    async reachable() {
      await listen(port)
    },

    async close() {
      closed = true
      if (pending) clearImmediate(pending)
      for (const timer of timers) clearTimeout(timer)
      unsubscribe()
      logs.close()
      await hangUp()
    },
  }
}
export type KubeApiServer = Awaited<ReturnType<typeof kubeApiServer>>
