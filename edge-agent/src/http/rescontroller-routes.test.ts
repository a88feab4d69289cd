import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { openstackPlugin } from '../lcm/plugins/openstack/openstack-plugin'
import { type OpenStackTarget, openStackTarget, realCloud } from '../testing/openstack-cloud/target'
import { rescontrollerRoutes } from './rescontroller-routes'

let target: OpenStackTarget
let plugin: ReturnType<typeof openstackPlugin>
let routes: ReturnType<typeof rescontrollerRoutes>
let imageUrl: string
const files = createServer((_, response) => response.end('image bytes'))

beforeAll(async () => {
  target = await openStackTarget()
  plugin = openstackPlugin({ config: () => target.config, log: createLogger('silent') })
  routes = rescontrollerRoutes({ cloud: () => plugin.cloud() })
  await new Promise<void>((done) => files.listen(0, '127.0.0.1', done))
  imageUrl =
    process.env.MECM_TEST_IMAGE_BASE ?? `http://127.0.0.1:${(files.address() as AddressInfo).port}/cirros.qcow2`
})
afterAll(async () => {
  await plugin.close()
  await target.close()
  files.close()
})

async function call(method: string, path: string, body?: unknown) {
  const response = await routes.request(path, {
    method,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    headers: { 'content-type': 'application/json' },
  })
  // biome-ignore lint/suspicious/noExplicitAny: the answers are read field by field and asserted
  return { status: response.status, body: (await response.json()) as Record<string, any> }
}

const until = (probe: () => Promise<boolean>) =>
  vi.waitFor(
    async () => {
      if (!(await probe())) throw new Error('never settled')
    },
    realCloud ? { timeout: 600_000, interval: 2000 } : { timeout: 10_000, interval: 10 },
  )

