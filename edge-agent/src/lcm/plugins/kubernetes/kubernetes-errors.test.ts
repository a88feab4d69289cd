import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type ClusterTarget, clusterTarget, realCluster } from '../../../testing/kube-api/target'
import type { RunSpec } from '../../plugin'
import { INSTANCE_LABEL, instanceNamespace } from './instance'
import { type KubernetesPluginOptions, kubernetesPlugin } from './kubernetes-plugin'
import { webPackage, webSpec } from './web-package'

const root = mkdtempSync(join(tmpdir(), 'mecm-k8s-errors-'))
const packageRoot = webPackage(join(root, 'package'))
let target: ClusterTarget
let core: CoreV1Api
let apps: AppsV1Api
const pluginWith = (options: Partial<KubernetesPluginOptions> = {}) =>
  kubernetesPlugin({
    kubeconfig: () => target.kubeconfig(),
    workDir: join(root, 'work'),
    log: createLogger('silent'),
    readyTimeoutMs: realCluster ? 180_000 : 3_000,
    pollMs: realCluster ? 1000 : 20,
    ...options,
  })
const plugin = pluginWith()

/** The test's own clients, for the kubeconfig in use now. */
function connect() {
  const config = new KubeConfig()
  config.loadFromString(target.kubeconfig())
  core = config.makeApiClient(CoreV1Api)
  apps = config.makeApiClient(AppsV1Api)
}

beforeAll(async () => {
  target = await clusterTarget({ readyDelayMs: 30, namespaceDeletionMs: 200 })
  connect()
})
afterAll(async () => {
  await target.close()
  rmSync(root, { recursive: true, force: true })
})

const timeout = realCluster ? 300_000 : 30_000
const server = () => {
  if (!target.server) throw new Error('this test needs the test API server')
  return target.server
}

/** Nothing of the instance is left: no namespace of its own, nothing labelled for it in `namespaces`. */
async function nothingLeftOf(id: string, namespaces: string[] = []) {
  await expect(core.readNamespace({ name: instanceNamespace(id) })).rejects.toMatchObject({ code: 404 })
  for (const namespace of namespaces) {
    const labelSelector = `${INSTANCE_LABEL}=${id}`
    expect((await core.listNamespacedPod({ namespace, labelSelector })).items).toEqual([])
    expect((await core.listNamespacedService({ namespace, labelSelector })).items).toEqual([])
    expect((await core.listNamespacedSecret({ namespace, labelSelector })).items).toEqual([])
    expect((await apps.listNamespacedDeployment({ namespace, labelSelector })).items).toEqual([])
  }
}

/** Starts an instantiate and resolves, once its Deployment is on the cluster (pods not ready yet), to how it ends. */
async function applied(spec: RunSpec) {
  const failed = plugin.instantiate(spec).then(
    () => new Error('instantiate succeeded'),
    (error: Error) => error,
  )
  const namespace = instanceNamespace(spec.instance.appInstanceId)
  await vi.waitFor(() => apps.readNamespacedDeployment({ name: 'web', namespace }), { timeout: 5000, interval: 10 })
  return { ending: failed }
}

