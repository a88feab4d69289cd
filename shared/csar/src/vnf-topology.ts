import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve, sep } from 'node:path'
import { parse } from 'yaml'
import { asRecord } from './appd-template'
import { defaultLimits, openArchive } from './archive'
import { PackageError } from './package-error'
import { entryDefinitions } from './tosca-meta'

/** The virtual machines an APPD describes (ETSI SOL001 node types, as EdgeGallery's APPDs use them). */
export interface VnfTopology {
  vdus: VduNode[]
  connectionPoints: ConnectionPoint[]
  storages: StorageNode[]
  virtualLinks: VirtualLinkNode[]
  securityRules: SecurityRule[]
}

export interface VduNode {
  /** The node's name in the template. */
  name: string
  /** The VM's own name (properties.name), else the node's. */
  vmName: string
  vcpus: number
  memoryMiB: number
  diskGiB: number
  /** sw_image_data.name: the SwImageDesc image the VM boots from. */
  imageName?: string
  flavorExtraSpecs: Record<string, string>
}

export interface ConnectionPoint {
  name: string
  vdu: string
  virtualLink?: string
  /** The NIC's position on its VM, lowest first. */
  order: number
}

export interface StorageNode {
  name: string
  sizeGiB: number
  /** The VDU it is attached to, when one names it. */
  vdu?: string
}

export interface VirtualLinkNode {
  name: string
  networkName?: string
  cidr?: string
}

export interface SecurityRule {
  direction: 'ingress' | 'egress'
  etherType: 'IPv4' | 'IPv6'
  protocol?: string
  portMin?: number
  portMax?: number
  remoteIpPrefix?: string
}

type Node = {
  type?: string
  properties?: Record<string, unknown>
  capabilities?: Record<string, { properties?: Record<string, unknown> }>
  requirements?: unknown[]
}

const str = (value: unknown): string | undefined =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : undefined

/**
 * A TOSCA scalar-unit.size (`2048`, `"2 GB"`, `"512 MiB"`) in `unit`; a bare number is taken in
 * `unit` already. Decimal and binary prefixes are treated alike, as OpenStack flavors do.
 */
function size(value: unknown, unit: 'MiB' | 'GiB', what: string): number {
  if (value === undefined || value === null || value === '') return 0
  const match = String(value)
    .trim()
    .match(/^(\d+(?:\.\d+)?)\s*([KMGT]i?B)?$/i)
  if (!match) throw new PackageError(`${what}: ${JSON.stringify(value)} is not a size`)
  const exponent = { K: 1, M: 2, G: 3, T: 4 }[(match[2] ?? unit).charAt(0).toUpperCase() as 'K' | 'M' | 'G' | 'T']
  const amount = Number(match[1]) * 1024 ** (exponent - (unit === 'MiB' ? 2 : 3))
  return Math.ceil(amount)
}

/** TOSCA requirements: a list of one-key maps, each naming a node directly or as `{node: …}`. */
function requirement(node: Node, name: string): string[] {
  return (node.requirements ?? []).flatMap((entry) => {
    const target = asRecord(entry)[name]
    const named = str(target) ?? str(asRecord(target).node)
    return named ? [named] : []
  })
}

function cidrOf(profile: Record<string, unknown>, properties: Record<string, unknown>): string | undefined {
  const protocols = Array.isArray(profile.virtual_link_protocol_data) ? profile.virtual_link_protocol_data : []
  return (
    str(asRecord(profile.l3_protocol_data).cidr) ??
    protocols.map((data) => str(asRecord(asRecord(data).l3_protocol_data).cidr)).find(Boolean) ??
    str(properties.cidr)
  )
}

const PORT = /^(\d+)$/

function securityRule(properties: Record<string, unknown>): SecurityRule {
  const port = (value: unknown) => (PORT.test(String(value ?? '')) ? Number(value) : undefined)
  const portMin = port(properties.port_range_min)
  const portMax = port(properties.port_range_max)
  const protocol = str(properties.protocol)
  const remote = str(properties.remote_ip_prefix)
  return {
    direction: properties.direction === 'egress' ? 'egress' : 'ingress',
    etherType:
      String(properties.ether_type ?? properties.ethertype ?? 'ipv4').toLowerCase() === 'ipv6' ? 'IPv6' : 'IPv4',
    ...(protocol ? { protocol: protocol.toLowerCase() } : {}),
    ...(portMin !== undefined ? { portMin } : {}),
    ...(portMax !== undefined ? { portMax } : {}),
    ...(remote ? { remoteIpPrefix: remote } : {}),
  }
}

