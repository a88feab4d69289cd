import { asRecord, member, route, type Service } from './http'
import type { Neutron } from './neutron'
import { type CloudState, type Flavor, type Image, type Server, ServiceError } from './state'

export interface ServerSpec {
  name: string
  flavorRef: string
  imageRef: string
  networks: ({ uuid: string } | { port: string })[]
  securityGroups?: string[]
  userData?: string | null
}

type Status = Server['status']

/** Nova's vm_state and power_state (RUNNING 1, PAUSED 3, SHUTDOWN 4, SUSPENDED 7) for each status. */
const STATES: Record<Status, { vm: string; power: number }> = {
  BUILD: { vm: 'building', power: 0 },
  ACTIVE: { vm: 'active', power: 1 },
  REBOOT: { vm: 'active', power: 1 },
  SHUTOFF: { vm: 'stopped', power: 4 },
  PAUSED: { vm: 'paused', power: 3 },
  SUSPENDED: { vm: 'suspended', power: 7 },
  ERROR: { vm: 'error', power: 0 },
}

/** Server actions: the states they are allowed from, their task_state and where they end. */
const ACTIONS: Record<string, { name: string; from: Status[]; task: string; to: Status; console?: string }> = {
  'os-stop': {
    name: 'stop',
    from: ['ACTIVE', 'ERROR'],
    task: 'powering-off',
    to: 'SHUTOFF',
    console: 'reboot: Power down',
  },
  'os-start': {
    name: 'start',
    from: ['SHUTOFF'],
    task: 'powering-on',
    to: 'ACTIVE',
    console: 'Booting from hard disk...',
  },
  reboot: {
    name: 'reboot',
    from: ['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'],
    task: 'rebooting',
    to: 'ACTIVE',
    console: 'reboot: Restarting system',
  },
  pause: { name: 'pause', from: ['ACTIVE'], task: 'pausing', to: 'PAUSED' },
  unpause: { name: 'unpause', from: ['PAUSED'], task: 'unpausing', to: 'ACTIVE' },
  suspend: { name: 'suspend', from: ['ACTIVE'], task: 'suspending', to: 'SUSPENDED' },
  resume: { name: 'resume', from: ['SUSPENDED'], task: 'resuming', to: 'ACTIVE' },
}

const ERROR_KEYS: Record<number, string> = {
  400: 'badRequest',
  403: 'forbidden',
  404: 'itemNotFound',
  409: 'conflictingRequest',
}

/**
 * Nova (Compute API v2.1): flavors with extra specs, servers that BUILD then go ACTIVE
 * asynchronously, power actions refused with 409 when the state does not allow them, console
 * output, absolute limits, and the quota check that answers 403 "Quota exceeded for cores: …".
 */
