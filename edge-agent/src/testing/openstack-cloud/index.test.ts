import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type OpenStackCloud, openStackCloud } from './index'

let cloud: OpenStackCloud
let base: string
const data = Buffer.from('a disk image, small for tests')
const files = createServer((request, response) => {
  if (request.url === '/disk.qcow2') response.end(data)
  else response.writeHead(404).end()
})

beforeAll(async () => {
  cloud = await openStackCloud({ quota: { cores: 2 } })
  base = cloud.authUrl.replace('/identity/v3', '')
  await new Promise<void>((done) => files.listen(0, '127.0.0.1', done))
})
afterAll(async () => {
  await cloud.close()
  files.close()
})

const password = (secret = 'secret-password') => ({
  auth: {
    identity: {
      methods: ['password'],
      password: { user: { name: 'mecm', domain: { name: 'Default' }, password: secret } },
    },
    scope: { project: { name: 'edge', domain: { name: 'Default' } } },
  },
})

async function token(): Promise<string> {
  const response = await fetch(`${base}/identity/v3/auth/tokens`, { method: 'POST', body: JSON.stringify(password()) })
  return response.headers.get('x-subject-token') as string
}

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    redirect: 'manual',
    headers: { 'x-auth-token': await token(), 'content-type': 'application/json', ...headers },
    ...(body === undefined
      ? {}
      : { body: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
  })
  const text = await response.text()
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
}

const until = <T>(probe: () => Promise<T>, done: (value: T) => boolean): Promise<T> =>
  vi.waitFor(
    async () => {
      const value = await probe()
      if (!done(value)) throw new Error('never settled')
      return value
    },
    { timeout: 5000, interval: 10 },
  )

async function activeImage(): Promise<string> {
  const created = await api('POST', '/image/v2/images', {
    name: 'cirros',
    disk_format: 'qcow2',
    container_format: 'bare',
  })
  await api('PUT', `/image/v2/images/${created.body.id}/file`, data, { 'content-type': 'application/octet-stream' })
  return created.body.id
}

