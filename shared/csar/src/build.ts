import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { Readable, Transform } from 'node:stream'
import type { AppClass } from '@mecm/protocol'
import { stringify } from 'yaml'
import { ZipWriter, zipBuffer } from './zip-writer'

/**
 * Builds application packages in EdgeGallery's CSAR layout: the examples' build script and the
 * tests use it. Every file is listed in the manifest with its SHA-256.
 */
export interface PackageSpec {
  appClass: AppClass
  /** APPD fields; `appd` below builds the template from them. */
  appd: AppdSpec
  /** Where the descriptor goes: a YAML under APPD/ (default), a nested APPD zip, or the older Definitions/ layout. */
  layout?: 'yaml' | 'zip' | 'definitions'
  /** Further files by path: deployment artifacts, images, SwImageDesc.json. */
  files?: Record<string, Buffer | string | (() => Readable)>
  /** Signs the manifest text; returns the PEM CMS block. */
  sign?: (content: Buffer) => Promise<string>
  /** Changes to the manifest's Source list, for tests of broken packages: other hashes, files left out or added. */
  manifestOverrides?: { hashes?: Record<string, string>; omit?: string[]; extra?: { path: string; hash: string }[] }
}

export interface AppdSpec {
  id: string
  name: string
  provider: string
  version: string
  description?: string
  compute?: {
    cpus: number
    memoryMiB: number
    storageGiB?: number
    /** The SwImageDesc image the VM boots from (sw_image_data.name); `<name>-image` without it. */
    image?: string
    extraSpecs?: Record<string, string>
  }
  /** The VM's NICs, networks, volumes and security rules (all bound to the compute above). */
  topology?: VmTopologySpec
  inputs?: Record<string, { type: string; default?: string; description?: string }>
  configuration?: Record<string, unknown>
}

export interface VmTopologySpec {
  virtualLinks?: { name: string; cidr?: string }[]
  ports?: { name: string; virtualLink: string; order?: number }[]
  volumes?: { name: string; sizeGiB: number }[]
  securityRules?: {
    direction: 'ingress' | 'egress'
    protocol?: string
    portMin?: number
    portMax?: number
    remoteIpPrefix?: string
  }[]
}

/** ETSI SOL001 nodes and policies for the VM's topology, bound to VDU1. */
function topologyNodes(topology: VmTopologySpec): { nodes: Record<string, unknown>; policies: unknown[] } {
  const nodes: Record<string, unknown> = {}
  for (const link of topology.virtualLinks ?? []) {
    nodes[link.name] = {
      type: 'tosca.nodes.nfv.VnfVirtualLink',
      properties: {
        connectivity_type: { layer_protocols: ['ipv4'] },
        vl_profile: {
          network_name: link.name,
          ...(link.cidr ? { l3_protocol_data: { ip_version: 'ipv4', cidr: link.cidr } } : {}),
        },
      },
    }
  }
  for (const [index, port] of (topology.ports ?? []).entries()) {
    nodes[port.name] = {
      type: 'tosca.nodes.nfv.VduCp',
      properties: { order: port.order ?? index, layer_protocols: ['ipv4'] },
      requirements: [{ virtual_binding: 'VDU1' }, { virtual_link: port.virtualLink }],
    }
  }
  for (const volume of topology.volumes ?? []) {
    nodes[volume.name] = {
      type: 'tosca.nodes.nfv.Vdu.VirtualBlockStorage',
      properties: { virtual_block_storage_data: { size_of_storage: `${volume.sizeGiB} GB` } },
    }
  }
  const policies = (topology.securityRules ?? []).map((rule, index) => ({
    [`rule_${index + 1}`]: {
      type: 'tosca.policies.nfv.SecurityGroupRule',
      properties: {
        direction: rule.direction,
        ether_type: 'ipv4',
        ...(rule.protocol ? { protocol: rule.protocol } : {}),
        ...(rule.portMin !== undefined ? { port_range_min: rule.portMin } : {}),
        ...(rule.portMax !== undefined ? { port_range_max: rule.portMax } : {}),
        ...(rule.remoteIpPrefix ? { remote_ip_prefix: rule.remoteIpPrefix } : {}),
      },
      targets: (topology.ports ?? []).map((port) => port.name),
    },
  }))
  return { nodes, policies }
}

