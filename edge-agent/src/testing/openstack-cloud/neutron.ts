import { randomBytes } from 'node:crypto'
import { member, route, type Service } from './http'
import { type CloudState, type Port, type SecurityGroupRule, ServiceError } from './state'

export interface PortSpec {
  name?: string
  networkId: string
  subnetId?: string
  securityGroups?: string[]
}

export interface RuleSpec {
  security_group_id: string
  direction: string
  ethertype?: string
  protocol?: string | null
  port_range_min?: number | null
  port_range_max?: number | null
  remote_ip_prefix?: string | null
  remote_group_id?: string | null
}

const ipv4 = (cidr: string) => {
  const match = cidr.match(/^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/)
  if (!match || match.slice(1, 5).some((part) => Number(part) > 255) || Number(match[5]) > 30)
    throw new ServiceError(400, 'InvalidInput', `Invalid input for cidr. Reason: '${cidr}' is not a valid IP subnet.`)
  const base = match.slice(1, 5).reduce((sum, part) => sum * 256 + Number(part), 0)
  const size = 2 ** (32 - Number(match[5]))
  return { network: base - (base % size), size }
}
const dotted = (n: number) => [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.')

/**
 * Neutron (Networking API v2.0): networks, subnets with fixed-IP allocation, ports, security
 * groups (created with Neutron's two default egress rules) and rules, with Neutron's conflicts:
 * NetworkInUse, SubnetInUse, SecurityGroupInUse, SecurityGroupRuleExists.
 */
export function neutron(state: CloudState) {
  const notFound = (kind: string, id: string | undefined) =>
    new ServiceError(404, `${kind.replaceAll(' ', '')}NotFound`, `${kind} ${id} could not be found.`)
  const get = <T>(map: Map<string, T>, kind: string, id: string | undefined): T => {
    const found = id ? map.get(id) : undefined
    if (!found) throw notFound(kind, id)
    return found
  }
  const owner = () => ({ tenant_id: state.projectId, project_id: state.projectId })

  function createNetwork(name: string) {
    const network = { id: state.id(), name, subnets: [] as string[] }
    state.networks.set(network.id, network)
    return network
  }

  function createSubnet(spec: { networkId: string; cidr: string; name?: string }) {
    const network = get(state.networks, 'Network', spec.networkId)
    const { network: base } = ipv4(spec.cidr)
    const subnet = {
      id: state.id(),
      name: spec.name ?? '',
      networkId: network.id,
      cidr: spec.cidr,
      gatewayIp: dotted(base + 1),
      allocated: 1,
    }
    state.subnets.set(subnet.id, subnet)
    network.subnets.push(subnet.id)
    return subnet
  }

  function createPort(spec: PortSpec): Port {
    const network = get(state.networks, 'Network', spec.networkId)
    const subnet = get(state.subnets, 'Subnet', spec.subnetId ?? network.subnets[0])
    const { network: base, size } = ipv4(subnet.cidr)
    if (subnet.allocated + 2 >= size)
      throw new ServiceError(
        409,
        'IpAddressGenerationFailure',
        `No more IP addresses available on network ${network.id}.`,
      )
    for (const group of spec.securityGroups ?? []) get(state.securityGroups, 'Security group', group)
    subnet.allocated++
    const port: Port = {
      id: state.id(),
      name: spec.name ?? '',
      networkId: network.id,
      fixedIps: [{ subnet_id: subnet.id, ip_address: dotted(base + subnet.allocated) }],
      macAddress: `fa:16:3e:${randomBytes(3).toString('hex').match(/../g)?.join(':')}`,
      securityGroups: spec.securityGroups ?? [],
      deviceId: '',
    }
    state.ports.set(port.id, port)
    return port
  }

  function deleteNetwork(id: string) {
    const network = get(state.networks, 'Network', id)
    if ([...state.ports.values()].some((port) => port.networkId === id))
      throw new ServiceError(
        409,
        'NetworkInUse',
        `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`,
      )
    for (const subnet of network.subnets) state.subnets.delete(subnet)
    state.networks.delete(id)
  }

  function deleteSubnet(id: string) {
    const subnet = get(state.subnets, 'Subnet', id)
    if ([...state.ports.values()].some((port) => port.fixedIps.some((ip) => ip.subnet_id === id)))
      throw new ServiceError(
        409,
        'SubnetInUse',
        `Unable to complete operation on subnet ${id}: One or more ports have an IP allocation from this subnet.`,
      )
    const network = state.networks.get(subnet.networkId)
    if (network) network.subnets = network.subnets.filter((other) => other !== id)
    state.subnets.delete(id)
  }

  function deletePort(id: string) {
    get(state.ports, 'Port', id)
    state.ports.delete(id)
  }

  function createRule(spec: RuleSpec): SecurityGroupRule {
    get(state.securityGroups, 'Security group', spec.security_group_id)
    if (spec.direction !== 'ingress' && spec.direction !== 'egress')
      throw new ServiceError(
        400,
        'InvalidInput',
        `Invalid input for direction. Reason: '${spec.direction}' is not in ['ingress', 'egress'].`,
      )
    const rule: SecurityGroupRule = {
      id: state.id(),
      security_group_id: spec.security_group_id,
      direction: spec.direction,
      ethertype: spec.ethertype === 'IPv6' ? 'IPv6' : 'IPv4',
      protocol: spec.protocol ?? null,
      port_range_min: spec.port_range_min ?? null,
      port_range_max: spec.port_range_max ?? null,
      remote_ip_prefix: spec.remote_ip_prefix ?? null,
      remote_group_id: spec.remote_group_id ?? null,
    }
    const { id: _, ...fields } = rule
    const same = [...state.rules.values()].find((other) =>
      Object.entries(fields).every(([key, value]) => other[key as keyof SecurityGroupRule] === value),
    )
    if (same)
      throw new ServiceError(
        409,
        'SecurityGroupRuleExists',
        `Security group rule already exists. Rule id is ${same.id}.`,
      )
    state.rules.set(rule.id, rule)
    return rule
  }

  function createSecurityGroup(name: string, description = '') {
    const group = { id: state.id(), name, description }
    state.securityGroups.set(group.id, group)
    for (const ethertype of ['IPv4', 'IPv6'])
      createRule({ security_group_id: group.id, direction: 'egress', ethertype })
    return group
  }

  function deleteSecurityGroup(id: string) {
    get(state.securityGroups, 'Security group', id)
    if ([...state.ports.values()].some((port) => port.securityGroups.includes(id)))
      throw new ServiceError(409, 'SecurityGroupInUse', `Security Group ${id} in use.`)
    for (const rule of state.rules.values()) if (rule.security_group_id === id) state.rules.delete(rule.id)
    state.securityGroups.delete(id)
  }

  const networkView = (id: string) => {
    const network = get(state.networks, 'Network', id)
    return {
      ...network,
      ...owner(),
      status: 'ACTIVE',
      admin_state_up: true,
      shared: false,
      mtu: 1450,
      port_security_enabled: true,
    }
  }
  const subnetView = (id: string) => {
    const subnet = get(state.subnets, 'Subnet', id)
    return {
      id: subnet.id,
      name: subnet.name,
      network_id: subnet.networkId,
      cidr: subnet.cidr,
      gateway_ip: subnet.gatewayIp,
      ip_version: 4,
      enable_dhcp: true,
      ...owner(),
    }
  }
  const portView = (port: Port) => ({
    id: port.id,
    name: port.name,
    network_id: port.networkId,
    fixed_ips: port.fixedIps,
    mac_address: port.macAddress,
    security_groups: port.securityGroups,
    device_id: port.deviceId,
    device_owner: port.deviceId ? 'compute:nova' : '',
    status: port.deviceId ? 'ACTIVE' : 'DOWN',
    admin_state_up: true,
    ...owner(),
  })
  const groupView = (id: string) => ({
    ...get(state.securityGroups, 'Security group', id),
    ...owner(),
    security_group_rules: [...state.rules.values()].filter((rule) => rule.security_group_id === id).map(ruleView),
  })
  const ruleView = (rule: SecurityGroupRule) => ({ ...rule, ...owner() })
  const filtered = <T extends Record<string, unknown>>(items: T[], query: URLSearchParams) =>
    items.filter((item) => [...query.entries()].every(([key, value]) => !(key in item) || String(item[key]) === value))
  const int = (value: unknown) => (typeof value === 'number' ? value : null)

  const service: Service = {
    prefix: '/networking',
    errorBody: (error) => ({ NeutronError: { type: error.type, message: error.message, detail: '' } }),
    routes: [
      route('GET', '/v2.0/networks', (request) => ({
        status: 200,
        body: { networks: filtered([...state.networks.keys()].map(networkView), request.query) },
      })),
      route('POST', '/v2.0/networks', async (request) => {
        const body = member(await request.json(), 'network')
        return { status: 201, body: { network: networkView(createNetwork(String(body.name ?? '')).id) } }
      }),
      route('GET', '/v2.0/networks/:id', (request) => ({
        status: 200,
        body: { network: networkView(request.params.id ?? '') },
      })),
      route('DELETE', '/v2.0/networks/:id', (request) => {
        deleteNetwork(request.params.id ?? '')
        return { status: 204 }
      }),
      route('GET', '/v2.0/subnets', (request) => ({
        status: 200,
        body: { subnets: filtered([...state.subnets.keys()].map(subnetView), request.query) },
      })),
      route('POST', '/v2.0/subnets', async (request) => {
        const body = member(await request.json(), 'subnet')
        const subnet = createSubnet({
          networkId: String(body.network_id),
          cidr: String(body.cidr),
          name: String(body.name ?? ''),
        })
        return { status: 201, body: { subnet: subnetView(subnet.id) } }
      }),
      route('DELETE', '/v2.0/subnets/:id', (request) => {
        deleteSubnet(request.params.id ?? '')
        return { status: 204 }
      }),
      route('GET', '/v2.0/ports', (request) => ({
        status: 200,
        body: { ports: filtered([...state.ports.values()].map(portView), request.query) },
      })),
      route('DELETE', '/v2.0/ports/:id', (request) => {
        deletePort(request.params.id ?? '')
        return { status: 204 }
      }),
      route('GET', '/v2.0/security-groups', (request) => ({
        status: 200,
        body: { security_groups: filtered([...state.securityGroups.keys()].map(groupView), request.query) },
      })),
      route('POST', '/v2.0/security-groups', async (request) => {
        const body = member(await request.json(), 'security_group')
        const group = createSecurityGroup(String(body.name ?? ''), String(body.description ?? ''))
        return { status: 201, body: { security_group: groupView(group.id) } }
      }),
      route('GET', '/v2.0/security-groups/:id', (request) => ({
        status: 200,
        body: { security_group: groupView(request.params.id ?? '') },
      })),
      route('DELETE', '/v2.0/security-groups/:id', (request) => {
        deleteSecurityGroup(request.params.id ?? '')
        return { status: 204 }
      }),
      route('GET', '/v2.0/security-group-rules', (request) => ({
        status: 200,
        body: { security_group_rules: filtered([...state.rules.values()].map(ruleView), request.query) },
      })),
      route('POST', '/v2.0/security-group-rules', async (request) => {
        const body = member(await request.json(), 'security_group_rule')
        const rule = createRule({
          security_group_id: String(body.security_group_id),
          direction: String(body.direction),
          ethertype: String(body.ethertype ?? 'IPv4'),
          protocol: typeof body.protocol === 'string' ? body.protocol : null,
          port_range_min: int(body.port_range_min),
          port_range_max: int(body.port_range_max),
          remote_ip_prefix: typeof body.remote_ip_prefix === 'string' ? body.remote_ip_prefix : null,
          remote_group_id: typeof body.remote_group_id === 'string' ? body.remote_group_id : null,
        })
        return { status: 201, body: { security_group_rule: ruleView(rule) } }
      }),
      route('DELETE', '/v2.0/security-group-rules/:id', (request) => {
        get(state.rules, 'Security group rule', request.params.id)
        state.rules.delete(request.params.id ?? '')
        return { status: 204 }
      }),
    ],
  }

  return {
    service,
    createNetwork,
    createSubnet,
    createPort,
    createSecurityGroup,
    createRule,
    deleteNetwork,
    deleteSubnet,
    deletePort,
    deleteSecurityGroup,
    /** A port's network name and fixed IPs, as Nova lists them under a server's addresses. */
    addresses(portIds: string[]) {
      const addresses: Record<string, unknown[]> = {}
      for (const id of portIds) {
        const port = state.ports.get(id)
        if (!port) continue
        const name = state.networks.get(port.networkId)?.name ?? port.networkId
        addresses[name] = [
          ...(addresses[name] ?? []),
          ...port.fixedIps.map((ip) => ({
            addr: ip.ip_address,
            version: 4,
            'OS-EXT-IPS:type': 'fixed',
            'OS-EXT-IPS-MAC:mac_addr': port.macAddress,
          })),
        ]
      }
      return addresses
    },
  }
}
export type Neutron = ReturnType<typeof neutron>
