import { basename } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { readVnfTopology } from '@mecm/csar'
import { type HostMetrics, SwImageDescriptor } from '@mecm/protocol'
import type { Logger } from '@mecm/runtime'
import type { BackendEvent, Observation, ObservedResource, Plugin, RunSpec } from '../../plugin'
import { readSwImages } from '../package-files'
import { type OpenStackClient, openStackClient } from './client'
import { parseOpenStackConfig } from './config'
import { type HeatStack, type StackRef, settled } from './heat'
import { hotTemplate } from './hot-template'
import { type PreparedImage, prepareImage } from './images'
import { OpenStackError } from './request'
import { consoleLines, power, serversOf, stackServers } from './stack-servers'
import { bootVariables, userDataScript } from './user-data'

export interface OpenStackPluginOptions {
  /** The credentials text in use now (JSON or an RC file); read again at each use, as it may change. */
  config: () => string | undefined
  log: Logger
  /** How long a stack, an image or a power action may take (20 min). */
  stackTimeoutMs?: number
  /** How often to look again while waiting (3 s). */
  pollMs?: number
}

const NO_CONFIG =
  'no OpenStack credentials for this host: upload an RC file or JSON credentials at the center ' +
  '(PUT /inventory/v1/tenants/{tenantId}/mechosts/{hostIp}/plugins/openstack), or set OS_AUTH_URL and the other ' +
  'OS_* variables, or MEPM_OPENSTACK_CONFIG, on the agent'

export type OpenStackPlugin = Plugin &
  Required<Pick<Plugin, 'kpi' | 'close'>> & {
    /** The client for the credentials in use now. */
    cloud(): Promise<OpenStackClient>
  }

/** Each instance is one Heat stack, named after it. */
export const stackName = (appInstanceId: string) => `mecm-${appInstanceId}`
const refOf = (stack: HeatStack): StackRef => ({ name: stack.stack_name, id: stack.id })
const GiB = 1024 ** 3
const MiB = 1024 ** 2
const message = (error: unknown) => (error instanceof Error ? error.message : String(error))

/**
 * Runs VM apps on an OpenStack project: each instance a Heat stack built from the package's APPD,
 * booting from Glance images prepared from Image/SwImageDesc.json. A failed instantiate removes
 * its stack and the images it made. Resource management (EdgeGallery's rescontroller) uses the
 * same client through `cloud()`.
 */