/** A TOSCA application descriptor as EdgeGallery writes them. */
export function appdTemplate(spec: AppdSpec): string {
  const nodes: Record<string, unknown> = {
    [spec.name]: {
      type: 'tosca.nodes.nfv.VNF',
      properties: {
        vnfd_id: spec.id,
        vnfd_version: 'v2.0',
        provider: spec.provider,
        product_name: spec.name,
        software_version: spec.version,
        vnfm_info: ['MEPM'],
      },
    },
  }
  if (spec.compute) {
    nodes.VDU1 = {
      type: 'tosca.nodes.nfv.Vdu.Compute',
      properties: {
        name: `${spec.name}-vm`,
        sw_image_data: { name: spec.compute.image ?? `${spec.name}-image` },
        ...(spec.compute.extraSpecs ? { vdu_profile: { flavor_extra_specs: spec.compute.extraSpecs } } : {}),
      },
      capabilities: {
        virtual_compute: {
          properties: {
            virtual_cpu: { num_virtual_cpu: spec.compute.cpus },
            virtual_memory: { virtual_mem_size: spec.compute.memoryMiB },
            ...(spec.compute.storageGiB ? { virtual_local_storage: { size_of_storage: spec.compute.storageGiB } } : {}),
          },
        },
      },
      ...(spec.topology?.volumes?.length
        ? { requirements: spec.topology.volumes.map((volume) => ({ virtual_storage: volume.name })) }
        : {}),
    }
  }
  const topology = spec.topology ? topologyNodes(spec.topology) : { nodes: {}, policies: [] }
  Object.assign(nodes, topology.nodes)
  if (spec.configuration) {
    nodes.app_configuration = { type: 'tosca.nodes.nfv.app.configuration', properties: spec.configuration }
  }
  return stringify({
    tosca_definitions_version: 'tosca_simple_profile_yaml_1_2',
    description: spec.description ?? `${spec.name} ${spec.version}`,
    metadata: {
      template_name: spec.name,
      template_author: spec.provider,
      template_version: spec.version,
      vnfd_id: spec.id,
    },
    topology_template: {
      inputs: spec.inputs ?? {},
      node_templates: nodes,
      ...(topology.policies.length ? { policies: topology.policies } : {}),
    },
  })
}

function hashing(onDone: (hash: string) => void): Transform {
  const hash = createHash('sha256')
  return new Transform({
    transform(chunk, _, done) {
      hash.update(chunk)
      done(null, chunk)
    },
    flush(done) {
      onDone(hash.digest('hex'))
      done()
    },
  })
}

/** Writes the package to `file`, streaming large files through. */
export async function writePackage(file: string, spec: PackageSpec): Promise<void> {
  const template = appdTemplate(spec.appd)
  const files: Record<string, Buffer | string | (() => Readable)> = { ...spec.files }
  let entry: string
  switch (spec.layout ?? 'yaml') {
    case 'yaml':
      entry = 'APPD/Definition/MainServiceTemplate.yaml'
      files[entry] = template
      break
    case 'zip':
      entry = 'APPD/MainServiceTemplate.zip'
      files[entry] = await zipBuffer([
        ['TOSCA_VNFD.meta', 'VNFD-Meta-File-Version: 1.0\nEntry-Definitions: Definition/MainServiceTemplate.yaml\n'],
        ['Definition/MainServiceTemplate.yaml', template],
      ])
      break
    case 'definitions':
      entry = 'Definitions/MainServiceTemplate.yaml'
      files[entry] = template
      break
  }
  if (spec.layout !== 'definitions') {
    files['TOSCA-Metadata/TOSCA.meta'] =
      `TOSCA-Meta-File-Version: 1.0\nCSAR-Version: 1.1\nCreated-by: MECM\nEntry-Definitions: ${entry}\n`
  }

  const zip = new ZipWriter(createWriteStream(file))
  const sources: { path: string; hash: string }[] = []
  for (const [path, content] of Object.entries(files)) {
    const stream = typeof content === 'function' ? content() : Readable.from([Buffer.from(content)])
    await zip.add(path, stream.pipe(hashing((hash) => sources.push({ path, hash }))), {
      compress: typeof content !== 'function',
    })
  }
  const overrides = spec.manifestOverrides ?? {}
  const lines = [
    'metadata:',
    `app_product_name: ${spec.appd.name}`,
    `app_provider_id: ${spec.appd.provider}`,
    `app_package_version: ${spec.appd.version}`,
    'app_release_data_time: 2026-11-21 10:00',
    'app_type: tool',
    `app_class: ${spec.appClass}`,
    `app_package_description: ${spec.appd.description ?? spec.appd.name}`,
    '',
    ...[...sources, ...(overrides.extra ?? [])]
      .filter((source) => !overrides.omit?.includes(source.path))
      .map((source) => ({ ...source, hash: overrides.hashes?.[source.path] ?? source.hash }))
      .flatMap((source) => [`Source: ${source.path}`, 'Algorithm: SHA-256', `Hash: ${source.hash}`, '']),
  ]
  const body = Buffer.from(lines.join('\n'), 'utf8')
  const signature = spec.sign ? `${await spec.sign(body)}\n` : ''
  await zip.add(`${spec.appd.name}.mf`, Buffer.concat([body, Buffer.from(signature)]))
  await zip.finish()
}
