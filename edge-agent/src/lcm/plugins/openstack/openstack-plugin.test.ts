import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { HostMetrics } from '@mecm/protocol'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { openStackCloud } from '../../../testing/openstack-cloud'
import { type OpenStackTarget, openStackTarget, realCloud } from '../../../testing/openstack-cloud/target'
import { vmPackage } from '../../../testing/openstack-cloud/vm-package'
import type { RunSpec } from '../../plugin'
import { openstackPlugin, stackName } from './openstack-plugin'

const log = createLogger('silent')
const dir = mkdtempSync(join(tmpdir(), 'mecm-openstack-'))
const image = Buffer.from('QFI\xfb a small qcow2 for tests')
let downloads = 0
const files = createServer((request, response) => {
  if (request.url?.endsWith('.qcow2') && !request.url.includes('missing')) {
    downloads++
    response.end(image)
  } else response.writeHead(404).end()
})
const TEST_CLOUD_ONLY = 'fault injection needs the test cloud; a real cloud cannot be made to fail on cue'

let target: OpenStackTarget
let imageBase: string
let edgeVm: (id?: string) => RunSpec

const plugin = (config: () => string | undefined = () => target.config, stackTimeoutMs = 10_000) =>
  openstackPlugin({ config, log, stackTimeoutMs, pollMs: realCloud ? 2000 : 10 })

const until = (probe: () => boolean | Promise<boolean>) =>
  vi.waitFor(
    async () => {
      if (!(await probe())) throw new Error('the condition never held')
    },
    { timeout: 10_000, interval: 5 },
  )

const collect = async (lines: AsyncIterable<string>) => {
  const all: string[] = []
  for await (const line of lines) all.push(line)
  return all
}