export function openstackPlugin(options: OpenStackPluginOptions): OpenStackPlugin {
  const wait = { timeoutMs: options.stackTimeoutMs ?? 20 * 60_000, pollMs: options.pollMs ?? 3000 }
  let current: { text: string; client: OpenStackClient } | undefined

  async function cloud(): Promise<OpenStackClient> {
    const text = options.config()
    if (!text?.trim()) throw new Error(NO_CONFIG)
    if (current?.text === text) return current.client
    const config = parseOpenStackConfig(text)
    const previous = current
    current = { text, client: openStackClient(config) }
    await previous?.client.close()
    options.log.info('OpenStack credentials in use', { authUrl: config.authUrl })
    return current.client
  }

  async function remove(client: OpenStackClient, stack: StackRef): Promise<void> {
    await client.heat.delete(stack)
    const gone = await client.heat.waitFor(
      stack,
      (status) => status === 'DELETE_COMPLETE' || status === 'DELETE_FAILED',
      wait,
    )
    if (gone.stack_status === 'DELETE_FAILED')
      throw new Error(`Heat could not delete stack ${stack.name}: ${gone.stack_status_reason}`)
  }

  /** After a failed instantiate: the stack goes, then the images it made. Says what it could not remove. */
  async function cleanUp(client: OpenStackClient, name: string, images: PreparedImage[]): Promise<string> {
    const left: string[] = []
    try {
      const stack = await client.heat.find(name)
      if (stack) await remove(client, refOf(stack))
    } catch (error) {
      left.push(`stack ${name} (${message(error)})`)
    }
    for (const image of images.filter((prepared) => prepared.created)) {
      await client.glance
        .delete(image.id)
        .catch((error) => left.push(`image ${image.name} ${image.id} (${message(error)})`))
    }
    return left.length
      ? `; cleaning up failed, these may be left: ${left.join(', ')}`
      : `; removed what it made (stack ${name}${images.some((image) => image.created) ? ', new images' : ''})`
  }

  /** The Glance image of each VM image the package ships, prepared in turn. */
  async function prepareImages(client: OpenStackClient, spec: RunSpec, prepared: PreparedImage[]) {
    const descriptors = readSwImages(spec.packageRoot)
    const byName = new Map<string, string>()
    for (const artifact of spec.artifacts.filter((item) => item.kind === 'vm-image')) {
      const descriptor =
        descriptors.find((item) => item.swImage === artifact.path) ??
        SwImageDescriptor.parse({ id: artifact.path, name: basename(artifact.path), swImage: artifact.path })
      const image = await prepareImage(client.glance, descriptor, spec.packageRoot, wait)
      prepared.push(image)
      byName.set(descriptor.name, image.id)
    }
    return byName
  }

  async function create(client: OpenStackClient, spec: RunSpec): Promise<void> {
    const id = spec.instance.appInstanceId
    const name = stackName(id)
    const prepared: PreparedImage[] = []
    try {
      const topology = await readVnfTopology(spec.packageRoot)
      if (!topology.vdus.length)
        throw new Error(`package ${spec.instance.appPkgId}: its APPD has no Vdu.Compute, so nothing runs on OpenStack`)
      const images = await prepareImages(client, spec, prepared)
      const imageOf = (vdu: string) => {
        const wanted = topology.vdus.find((item) => item.name === vdu)?.imageName
        const found = (wanted && images.get(wanted)) ?? (images.size === 1 ? [...images.values()][0] : undefined)
        if (!found)
          throw new Error(
            `${vdu} boots from image ${wanted ?? '(none named)'}, which Image/SwImageDesc.json does not describe`,
          )
        return found
      }
      const variables = bootVariables(spec)
      const hot = hotTemplate({
        stackName: name,
        description: `MECM app instance ${id} (${spec.instance.appName})`,
        topology,
        imageOf,
        userData: userDataScript(Object.keys(variables), spec.packageRoot),
        variables,
      })
      let stack: StackRef
      try {
        stack = await client.heat.create(name, hot.template, hot.parameters, Math.ceil(wait.timeoutMs / 60_000))
      } catch (error) {
        // made meanwhile by another agent or an earlier attempt whose answer got lost: take it
        const existing =
          error instanceof OpenStackError && error.type === 'StackExists' && (await client.heat.find(name))
        if (!existing) throw error
        stack = refOf(existing)
      }
      const done = await client.heat.waitFor(stack, settled, wait)
      if (done.stack_status !== 'CREATE_COMPLETE')
        throw new Error(`Heat: stack ${name} is ${done.stack_status}: ${done.stack_status_reason}`)
      options.log.info('stack created', { appInstanceId: id, stack: name })
    } catch (error) {
      const cleaned = await cleanUp(client, name, prepared)
      throw new Error(`instantiating ${id} on OpenStack failed: ${message(error)}${cleaned}`)
    }
  }

  async function instantiate(spec: RunSpec): Promise<void> {
    const client = await cloud()
    const name = stackName(spec.instance.appInstanceId)
    const existing = await client.heat.find(name)
    if (existing) {
      const seen = await client.heat.waitFor(refOf(existing), settled, wait)
      if (seen.stack_status === 'CREATE_COMPLETE' || seen.stack_status === 'UPDATE_COMPLETE') {
        await power(client, refOf(existing), 'ACTIVE', wait)
        return
      }
      options.log.warn('replacing a stack that did not come up', { stack: name, status: seen.stack_status })
      await remove(client, refOf(existing))
    }
    await create(client, spec)
  }

  async function observe(appInstanceId: string): Promise<Observation> {
    const client = await cloud()
    const stack = await client.heat.find(stackName(appInstanceId))
    if (!stack) return { state: 'absent', healthy: false, detail: 'no stack' }
    const ref = refOf(stack)
    const [resources, events] = await Promise.all([client.heat.resources(ref), client.heat.events(ref, 20)])
    const servers = await serversOf(client, resources)
    const typeOf = new Map(resources.map((resource) => [resource.resource_name, resource.resource_type]))
    const observed: ObservedResource[] = [
      {
        kind: 'stack',
        name: stack.stack_name,
        status: stack.stack_status,
        ready: stack.stack_status === 'CREATE_COMPLETE',
      },
      ...servers.map((server) => ({
        kind: 'server',
        name: server.name,
        status: server.status,
        ready: server.status === 'ACTIVE',
        addresses: Object.values(server.addresses).flatMap((ips) => ips.map((ip) => ip.addr)),
      })),
      ...resources
        .filter((resource) => resource.resource_type !== 'OS::Nova::Server')
        .map((resource) => ({
          kind: resource.resource_type,
          name: resource.resource_name,
          status: resource.resource_status,
        })),
    ]
    const backendEvents: BackendEvent[] = events.map((event) => ({
      at: event.event_time,
      object: `${typeOf.get(event.resource_name) ?? 'stack'}/${event.resource_name}`,
      reason: event.resource_status,
      message: event.resource_status_reason,
      type: event.resource_status.endsWith('FAILED') ? 'Warning' : 'Normal',
    }))
    const seen = { resources: observed, events: backendEvents }
    if (!settled(stack.stack_status))
      return { state: 'running', healthy: false, detail: `stack ${stack.stack_status}`, ...seen }
    if (stack.stack_status !== 'CREATE_COMPLETE' && stack.stack_status !== 'UPDATE_COMPLETE')
      return {
        state: 'exited',
        healthy: false,
        detail: `stack ${stack.stack_status}: ${stack.stack_status_reason}`,
        ...seen,
      }
    const statuses = servers.map((server) => `${server.name} ${server.status}`).join(', ')
    if (servers.some((server) => server.status === 'ERROR') || servers.every((server) => server.status === 'SHUTOFF'))
      return { state: 'exited', healthy: false, detail: `servers: ${statuses}`, ...seen }
    const healthy = servers.every((server) => server.status === 'ACTIVE')
    return { state: 'running', healthy, detail: `stack ${stack.stack_status}; servers: ${statuses}`, ...seen }
  }

  return {
    kind: 'openstack',
    cloud,
    instantiate,
    observe,

    async start(spec) {
      const client = await cloud()
      const stack = await client.heat.find(stackName(spec.instance.appInstanceId))
      if (!stack) return instantiate(spec)
      await power(client, refOf(stack), 'ACTIVE', wait)
    },

    async stop(appInstanceId) {
      const client = await cloud()
      const stack = await client.heat.find(stackName(appInstanceId))
      if (stack) await power(client, refOf(stack), 'SHUTOFF', wait)
    },

    async terminate(appInstanceId) {
      const client = await cloud()
      const stack = await client.heat.find(stackName(appInstanceId))
      if (stack) await remove(client, refOf(stack))
    },

    /** The servers' console logs (Nova's os-getConsoleOutput), each line prefixed by its server when there are several. */
    async *logs(appInstanceId, { tail, follow, signal }) {
      const client = await cloud()
      const stack = await client.heat.find(stackName(appInstanceId))
      if (!stack) return
      const servers = await stackServers(client, refOf(stack))
      const label = (server: { name: string }, line: string) => (servers.length > 1 ? `[${server.name}] ${line}` : line)
      // following needs the whole log, to know where new lines start
      const seen = new Map<string, number>()
      for (const server of servers) {
        const lines = await consoleLines(client, server, follow ? undefined : tail)
        seen.set(server.id, lines.length)
        for (const line of lines.slice(-tail)) yield label(server, line)
      }
      while (follow && !signal?.aborted) {
        await delay(wait.pollMs, undefined, { signal }).catch(() => undefined)
        if (signal?.aborted) return
        for (const server of servers) {
          const lines = await consoleLines(client, server)
          // a shorter log was rotated or the VM rebuilt: start over
          const from = (seen.get(server.id) ?? 0) > lines.length ? 0 : (seen.get(server.id) ?? 0)
          seen.set(server.id, lines.length)
          for (const line of lines.slice(from)) yield label(server, line)
        }
      }
    },

    /** The project's quota and use from Nova's limits (cores, RAM) and Cinder's (volume gigabytes, else none). */
    async kpi(instances): Promise<HostMetrics> {
      const client = await cloud()
      const [compute, volumes] = await Promise.all([client.nova.limits(), client.volumeLimits().catch(() => undefined)])
      if (compute.maxTotalCores <= 0 || compute.maxTotalRAMSize <= 0)
        throw new Error('the OpenStack project has no core or RAM quota (unlimited): there is no capacity to report')
      const memory = compute.maxTotalRAMSize * MiB
      const disk = volumes && volumes.maxTotalVolumeGigabytes > 0 ? volumes.maxTotalVolumeGigabytes * GiB : 0
      return {
        at: new Date().toISOString(),
        cpu: {
          cores: compute.maxTotalCores,
          usedPercent: Math.min(100, (100 * compute.totalCoresUsed) / compute.maxTotalCores),
        },
        memory: { totalBytes: memory, usedBytes: Math.min(memory, compute.totalRAMUsed * MiB) },
        disk: { totalBytes: disk, usedBytes: Math.min(disk, (volumes?.totalGigabytesUsed ?? 0) * GiB) },
        instances,
      }
    },

    async close() {
      await current?.client.close()
      current = undefined
    },
  }
}
