import type { SecurityRule, VnfTopology } from '@mecm/csar'
import { placeholder } from './user-data'

export interface HotInput {
  stackName: string
  description: string
  topology: VnfTopology
  /** The Glance image id each VDU boots from. */
  imageOf: (vdu: string) => string
  /** The first-boot script, with placeholders for the variables. */
  userData: string
  /** The variables' values: they become hidden parameters. */
  variables: Record<string, string>
}

/** Without rules of its own, an app's VMs answer ping and nothing else. */
const DEFAULT_RULES: SecurityRule[] = [{ direction: 'ingress', etherType: 'IPv4', protocol: 'icmp' }]

const subnetOf = (link: string) => `${link}_subnet`
const flavorOf = (vdu: string) => `${vdu}_flavor`

/**
 * The Heat template of an instance, from its APPD's topology as EdgeGallery's osplugin translated
 * it: each VnfVirtualLink an OS::Neutron::Net with a subnet, one security group with the APPD's
 * rules, each Vdu.Compute an OS::Nova::Server with its own OS::Nova::Flavor, each VduCp an
 * OS::Neutron::Port on its link (in NIC order), each VirtualStorage an OS::Cinder::Volume attached
 * to its VDU; outputs give each server's id and addresses.
 */
export function hotTemplate(input: HotInput): {
  template: Record<string, unknown>
  parameters: Record<string, string>
} {
  const { topology, stackName } = input
  const resources: Record<string, unknown> = {
    security_group: {
      type: 'OS::Neutron::SecurityGroup',
      properties: {
        name: `${stackName}-sg`,
        description: `${input.description}: rules from the APPD`,
        rules: (topology.securityRules.length ? topology.securityRules : DEFAULT_RULES).map((rule) => ({
          direction: rule.direction,
          ethertype: rule.etherType,
          ...(rule.protocol ? { protocol: rule.protocol } : {}),
          ...(rule.portMin !== undefined ? { port_range_min: rule.portMin } : {}),
          ...(rule.portMax !== undefined ? { port_range_max: rule.portMax } : {}),
          ...(rule.remoteIpPrefix ? { remote_ip_prefix: rule.remoteIpPrefix } : {}),
        })),
      },
    },
  }
  const outputs: Record<string, unknown> = {}
  for (const [index, link] of topology.virtualLinks.entries()) {
    resources[link.name] = {
      type: 'OS::Neutron::Net',
      properties: { name: `${stackName}-${link.networkName ?? link.name}` },
    }
    resources[subnetOf(link.name)] = {
      type: 'OS::Neutron::Subnet',
      properties: {
        network: { get_resource: link.name },
        cidr: link.cidr ?? `192.168.${100 + index}.0/24`,
        ip_version: 4,
      },
    }
  }
  for (const point of topology.connectionPoints) {
    if (!point.virtualLink) continue
    resources[point.name] = {
      type: 'OS::Neutron::Port',
      properties: {
        network: { get_resource: point.virtualLink },
        fixed_ips: [{ subnet: { get_resource: subnetOf(point.virtualLink) } }],
        security_groups: [{ get_resource: 'security_group' }],
      },
    }
  }
  const userData = {
    str_replace: {
      template: input.userData,
      params: Object.fromEntries(Object.keys(input.variables).map((name) => [placeholder(name), { get_param: name }])),
    },
  }
  for (const vdu of topology.vdus) {
    resources[flavorOf(vdu.name)] = {
      type: 'OS::Nova::Flavor',
      properties: {
        vcpus: vdu.vcpus,
        ram: vdu.memoryMiB,
        disk: vdu.diskGiB,
        ...(Object.keys(vdu.flavorExtraSpecs).length ? { extra_specs: vdu.flavorExtraSpecs } : {}),
      },
    }
    const ports = topology.connectionPoints.filter((point) => point.vdu === vdu.name && point.virtualLink)
    resources[vdu.name] = {
      type: 'OS::Nova::Server',
      properties: {
        name: `${stackName}-${vdu.vmName}`,
        flavor: { get_resource: flavorOf(vdu.name) },
        image: input.imageOf(vdu.name),
        ...(ports.length ? { networks: ports.map((point) => ({ port: { get_resource: point.name } })) } : {}),
        user_data_format: 'RAW',
        user_data: userData,
      },
    }
    outputs[`${vdu.name}_id`] = { description: `the server of ${vdu.name}`, value: { get_resource: vdu.name } }
    outputs[`${vdu.name}_addresses`] = {
      description: `the addresses of ${vdu.name} by network`,
      value: { get_attr: [vdu.name, 'networks'] },
    }
  }
  for (const storage of topology.storages) {
    resources[storage.name] = {
      type: 'OS::Cinder::Volume',
      properties: { name: `${stackName}-${storage.name}`, size: storage.sizeGiB },
    }
    if (storage.vdu)
      resources[`${storage.name}_attachment`] = {
        type: 'OS::Cinder::VolumeAttachment',
        properties: { instance_uuid: { get_resource: storage.vdu }, volume_id: { get_resource: storage.name } },
      }
  }
  return {
    template: {
      heat_template_version: '2018-08-31',
      description: input.description,
      parameters: Object.fromEntries(
        Object.keys(input.variables).map((name) => [name, { type: 'string', hidden: true }]),
      ),
      resources,
      outputs,
    },
    parameters: input.variables,
  }
}