beforeAll(async () => {
  await new Promise<void>((done) => files.listen(0, '127.0.0.1', done))
  imageBase = process.env.MECM_TEST_IMAGE_BASE ?? `http://127.0.0.1:${(files.address() as AddressInfo).port}`
  target = await openStackTarget({ quota: { cores: 8 } })
  edgeVm = await vmPackage(dir, {
    name: 'edge-vm',
    imageUrl: `${imageBase}/edge-vm.qcow2`,
    checksum: createHash('sha512').update(image).digest('hex'),
  })
})
afterAll(async () => {
  await target.close()
  files.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('the openstack plugin', () => {
  const os = plugin()
  const first = () => edgeVm('00000000-0000-4000-8000-00000000000a')
  const second = () => edgeVm('00000000-0000-4000-8000-00000000000b')
  afterAll(() => os.close())

  it('instantiates a VM package as a Heat stack from its APPD, importing its image by web-download', async () => {
    const spec = first()
    await os.instantiate(spec)
    const seen = await os.observe(spec.instance.appInstanceId, spec)
    expect(seen).toMatchObject({ state: 'running', healthy: true })
    const server = seen.resources?.find((resource) => resource.kind === 'server')
    expect(server).toMatchObject({
      status: 'ACTIVE',
      ready: true,
      addresses: [expect.stringMatching(/^10\.30\.0\.\d+$/)],
    })
    expect(seen.resources?.map((resource) => resource.kind)).toEqual(
      expect.arrayContaining([
        'stack',
        'OS::Nova::Flavor',
        'OS::Neutron::Port',
        'OS::Neutron::Net',
        'OS::Cinder::Volume',
      ]),
    )
    expect(seen.events?.at(-1)).toMatchObject({ reason: 'CREATE_COMPLETE', type: 'Normal' })

    const client = await os.cloud()
    const stack = await client.heat.find(stackName(spec.instance.appInstanceId))
    expect(stack?.outputs).toContainEqual(
      expect.objectContaining({
        output_key: 'VDU1_addresses',
        output_value: { [`${stackName(spec.instance.appInstanceId)}-mec_net`]: server?.addresses },
      }),
    )
    const cloud = target.cloud
    if (!cloud) return
    expect(downloads).toBe(1)
    const vm = [...cloud.state.servers.values()][0]
    expect(cloud.state.flavors.get(vm?.flavorId ?? '')).toMatchObject({ vcpus: 2, ram: 2048, disk: 10 })
    expect(vm?.userData).toContain("export MECM_AK='QUtfZm9yX3Rlc3Rz'")
    expect(vm?.userData).toContain("export mep_ip='192.0.2.10:8443'")
    expect(vm?.userData).toContain('echo "mep=$mep_ip" > /etc/mec-app.conf')
    expect([...cloud.state.volumes.values()]).toEqual([
      expect.objectContaining({ size: 1, status: 'in-use', attachedTo: vm?.id }),
    ])
    const rules = [...cloud.state.rules.values()].filter((rule) => rule.direction === 'ingress')
    expect(rules).toEqual([expect.objectContaining({ protocol: 'tcp', port_range_min: 80, port_range_max: 80 })])
    // the stack's parameters hide the instance's secrets
    expect([...cloud.state.stacks.values()][0]?.template).not.toHaveProperty(
      'resources.VDU1.properties.user_data',
      expect.stringContaining('QUtf'),
    )
  })

  it('runs a second instance of the same package beside it, reusing the image by its checksum', async () => {
    await os.instantiate(second())
    const client = await os.cloud()
    const images = await client.glance.list({ name: 'edge-vm-image' })
    expect(images).toHaveLength(1)
    for (const spec of [first(), second()])
      expect(await os.observe(spec.instance.appInstanceId)).toMatchObject({ state: 'running', healthy: true })
    if (target.cloud) {
      expect(downloads).toBe(1)
      expect(target.cloud.inventory().servers).toHaveLength(2)
    }
  })

  it('adopts the stack an instance has already: instantiating again changes nothing', async () => {
    const client = await os.cloud()
    const before = await client.heat.find(stackName(first().instance.appInstanceId))
    await os.instantiate(first())
    expect((await client.heat.find(stackName(first().instance.appInstanceId)))?.id).toBe(before?.id)
  })

  it("reads the servers' console: the last lines, then new ones while following", async () => {
    const id = first().instance.appInstanceId
    const last = await collect(os.logs(id, { tail: 1 }))
    expect(last).toEqual([expect.stringMatching(/login:$/)])
    const cloud = target.cloud
    if (!cloud) return
    const abort = new AbortController()
    const lines: string[] = []
    const following = (async () => {
      for await (const line of os.logs(id, { tail: 1, follow: true, signal: abort.signal })) {
        lines.push(line)
        if (line === 'app: ready') abort.abort()
      }
    })()
    await until(() => lines.length === 1)
    const server = [...cloud.state.servers.values()].find((item) => item.name.startsWith(stackName(id)))
    cloud.printOnConsole(server?.id ?? '', 'app: ready')
    await following
    expect(lines).toEqual([expect.stringMatching(/login:$/), 'app: ready'])
  })

  it('stops and starts the servers of an instance', async () => {
    const spec = first()
    const id = spec.instance.appInstanceId
    await os.stop(id)
    const stopped = await os.observe(id)
    expect(stopped).toMatchObject({ state: 'exited', detail: expect.stringContaining('SHUTOFF') })
    await os.stop(id)
    await os.start(spec)
    expect(await os.observe(id)).toMatchObject({ state: 'running', healthy: true })
  })

  it("reports the project's quota and use as KPI, never use as capacity", async () => {
    const kpi = HostMetrics.parse(await os.kpi(2))
    expect(kpi.instances).toBe(2)
    if (!target.cloud) return
    expect(kpi.cpu).toEqual({ cores: 8, usedPercent: 50 })
    expect(kpi.memory).toEqual({ totalBytes: 51200 * 1024 ** 2, usedBytes: 4096 * 1024 ** 2 })
    expect(kpi.disk).toEqual({ totalBytes: 1000 * 1024 ** 3, usedBytes: 2 * 1024 ** 3 })
  })

  it('terminates both instances: their stacks go, and terminating again is fine', async () => {
    for (const spec of [first(), second()]) {
      await os.terminate(spec.instance.appInstanceId)
      await os.terminate(spec.instance.appInstanceId)
      expect(await os.observe(spec.instance.appInstanceId)).toMatchObject({ state: 'absent' })
    }
    if (target.cloud)
      expect(target.cloud.inventory()).toMatchObject({ stacks: [], servers: [], networks: [], ports: 0, volumes: 0 })
  })
})

// the tests skipped on a real cloud (skipIf(realCloud)) are skipped for the reason TEST_CLOUD_ONLY gives
describe('the openstack plugin when things go wrong', () => {
  const cloud = () => {
    if (!target.cloud) throw new Error(TEST_CLOUD_ONLY)
    return target.cloud
  }
  /** Nothing of the instance is left: no stack, server, network, volume or flavor. */
  const nothingLeft = () =>
    expect(cloud().inventory()).toMatchObject({
      stacks: [],
      servers: [],
      networks: [],
      ports: 0,
      volumes: 0,
      flavors: [],
    })

  it('says how to give credentials when there are none', async () => {
    const none = plugin(() => undefined)
    await expect(none.instantiate(edgeVm())).rejects.toThrow(
      /no OpenStack credentials for this host: upload .* \(PUT \/inventory\/v1\/tenants\/\{tenantId\}\/mechosts\/\{hostIp\}\/plugins\/openstack.*OS_\* variables, or MEPM_OPENSTACK_CONFIG/,
    )
  })

  it.skipIf(realCloud)('takes a new token when the one in use expires mid-operation', async () => {
    const os = plugin()
    const spec = edgeVm()
    const instantiated = os.instantiate(spec)
    await until(() => cloud().state.stacks.size === 1)
    const issued = cloud().tokensIssued()
    cloud().expireTokens()
    await instantiated
    expect(cloud().tokensIssued()).toBeGreaterThan(issued)
    await os.terminate(spec.instance.appInstanceId)
    nothingLeft()
    await os.close()
  })

  it.skipIf(realCloud)('fails clearly once its application credential is revoked', async () => {
    const revocable = await openStackCloud({ auth: 'application-credential' })
    const os = plugin(() => revocable.config)
    expect((await os.kpi(0))?.cpu.cores).toBe(20)
    revocable.revokeApplicationCredential()
    await expect(os.kpi(0)).rejects.toThrow(
      /^Keystone at http:\/\/127\.0\.0\.1:\d+\/identity: 401 The request you have made requires authentication\. \(POST \/v3\/auth\/tokens\): Keystone refused application credential \w+ \(expired, revoked or deleted\?\)$/,
    )
    await os.close()
    await revocable.close()
  })

  it.skipIf(realCloud)('removes the failed stack when a quota is exceeded, naming the quota', async () => {
    const os = plugin()
    cloud().setQuota({ cores: 1 })
    try {
      await expect(os.instantiate(edgeVm())).rejects.toThrow(
        /stack mecm-[\w-]+ is CREATE_FAILED: Resource CREATE failed: Forbidden: resources\.VDU1: Quota exceeded for cores: Requested 2, but already used 0 of 1 cores.*; removed what it made/,
      )
    } finally {
      cloud().setQuota({ cores: 8 })
    }
    nothingLeft()
    await os.close()
  })

  it.each(['killed', 'import-failed'] as const)('deletes an image that ends %s, and makes no stack', async (fault) => {
    if (realCloud) return
    const os = plugin()
    const broken = await vmPackage(dir, { name: `broken-${fault}`, imageUrl: `${imageBase}/broken-${fault}.qcow2` })
    cloud().faults.images = fault
    try {
      await expect(os.instantiate(broken())).rejects.toThrow(
        fault === 'killed'
          ? /image broken-killed-image \([\w-]+\) from .* ended killed/
          : /web-download import failed in store file \(os_glance_failed_import\)/,
      )
    } finally {
      cloud().faults.images = false
    }
    nothingLeft()
    expect(
      cloud()
        .inventory()
        .images.map((item) => item.name),
    ).not.toContain(`broken-${fault}-image`)
    await os.close()
  })

  it.skipIf(realCloud)('gives up on a stack that does not complete in time, and deletes it', async () => {
    const os = plugin(undefined, 300)
    cloud().faults.serversStuckInBuild = true
    try {
      await expect(os.instantiate(edgeVm())).rejects.toThrow(
        /Heat: stack mecm-[\w-]+ is still CREATE_IN_PROGRESS after 300 ms \(timed out waiting\)/,
      )
    } finally {
      cloud().faults.serversStuckInBuild = false
    }
    nothingLeft()
    await os.close()
  })

  it.skipIf(realCloud)('says which API it cannot reach', async () => {
    const os = plugin()
    await cloud().setReachable(false)
    try {
      await expect(os.instantiate(edgeVm())).rejects.toThrow(
        /^Keystone at http:\/\/127\.0\.0\.1:\d+\/identity: unreachable \(ECONNREFUSED\) \(POST \/v3\/auth\/tokens\)$/,
      )
    } finally {
      await cloud().setReachable(true)
    }
    nothingLeft()
    await os.close()
  })

  it.skipIf(realCloud)(
    "adopts a stack Heat says exists (409), and reports Heat's and Neutron's conflicts",
    async () => {
      const os = plugin()
      const spec = edgeVm()
      await os.instantiate(spec)
      const client = await os.cloud()
      const stack = await client.heat.find(stackName(spec.instance.appInstanceId))
      await expect(
        client.heat.create(stackName(spec.instance.appInstanceId), { heat_template_version: '2018-08-31' }, {}, 1),
      ).rejects.toThrow(/^Heat at http:\/\/.*: 409 The Stack \(mecm-[\w-]+\) already exists\. \(POST \/stacks\)$/)
      await os.instantiate(spec)
      expect((await client.heat.find(stackName(spec.instance.appInstanceId)))?.id).toBe(stack?.id)

      const group = await client.neutron.securityGroups.create({ name: 'conflict' })
      const rule = {
        security_group_id: group.id,
        direction: 'ingress',
        protocol: 'udp',
        port_range_min: 53,
        port_range_max: 53,
      }
      await client.neutron.rules.create(rule)
      await expect(client.neutron.rules.create(rule)).rejects.toMatchObject({
        status: 409,
        type: 'SecurityGroupRuleExists',
        message: expect.stringMatching(
          /^Neutron at http:\/\/.*\/networking: 409 Security group rule already exists\. Rule id is [\w-]+\. \(POST \/v2\.0\/security-group-rules\)$/,
        ),
      })
      await client.neutron.securityGroups.delete(group.id)
      await os.terminate(spec.instance.appInstanceId)
      nothingLeft()
      await os.close()
    },
  )

  it.skipIf(realCloud)('takes credentials as an OpenStack RC file, as EdgeGallery uploads them', async () => {
    const os = plugin(() => cloud().rcFile)
    expect((await os.kpi(0))?.cpu.cores).toBe(8)
    await os.close()
  })
})