describe('kubernetes plugin failures', () => {
  it('without a kubeconfig, says how to provide one', async () => {
    const unconfigured = pluginWith({ kubeconfig: () => undefined })
    const message =
      /no kubeconfig: upload one at the center \(POST \/inventory\/v1\/tenants\/\{tenantId\}\/mechosts\/\{hostIp\}\/k8sconfig\) or set MEPM_KUBECONFIG/
    await expect(unconfigured.instantiate(webSpec(packageRoot))).rejects.toThrow(message)
    await expect(unconfigured.observe('00000000-0000-4000-8000-000000000001')).rejects.toThrow(message)
  })

  it.skipIf(realCluster)(
    'an expired token (401) fails the operation saying so; what was applied is removed once a fresh kubeconfig arrives (needs the test server to expire its token)',
    async () => {
      const before = webSpec(packageRoot)
      server().expireToken()
      await expect(plugin.instantiate(before)).rejects.toThrow(
        /^Kubernetes API at http:\/\/127\.0\.0\.1:\d+: 401 Unauthorized while .*: the kubeconfig's credentials were rejected/,
      )
      // the center sends a new kubeconfig: the plugin uses it from its next call
      server().rotateToken()
      connect()
      await nothingLeftOf(before.instance.appInstanceId)

      // the token expires while the pods start: the clean-up cannot run either, and says so
      server().setReadyDelay(1000)
      const during = webSpec(packageRoot)
      const { ending } = await applied(during)
      server().expireToken()
      const error = await ending
      expect(error.message).toMatch(/401 Unauthorized while listing the .* of app instance/)
      expect(error.message).toMatch(/removing what was created failed too: .*401 Unauthorized/)
      server().rotateToken()
      connect()
      server().setReadyDelay(30)
      await plugin.terminate(during.instance.appInstanceId)
      await nothingLeftOf(during.instance.appInstanceId)
    },
    timeout,
  )

  it(
    'refuses a second instance of a package that names its namespace (409), leaving the first alone and nothing behind',
    async () => {
      const shop = `mecm-shop-${Date.now().toString(36)}`
      const named = webPackage(join(root, 'named'), {
        'deployment.yaml': readFileSync(
          join(packageRoot, 'Artifacts/Deployment/Kubernetes/deployment.yaml'),
          'utf8',
        ).replace('name: web', `name: web\n  namespace: ${shop}`),
        'service.yaml': readFileSync(join(packageRoot, 'Artifacts/Deployment/Kubernetes/service.yaml'), 'utf8').replace(
          'name: web',
          `name: web\n  namespace: ${shop}`,
        ),
      })
      const first = webSpec(named)
      const second = webSpec(named)
      await plugin.instantiate(first)
      const firstId = first.instance.appInstanceId
      expect(
        (await apps.readNamespacedDeployment({ name: 'web', namespace: shop })).metadata?.labels?.[INSTANCE_LABEL],
      ).toBe(firstId)
      await expect(plugin.instantiate(second)).rejects.toThrow(
        new RegExp(
          `409 Conflict while applying (deployments\\.apps|services) "web" in namespace ${shop}: it exists already and belongs to app instance ${firstId}`,
        ),
      )
      await nothingLeftOf(second.instance.appInstanceId, [shop])
      expect(await plugin.observe(firstId)).toMatchObject({ state: 'running', healthy: true })

      await plugin.terminate(firstId)
      await nothingLeftOf(firstId, [shop])
      // the package's namespace is shared by its instances: it stays
      expect((await core.readNamespace({ name: shop })).metadata?.name).toBe(shop)
      await core.deleteNamespace({ name: shop })
    },
    timeout,
  )

  it.skipIf(realCluster)(
    'a used-up quota (403) fails the instantiate, which removes what it had applied (needs the test server to set a quota)',
    async () => {
      server().setQuota('services', 0)
      const spec = webSpec(packageRoot)
      const id = spec.instance.appInstanceId
      try {
        await expect(plugin.instantiate(spec)).rejects.toThrow(
          new RegExp(
            `403 Forbidden while applying services "web" in namespace ${instanceNamespace(id)}: services "web" is forbidden: exceeded quota: mecm-test-quota, requested: services=1, used: services=0, limited: services=0`,
          ),
        )
      } finally {
        server().clearQuota()
      }
      await nothingLeftOf(id)
    },
    timeout,
  )

  it.skipIf(realCluster)(
    'an image that cannot be pulled times the readiness wait out with the reason, and nothing is left (needs the test server to fail pulls)',
    async () => {
      server().failImages(/nginx/)
      const spec = webSpec(packageRoot)
      const id = spec.instance.appInstanceId
      try {
        await expect(pluginWith({ readyTimeoutMs: 500 }).instantiate(spec)).rejects.toThrow(
          new RegExp(
            `app instance ${id} was not ready within 500 ms in namespace ${instanceNamespace(id)}: deployment web: 0 of 2 available; pod web-\\w+-\\w+: (ErrImagePull|ImagePullBackOff): `,
          ),
        )
      } finally {
        server().failImages(undefined)
      }
      await nothingLeftOf(id)
    },
    timeout,
  )

  it.skipIf(realCluster)(
    'an unreachable API fails with ECONNREFUSED; what was applied before it went away is removed by terminate once it is back (needs the test server to go away)',
    async () => {
      await server().unreachable()
      const spec = webSpec(packageRoot)
      await expect(plugin.instantiate(spec)).rejects.toThrow(
        /^Kubernetes API at http:\/\/127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\) while /,
      )
      await server().reachable()
      await nothingLeftOf(spec.instance.appInstanceId)

      server().setReadyDelay(1000)
      const during = webSpec(packageRoot)
      const { ending } = await applied(during)
      await server().unreachable()
      const error = await ending
      await server().reachable()
      server().setReadyDelay(30)
      expect(error.message).toMatch(
        /is unreachable \((ECONNREFUSED|ECONNRESET)\) while listing .*; removing what was created failed too: .*unreachable/,
      )
      await plugin.terminate(during.instance.appInstanceId)
      await nothingLeftOf(during.instance.appInstanceId)
    },
    timeout,
  )
})

