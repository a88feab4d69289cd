import { AppD } from '@mecm/protocol'
import { parse } from 'yaml'
import { PackageError } from './package-error'

type Node = {
  type?: string
  properties?: Record<string, unknown>
  capabilities?: Record<string, { properties?: unknown }>
}

/** A YAML mapping as a record; anything else as an empty one. */
export const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
const text = (...values: unknown[]): string | undefined => {
  for (const value of values) if (typeof value === 'string' || typeof value === 'number') return String(value)
  return undefined
}

/** Reads a TOSCA application descriptor (EdgeGallery's MainServiceTemplate.yaml) into the APPD subset MECM uses. */
export function parseAppdTemplate(source: Buffer, file: string): AppD {
  let document: unknown
  try {
    document = parse(source.toString('utf8'), { maxAliasCount: 100 })
  } catch (error) {
    throw new PackageError(`${file} is not valid YAML: ${(error as Error).message.split('\n')[0]}`)
  }
  const root = asRecord(document)
  if (!String(root.tosca_definitions_version ?? '').startsWith('tosca_')) {
    throw new PackageError(`${file} is not a TOSCA template: tosca_definitions_version is missing`)
  }
  const metadata = asRecord(root.metadata)
  const topology = asRecord(root.topology_template)
  const nodes = Object.values(asRecord(topology.node_templates)) as Node[]
  const vnf = asRecord(nodes.find((node) => node.type === 'tosca.nodes.nfv.VNF')?.properties)
  const config = asRecord(nodes.find((node) => node.type === 'tosca.nodes.nfv.app.configuration')?.properties)
  const compute = nodes.find((node) => node.type === 'tosca.nodes.nfv.Vdu.Compute')
  const virtual = asRecord(asRecord(compute?.capabilities?.virtual_compute).properties)

  const candidate = {
    appDId: text(vnf.vnfd_id, metadata.vnfd_id, metadata.template_name),
    appName: text(vnf.product_name, metadata.vnfd_name, metadata.template_name),
    appProvider: text(vnf.provider, metadata.template_author),
    appSoftVersion: text(vnf.software_version, metadata.template_version),
    appDVersion: text(vnf.vnfd_version, metadata.vnfd_version, '1.0'),
    appDescription: text(root.description, '') ?? '',
    ...(compute
      ? {
          virtualComputeDescriptor: {
            virtualCpu: { numVirtualCpu: Number(asRecord(virtual.virtual_cpu).num_virtual_cpu) },
            virtualMemory: { virtualMemSize: Number(asRecord(virtual.virtual_memory).virtual_mem_size) },
            ...(virtual.virtual_local_storage
              ? {
                  virtualLocalStorage: {
                    sizeOfStorage: Number(asRecord(virtual.virtual_local_storage).size_of_storage),
                  },
                }
              : {}),
          },
        }
      : {}),
    appServiceRequired: config.appServiceRequired ?? [],
    appServiceProduced: config.appServiceProduced ?? [],
    appFeatureRequired: config.appFeatureRequired ?? [],
    appTrafficRule: config.appTrafficRule ?? [],
    appDNSRule: config.appDNSRule ?? config.appDnsRule ?? [],
    inputs: Object.entries(asRecord(topology.inputs))
      .map(([name, input]) => {
        const spec = asRecord(input)
        return {
          name,
          type: text(spec.type, 'string'),
          ...(spec.default !== undefined && spec.default !== null ? { defaultValue: spec.default } : {}),
          description: text(spec.description, '') ?? '',
        }
      })
      .sort((a, b) => a.name.localeCompare(b.name)),
  }
  const parsed = AppD.safeParse(candidate)
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'descriptor'}: ${issue.message}`)
    throw new PackageError(`${file} is not a usable application descriptor: ${issues.join('; ')}`)
  }
  return parsed.data
}
