import { PassThrough } from 'node:stream'
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  Log,
  Metrics,
  PatchStrategy,
  Watch,
} from '@kubernetes/client-node'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type KubeApiServer, kubeApiServer } from './index'

let server: KubeApiServer
let kc: KubeConfig
beforeAll(async () => {
  server = await kubeApiServer({ readyDelayMs: 20, namespaceDeletionMs: 150 })
  kc = new KubeConfig()
  kc.loadFromString(server.kubeconfig)
})
afterAll(() => server.close())

/** Plain HTTP against the server, with the token. */
async function api(path: string, init: RequestInit = {}) {
  const token = kc.getCurrentUser()?.token
  const response = await fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
  })
  const text = await response.text()
  return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text }
}

const deployment = (name: string, namespace: string, replicas = 1, image = 'nginx:1.27') => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image }] } },
  },
})

async function namespace(name: string) {
  await api('/api/v1/namespaces', { method: 'POST', body: JSON.stringify({ metadata: { name } }) })
}

describe('the Kubernetes API test server, over plain HTTP', () => {
  it('answers discovery as client-node expects it: API versions, groups, resource lists', async () => {
    expect((await api('/api')).body).toMatchObject({ kind: 'APIVersions', versions: ['v1'] })
    const groups = (await api('/apis')).body
    expect(groups.kind).toBe('APIGroupList')
    expect(groups.groups.map((g: { name: string }) => g.name)).toEqual(
      expect.arrayContaining(['apps', 'batch', 'networking.k8s.io', 'metrics.k8s.io']),
    )
    const apps = (await api('/apis/apps/v1')).body
    expect(apps).toMatchObject({ kind: 'APIResourceList', groupVersion: 'apps/v1' })
    expect(apps.resources).toContainEqual(
      expect.objectContaining({
        name: 'deployments',
        kind: 'Deployment',
        namespaced: true,
        verbs: expect.arrayContaining(['patch', 'watch']),
      }),
    )
    const core = (await api('/api/v1')).body
    expect(core.resources).toContainEqual(expect.objectContaining({ name: 'namespaces', namespaced: false }))
    expect(core.resources).toContainEqual(expect.objectContaining({ name: 'pods/log', kind: 'Pod' }))
    expect((await api('/apis/example.com/v1')).status).toBe(404)
  })

  it('refuses requests without the token, with a wrong one, and after the token expires', async () => {
    const anonymous = await fetch(`${server.url}/api/v1/namespaces`)
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 })
    expect((await api('/api', { headers: { authorization: 'Bearer nope' } })).status).toBe(401)
    server.expireToken()
    expect((await api('/api')).status).toBe(401)
    kc.loadFromString(server.rotateToken())
    expect((await api('/api')).status).toBe(200)
  })

  it('creates, reads and lists with resourceVersion and label selectors; AlreadyExists and NotFound as Status', async () => {
    await namespace('crud')
    const body = JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'a', labels: { tier: 'web' } },
      data: { k: 'v' },
    })
    const created = await api('/api/v1/namespaces/crud/configmaps', { method: 'POST', body })
    expect(created.status).toBe(201)
    expect(created.body.metadata).toMatchObject({
      name: 'a',
      namespace: 'crud',
      uid: expect.any(String),
      resourceVersion: expect.stringMatching(/^\d+$/),
    })
    const again = await api('/api/v1/namespaces/crud/configmaps', { method: 'POST', body })
    expect(again).toMatchObject({
      status: 409,
      body: {
        kind: 'Status',
        status: 'Failure',
        reason: 'AlreadyExists',
        message: 'configmaps "a" already exists',
        code: 409,
      },
    })
    await api('/api/v1/namespaces/crud/configmaps', {
      method: 'POST',
      body: JSON.stringify({ metadata: { name: 'b' } }),
    })
    const list = (await api('/api/v1/namespaces/crud/configmaps?labelSelector=tier%3Dweb')).body
    expect(list).toMatchObject({
      kind: 'ConfigMapList',
      apiVersion: 'v1',
      metadata: { resourceVersion: expect.any(String) },
    })
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(['a'])
    expect(list.items[0].kind).toBeUndefined()
    const missing = await api('/apis/apps/v1/namespaces/crud/deployments/web')
    expect(missing).toMatchObject({
      status: 404,
      body: {
        reason: 'NotFound',
        message: 'deployments.apps "web" not found',
        details: { name: 'web', group: 'apps', kind: 'deployments' },
      },
    })
    expect((await api('/api/v1/namespaces/nowhere/configmaps', { method: 'POST', body })).body.message).toBe(
      'namespaces "nowhere" not found',
    )
  })

  it('refuses an update with a stale resourceVersion (409 Conflict)', async () => {
    await namespace('put')
    const { body: first } = await api('/api/v1/namespaces/put/configmaps', {
      method: 'POST',
      body: JSON.stringify({ metadata: { name: 'c' }, data: { n: '1' } }),
    })
    const updated = await api('/api/v1/namespaces/put/configmaps/c', {
      method: 'PUT',
      body: JSON.stringify({ ...first, data: { n: '2' } }),
    })
    expect(updated.status).toBe(200)
    expect(Number(updated.body.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion))
    const stale = await api('/api/v1/namespaces/put/configmaps/c', {
      method: 'PUT',
      body: JSON.stringify({ ...first, data: { n: '3' } }),
    })
    expect(stale).toMatchObject({
      status: 409,
      body: {
        reason: 'Conflict',
        message:
          'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again',
      },
    })
  })

  it('server-side apply: creates when absent, needs a fieldManager, reports conflicts with the other manager unless forced', async () => {
    await namespace('ssa')
    const path = '/apis/apps/v1/namespaces/ssa/deployments/web'
    const apply = (manager: string | undefined, replicas: number, force = false) =>
      api(`${path}?${manager ? `fieldManager=${manager}&` : ''}force=${force}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/apply-patch+yaml' },
        body: `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec: {containers: [{name: web, image: nginx}]}\n`,
      })
    expect((await apply(undefined, 1)).status).toBe(422)
    const created = await apply('mecm', 1)
    expect(created.status).toBe(201)
    expect(created.body.metadata.managedFields[0]).toMatchObject({
      manager: 'mecm',
      operation: 'Apply',
      fieldsType: 'FieldsV1',
    })
    expect(created.body.metadata.managedFields[0].fieldsV1['f:spec']['f:replicas']).toEqual({})
    expect((await apply('mecm', 1)).status).toBe(200)
    const conflict = await apply('kubectl', 3)
    expect(conflict).toMatchObject({
      status: 409,
      body: {
        reason: 'Conflict',
        message: 'Apply failed with 1 conflict: conflict with "mecm" using apps/v1: .spec.replicas',
        details: { causes: [{ reason: 'FieldManagerConflict', field: '.spec.replicas' }] },
      },
    })
    const forced = await apply('kubectl', 3, true)
    expect(forced.body.spec.replicas).toBe(3)
    const merged = await api(path, {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ metadata: { annotations: { note: 'x' } } }),
    })
    expect(merged.body.metadata.annotations).toEqual({ note: 'x' })
    const jsonPatch = await api(path, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json-patch+json' },
      body: '[]',
    })
    expect(jsonPatch.status).toBe(415)
  })

  it('runs a deployment: replica set, pods Running and Ready, status and scaling', async () => {
    await namespace('run')
    await api('/apis/apps/v1/namespaces/run/deployments', {
      method: 'POST',
      body: JSON.stringify(deployment('web', 'run', 2)),
    })
    await vi.waitFor(async () => {
      const { body } = await api('/apis/apps/v1/namespaces/run/deployments/web')
      expect(body.status).toMatchObject({ availableReplicas: 2, observedGeneration: 1 })
      expect(body.status.conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }))
    })
    const pods = (await api('/api/v1/namespaces/run/pods?labelSelector=app%3Dweb')).body.items
    expect(pods).toHaveLength(2)
    expect(pods[0].status).toMatchObject({ phase: 'Running', containerStatuses: [{ ready: true, restartCount: 0 }] })
    expect(pods[0].metadata.ownerReferences[0]).toMatchObject({ kind: 'ReplicaSet', controller: true })
    const events = (await api('/api/v1/namespaces/run/events')).body.items.map((e: { reason: string }) => e.reason)
    expect(events).toEqual(
      expect.arrayContaining(['ScalingReplicaSet', 'SuccessfulCreate', 'Scheduled', 'Pulled', 'Created', 'Started']),
    )
    await api('/apis/apps/v1/namespaces/run/deployments/web', {
      method: 'PATCH',
      headers: { 'content-type': 'application/merge-patch+json' },
      body: JSON.stringify({ spec: { replicas: 0 } }),
    })
    await vi.waitFor(async () => expect((await api('/api/v1/namespaces/run/pods')).body.items).toHaveLength(0))
    const deleted = await api('/apis/apps/v1/namespaces/run/deployments/web', { method: 'DELETE' })
    expect(deleted.body).toMatchObject({
      kind: 'Status',
      status: 'Success',
      details: { name: 'web', group: 'apps', kind: 'deployments' },
    })
    await vi.waitFor(async () =>
      expect((await api('/apis/apps/v1/namespaces/run/replicasets')).body.items).toHaveLength(0),
    )
  })

  it('keeps a pod whose image cannot be pulled Pending, with ErrImagePull then ImagePullBackOff and Warning events', async () => {
    await namespace('pull')
    server.failImages(/^broken/)
    await api('/apis/apps/v1/namespaces/pull/deployments', {
      method: 'POST',
      body: JSON.stringify(deployment('bad', 'pull', 1, 'broken:1')),
    })
    await vi.waitFor(async () => {
      const [pod] = (await api('/api/v1/namespaces/pull/pods')).body.items
      expect(pod.status.phase).toBe('Pending')
      expect(pod.status.containerStatuses[0].state.waiting.reason).toBe('ImagePullBackOff')
    })
    const warnings = (await api('/api/v1/namespaces/pull/events?fieldSelector=type%3DWarning')).body.items
    expect(warnings.map((e: { message: string }) => e.message)).toContain('Error: ErrImagePull')
    server.failImages(undefined)
  })

  it('deletes a namespace slowly: Terminating, refusing new content with 403, then gone with its content', async () => {
    await namespace('slow')
    await api('/api/v1/namespaces/slow/configmaps', {
      method: 'POST',
      body: JSON.stringify({ metadata: { name: 'x' } }),
    })
    const terminating = await api('/api/v1/namespaces/slow', { method: 'DELETE' })
    expect(terminating.body).toMatchObject({ kind: 'Namespace', status: { phase: 'Terminating' } })
    const refused = await api('/api/v1/namespaces/slow/configmaps', {
      method: 'POST',
      body: JSON.stringify({ metadata: { name: 'y' } }),
    })
    expect(refused).toMatchObject({
      status: 403,
      body: {
        reason: 'Forbidden',
        message:
          'configmaps "y" is forbidden: unable to create new content in namespace slow because it is being terminated',
      },
    })
    await vi.waitFor(async () => expect((await api('/api/v1/namespaces/slow')).status).toBe(404))
    expect((await api('/api/v1/namespaces/slow/configmaps/x')).status).toBe(404)
  })

  it('refuses what a quota does not allow, as the ResourceQuota admission plugin does', async () => {
    await namespace('quota')
    server.setQuota('services', 0)
    const refused = await api('/api/v1/namespaces/quota/services', {
      method: 'POST',
      body: JSON.stringify({ metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } }),
    })
    expect(refused.status).toBe(403)
    expect(refused.body.message).toMatch(
      /^services "s" is forbidden: exceeded quota: mecm-test-quota, requested: services=1, used: services=0, limited: services=0$/,
    )
    server.clearQuota()
  })
})

describe('the Kubernetes API test server, with client-node', () => {
  it('maps kinds to resources through discovery and applies by server-side apply', async () => {
    const objects = KubernetesObjectApi.makeApiClient(kc)
    await objects.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'client' } })
    const applied = await objects.patch(
      deployment('api', 'client', 1),
      undefined,
      undefined,
      'mecm',
      true,
      PatchStrategy.ServerSideApply,
    )
    expect((applied.metadata as { uid?: string }).uid).toBeTruthy()
    const apps = kc.makeApiClient(AppsV1Api)
    await vi.waitFor(async () =>
      expect((await apps.readNamespacedDeployment({ name: 'api', namespace: 'client' })).status?.readyReplicas).toBe(1),
    )
    await expect(apps.readNamespacedDeployment({ name: 'nope', namespace: 'client' })).rejects.toMatchObject({
      code: 404,
    })
  })

  it('streams a watch from a resourceVersion', async () => {
    const core = kc.makeApiClient(CoreV1Api)
    const list = await core.listNamespacedConfigMap({ namespace: 'client' })
    const seen: string[] = []
    const watching = await new Watch(kc).watch(
      '/api/v1/namespaces/client/configmaps',
      { resourceVersion: list.metadata?.resourceVersion },
      (phase, object) => seen.push(`${phase} ${object.metadata.name}`),
      () => undefined,
    )
    await core.createNamespacedConfigMap({ namespace: 'client', body: { metadata: { name: 'w' } } })
    await core.deleteNamespacedConfigMap({ namespace: 'client', name: 'w' })
    await vi.waitFor(() => expect(seen).toEqual(['ADDED w', 'DELETED w']))
    watching.abort()
  })

  it('serves pod logs (tailLines, follow), restarts and the metrics API, which can be switched off', async () => {
    const core = kc.makeApiClient(CoreV1Api)
    const [pod] = (await core.listNamespacedPod({ namespace: 'client', labelSelector: 'app=api' })).items
    const name = pod?.metadata?.name ?? ''
    server.writeLog('client', name, 'one')
    server.writeLog('client', name, 'two')
    expect(await core.readNamespacedPodLog({ name, namespace: 'client', tailLines: 1 })).toBe('two\n')
    const stream = new PassThrough()
    let followed = ''
    stream.on('data', (chunk) => {
      followed += chunk
    })
    const following = await new Log(kc).log('client', name, 'main', stream, { follow: true, tailLines: 1 })
    server.writeLog('client', name, 'three')
    await vi.waitFor(() => expect(followed).toBe('two\nthree\n'))
    following.abort()

    server.crashPod('client', name)
    const restarted = await core.readNamespacedPod({ name, namespace: 'client' })
    expect(restarted.status?.containerStatuses?.[0]?.restartCount).toBe(1)

    const metrics = new Metrics(kc)
    const nodes = await metrics.getNodeMetrics()
    expect(nodes.items[0]?.usage.cpu).toMatch(/^\d+n$/)
    expect((await metrics.getPodMetrics('client')).items.map((p) => p.metadata.name)).toContain(name)
    server.setMetricsServer(false)
    await expect(metrics.getNodeMetrics()).rejects.toMatchObject({ code: 404 })
    server.setMetricsServer(true)
  })

  it('becomes unreachable and reachable again on the same address', async () => {
    const core = kc.makeApiClient(CoreV1Api)
    await server.unreachable()
    await expect(core.listNamespace()).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await server.reachable()
    expect((await core.listNamespace()).items.length).toBeGreaterThan(0)
  })
})
