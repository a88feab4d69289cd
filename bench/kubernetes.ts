/**
 * Time to instantiate a 10-object manifest app (3 Deployments, 3 Services, 2 ConfigMaps, a
 * Secret, a ServiceAccount) with the kubernetes plugin against the Kubernetes API test server
 * (pods ready at once): discovery, server-side apply of every object plus the namespace and the
 * credentials Secret, and the readiness wait. Baseline, measured in the same run: the same 10
 * objects POSTed with client-node, without waiting for anything.
 *
 *   cd bench && npx tsx kubernetes.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node'
import { createLogger } from '@mecm/runtime'
import { kubernetesPlugin } from '../edge-agent/src/lcm/plugins/kubernetes/kubernetes-plugin'
import { parseManifests } from '../edge-agent/src/lcm/plugins/kubernetes/manifests'
import { webSpec } from '../edge-agent/src/lcm/plugins/kubernetes/web-package'
import { kubeApiServer } from '../edge-agent/src/testing/kube-api/index'
import { percentile } from './stats'

const RUNS = 20
const app = ['api', 'web', 'worker']
  .flatMap((name) => [
    `apiVersion: apps/v1
kind: Deployment
metadata: { name: ${name} }
spec:
  replicas: 1
  selector: { matchLabels: { app: ${name} } }
  template:
    metadata: { labels: { app: ${name} } }
    spec: { serviceAccountName: app, containers: [{ name: ${name}, image: "nginx:1.27-alpine", envFrom: [{ configMapRef: { name: settings } }] }] }`,
    `apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec: { selector: { app: ${name} }, ports: [{ port: 80 }] }`,
  ])
  .concat([
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\ndata: { LEVEL: info }',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: routes }\ndata: { routes.yaml: "/: web" }',
    'apiVersion: v1\nkind: Secret\nmetadata: { name: tls }\nstringData: { key: not-a-real-key }',
    'apiVersion: v1\nkind: ServiceAccount\nmetadata: { name: app }',
  ])
  .join('\n---\n')

const root = mkdtempSync(join(tmpdir(), 'mecm-bench-k8s-'))
const server = await kubeApiServer({ readyDelayMs: 0, namespaceDeletionMs: 0 })
try {
  const packageRoot = join(root, 'package')
  mkdirSync(join(packageRoot, 'Artifacts/Deployment/Kubernetes'), { recursive: true })
  writeFileSync(join(packageRoot, 'Artifacts/Deployment/Kubernetes/app.yaml'), app)
  const plugin = kubernetesPlugin({
    kubeconfig: () => server.kubeconfig,
    workDir: join(root, 'work'),
    log: createLogger('silent'),
    readyTimeoutMs: 30_000,
    pollMs: 5,
  })
  const config = new KubeConfig()
  config.loadFromString(server.kubeconfig)
  const objects = KubernetesObjectApi.makeApiClient(config)
  const manifests = parseManifests(app, 'app.yaml')

  const instantiate: number[] = []
  const post: number[] = []
  for (let run = 0; run < RUNS + 2; run++) {
    const spec = webSpec(packageRoot, undefined, ['app.yaml'])
    let started = performance.now()
    await plugin.instantiate(spec)
    const took = performance.now() - started
    await plugin.terminate(spec.instance.appInstanceId)

    const namespace = `baseline-${run}`
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    started = performance.now()
    for (const manifest of manifests)
      await objects.create({ ...manifest, metadata: { ...manifest.metadata, namespace } })
    const baseline = performance.now() - started
    await objects.delete({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } })
    // the first runs warm up discovery caches and the JIT
    if (run >= 2) {
      instantiate.push(took)
      post.push(baseline)
    }
  }
  instantiate.sort((a, b) => a - b)
  post.sort((a, b) => a - b)
  const p = (values: number[], at: number) => percentile(values, at).toFixed(1)
  console.log(
    `\nkubernetes plugin, 10-object manifest app, test API server on 127.0.0.1 (pods ready at once), ${RUNS} runs`,
  )
  console.log(`  instantiate (apply by SSA + wait ready)  p50 ${p(instantiate, 50)} ms  p99 ${p(instantiate, 99)} ms`)
  console.log(`  baseline: 10 POSTs with client-node       p50 ${p(post, 50)} ms  p99 ${p(post, 99)} ms`)
  console.log(
    `  ratio                                     p50 ${(percentile(instantiate, 50) / percentile(post, 50)).toFixed(1)}x  p99 ${(percentile(instantiate, 99) / percentile(post, 99)).toFixed(1)}x`,
  )
} finally {
  await server.close()
  rmSync(root, { recursive: true, force: true })
}
