import { ApiError, badRequest, conflict, forbidden, notFound, problemResponse } from '@mecm/runtime'
import { type Context, Hono } from 'hono'
import { z } from 'zod'
import type { OpenStackClient } from '../lcm/plugins/openstack/client'
import type { GlanceImage } from '../lcm/plugins/openstack/glance'
import { download } from '../lcm/plugins/openstack/images'
import { OpenStackError } from '../lcm/plugins/openstack/request'
import { readBody } from './request'

export interface RescontrollerDeps {
  /** The OpenStack client of the host's plugin, with the credentials in use now. */
  cloud: () => Promise<OpenStackClient>
}

const Name = z.string().min(1).max(255)
const Port = z.number().int().min(0).max(65535)

const Flavor = z.object({
  name: Name,
  vcpus: z.number().int().min(1),
  ram: z.number().int().min(1),
  disk: z.number().int().min(0).default(0),
  swap: z.number().int().min(0).default(0),
  extraSpecs: z.record(z.string(), z.string()).default({}),
})

const Network = z.object({
  name: Name,
  adminStateUp: z.boolean().default(true),
  mtu: z.number().int().min(68).optional(),
  shared: z.boolean().optional(),
  subnets: z
    .array(
      z.object({
        name: z.string().max(255).default(''),
        cidr: z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'must be a CIDR such as 10.0.0.0/24'),
        ipVersion: z.union([z.literal(4), z.literal(6)]).default(4),
        gatewayIp: z.string().optional(),
        enableDhcp: z.boolean().default(true),
        dnsNameservers: z.array(z.string()).optional(),
      }),
    )
    .default([]),
})

/** EdgeGallery's rule body mixes spellings (portRangeMin and port_range_min…): both are taken. */
const SecurityGroupRule = z
  .object({
    direction: z.enum(['ingress', 'egress']),
    protocol: z.string().min(1).optional(),
    ethertype: z.enum(['IPv4', 'IPv6']).default('IPv4'),
    portRangeMin: Port.optional(),
    portRangeMax: Port.optional(),
    port_range_min: Port.optional(),
    port_range_max: Port.optional(),
    remoteIpPrefix: z.string().min(1).optional(),
    remoteGroupId: z.string().min(1).optional(),
    remote_group_id: z.string().min(1).optional(),
  })
  .transform((rule) => ({
    direction: rule.direction,
    ethertype: rule.ethertype,
    protocol: rule.protocol,
    port_range_min: rule.portRangeMin ?? rule.port_range_min,
    port_range_max: rule.portRangeMax ?? rule.port_range_max,
    remote_ip_prefix: rule.remoteIpPrefix,
    remote_group_id: rule.remoteGroupId ?? rule.remote_group_id,
  }))

const Image = z.object({
  name: Name,
  containerFormat: z.string().min(1).default('bare'),
  diskFormat: z.string().min(1),
  minRam: z.number().int().min(0).default(0),
  minDisk: z.number().int().min(0).default(0),
  properties: z.record(z.string(), z.string()).default({}),
})

const ImportImage = z.object({ resourceUri: z.url({ protocol: /^https?$/ }) })

const Server = z
  .object({
    name: Name,
    flavor: z.string().min(1),
    image: z.string().min(1).optional(),
    imageRef: z.string().min(1).optional(),
    availabilityZone: z.string().min(1).optional(),
    user_data: z.string().optional(),
    userData: z.string().optional(),
    configDrive: z.boolean().optional(),
    securityGroups: z.array(z.union([z.string().min(1), z.object({ name: z.string().min(1) })])).default([]),
    netWork: z.array(z.object({ network: z.string().min(1), fixedIp: z.string().optional() })).optional(),
    networks: z.array(z.object({ network: z.string().min(1), fixedIp: z.string().optional() })).optional(),
  })
  .refine((server) => server.image ?? server.imageRef, { message: 'needs image (or imageRef)', path: ['image'] })

const ACTIONS = ['reboot', 'stop', 'start', 'pause', 'unpause', 'suspend', 'resume', 'createImage'] as const
const OperateServer = z.object({
  action: z.enum(ACTIONS),
  reboot: z.union([z.enum(['SOFT', 'HARD']), z.object({ type: z.enum(['SOFT', 'HARD']) })]).optional(),
  createImage: z.object({ name: Name, metadata: z.record(z.string(), z.string()).optional() }).optional(),
})

/** Nova's action for each of EdgeGallery's operate actions. */
const NOVA_ACTION: Record<(typeof ACTIONS)[number], string> = {
  reboot: 'reboot',
  stop: 'os-stop',
  start: 'os-start',
  pause: 'pause',
  unpause: 'unpause',
  suspend: 'suspend',
  resume: 'resume',
  createImage: 'createImage',
}

