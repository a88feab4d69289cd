import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { webPackageFile } from './lcm/plugins/kubernetes/web-package'
import { type TestFleet, testFleet } from './testing/fleet'
import { type KubeApiServer, kubeApiServer } from './testing/kube-api'
import { type OpenStackCloud, openStackCloud } from './testing/openstack-cloud'
import { vmPackage } from './testing/openstack-cloud/vm-package'

/**
 * The agent driving its Kubernetes or OpenStack plugin as the operator sees it: credentials
 * uploaded at the center, a package onboarded and deployed through /appo/v1, the live view, the
 * KPI and termination, against the test API servers.
 */
const SETTLE = { timeout: 30_000, interval: 50 }
let fleet: TestFleet
const dir = mkdtempSync(join(tmpdir(), 'mecm-plugins-'))

beforeAll(async () => {
  fleet = await testFleet('sqlite')
})
afterAll(async () => {
  await fleet.close()
  rmSync(dir, { recursive: true, force: true })
})

/** EdgeGallery's config upload: the file as multipart `file`. */
async function uploadConfig(ip: string, content: string) {
  const form = new FormData()
  form.set('file', new Blob([content]), 'config')
  const response = await fetch(`${fleet.t.center.url}${fleet.hostPath(ip)}/k8sconfig`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fleet.operator.token}` },
    body: form,
  })
  return { status: response.status, body: (await response.json()) as Record<string, string> }
}

/** Creates an instance of the package on the host and instantiates it; resolves to its id once it runs. */
async function deploy(appPackageId: string, ip: string, appName: string) {
  const created = await fleet.call('POST', fleet.appo('/app_instances'), {
    appPackageId,
    appName,
    appInstanceDescription: 'plugin test',
    mecHost: ip,
  })
  expect(created.status).toBe(202)
  expect(await fleet.settled(created.body.response.operationId, SETTLE)).toMatchObject({ operationState: 'COMPLETED' })
  const id = created.body.response.app_instance_id as string
  const instantiated = await fleet.call('POST', fleet.appo(`/app_instances/${id}`), { parameters: {} })
  expect(instantiated.status).toBe(202)
  expect(await fleet.settled(instantiated.body.response.operationId, SETTLE)).toMatchObject({
    operationState: 'COMPLETED',
  })
  return id
}

async function terminate(id: string) {
  const terminated = await fleet.call('DELETE', fleet.appo(`/app_instances/${id}`))
  expect(terminated.status).toBe(202)
  expect(await fleet.settled(terminated.body.response.operationId, SETTLE)).toMatchObject({
    operationState: 'COMPLETED',
  })
}

describe('an agent with the kubernetes plugin', () => {
  let kube: KubeApiServer
  beforeAll(async () => {
    kube = await kubeApiServer()
  })
  afterAll(() => kube.close())

  const namespaceOf = async (id: string) =>
    fetch(`${kube.url}/api/v1/namespaces/mecm-${id}`, {
      headers: { authorization: `Bearer ${kube.kubeconfig.match(/token: (\S+)/)?.[1]}` },
    })

  it('runs two instances of a package from the kubeconfig the center sent, reports them live, and removes them', async () => {
    const edge = await fleet.edge({ vim: 'kubernetes' })
    expect(await uploadConfig(edge.ip, kube.kubeconfig)).toEqual({
      status: 200,
      body: { hostIp: edge.ip, vim: 'kubernetes', configUploadStatus: 'Uploaded' },
    })
    const appPkgId = await fleet.onboard(await webPackageFile(join(dir, 'web-k8s.csar')), edge.ip)
    const [one, two] = [await deploy(appPkgId, edge.ip, 'web-one'), await deploy(appPkgId, edge.ip, 'web-two')]
    for (const id of [one, two]) expect((await namespaceOf(id as string)).status).toBe(200)

    // the agent's local view asks the plugin: the pods, the service, and the cluster's events
    const live = await edge.call('GET', `/mepm/v1/instances/${one}/live`)
    expect(live.status).toBe(200)
    expect(live.body.resources).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'Pod', ready: true }),
        expect.objectContaining({ kind: 'Service' }),
      ]),
    )
    // the center's KPI is the cluster's, not the agent's machine
    const kpi = await fleet.call('GET', fleet.appo(`/hosts/${edge.ip}/kpi`))
    expect(kpi.status).toBe(200)
    expect(kpi.body.response.cpu.cores).toBe(3)
    // no OpenStack here: the resource API says what it needs
    const flavors = await edge.call('GET', `/rescontroller/v1/tenants/t/hosts/${edge.ip}/flavors`)
    expect(flavors.status).toBe(404)
    expect(flavors.body.detail).toContain('openstack plugin')

    await terminate(one as string)
    expect((await namespaceOf(one as string)).status).toBe(404)
    expect((await namespaceOf(two as string)).status).toBe(200)
    await terminate(two as string)
  })

  it('fails an instantiate on a host without a kubeconfig, saying where to give one', async () => {
    const edge = await fleet.edge({ vim: 'kubernetes' })
    const appPkgId = await fleet.onboard(await webPackageFile(join(dir, 'web-k8s.csar')), edge.ip)
    const created = await fleet.call('POST', fleet.appo('/app_instances'), {
      appPackageId: appPkgId,
      appName: 'web-none',
      appInstanceDescription: 'no kubeconfig',
      mecHost: edge.ip,
    })
    await fleet.settled(created.body.response.operationId, SETTLE)
    const id = created.body.response.app_instance_id as string
    const instantiated = await fleet.call('POST', fleet.appo(`/app_instances/${id}`), { parameters: {} })
    const failed = await fleet.settled(instantiated.body.response.operationId, SETTLE)
    expect(failed.operationState).not.toBe('COMPLETED')
    expect(JSON.stringify(failed.error)).toContain('this host has no kubeconfig: upload one at the center')
  })
})

describe('an agent with the openstack plugin', () => {
  let cloud: OpenStackCloud
  const image = Buffer.from('QFI\xfb a small qcow2 for the agent')
  const files = createServer((_request, response) => response.end(image))
  beforeAll(async () => {
    cloud = await openStackCloud({ timings: { serverMs: 10, importMs: 10, stackStepMs: 2 } })
    await new Promise<void>((done) => files.listen(0, '127.0.0.1', done))
  })
  afterAll(async () => {
    await cloud.close()
    await new Promise((done) => files.close(done))
  })

  it('deploys a VM package as a Heat stack with the RC file uploaded at the center, serves the resource API, and deletes the stack', async () => {
    const edge = await fleet.edge({ vim: 'openstack' })
    expect((await uploadConfig(edge.ip, cloud.rcFile)).body.configUploadStatus).toBe('Uploaded')
    await vmPackage(dir, {
      name: 'edge-vm',
      imageUrl: `http://127.0.0.1:${(files.address() as AddressInfo).port}/edge-vm.qcow2`,
      checksum: createHash('sha512').update(image).digest('hex'),
    })
    const appPkgId = await fleet.onboard(join(dir, 'edge-vm.csar'), edge.ip)
    const id = await deploy(appPkgId, edge.ip, 'vm-one')
    expect(cloud.inventory().stacks).toEqual([{ name: `mecm-${id}`, status: 'CREATE_COMPLETE' }])

    const live = await edge.call('GET', `/mepm/v1/instances/${id}/live`)
    expect(live.body.resources).toEqual(
      expect.arrayContaining([expect.objectContaining({ kind: 'server', status: 'ACTIVE', ready: true })]),
    )
    const flavors = await edge.call('GET', `/rescontroller/v1/tenants/t/hosts/${edge.ip}/flavors`)
    expect(flavors.status).toBe(200)
    expect(flavors.body.data.length).toBeGreaterThan(0)
    const kpi = await fleet.call('GET', fleet.appo(`/hosts/${edge.ip}/kpi`))
    expect(kpi.body.response.cpu.usedPercent).toBeGreaterThan(0)

    await terminate(id)
    expect(cloud.inventory()).toMatchObject({ stacks: [], servers: [], ports: 0, volumes: 0 })
  })
})