export function nova(state: CloudState, network: Neutron) {
  const flavor = (ref: string | undefined): Flavor => {
    const found = ref ? state.flavors.get(ref) : undefined
    if (!found) throw new ServiceError(404, 'FlavorNotFound', `Flavor ${ref} could not be found.`)
    return found
  }
  const server = (id: string | undefined): Server => {
    const found = id ? state.servers.get(id) : undefined
    if (!found) throw new ServiceError(404, 'InstanceNotFound', `Instance ${id} could not be found.`)
    return found
  }
  const touch = (target: Server, change: Partial<Server>) => Object.assign(target, change, { updated: state.now() })
  /** Ports Nova made for a network it was given: they go with their server. */
  const ownPorts = new Set<string>()

  function createFlavor(
    spec: Omit<Flavor, 'id' | 'extraSpecs'> & { id?: string; extraSpecs?: Record<string, string> },
  ): Flavor {
    const values = [...state.flavors.values()]
    if (values.some((other) => other.name === spec.name))
      throw new ServiceError(409, 'FlavorExists', `Flavor with name ${spec.name} already exists.`)
    if (spec.id && state.flavors.has(spec.id))
      throw new ServiceError(409, 'FlavorIdExists', `Flavor with ID ${spec.id} already exists.`)
    const created: Flavor = { ...spec, id: spec.id ?? state.id(), extraSpecs: spec.extraSpecs ?? {} }
    state.flavors.set(created.id, created)
    return created
  }

  function deleteFlavor(id: string): void {
    flavor(id)
    state.flavors.delete(id)
  }

  function checkQuota(wanted: Flavor): void {
    const used = state.computeUsage()
    const checks = [
      { name: 'cores', requested: wanted.vcpus, used: used.cores, allowed: state.quota.cores },
      { name: 'instances', requested: 1, used: used.instances, allowed: state.quota.instances },
      { name: 'ram', requested: wanted.ram, used: used.ramMiB, allowed: state.quota.ramMiB },
    ].filter((check) => check.used + check.requested > check.allowed)
    if (!checks.length) return
    const list = (key: 'name' | 'requested' | 'used' | 'allowed') => checks.map((check) => check[key]).join(', ')
    throw new ServiceError(
      403,
      'TooManyInstances',
      `Quota exceeded for ${list('name')}: Requested ${list('requested')}, but already used ${list('used')} of ${list('allowed')} ${list('name')}`,
    )
  }

  function boot(target: Server): void {
    target.console.push(
      '[    0.000000] Linux version 6.1.0-mecm (test cloud)',
      `[    1.204000] cloud-init[312]: Cloud-init v. 23.1 running 'modules:final'`,
      ...(target.userData
        ? [`[    1.310000] cloud-init[312]: running user-data (${target.userData.length} bytes)`]
        : []),
      `${target.name} login:`,
    )
  }

  function createServer(spec: ServerSpec): Server {
    const wanted = flavor(spec.flavorRef)
    const image = state.images.get(spec.imageRef)
    if (!image) throw new ServiceError(400, 'ImageNotFound', `Image ${spec.imageRef} could not be found.`)
    if (image.status !== 'active') throw new ServiceError(400, 'ImageNotActive', `Image ${image.id} is not active.`)
    checkQuota(wanted)
    const groups = (spec.securityGroups ?? []).map((name) => {
      const group = [...state.securityGroups.values()].find((other) => other.name === name || other.id === name)
      if (!group) throw new ServiceError(400, 'SecurityGroupNotFound', `Security group ${name} not found.`)
      return group
    })
    const id = state.id()
    const portIds = spec.networks.map((choice) => {
      if ('port' in choice) {
        const port = state.ports.get(choice.port)
        if (!port) throw new ServiceError(400, 'PortNotFound', `Port id ${choice.port} could not be found.`)
        if (port.deviceId) throw new ServiceError(409, 'PortInUse', `Port ${port.id} is still in use.`)
        port.deviceId = id
        return port.id
      }
      const port = network.createPort({ networkId: choice.uuid, securityGroups: groups.map((group) => group.id) })
      port.deviceId = id
      ownPorts.add(port.id)
      return port.id
    })
    const created: Server = {
      id,
      name: spec.name,
      status: 'BUILD',
      taskState: 'spawning',
      flavorId: wanted.id,
      imageId: image.id,
      portIds,
      securityGroups: groups.length ? groups.map((group) => group.name) : ['default'],
      userData: spec.userData ?? null,
      console: [],
      created: state.now(),
      updated: state.now(),
    }
    state.servers.set(id, created)
    state.later(state.timings.serverMs, () => {
      if (!state.servers.has(id) || state.faults.serversStuckInBuild) return
      touch(created, { status: 'ACTIVE', taskState: null })
      boot(created)
    })
    return created
  }

  function deleteServer(id: string): void {
    const target = server(id)
    for (const portId of target.portIds) {
      const port = state.ports.get(portId)
      if (ownPorts.delete(portId)) state.ports.delete(portId)
      else if (port) port.deviceId = ''
    }
    state.servers.delete(id)
  }

  function act(target: Server, key: string): void {
    const action = ACTIONS[key]
    if (!action) throw new ServiceError(400, 'BadRequest', `There is no such action: ${key}`)
    if (target.taskState)
      throw new ServiceError(
        409,
        'InstanceInvalidState',
        `Cannot '${action.name}' instance ${target.id} while it is in task_state ${target.taskState}`,
      )
    if (!action.from.includes(target.status))
      throw new ServiceError(
        409,
        'InstanceInvalidState',
        `Cannot '${action.name}' instance ${target.id} while it is in vm_state ${STATES[target.status].vm}`,
      )
    touch(target, { taskState: action.task, ...(key === 'reboot' ? { status: 'REBOOT' as const } : {}) })
    state.later(state.timings.serverMs, () => {
      if (!state.servers.has(target.id)) return
      if (action.console) target.console.push(action.console)
      touch(target, { status: action.to, taskState: null })
      if (key === 'os-start' || key === 'reboot') boot(target)
    })
  }

  const flavorView = (item: Flavor) => ({
    id: item.id,
    name: item.name,
    vcpus: item.vcpus,
    ram: item.ram,
    disk: item.disk,
    swap: item.swap || '',
    rxtx_factor: 1.0,
    'OS-FLV-EXT-DATA:ephemeral': 0,
    'os-flavor-access:is_public': true,
    extra_specs: item.extraSpecs,
    links: [{ rel: 'self', href: `/flavors/${item.id}` }],
  })
  const serverView = (item: Server) => ({
    id: item.id,
    name: item.name,
    status: item.status,
    tenant_id: state.projectId,
    user_id: state.userId,
    flavor: {
      id: item.flavorId,
      ...(state.flavors.get(item.flavorId) ? { original_name: state.flavors.get(item.flavorId)?.name } : {}),
    },
    image: { id: item.imageId },
    addresses: network.addresses(item.portIds),
    security_groups: item.securityGroups.map((name) => ({ name })),
    metadata: {},
    created: item.created,
    updated: item.updated,
    'OS-EXT-STS:vm_state': STATES[item.status].vm,
    'OS-EXT-STS:power_state': STATES[item.status].power,
    'OS-EXT-STS:task_state': item.taskState,
    links: [{ rel: 'self', href: `/servers/${item.id}` }],
  })
  const int = (value: unknown, what: string) => {
    const number = Number(value)
    if (!Number.isInteger(number) || number < 0)
      throw new ServiceError(400, 'BadRequest', `Invalid input for field/attribute ${what}.`)
    return number
  }

  const service: Service = {
    prefix: '/compute/v2.1',
    errorBody: (error) => ({
      [ERROR_KEYS[error.status] ?? 'computeFault']: { code: error.status, message: error.message },
    }),
    routes: [
      route('GET', '/flavors', () => ({
        status: 200,
        body: { flavors: [...state.flavors.values()].map((item) => ({ id: item.id, name: item.name, links: [] })) },
      })),
      route('GET', '/flavors/detail', () => ({
        status: 200,
        body: { flavors: [...state.flavors.values()].map(flavorView) },
      })),
      route('POST', '/flavors', async (request) => {
        const body = member(await request.json(), 'flavor')
        const created = createFlavor({
          name: String(body.name ?? ''),
          vcpus: int(body.vcpus, 'vcpus'),
          ram: int(body.ram, 'ram'),
          disk: int(body.disk ?? 0, 'disk'),
          swap: int(body.swap ?? 0, 'swap'),
          ...(typeof body.id === 'string' ? { id: body.id } : {}),
        })
        return { status: 200, body: { flavor: flavorView(created) } }
      }),
      route('GET', '/flavors/:id', (request) => ({
        status: 200,
        body: { flavor: flavorView(flavor(request.params.id)) },
      })),
      route('DELETE', '/flavors/:id', (request) => {
        deleteFlavor(request.params.id ?? '')
        return { status: 202 }
      }),
      route('GET', '/flavors/:id/os-extra_specs', (request) => ({
        status: 200,
        body: { extra_specs: flavor(request.params.id).extraSpecs },
      })),
      route('POST', '/flavors/:id/os-extra_specs', async (request) => {
        const target = flavor(request.params.id)
        const specs = member(await request.json(), 'extra_specs')
        Object.assign(
          target.extraSpecs,
          Object.fromEntries(Object.entries(specs).map(([key, value]) => [key, String(value)])),
        )
        return { status: 200, body: { extra_specs: target.extraSpecs } }
      }),
      route('GET', '/servers', () => ({
        status: 200,
        body: { servers: [...state.servers.values()].map((item) => ({ id: item.id, name: item.name, links: [] })) },
      })),
      route('GET', '/servers/detail', () => ({
        status: 200,
        body: { servers: [...state.servers.values()].map(serverView) },
      })),
      route('POST', '/servers', async (request) => {
        const body = member(await request.json(), 'server')
        const networks = Array.isArray(body.networks) ? body.networks.map(asRecord) : []
        const created = createServer({
          name: String(body.name ?? ''),
          flavorRef: String(body.flavorRef ?? ''),
          imageRef: String(body.imageRef ?? ''),
          networks: networks.map((choice) =>
            choice.port ? { port: String(choice.port) } : { uuid: String(choice.uuid) },
          ),
          securityGroups: Array.isArray(body.security_groups)
            ? body.security_groups.map((group) => String(asRecord(group).name))
            : [],
          userData: typeof body.user_data === 'string' ? Buffer.from(body.user_data, 'base64').toString('utf8') : null,
        })
        return {
          status: 202,
          headers: { location: `${request.base}/compute/v2.1/servers/${created.id}` },
          body: {
            server: {
              id: created.id,
              links: [{ rel: 'self', href: `/servers/${created.id}` }],
              'OS-DCF:diskConfig': 'MANUAL',
              security_groups: created.securityGroups.map((name) => ({ name })),
              adminPass: 'not-for-you',
            },
          },
        }
      }),
      route('GET', '/servers/:id', (request) => ({
        status: 200,
        body: { server: serverView(server(request.params.id)) },
      })),
      route('DELETE', '/servers/:id', (request) => {
        deleteServer(request.params.id ?? '')
        return { status: 204 }
      }),
      route('POST', '/servers/:id/action', async (request) => {
        const target = server(request.params.id)
        const body = await request.json()
        const [key, argument] = Object.entries(body)[0] ?? ['', null]
        if (key === 'os-getConsoleOutput') {
          if (target.status === 'BUILD')
            throw new ServiceError(409, 'InstanceNotReady', `Instance ${target.id} is not ready`)
          const length = asRecord(argument).length
          const lines =
            typeof length === 'number' || typeof length === 'string'
              ? target.console.slice(-Number(length))
              : target.console
          return { status: 200, body: { output: lines.map((line) => `${line}\n`).join('') } }
        }
        if (key === 'createImage') {
          if (!['ACTIVE', 'SHUTOFF', 'PAUSED', 'SUSPENDED'].includes(target.status))
            throw new ServiceError(
              409,
              'InstanceInvalidState',
              `Cannot 'createImage' instance ${target.id} while it is in vm_state ${STATES[target.status].vm}`,
            )
          const image = state.images.get(target.imageId)
          const snapshot: Image = {
            id: state.id(),
            name: String(asRecord(argument).name ?? `${target.name}-snapshot`),
            status: 'active',
            disk_format: image?.disk_format ?? 'qcow2',
            container_format: image?.container_format ?? 'bare',
            min_disk: image?.min_disk ?? 0,
            min_ram: image?.min_ram ?? 0,
            size: image?.size ?? 0,
            checksum: image?.checksum ?? null,
            os_hash_algo: image?.os_hash_algo ?? null,
            os_hash_value: image?.os_hash_value ?? null,
            visibility: 'private',
            protected: false,
            created_at: state.now(),
            updated_at: state.now(),
            properties: { image_type: 'snapshot', instance_uuid: target.id },
          }
          state.images.set(snapshot.id, snapshot)
          return { status: 202, body: { image_id: snapshot.id } }
        }
        act(target, key)
        return { status: 202 }
      }),
      route('GET', '/limits', () => {
        const used = state.computeUsage()
        return {
          status: 200,
          body: {
            limits: {
              absolute: {
                maxTotalCores: state.quota.cores,
                maxTotalRAMSize: state.quota.ramMiB,
                maxTotalInstances: state.quota.instances,
                maxServerMeta: 128,
                maxImageMeta: 128,
                maxPersonality: 5,
                maxPersonalitySize: 10240,
                maxTotalKeypairs: 100,
                maxServerGroups: 10,
                maxServerGroupMembers: 10,
                totalCoresUsed: used.cores,
                totalRAMUsed: used.ramMiB,
                totalInstancesUsed: used.instances,
                totalServerGroupsUsed: 0,
              },
              rate: [],
            },
          },
        }
      }),
    ],
  }

  return { service, createFlavor, deleteFlavor, createServer, deleteServer }
}
export type Nova = ReturnType<typeof nova>