describe('the OpenStack test cloud', () => {
  it('issues Keystone tokens: 201, X-Subject-Token, expiry and a catalog per interface and region', async () => {
    const response = await fetch(`${base}/identity/v3/auth/tokens`, {
      method: 'POST',
      body: JSON.stringify(password()),
    })
    expect(response.status).toBe(201)
    expect(response.headers.get('x-subject-token')).toBeTruthy()
    const { token: body } = (await response.json()) as { token: Record<string, unknown> }
    expect(Date.parse(String(body.expires_at))).toBeGreaterThan(Date.now())
    expect(body.catalog).toContainEqual(
      expect.objectContaining({
        type: 'orchestration',
        endpoints: expect.arrayContaining([expect.objectContaining({ interface: 'public', region: 'RegionOne' })]),
      }),
    )
  })

  it("refuses wrong credentials, a missing token and an expired one with Keystone's 401", async () => {
    const wrong = await fetch(`${base}/identity/v3/auth/tokens`, {
      method: 'POST',
      body: JSON.stringify(password('nope')),
    })
    expect(wrong.status).toBe(401)
    expect(await wrong.json()).toEqual({
      error: { code: 401, message: 'The request you have made requires authentication.', title: 'Unauthorized' },
    })
    expect((await fetch(`${base}/compute/v2.1/servers`)).status).toBe(401)
    const held = await token()
    cloud.expireTokens()
    const expired = await fetch(`${base}/compute/v2.1/servers`, { headers: { 'x-auth-token': held } })
    expect(expired.status).toBe(401)
    expect(expired.headers.get('www-authenticate')).toMatch(/^Keystone uri=/)
  })

  it('stores uploaded image data with its md5 checksum and sha512 multihash, then filters by them', async () => {
    const id = await activeImage()
    const image = (await api('GET', `/image/v2/images/${id}`)).body
    expect(image).toMatchObject({
      status: 'active',
      size: data.length,
      checksum: createHash('md5').update(data).digest('hex'),
      os_hash_algo: 'sha512',
      os_hash_value: createHash('sha512').update(data).digest('hex'),
    })
    const found = await api('GET', `/image/v2/images?os_hash_value=${image.os_hash_value}&status=active`)
    expect(found.body.images.map((item: { id: string }) => item.id)).toContain(id)
    const again = await api('PUT', `/image/v2/images/${id}/file`, data, { 'content-type': 'application/octet-stream' })
    expect(again.status).toBe(409)
  })

  it('imports by web-download asynchronously, and records a failed import as Glance does', async () => {
    expect((await api('GET', '/image/v2/info/import')).body['import-methods'].value).toContain('web-download')
    const port = (files.address() as AddressInfo).port
    const created = await api('POST', '/image/v2/images', {
      name: 'web',
      disk_format: 'qcow2',
      container_format: 'bare',
    })
    const accepted = await api('POST', `/image/v2/images/${created.body.id}/import`, {
      method: { name: 'web-download', uri: `http://127.0.0.1:${port}/disk.qcow2` },
    })
    expect(accepted.status).toBe(202)
    expect((await api('GET', `/image/v2/images/${created.body.id}`)).body.status).toBe('importing')
    await until(
      () => api('GET', `/image/v2/images/${created.body.id}`),
      (reply) => reply.body.status === 'active',
    )
    const broken = await api('POST', '/image/v2/images', {
      name: 'gone',
      disk_format: 'qcow2',
      container_format: 'bare',
    })
    await api('POST', `/image/v2/images/${broken.body.id}/import`, {
      method: { name: 'web-download', uri: `http://127.0.0.1:${port}/missing.qcow2` },
    })
    const failed = await until(
      () => api('GET', `/image/v2/images/${broken.body.id}`),
      (reply) => reply.body.status !== 'importing',
    )
    expect(failed.body).toMatchObject({
      status: 'queued',
      os_glance_failed_import: 'file',
      os_glance_importing_to_stores: '',
    })
  })

  it("answers Nova's quota error, builds servers asynchronously and refuses actions the state does not allow", async () => {
    const image = await activeImage()
    const big = (await api('POST', '/compute/v2.1/flavors', { flavor: { name: 'big', vcpus: 4, ram: 512, disk: 1 } }))
      .body.flavor
    const refused = await api('POST', '/compute/v2.1/servers', {
      server: { name: 'vm', flavorRef: big.id, imageRef: image },
    })
    expect(refused).toMatchObject({
      status: 403,
      body: {
        forbidden: { code: 403, message: 'Quota exceeded for cores: Requested 4, but already used 0 of 2 cores' },
      },
    })
    const small = (
      await api('POST', '/compute/v2.1/flavors', { flavor: { name: 'small', vcpus: 1, ram: 256, disk: 1 } })
    ).body.flavor
    const created = await api('POST', '/compute/v2.1/servers', {
      server: { name: 'vm', flavorRef: small.id, imageRef: image },
    })
    expect(created.status).toBe(202)
    const id = created.body.server.id
    expect((await api('GET', `/compute/v2.1/servers/${id}`)).body.server.status).toBe('BUILD')
    await until(
      () => api('GET', `/compute/v2.1/servers/${id}`),
      (reply) => reply.body.server.status === 'ACTIVE',
    )
    const start = await api('POST', `/compute/v2.1/servers/${id}/action`, { 'os-start': null })
    expect(start).toMatchObject({
      status: 409,
      body: { conflictingRequest: { message: `Cannot 'start' instance ${id} while it is in vm_state active` } },
    })
    expect((await api('POST', `/compute/v2.1/servers/${id}/action`, { 'os-stop': null })).status).toBe(202)
    const stopped = await until(
      () => api('GET', `/compute/v2.1/servers/${id}`),
      (reply) => reply.body.server.status === 'SHUTOFF',
    )
    expect(stopped.body.server['OS-EXT-STS:power_state']).toBe(4)
    const console = await api('POST', `/compute/v2.1/servers/${id}/action`, { 'os-getConsoleOutput': { length: 1 } })
    expect(console.body.output).toBe('reboot: Power down\n')
    const limits = (await api('GET', '/compute/v2.1/limits')).body.limits.absolute
    expect(limits).toMatchObject({ maxTotalCores: 2, totalCoresUsed: 1, totalRAMUsed: 256 })
    expect((await api('DELETE', `/compute/v2.1/servers/${id}`)).status).toBe(204)
  })

  it("answers Neutron's 409 for a duplicate security group rule", async () => {
    const group = (await api('POST', '/networking/v2.0/security-groups', { security_group: { name: 'web' } })).body
      .security_group
    expect(group.security_group_rules).toHaveLength(2)
    const rule = {
      security_group_id: group.id,
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 80,
      port_range_max: 80,
    }
    const first = await api('POST', '/networking/v2.0/security-group-rules', { security_group_rule: rule })
    expect(first.status).toBe(201)
    const twice = await api('POST', '/networking/v2.0/security-group-rules', { security_group_rule: rule })
    expect(twice).toMatchObject({
      status: 409,
      body: {
        NeutronError: {
          type: 'SecurityGroupRuleExists',
          message: `Security group rule already exists. Rule id is ${first.body.security_group_rule.id}.`,
        },
      },
    })
  })

  it('runs a Heat stack: 302 by name, resources in Nova and Neutron, outputs, events, then delete', async () => {
    const image = await activeImage()
    const template = `
heat_template_version: 2018-08-31
parameters:
  greeting: {type: string, hidden: true}
resources:
  net: {type: OS::Neutron::Net}
  subnet: {type: OS::Neutron::Subnet, properties: {network: {get_resource: net}, cidr: 10.9.0.0/24}}
  port: {type: OS::Neutron::Port, properties: {network: {get_resource: net}, fixed_ips: [{subnet: {get_resource: subnet}}]}}
  flavor: {type: OS::Nova::Flavor, properties: {vcpus: 1, ram: 128, disk: 1}}
  server:
    type: OS::Nova::Server
    properties:
      flavor: {get_resource: flavor}
      image: ${image}
      networks: [{port: {get_resource: port}}]
      user_data: {str_replace: {template: 'echo $g', params: {$g: {get_param: greeting}}}}
outputs:
  ip: {value: {get_attr: [server, first_address]}}
`
    const created = await api('POST', `/heat-api/v1/${cloud.state.projectId}/stacks`, {
      stack_name: 'demo',
      template,
      parameters: { greeting: 'hello' },
    })
    expect(created.status).toBe(201)
    const found = await api('GET', `/heat-api/v1/${cloud.state.projectId}/stacks/demo`)
    expect(found.status).toBe(302)
    const path = new URL(found.headers.get('location') as string).pathname
    const done = await until(
      () => api('GET', path),
      (reply) => reply.body.stack.stack_status !== 'CREATE_IN_PROGRESS',
    )
    expect(done.body.stack).toMatchObject({
      stack_status: 'CREATE_COMPLETE',
      outputs: [{ output_key: 'ip', output_value: '10.9.0.2' }],
      parameters: { greeting: '******' },
    })
    const server = [...cloud.state.servers.values()].find((item) => item.name.startsWith('demo-server'))
    expect(server?.userData).toBe('echo hello')
    const events = (await api('GET', `${path}/events`)).body.events
    expect(events.at(-1)).toMatchObject({ resource_name: 'demo', resource_status: 'CREATE_COMPLETE' })
    const conflict = await api('POST', `/heat-api/v1/${cloud.state.projectId}/stacks`, { stack_name: 'demo', template })
    expect(conflict).toMatchObject({
      status: 409,
      body: { error: { type: 'StackExists', message: 'The Stack (demo) already exists.' } },
    })
    expect((await api('DELETE', path)).status).toBe(204)
    await until(
      () => api('GET', path),
      (reply) => reply.body.stack.stack_status === 'DELETE_COMPLETE',
    )
    expect((await api('GET', `/heat-api/v1/${cloud.state.projectId}/stacks/demo`)).status).toBe(404)
    expect(cloud.inventory()).toMatchObject({ stacks: [], networks: [], ports: 0 })
    expect(cloud.inventory().servers).not.toContainEqual(expect.stringMatching(/^demo-/))
  })

  it('fails a stack as Heat does when a resource hits a quota', async () => {
    const image = await activeImage()
    const template = {
      heat_template_version: '2018-08-31',
      resources: {
        flavor: { type: 'OS::Nova::Flavor', properties: { vcpus: 8, ram: 128, disk: 1 } },
        server: { type: 'OS::Nova::Server', properties: { flavor: { get_resource: 'flavor' }, image } },
      },
    }
    await api('POST', `/heat-api/v1/${cloud.state.projectId}/stacks`, { stack_name: 'toobig', template })
    const path = new URL(
      (await api('GET', `/heat-api/v1/${cloud.state.projectId}/stacks/toobig`)).headers.get('location') as string,
    ).pathname
    const failed = await until(
      () => api('GET', path),
      (reply) => reply.body.stack.stack_status !== 'CREATE_IN_PROGRESS',
    )
    expect(failed.body.stack).toMatchObject({
      stack_status: 'CREATE_FAILED',
      stack_status_reason:
        'Resource CREATE failed: Forbidden: resources.server: Quota exceeded for cores: Requested 8, but already used 0 of 2 cores (HTTP 403)',
    })
  })

  it('can be made unreachable and reachable again on the same port', async () => {
    await cloud.setReachable(false)
    await expect(fetch(`${base}/identity/v3`)).rejects.toThrow()
    await cloud.setReachable(true)
    expect((await fetch(`${base}/identity/v3`)).status).toBe(200)
  })
})
