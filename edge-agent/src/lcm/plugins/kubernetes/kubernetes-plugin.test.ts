import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { HostMetrics } from '@mecm/protocol'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type ClusterTarget, clusterTarget, realCluster } from '../../../testing/kube-api/target'
import { INSTANCE_LABEL, instanceNamespace } from './instance'
import { kubernetesPlugin } from './kubernetes-plugin'
import { NGINX_LOCATION, webPackage, webSpec } from './web-package'

const root = mkdtempSync(join(tmpdir(), 'mecm-k8s-'))
const packageRoot = webPackage(join(root, 'package'))
let target: ClusterTarget
let core: CoreV1Api
let apps: AppsV1Api
const plugin = kubernetesPlugin({
  kubeconfig: () => target.kubeconfig(),
  workDir: join(root, 'work'),
  log: createLogger('silent'),
  readyTimeoutMs: realCluster ? 180_000 : 5_000,
  pollMs: realCluster ? 1000 : 20,
})

beforeAll(async () => {
  target = await clusterTarget({ readyDelayMs: 30, namespaceDeletionMs: 300 })
  const config = new KubeConfig()
  config.loadFromString(target.kubeconfig())
  core = config.makeApiClient(CoreV1Api)
  apps = config.makeApiClient(AppsV1Api)
})
afterAll(async () => {
  await target.close()
  rmSync(root, { recursive: true, force: true })
})

const collect = async (lines: AsyncIterable<string>) => {
  const all: string[] = []
  for await (const line of lines) all.push(line)
  return all
}
const timeout = realCluster ? 300_000 : 30_000