describe('kubernetes plugin with Helm charts', () => {
  const chart = 'Artifacts/Deployment/Charts/web-0.1.0.tgz'
  const chartPackage = join(root, 'chart')
  mkdirSync(join(chartPackage, 'Artifacts/Deployment/Charts'), { recursive: true })
  writeFileSync(join(chartPackage, chart), 'a chart archive')
  const chartSpec = (): RunSpec => {
    const spec = webSpec(chartPackage)
    return { ...spec, artifacts: [{ kind: 'helm', path: chart }] }
  }
  const helmOnPath = (() => {
    try {
      execFileSync('sh', ['-c', 'command -v helm'], { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  })()

  it.skipIf(helmOnPath)(
    'without a helm binary, fails naming the chart and how to fix it, before touching the cluster (this host has no helm)',
    async () => {
      const spec = chartSpec()
      await expect(plugin.instantiate(spec)).rejects.toThrow(
        `the package's Helm chart ${chart} needs the helm binary, and this host has none ("helm" was not found): install Helm 3 on the host, or set MEPM_HELM to the path of its helm binary`,
      )
      await nothingLeftOf(spec.instance.appInstanceId)
    },
  )

  /**
   * A stand-in for helm (not installed here): a script that checks it is called as
   * `helm template <release> <chart file> --namespace <ns> --set-string …` and prints what a
   * chart whose objects are named after the release renders, so two releases never collide.
   */
  function helmStandIn(): { path: string; calls: string } {
    const path = join(root, 'helm')
    const calls = join(root, 'helm-calls')
    writeFileSync(
      path,
      `#!${process.execPath}
const fs = require('node:fs')
const [command, release, chart, ...rest] = process.argv.slice(2)
fs.appendFileSync(${JSON.stringify(calls)}, JSON.stringify(process.argv.slice(2)) + '\\n')
if (command !== 'template' || !fs.existsSync(chart) || rest[0] !== '--namespace') { console.error('usage: helm template RELEASE CHART --namespace NS'); process.exit(1) }
const values = Object.fromEntries(rest.filter((a, i) => rest[i - 1] === '--set-string').map((a) => a.split('=')))
if (values['mecm.appInstanceId'] === undefined || !release.endsWith(values['mecm.appInstanceId'])) { console.error('release is not per instance'); process.exit(1) }
console.log(\`---
apiVersion: apps/v1
kind: Deployment
metadata: { name: \${release}-web, labels: { app.kubernetes.io/instance: \${release} } }
spec:
  replicas: 1
  selector: { matchLabels: { app.kubernetes.io/instance: \${release} } }
  template:
    metadata: { labels: { app.kubernetes.io/instance: \${release} } }
    spec: { containers: [{ name: web, image: "nginx:1.27-alpine" }] }
---
apiVersion: v1
kind: Service
metadata: { name: \${release}-web }
spec: { selector: { app.kubernetes.io/instance: \${release} }, ports: [{ port: 80 }] }
\`)
`,
    )
    chmodSync(path, 0o755)
    return { path, calls }
  }

  it(
    'renders a chart with helm under a release name per instance, so two instances of one chart run side by side (helm stand-in)',
    async () => {
      const helm = helmStandIn()
      const withHelm = pluginWith({ helm: helm.path })
      const one = chartSpec()
      const two = chartSpec()
      await withHelm.instantiate(one)
      await withHelm.instantiate(two)
      for (const spec of [one, two]) {
        const id = spec.instance.appInstanceId
        const release = `mecm-${id}`
        const deployment = await apps.readNamespacedDeployment({
          name: `${release}-web`,
          namespace: instanceNamespace(id),
        })
        expect(deployment.metadata?.labels?.[INSTANCE_LABEL]).toBe(id)
        expect(deployment.spec?.template.spec?.containers[0]?.env?.map((e) => e.name)).toContain('MECM_AK')
      }
      const calls = readFileSync(helm.calls, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as string[])
      expect(calls[0]).toEqual([
        'template',
        `mecm-${one.instance.appInstanceId}`,
        join(chartPackage, chart),
        '--namespace',
        instanceNamespace(one.instance.appInstanceId),
        '--set-string',
        `mecm.appInstanceId=${one.instance.appInstanceId}`,
        '--set-string',
        `mecm.tenantId=${one.instance.tenantId}`,
        '--set-string',
        'mecm.mepAddress=192.0.2.10:8443',
        '--set-string',
        `mecm.credentialsSecret=mecm-credentials-${one.instance.appInstanceId}`,
      ])
      expect(JSON.stringify(calls)).not.toContain('sk-very-secret')
      await withHelm.terminate(one.instance.appInstanceId)
      await withHelm.terminate(two.instance.appInstanceId)
      await nothingLeftOf(one.instance.appInstanceId)
    },
    timeout,
  )
})