/** EdgeGallery's response envelope: `{data, retCode, message}`. */
const ok = (c: Context, data: unknown, status: 200 | 201 | 202 = 200) =>
  c.json({ data, retCode: status, message: 'success' }, status)

/** The cloud's client errors that pass through as they are. */
const PASSED_ON: Record<number, (detail: string) => ApiError> = {
  400: badRequest,
  403: forbidden,
  404: notFound,
  409: conflict,
  413: (detail) => new ApiError(413, 'Payload Too Large', detail),
}

/** An OpenStack failure as an API error: the cloud's client errors pass through, the rest is a bad gateway. */
function apiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error
  if (error instanceof OpenStackError) {
    const passed = PASSED_ON[error.status ?? 0]
    return passed ? passed(error.message) : new ApiError(502, 'Bad Gateway', error.message)
  }
  // no credentials, or credentials that cannot be read
  return new ApiError(503, 'Service Unavailable', (error as Error).message)
}

const imageView = (image: GlanceImage) => ({
  imageId: image.id,
  imageName: image.name,
  status: image.status,
  size: image.size,
  checksum: image.checksum,
  diskFormat: image.disk_format,
  containerFormat: image.container_format,
})

/**
 * EdgeGallery's resource management API (MEPM rescontroller: flavors, networks, security groups
 * and rules, VM images, servers and their actions) on the host's OpenStack project, to be mounted
 * at /rescontroller/v1/tenants/:tenantId/hosts/:hostIp. Bodies follow EdgeGallery's; answers are
 * its `{data, retCode, message}`, errors the agent's problem JSON.
 */