describe("EdgeGallery's rescontroller API on the host's OpenStack", () => {
  const name = `mecm-rescontroller-${Date.now()}`

  it('creates, shows, lists and deletes flavors with extra specs', async () => {
    const created = await call('POST', '/flavors', {
      name,
      vcpus: 1,
      ram: 256,
      disk: 1,
      extraSpecs: { 'hw:mem_page_size': 'small' },
    })
    expect(created).toMatchObject({ status: 201, body: { retCode: 201, message: 'success', data: { name, vcpus: 1 } } })
    const id = created.body.data.id
    expect((await call('GET', `/flavors/${id}`)).body.data).toMatchObject({
      ram: 256,
      extraSpecs: { 'hw:mem_page_size': 'small' },
    })
    expect((await call('GET', '/flavors')).body.data).toContainEqual(expect.objectContaining({ id, name }))
    expect((await call('DELETE', `/flavors/${id}`)).status).toBe(200)
    expect((await call('GET', `/flavors/${id}`)).status).toBe(404)
  })

  it('says what is wrong with a body, field by field', async () => {
    const refused = await call('POST', '/flavors', { name: '', vcpus: 0 })
    expect(refused.status).toBe(400)
    expect(refused.body.errors.map((error: { path: string }) => error.path)).toEqual(
      expect.arrayContaining(['body.name', 'body.vcpus', 'body.ram']),
    )
    expect((await call('POST', '/servers/x', { action: 'explode' })).body.errors[0].path).toBe('body.action')
    expect((await call('POST', '/networks', 'not json')).body.detail).toBe('the request body is not valid JSON')
  })

  it('creates networks with subnets, and security groups whose duplicate rule is a 409', async () => {
    const network = await call('POST', '/networks', { name, subnets: [{ name: 'sub', cidr: '10.77.0.0/24' }] })
    expect(network).toMatchObject({
      status: 201,
      body: { data: { name, subnets: [expect.objectContaining({ cidr: '10.77.0.0/24' })] } },
    })
    const group = (await call('POST', '/securityGroups', { name })).body.data
    const rule = {
      direction: 'ingress',
      protocol: 'tcp',
      port_range_min: 8080,
      portRangeMax: 8080,
      remoteIpPrefix: '0.0.0.0/0',
    }
    const created = await call('POST', `/securityGroups/${group.id}/securityGroupRules`, rule)
    expect(created.body.data).toMatchObject({
      port_range_min: 8080,
      port_range_max: 8080,
      remote_ip_prefix: '0.0.0.0/0',
    })
    const twice = await call('POST', `/securityGroups/${group.id}/securityGroupRules`, rule)
    expect(twice).toMatchObject({
      status: 409,
      body: {
        title: 'Conflict',
        detail: expect.stringMatching(/^Neutron at .*: 409 Security group rule already exists/),
      },
    })
    expect((await call('GET', `/securityGroups/${group.id}`)).body.data.security_group_rules).toContainEqual(
      expect.objectContaining({ id: created.body.data.id }),
    )
    expect(
      (await call('DELETE', `/securityGroups/${group.id}/securityGroupRules/${created.body.data.id}`)).status,
    ).toBe(200)
    expect((await call('DELETE', `/securityGroups/${group.id}`)).status).toBe(200)
    expect((await call('DELETE', `/networks/${network.body.data.id}`)).status).toBe(200)
  })

  it('creates an image record, imports it from a URL, and boots, operates and deletes a server from it', async () => {
    const image = await call('POST', '/images', { name, diskFormat: 'qcow2', containerFormat: 'bare' })
    expect(image.status).toBe(201)
    const imageId = image.body.data.imageId
    expect((await call('POST', `/images/${imageId}`, { resourceUri: imageUrl })).status).toBe(202)
    await until(async () => (await call('GET', `/images/${imageId}`)).body.data.status === 'active')

    const flavor = (await call('POST', '/flavors', { name, vcpus: 1, ram: 256, disk: 1 })).body.data
    const network = (await call('POST', '/networks', { name, subnets: [{ cidr: '10.78.0.0/24' }] })).body.data
    const server = await call('POST', '/servers', {
      name,
      flavor: flavor.id,
      image: imageId,
      netWork: [{ network: network.id }],
      user_data: '#!/bin/sh\necho hi',
    })
    expect(server.status).toBe(201)
    const serverId = server.body.data.serverId
    const status = async () => (await call('GET', `/servers/${serverId}`)).body.data.status
    await until(async () => (await status()) === 'ACTIVE')
    expect((await call('POST', `/servers/${serverId}`, { action: 'stop' })).status).toBe(202)
    await until(async () => (await status()) === 'SHUTOFF')
    const again = await call('POST', `/servers/${serverId}`, { action: 'stop' })
    expect(again).toMatchObject({ status: 409, body: { detail: expect.stringContaining("Cannot 'stop' instance") } })
    expect((await call('POST', `/servers/${serverId}`, { action: 'start' })).status).toBe(202)
    await until(async () => (await status()) === 'ACTIVE')
    expect((await call('POST', `/servers/${serverId}`, { action: 'reboot', reboot: 'HARD' })).status).toBe(202)
    await until(async () => (await status()) === 'ACTIVE')
    const snapshot = await call('POST', `/servers/${serverId}`, {
      action: 'createImage',
      createImage: { name: `${name}-snap` },
    })
    expect(snapshot.body.data.imageId).toEqual(expect.any(String))
    expect((await call('GET', '/servers')).body.data).toContainEqual(expect.objectContaining({ id: serverId }))

    expect((await call('DELETE', `/servers/${serverId}`)).status).toBe(200)
    await until(async () => (await call('GET', `/servers/${serverId}`)).status === 404)
    for (const path of [
      `/images/${snapshot.body.data.imageId}`,
      `/images/${imageId}`,
      `/flavors/${flavor.id}`,
      `/networks/${network.id}`,
    ])
      expect((await call('DELETE', path)).status).toBe(200)
  })

  it.skipIf(realCloud)(
    "maps the cloud's refusals: quota 403, missing 404, unreachable 502, no credentials 503",
    async () => {
      const cloud = target.cloud
      if (!cloud) return
      const imageId = (await call('POST', '/images', { name: `${name}-q`, diskFormat: 'raw' })).body.data.imageId
      await call('POST', `/images/${imageId}`, { resourceUri: imageUrl })
      await until(async () => (await call('GET', `/images/${imageId}`)).body.data.status === 'active')
      const flavor = (await call('POST', '/flavors', { name: `${name}-q`, vcpus: 1, ram: 64 })).body.data
      cloud.setQuota({ cores: 0 })
      const refused = await call('POST', '/servers', { name, flavor: flavor.id, image: imageId })
      cloud.setQuota({ cores: 20 })
      expect(refused.body).toMatchObject({
        status: 403,
        title: 'Forbidden',
        detail: expect.stringContaining('403 Quota exceeded for cores: Requested 1, but already used 0 of 0 cores'),
      })
      expect((await call('GET', '/images/00000000-0000-0000-0000-000000000000')).body).toMatchObject({
        status: 404,
        detail: expect.stringMatching(/^Glance at .*: 404 No image found with ID/),
      })
      await cloud.setReachable(false)
      try {
        expect((await call('GET', '/flavors')).body).toMatchObject({
          status: 502,
          detail: expect.stringContaining('unreachable (ECONNREFUSED)'),
        })
      } finally {
        await cloud.setReachable(true)
      }
      const none = rescontrollerRoutes({
        cloud: () => openstackPlugin({ config: () => undefined, log: createLogger('silent') }).cloud(),
      })
      const answer = await none.request('/servers')
      expect(answer.status).toBe(503)
      expect(((await answer.json()) as { detail: string }).detail).toMatch(/^no OpenStack credentials for this host/)
    },
  )
})
