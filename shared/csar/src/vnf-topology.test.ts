import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type AppdSpec, appdTemplate, writePackage } from './build'
import { readPackage } from './csar'
import { unpackPackage } from './unpack'
import { readVnfTopology, vnfTopology } from './vnf-topology'

const root = mkdtempSync(join(tmpdir(), 'mecm-topology-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const vm: AppdSpec = {
  id: 'edge-vm',
  name: 'edge-vm',
  provider: 'tests',
  version: '1.0.0',
  compute: {
    cpus: 2,
    memoryMiB: 2048,
    storageGiB: 10,
    image: 'debian-12',
    extraSpecs: { 'hw:cpu_policy': 'dedicated' },
  },
  topology: {
    virtualLinks: [{ name: 'mec_net', cidr: '10.20.0.0/24' }, { name: 'n6_net' }],
    ports: [
      { name: 'port_n6', virtualLink: 'n6_net', order: 1 },
      { name: 'port_mec', virtualLink: 'mec_net', order: 0 },
    ],
    volumes: [{ name: 'data', sizeGiB: 5 }],
    securityRules: [{ direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80 }],
  },
}

describe('the VM topology of an APPD', () => {
  it('reads VDUs, connection points in NIC order, volumes, virtual links and security rules', () => {
    expect(vnfTopology(appdTemplate(vm), 'APPD.yaml')).toEqual({
      vdus: [
        {
          name: 'VDU1',
          vmName: 'edge-vm-vm',
          vcpus: 2,
          memoryMiB: 2048,
          diskGiB: 10,
          imageName: 'debian-12',
          flavorExtraSpecs: { 'hw:cpu_policy': 'dedicated' },
        },
      ],
      connectionPoints: [
        { name: 'port_mec', vdu: 'VDU1', virtualLink: 'mec_net', order: 0 },
        { name: 'port_n6', vdu: 'VDU1', virtualLink: 'n6_net', order: 1 },
      ],
      storages: [{ name: 'data', sizeGiB: 5, vdu: 'VDU1' }],
      virtualLinks: [
        { name: 'mec_net', networkName: 'mec_net', cidr: '10.20.0.0/24' },
        { name: 'n6_net', networkName: 'n6_net' },
      ],
      securityRules: [{ direction: 'ingress', etherType: 'IPv4', protocol: 'tcp', portMin: 80, portMax: 80 }],
    })
  })

  it('takes sizes with units, as SOL001 writes them', () => {
    const template = appdTemplate(vm).replace('virtual_mem_size: 2048', 'virtual_mem_size: 4 GB')
    expect(vnfTopology(template, 'APPD.yaml').vdus[0]?.memoryMiB).toBe(4096)
    expect(() =>
      vnfTopology(appdTemplate(vm).replace('virtual_mem_size: 2048', 'virtual_mem_size: lots'), 'x.yaml'),
    ).toThrow(/x.yaml: VDU1 virtual_mem_size: "lots" is not a size/)
  })

  it('says which connection point links to a network the APPD does not declare', () => {
    const broken = { ...vm, topology: { ...vm.topology, virtualLinks: [{ name: 'mec_net' }] } }
    expect(() => vnfTopology(appdTemplate(broken), 'APPD.yaml')).toThrow(
      /APPD.yaml: connection point port_n6 links to n6_net, which is no VnfVirtualLink/,
    )
  })

  it.each(['yaml', 'zip'] as const)('reads an unpacked package whose APPD is a %s', async (layout) => {
    const file = join(root, `${layout}.csar`)
    await writePackage(file, {
      appClass: 'vm',
      appd: vm,
      layout,
      files: {
        'Image/SwImageDesc.json': JSON.stringify([{ id: 'd', name: 'debian-12', swImage: 'http://x/d.qcow2' }]),
      },
    })
    await readPackage(file, { limits: (await import('./archive')).defaultLimits })
    const dir = join(root, layout)
    await unpackPackage(file, dir)
    const topology = await readVnfTopology(dir)
    expect(topology.vdus.map((vdu) => vdu.imageName)).toEqual(['debian-12'])
    expect(topology.storages).toEqual([{ name: 'data', sizeGiB: 5, vdu: 'VDU1' }])
  })

  it('says so when the package has no APPD', async () => {
    await expect(readVnfTopology(join(root, 'nothing'))).rejects.toThrow(/no TOSCA-Metadata\/TOSCA.meta/)
  })
})