/** Reads the VM topology of a TOSCA APPD: VDUs, their NICs, volumes, networks and security rules. */
export function vnfTopology(source: Buffer | string, file: string): VnfTopology {
  let document: unknown
  try {
    document = parse(source.toString(), { maxAliasCount: 100 })
  } catch (error) {
    throw new PackageError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`)
  }
  const topology = asRecord(asRecord(document).topology_template)
  const nodes = Object.entries(asRecord(topology.node_templates)) as [string, Node][]
  const ofType = (...types: string[]) => nodes.filter(([, node]) => types.includes(node.type ?? ''))

  const storageOwner = new Map<string, string>()
  const vdus = ofType('tosca.nodes.nfv.Vdu.Compute').map(([name, node]): VduNode => {
    const properties = asRecord(node.properties)
    const virtual = asRecord(node.capabilities?.virtual_compute?.properties)
    for (const storage of requirement(node, 'virtual_storage')) storageOwner.set(storage, name)
    const specs = asRecord(asRecord(properties.vdu_profile).flavor_extra_specs)
    const imageName = str(asRecord(properties.sw_image_data).name)
    return {
      name,
      vmName: str(properties.name) ?? name,
      vcpus: Number(asRecord(virtual.virtual_cpu).num_virtual_cpu ?? 1),
      memoryMiB: size(asRecord(virtual.virtual_memory).virtual_mem_size, 'MiB', `${file}: ${name} virtual_mem_size`),
      diskGiB: size(
        asRecord(virtual.virtual_local_storage).size_of_storage,
        'GiB',
        `${file}: ${name} virtual_local_storage`,
      ),
      ...(imageName ? { imageName } : {}),
      flavorExtraSpecs: Object.fromEntries(Object.entries(specs).map(([key, value]) => [key, String(value)])),
    }
  })
  const connectionPoints = ofType('tosca.nodes.nfv.VduCp')
    .map(([name, node], index): ConnectionPoint => {
      const vdu = requirement(node, 'virtual_binding')[0]
      if (!vdu) throw new PackageError(`${file}: connection point ${name} is bound to no VDU (virtual_binding)`)
      const link = requirement(node, 'virtual_link')[0]
      const order = Number(asRecord(node.properties).order)
      return { name, vdu, ...(link ? { virtualLink: link } : {}), order: Number.isFinite(order) ? order : index }
    })
    .sort((a, b) => a.order - b.order)
  const storages = ofType('tosca.nodes.nfv.Vdu.VirtualBlockStorage', 'tosca.nodes.nfv.Vdu.VirtualStorage').map(
    ([name, node]): StorageNode => {
      const properties = asRecord(node.properties)
      const data = asRecord(properties.virtual_block_storage_data)
      const vdu = storageOwner.get(name)
      return {
        name,
        sizeGiB: size(data.size_of_storage ?? properties.size_of_storage, 'GiB', `${file}: ${name} size_of_storage`),
        ...(vdu ? { vdu } : {}),
      }
    },
  )
  const virtualLinks = ofType('tosca.nodes.nfv.VnfVirtualLink').map(([name, node]): VirtualLinkNode => {
    const properties = asRecord(node.properties)
    const profile = asRecord(properties.vl_profile)
    const networkName = str(profile.network_name)
    const cidr = cidrOf(profile, properties)
    return { name, ...(networkName ? { networkName } : {}), ...(cidr ? { cidr } : {}) }
  })
  const policies = Array.isArray(topology.policies) ? topology.policies : []
  const securityRules = policies
    .flatMap((entry) => Object.values(asRecord(entry)).map(asRecord))
    .filter((policy) => policy.type === 'tosca.policies.nfv.SecurityGroupRule')
    .map((policy) => securityRule(asRecord(policy.properties)))

  for (const point of connectionPoints) {
    if (!vdus.some((vdu) => vdu.name === point.vdu))
      throw new PackageError(`${file}: connection point ${point.name} is bound to ${point.vdu}, which is no VDU`)
    if (point.virtualLink && !virtualLinks.some((link) => link.name === point.virtualLink))
      throw new PackageError(
        `${file}: connection point ${point.name} links to ${point.virtualLink}, which is no VnfVirtualLink`,
      )
  }
  return { vdus, connectionPoints, storages, virtualLinks, securityRules }
}

/** A path inside the unpacked package, or a PackageError. */
function inside(root: string, path: string): string {
  const full = resolve(root, path)
  if (!full.startsWith(resolve(root) + sep)) throw new PackageError(`${path} leaves the package`)
  return full
}

/**
 * The VM topology of an unpacked package: the APPD its TOSCA.meta names (a YAML template or a
 * nested APPD zip), or the older layout's Definitions/*.yaml.
 */
export async function readVnfTopology(packageRoot: string): Promise<VnfTopology> {
  const meta = join(packageRoot, 'TOSCA-Metadata', 'TOSCA.meta')
  let entry: string
  if (existsSync(meta)) entry = entryDefinitions(readFileSync(meta), 'TOSCA-Metadata/TOSCA.meta')
  else {
    const definitions = join(packageRoot, 'Definitions')
    const old = existsSync(definitions) ? readdirSync(definitions).find((name) => /\.ya?ml$/i.test(name)) : undefined
    if (!old) throw new PackageError('the package has no TOSCA-Metadata/TOSCA.meta (and no Definitions/*.yaml)')
    entry = `Definitions/${old}`
  }
  const file = inside(packageRoot, entry)
  if (!existsSync(file)) throw new PackageError(`Entry-Definitions points at ${entry}, which the package does not hold`)
  if (/\.ya?ml$/i.test(entry)) return vnfTopology(readFileSync(file), entry)
  const nested = await openArchive(file, defaultLimits)
  try {
    const nestedMeta = nested.names.find((name) => /(^|\/)TOSCA[-_]VNFD\.meta$|TOSCA\.meta$/.test(name))
    const template = nestedMeta
      ? entryDefinitions(await nested.read(nestedMeta), `${entry}:${nestedMeta}`)
      : nested.names.find((name) => /\.ya?ml$/i.test(name) && /Definitions?\//.test(name))
    if (!template || nested.size(template) === undefined)
      throw new PackageError(`${entry} holds no APPD template (Definition/*.yaml)`)
    return vnfTopology(await nested.read(template, 16 * 1024 * 1024), `${entry}:${template}`)
  } finally {
    nested.close()
  }
}
