import type { Cinder } from './cinder'
import { asRecord } from './http'
import type { Neutron } from './neutron'
import type { Nova } from './nova'
import { type CloudState, ServiceError } from './state'

/** What a HOT resource type does in the cloud: create, wait until ready (as Heat does), read attributes, delete. */
export interface ResourceType {
  /** Makes the resource; its physical id. */
  create(properties: Record<string, unknown>, name: string): Promise<string>
  ready?(id: string): Promise<void>
  attribute?(id: string, attribute: string): unknown
  delete(id: string): void
}

export interface Services {
  nova: Nova
  neutron: Neutron
  cinder: Cinder
}

const str = (value: unknown) => (value === undefined || value === null ? undefined : String(value))
const list = (value: unknown) => (Array.isArray(value) ? value : [])

/**
 * The resource types the plugin's templates use (OS::Nova::Server and Flavor, OS::Neutron::Net,
 * Subnet, Port, SecurityGroup, OS::Cinder::Volume and VolumeAttachment), acting on the shared
 * state like Heat's plugins act through the services' APIs.
 */
export function resourceTypes(
  state: CloudState,
  services: Services,
  cancelled: () => boolean,
): Record<string, ResourceType> {
  const { nova, neutron, cinder } = services
  const byNameOrId = <T extends { id: string; name: string }>(map: Map<string, T>, ref: unknown, kind: string): T => {
    const found = map.get(String(ref)) ?? [...map.values()].find((item) => item.name === ref)
    if (!found) throw new ServiceError(404, 'NotFound', `${kind} ${String(ref)} could not be found.`)
    return found
  }

  async function waitActive(id: string): Promise<void> {
    for (;;) {
      if (cancelled()) throw new ServiceError(409, 'Cancelled', 'Stack create was cancelled by a delete')
      const server = state.servers.get(id)
      if (!server) throw new ServiceError(404, 'NotFound', `Instance ${id} could not be found.`)
      if (server.status === 'ACTIVE') return
      if (server.status === 'ERROR')
        throw new ServiceError(500, 'ResourceInError', `Went to status ERROR due to "Message: Unknown, Code: Unknown"`)
      await state.sleep(state.timings.stackStepMs)
    }
  }

  return {
    'OS::Nova::Flavor': {
      async create(p, name) {
        const flavor = nova.createFlavor({
          name: str(p.name) ?? `${name}-${state.id().slice(0, 8)}`,
          vcpus: Number(p.vcpus ?? 1),
          ram: Number(p.ram),
          disk: Number(p.disk ?? 0),
          swap: Number(p.swap ?? 0),
          extraSpecs: Object.fromEntries(Object.entries(asRecord(p.extra_specs)).map(([k, v]) => [k, String(v)])),
        })
        return flavor.id
      },
      delete: (id) => state.flavors.has(id) && nova.deleteFlavor(id),
    },
    'OS::Neutron::Net': {
      async create(p, name) {
        return neutron.createNetwork(str(p.name) ?? name).id
      },
      attribute: (id, attribute) => (attribute === 'name' ? state.networks.get(id)?.name : undefined),
      delete: (id) => state.networks.has(id) && neutron.deleteNetwork(id),
    },
    'OS::Neutron::Subnet': {
      async create(p, name) {
        const network = byNameOrId(state.networks, p.network, 'Network')
        return neutron.createSubnet({ networkId: network.id, cidr: String(p.cidr), name: str(p.name) ?? name }).id
      },
      delete: (id) => state.subnets.has(id) && neutron.deleteSubnet(id),
    },
    'OS::Neutron::SecurityGroup': {
      async create(p, name) {
        const group = neutron.createSecurityGroup(str(p.name) ?? name, str(p.description) ?? '')
        for (const rule of list(p.rules).map(asRecord)) {
          neutron.createRule({
            security_group_id: group.id,
            direction: str(rule.direction) ?? 'ingress',
            ethertype: str(rule.ethertype) ?? 'IPv4',
            protocol: str(rule.protocol) ?? null,
            port_range_min: rule.port_range_min === undefined ? null : Number(rule.port_range_min),
            port_range_max: rule.port_range_max === undefined ? null : Number(rule.port_range_max),
            remote_ip_prefix: str(rule.remote_ip_prefix) ?? null,
          })
        }
        return group.id
      },
      delete: (id) => state.securityGroups.has(id) && neutron.deleteSecurityGroup(id),
    },
    'OS::Neutron::Port': {
      async create(p, name) {
        const network = byNameOrId(state.networks, p.network, 'Network')
        const subnet = str(asRecord(list(p.fixed_ips)[0]).subnet)
        const groups = list(p.security_groups).map(
          (group) => byNameOrId(state.securityGroups, group, 'Security group').id,
        )
        return neutron.createPort({
          name: str(p.name) ?? name,
          networkId: network.id,
          subnetId: subnet,
          securityGroups: groups,
        }).id
      },
      attribute(id, attribute) {
        const port = state.ports.get(id)
        if (attribute === 'fixed_ips') return port?.fixedIps
        if (attribute === 'mac_address') return port?.macAddress
        return undefined
      },
      delete: (id) => state.ports.has(id) && neutron.deletePort(id),
    },
    'OS::Nova::Server': {
      async create(p, name) {
        const flavor = byNameOrId(state.flavors, p.flavor, 'Flavor')
        const image = byNameOrId(state.images, p.image, 'Image')
        const server = nova.createServer({
          name: str(p.name) ?? name,
          flavorRef: flavor.id,
          imageRef: image.id,
          networks: list(p.networks)
            .map(asRecord)
            .map((choice) =>
              choice.port
                ? { port: String(choice.port) }
                : { uuid: byNameOrId(state.networks, choice.network, 'Network').id },
            ),
          securityGroups: list(p.security_groups).map(String),
          userData: str(p.user_data) ?? null,
        })
        return server.id
      },
      ready: waitActive,
      attribute(id, attribute) {
        const server = state.servers.get(id)
        if (!server) return undefined
        const addresses = neutron.addresses(server.portIds) as Record<string, { addr: string }[]>
        if (attribute === 'addresses') return addresses
        if (attribute === 'networks')
          return Object.fromEntries(Object.entries(addresses).map(([net, ips]) => [net, ips.map((ip) => ip.addr)]))
        if (attribute === 'first_address') return Object.values(addresses)[0]?.[0]?.addr ?? ''
        if (attribute === 'name') return server.name
        return undefined
      },
      delete: (id) => state.servers.has(id) && nova.deleteServer(id),
    },
    'OS::Cinder::Volume': {
      async create(p, name) {
        return cinder.createVolume(str(p.name) ?? name, Number(p.size)).id
      },
      attribute: (id, attribute) => (attribute === 'size' ? state.volumes.get(id)?.size : undefined),
      delete: (id) => cinder.deleteVolume(id),
    },
    'OS::Cinder::VolumeAttachment': {
      async create(p) {
        const volume = String(p.volume_id)
        cinder.attach(volume, String(p.instance_uuid))
        return volume
      },
      delete: (id) => cinder.detach(id),
    },
  }
}