export function rescontrollerRoutes(deps: RescontrollerDeps): Hono {
  const app = new Hono()
  app.onError((error, c) => problemResponse(apiError(error), c.req.path))
  const id = (c: Context, name: string) => c.req.param(name) as string

  app.post('/flavors', async (c) => {
    const { extraSpecs, ...flavor } = await readBody(c, Flavor)
    const created = await (await deps.cloud()).nova.flavors.create(flavor, extraSpecs)
    return ok(c, created, 201)
  })
  app.get('/flavors', async (c) => ok(c, await (await deps.cloud()).nova.flavors.list()))
  app.get('/flavors/:flavorId', async (c) => {
    const flavor = await (await deps.cloud()).nova.flavors.get(id(c, 'flavorId'))
    const { extra_specs: extraSpecs, ...rest } = flavor
    return ok(c, { ...rest, extraSpecs })
  })
  app.delete('/flavors/:flavorId', async (c) => {
    await (await deps.cloud()).nova.flavors.delete(id(c, 'flavorId'))
    return ok(c, null)
  })

  app.post('/networks', async (c) => {
    const { subnets, adminStateUp, ...network } = await readBody(c, Network)
    const { neutron } = await deps.cloud()
    const created = await neutron.networks.create({ ...network, admin_state_up: adminStateUp })
    try {
      for (const subnet of subnets)
        await neutron.subnets.create({
          network_id: created.id,
          name: subnet.name,
          cidr: subnet.cidr,
          ip_version: subnet.ipVersion,
          enable_dhcp: subnet.enableDhcp,
          ...(subnet.gatewayIp ? { gateway_ip: subnet.gatewayIp } : {}),
          ...(subnet.dnsNameservers ? { dns_nameservers: subnet.dnsNameservers } : {}),
        })
    } catch (error) {
      // a network whose subnet was refused is not what was asked for
      await neutron.networks.delete(created.id).catch(() => undefined)
      throw error
    }
    return ok(c, { ...created, subnets: await neutron.subnets.list(created.id) }, 201)
  })
  app.get('/networks', async (c) => ok(c, await (await deps.cloud()).neutron.networks.list()))
  app.get('/networks/:networkId', async (c) => {
    const { neutron } = await deps.cloud()
    const network = await neutron.networks.get(id(c, 'networkId'))
    return ok(c, { ...network, subnets: await neutron.subnets.list(network.id) })
  })
  app.delete('/networks/:networkId', async (c) => {
    await (await deps.cloud()).neutron.networks.delete(id(c, 'networkId'))
    return ok(c, null)
  })

  app.post('/securityGroups', async (c) => {
    const group = await readBody(c, z.object({ name: Name, description: z.string().max(255).optional() }))
    return ok(c, await (await deps.cloud()).neutron.securityGroups.create(group), 201)
  })
  app.get('/securityGroups', async (c) => ok(c, await (await deps.cloud()).neutron.securityGroups.list()))
  app.get('/securityGroups/:securityGroupId', async (c) =>
    ok(c, await (await deps.cloud()).neutron.securityGroups.get(id(c, 'securityGroupId'))),
  )
  app.delete('/securityGroups/:securityGroupId', async (c) => {
    await (await deps.cloud()).neutron.securityGroups.delete(id(c, 'securityGroupId'))
    return ok(c, null)
  })
  app.post('/securityGroups/:securityGroupId/securityGroupRules', async (c) => {
    const rule = await readBody(c, SecurityGroupRule)
    const fields = Object.fromEntries(Object.entries(rule).filter((entry) => entry[1] !== undefined))
    const created = await (await deps.cloud()).neutron.rules.create({
      ...fields,
      security_group_id: id(c, 'securityGroupId'),
    })
    return ok(c, created, 201)
  })
  app.get('/securityGroups/:securityGroupId/securityGroupRules', async (c) =>
    ok(c, await (await deps.cloud()).neutron.rules.list(id(c, 'securityGroupId'))),
  )
  app.delete('/securityGroups/:securityGroupId/securityGroupRules/:ruleId', async (c) => {
    const { neutron } = await deps.cloud()
    const rules = await neutron.rules.list(id(c, 'securityGroupId'))
    if (!rules.some((rule) => rule.id === id(c, 'ruleId')))
      throw notFound(`security group ${id(c, 'securityGroupId')} has no rule ${id(c, 'ruleId')}`)
    await neutron.rules.delete(id(c, 'ruleId'))
    return ok(c, null)
  })

  app.post('/images', async (c) => {
    const image = await readBody(c, Image)
    const created = await (await deps.cloud()).glance.create({
      ...image.properties,
      name: image.name,
      container_format: image.containerFormat,
      disk_format: image.diskFormat,
      min_ram: image.minRam,
      min_disk: image.minDisk,
    })
    return ok(c, { imageId: created.id }, 201)
  })
  app.get('/images', async (c) => ok(c, (await (await deps.cloud()).glance.list()).map(imageView)))
  app.get('/images/:imageId', async (c) => ok(c, imageView(await (await deps.cloud()).glance.get(id(c, 'imageId')))))
  app.delete('/images/:imageId', async (c) => {
    const { glance } = await deps.cloud()
    await glance.get(id(c, 'imageId'))
    await glance.delete(id(c, 'imageId'))
    return ok(c, null)
  })
  /** Fills a created image from a URL: by Glance's web-download when offered, else streamed through the agent. */
  app.post('/images/:imageId', async (c) => {
    const { resourceUri } = await readBody(c, ImportImage)
    const { glance } = await deps.cloud()
    const imageId = id(c, 'imageId')
    if ((await glance.importMethods()).includes('web-download')) await glance.importFromUrl(imageId, resourceUri)
    else {
      const data = await download(resourceUri).catch((error: Error) => {
        throw badRequest(error.message)
      })
      await glance.upload(imageId, data)
    }
    return ok(c, imageView(await glance.get(imageId)), 202)
  })

  app.post('/servers', async (c) => {
    const server = await readBody(c, Server)
    const userData = server.userData ?? server.user_data
    const networks = server.networks ?? server.netWork ?? []
    const created = await (await deps.cloud()).nova.servers.create({
      name: server.name,
      flavorRef: server.flavor,
      imageRef: server.image ?? server.imageRef,
      ...(server.availabilityZone ? { availability_zone: server.availabilityZone } : {}),
      ...(userData ? { user_data: Buffer.from(userData).toString('base64') } : {}),
      ...(server.configDrive !== undefined ? { config_drive: server.configDrive } : {}),
      ...(server.securityGroups.length
        ? {
            security_groups: server.securityGroups.map((group) => ({
              name: typeof group === 'string' ? group : group.name,
            })),
          }
        : {}),
      networks: networks.map((choice) => ({
        uuid: choice.network,
        ...(choice.fixedIp ? { fixed_ip: choice.fixedIp } : {}),
      })),
    })
    return ok(c, { serverId: created.id }, 201)
  })
  app.get('/servers', async (c) => ok(c, await (await deps.cloud()).nova.servers.list()))
  app.get('/servers/:serverId', async (c) => ok(c, await (await deps.cloud()).nova.servers.get(id(c, 'serverId'))))
  app.post('/servers/:serverId', async (c) => {
    const operation = await readBody(c, OperateServer)
    const { nova } = await deps.cloud()
    const argument =
      operation.action === 'reboot'
        ? { type: typeof operation.reboot === 'object' ? operation.reboot.type : (operation.reboot ?? 'SOFT') }
        : operation.action === 'createImage'
          ? {
              name: operation.createImage?.name ?? `${id(c, 'serverId')}-snapshot`,
              ...(operation.createImage?.metadata ? { metadata: operation.createImage.metadata } : {}),
            }
          : null
    const imageId = await nova.servers.action(id(c, 'serverId'), NOVA_ACTION[operation.action], argument)
    return ok(c, operation.action === 'createImage' ? { imageId } : null, 202)
  })
  app.delete('/servers/:serverId', async (c) => {
    await (await deps.cloud()).nova.servers.delete(id(c, 'serverId'))
    return ok(c, null)
  })
  return app
}
