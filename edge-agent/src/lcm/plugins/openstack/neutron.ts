import type { KeystoneSession } from './keystone'

export interface NeutronNetwork {
  id: string
  name: string
  status: string
  subnets: string[]
}

export interface NeutronSubnet {
  id: string
  name: string
  network_id: string
  cidr: string
}

export interface NeutronSecurityGroupRule {
  id: string
  security_group_id: string
  direction: 'ingress' | 'egress'
  ethertype: string
  protocol: string | null
  port_range_min: number | null
  port_range_max: number | null
  remote_ip_prefix: string | null
  remote_group_id: string | null
}

export interface NeutronSecurityGroup {
  id: string
  name: string
  description: string
  security_group_rules: NeutronSecurityGroupRule[]
}

/** Neutron (Networking API v2.0): networks with subnets, security groups and their rules. */
export function neutronApi(session: KeystoneSession) {
  const request = session.request.bind(null, 'network')
  return {
    networks: {
      async list(): Promise<NeutronNetwork[]> {
        return ((await request('GET', '/v2.0/networks')).body as { networks: NeutronNetwork[] }).networks
      },
      async get(id: string): Promise<NeutronNetwork> {
        return ((await request('GET', `/v2.0/networks/${id}`)).body as { network: NeutronNetwork }).network
      },
      async create(network: Record<string, unknown>): Promise<NeutronNetwork> {
        return ((await request('POST', '/v2.0/networks', { body: { network } })).body as { network: NeutronNetwork })
          .network
      },
      async delete(id: string): Promise<void> {
        await request('DELETE', `/v2.0/networks/${id}`)
      },
    },
    subnets: {
      async list(networkId: string): Promise<NeutronSubnet[]> {
        const reply = await request('GET', '/v2.0/subnets', { query: { network_id: networkId } })
        return (reply.body as { subnets: NeutronSubnet[] }).subnets
      },
      async create(subnet: Record<string, unknown>): Promise<NeutronSubnet> {
        return ((await request('POST', '/v2.0/subnets', { body: { subnet } })).body as { subnet: NeutronSubnet }).subnet
      },
    },
    securityGroups: {
      async list(): Promise<NeutronSecurityGroup[]> {
        const reply = await request('GET', '/v2.0/security-groups')
        return (reply.body as { security_groups: NeutronSecurityGroup[] }).security_groups
      },
      async get(id: string): Promise<NeutronSecurityGroup> {
        const reply = await request('GET', `/v2.0/security-groups/${id}`)
        return (reply.body as { security_group: NeutronSecurityGroup }).security_group
      },
      async create(group: { name: string; description?: string }): Promise<NeutronSecurityGroup> {
        const reply = await request('POST', '/v2.0/security-groups', { body: { security_group: group } })
        return (reply.body as { security_group: NeutronSecurityGroup }).security_group
      },
      async delete(id: string): Promise<void> {
        await request('DELETE', `/v2.0/security-groups/${id}`)
      },
    },
    rules: {
      async list(securityGroupId: string): Promise<NeutronSecurityGroupRule[]> {
        const reply = await request('GET', '/v2.0/security-group-rules', {
          query: { security_group_id: securityGroupId },
        })
        return (reply.body as { security_group_rules: NeutronSecurityGroupRule[] }).security_group_rules
      },
      async create(rule: Record<string, unknown>): Promise<NeutronSecurityGroupRule> {
        const reply = await request('POST', '/v2.0/security-group-rules', { body: { security_group_rule: rule } })
        return (reply.body as { security_group_rule: NeutronSecurityGroupRule }).security_group_rule
      },
      async delete(id: string): Promise<void> {
        await request('DELETE', `/v2.0/security-group-rules/${id}`)
      },
    },
  }
}