describe('the kubernetes plugin', () => {
  it(
    'instantiates the web-k8s package in a namespace of its own: labelled, injected, images from the package, ready',
    async () => {
      const spec = webSpec(packageRoot)
      const id = spec.instance.appInstanceId
      const namespace = instanceNamespace(id)
      expect((await plugin.observe(id)).state).toBe('absent')
      await plugin.instantiate(spec)

      const ns = await core.readNamespace({ name: namespace })
      expect(ns.metadata?.labels?.[INSTANCE_LABEL]).toBe(id)
      const deployment = await apps.readNamespacedDeployment({ name: 'web', namespace })
      expect(deployment.metadata?.labels?.[INSTANCE_LABEL]).toBe(id)
      expect(deployment.status?.availableReplicas).toBe(2)
      const template = deployment.spec?.template
      expect(template?.metadata?.labels).toMatchObject({ app: 'web', [INSTANCE_LABEL]: id })
      const container = template?.spec?.containers[0]
      expect(container?.image).toBe(NGINX_LOCATION)
      const env = Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.secretKeyRef]))
      expect(env).toMatchObject({
        MECM_APP_INSTANCE_ID: id,
        MECM_MEP_ADDRESS: '192.0.2.10:8443',
        GREETING: 'hello',
        MECM_AK: { name: `mecm-credentials-${id}`, key: 'MECM_AK' },
        MECM_SK: { name: `mecm-credentials-${id}`, key: 'MECM_SK' },
      })
      const secret = await core.readNamespacedSecret({ name: `mecm-credentials-${id}`, namespace })
      expect(Buffer.from(secret.data?.MECM_SK ?? '', 'base64').toString()).toBe('sk-very-secret')
      expect(secret.metadata?.labels?.[INSTANCE_LABEL]).toBe(id)
      const service = await core.readNamespacedService({ name: 'web', namespace })
      expect(service.metadata?.labels?.[INSTANCE_LABEL]).toBe(id)
      const pods = await core.listNamespacedPod({ namespace, labelSelector: `${INSTANCE_LABEL}=${id}` })
      expect(pods.items).toHaveLength(2)
      expect(deployment.metadata?.managedFields?.some((f) => f.manager === 'mecm' && f.operation === 'Apply')).toBe(
        true,
      )

      // idempotent: instantiating again changes nothing
      await plugin.instantiate(spec)
      const again = await apps.readNamespacedDeployment({ name: 'web', namespace })
      expect(again.metadata?.resourceVersion).toBe(deployment.metadata?.resourceVersion)

      const seen = await plugin.observe(id)
      expect(seen).toMatchObject({ state: 'running', healthy: true, detail: '2 of 2 pods ready' })
      expect(seen.resources?.filter((r) => r.kind === 'Pod')).toEqual([
        expect.objectContaining({ status: 'Running', ready: true, restarts: 0 }),
        expect.objectContaining({ status: 'Running', ready: true, restarts: 0 }),
      ])
      expect(seen.resources?.find((r) => r.kind === 'Service')?.addresses).toEqual([
        `${service.spec?.clusterIP}:80/TCP`,
      ])
      expect(seen.events?.map((e) => e.reason)).toEqual(
        expect.arrayContaining(['ScalingReplicaSet', 'Scheduled', 'Started']),
      )

      await plugin.terminate(id)
      await expect(core.readNamespace({ name: namespace })).rejects.toMatchObject({ code: 404 })
      expect((await plugin.observe(id)).state).toBe('absent')
      await plugin.terminate(id) // absent: nothing to do
    },
    timeout,
  )

  it.skipIf(realCluster)(
    'reports restarts and streams logs: the last lines, then new ones until aborted (writing to a container log needs the test server)',
    async () => {
      const spec = webSpec(packageRoot)
      const id = spec.instance.appInstanceId
      const namespace = instanceNamespace(id)
      await plugin.instantiate(spec)
      const [first, second] = (await core.listNamespacedPod({ namespace })).items.map((p) => p.metadata?.name ?? '')
      const server = target.server
      if (!server || !first || !second) throw new Error('expected two pods on the test server')
      server.writeLog(namespace, first, 'GET / 200')
      server.crashPod(namespace, first)
      await vi.waitFor(async () =>
        expect((await plugin.observe(id)).resources?.find((r) => r.name === first)?.restarts).toBe(1),
      )
      expect((await plugin.observe(id)).events).toContainEqual(
        expect.objectContaining({ object: `Pod/${first}`, reason: 'BackOff', type: 'Warning' }),
      )

      const tail = await collect(plugin.logs(id, { tail: 1 }))
      expect(tail).toEqual(
        expect.arrayContaining([`[${first}/web] GET / 200`, `[${second}/web] web started in pod ${second}`]),
      )

      const abort = new AbortController()
      const followed: string[] = []
      const following = (async () => {
        for await (const line of plugin.logs(id, { tail: 0, follow: true, signal: abort.signal })) followed.push(line)
      })()
      await vi.waitFor(() => {
        server.writeLog(namespace, second, 'GET /healthz 200')
        expect(followed).toContain(`[${second}/web] GET /healthz 200`)
      })
      abort.abort()
      await following
      await plugin.terminate(id)
    },
    timeout,
  )

  it(
    'stops by scaling to 0 (remembering the replicas) and starts again',
    async () => {
      const spec = webSpec(packageRoot)
      const id = spec.instance.appInstanceId
      const namespace = instanceNamespace(id)
      await plugin.instantiate(spec)
      await plugin.stop(id)
      const stopped = await apps.readNamespacedDeployment({ name: 'web', namespace })
      expect(stopped.spec?.replicas).toBe(0)
      expect(stopped.metadata?.annotations?.['mecm.io/replicas']).toBe('2')
      expect((await core.listNamespacedPod({ namespace })).items).toHaveLength(0)
      expect(await plugin.observe(id)).toMatchObject({
        state: 'exited',
        detail: 'stopped: its workloads are scaled to 0',
      })
      await plugin.stop(id)

      await plugin.start(spec)
      const started = await apps.readNamespacedDeployment({ name: 'web', namespace })
      expect(started.spec?.replicas).toBe(2)
      expect(started.metadata?.annotations?.['mecm.io/replicas']).toBeUndefined()
      expect(await plugin.observe(id)).toMatchObject({ state: 'running', healthy: true })
      await plugin.terminate(id)
    },
    timeout,
  )

  it(
    'runs two instances of the same package side by side, and terminating one leaves the other',
    async () => {
      const one = webSpec(packageRoot)
      const two = webSpec(packageRoot)
      await Promise.all([plugin.instantiate(one), plugin.instantiate(two)])
      for (const spec of [one, two]) {
        const namespace = instanceNamespace(spec.instance.appInstanceId)
        const pods = await core.listNamespacedPod({ namespace })
        expect(pods.items.map((p) => p.metadata?.labels?.[INSTANCE_LABEL])).toEqual([
          spec.instance.appInstanceId,
          spec.instance.appInstanceId,
        ])
      }
      await plugin.terminate(one.instance.appInstanceId)
      expect(await plugin.observe(two.instance.appInstanceId)).toMatchObject({ state: 'running', healthy: true })
      await plugin.terminate(two.instance.appInstanceId)
    },
    timeout,
  )

  it(
    'waits for a namespace that takes time to delete, so that an instance can come back at once',
    async () => {
      const spec = webSpec(packageRoot)
      const id = spec.instance.appInstanceId
      await plugin.instantiate(spec)
      const terminated = plugin.terminate(id)
      await vi.waitFor(async () =>
        expect((await core.readNamespace({ name: instanceNamespace(id) })).status?.phase).toBe('Terminating'),
      )
      await terminated
      await expect(core.readNamespace({ name: instanceNamespace(id) })).rejects.toMatchObject({ code: 404 })
      await plugin.instantiate(spec)
      expect((await plugin.observe(id)).state).toBe('running')
      await plugin.terminate(id)
    },
    timeout,
  )

  it('reports the cluster capacity from node allocatable and use from the metrics API', async () => {
    const metrics = HostMetrics.parse(await plugin.kpi?.(3))
    expect(metrics.instances).toBe(3)
    expect(metrics.cpu.cores).toBeGreaterThanOrEqual(1)
    expect(metrics.cpu.usedPercent).toBeGreaterThan(0)
    expect(metrics.memory.usedBytes).toBeLessThan(metrics.memory.totalBytes)
    if (!realCluster) {
      // the test server's node: 3800m allocatable, 150m used by the system when no pod runs
      expect(metrics.cpu.cores).toBe(3)
      expect(metrics.cpu.usedPercent).toBeCloseTo((0.15 / 3.8) * 100, 5)
      expect(metrics.memory).toEqual({ totalBytes: 7734196 * 1024, usedBytes: 900 * 1024 * 1024 })
    }
  })

  it.skipIf(realCluster)(
    'without a metrics API, reports what the pods request as use, never the capacity (needs the test server to remove metrics-server)',
    async () => {
      target.server?.setMetricsServer(false)
      try {
        const root2 = webPackage(join(root, 'requests'), {
          'deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
        - name: web
          image: nginx:1.27-alpine
          resources: { requests: { cpu: 250m, memory: 64Mi, ephemeral-storage: 1Gi } }
`,
        })
        const spec = webSpec(root2)
        await plugin.instantiate(spec)
        const metrics = HostMetrics.parse(await plugin.kpi?.(1))
        expect(metrics.cpu.usedPercent).toBeCloseTo((0.5 / 3.8) * 100, 5)
        expect(metrics.memory.usedBytes).toBe(128 * 1024 * 1024)
        expect(metrics.disk.usedBytes).toBe(2 * 1024 ** 3)
        expect(metrics.disk.totalBytes).toBe(94635070922)
        await plugin.terminate(spec.instance.appInstanceId)
      } finally {
        target.server?.setMetricsServer(true)
      }
    },
    timeout,
  )
})
