import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { defaultLimits, readPackage, unpackPackage, writePackage } from '@mecm/csar'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import type { RunSpec } from '../../lcm/plugin'

export interface VmPackageOptions {
  name: string
  /** Where the image is downloaded from. */
  imageUrl: string
  /** The image's checksum in Image/SwImageDesc.json (md5 or sha512), if any. */
  checksum?: string
  cpus?: number
}

/**
 * For tests: an edge-vm style package (a VDU with a NIC on a virtual link and a volume, an image
 * by URL, a user-data.sh) built, checked and unpacked in `dir`; gives RunSpecs of new instances.
 */
export async function vmPackage(dir: string, options: VmPackageOptions): Promise<(id?: string) => RunSpec> {
  const file = join(dir, `${options.name}.csar`)
  await writePackage(file, {
    appClass: 'vm',
    appd: {
      id: options.name,
      name: options.name,
      provider: 'tests',
      version: '1.0.0',
      compute: { cpus: options.cpus ?? 2, memoryMiB: 2048, storageGiB: 10, image: `${options.name}-image` },
      topology: {
        virtualLinks: [{ name: 'mec_net', cidr: '10.30.0.0/24' }],
        ports: [{ name: 'port_mec', virtualLink: 'mec_net' }],
        volumes: [{ name: 'data', sizeGiB: 1 }],
        securityRules: [{ direction: 'ingress', protocol: 'tcp', portMin: 80, portMax: 80 }],
      },
    },
    files: {
      'Artifacts/Deployment/user-data.sh': '#!/bin/sh\necho "mep=$mep_ip" > /etc/mec-app.conf\n',
      'Image/SwImageDesc.json': JSON.stringify([
        {
          id: `${options.name}-image`,
          name: `${options.name}-image`,
          version: '1',
          checksum: options.checksum ?? '',
          containerFormat: 'bare',
          diskFormat: 'qcow2',
          minDisk: 1,
          swImage: options.imageUrl,
        },
      ]),
    },
  })
  const content = await readPackage(file, { limits: defaultLimits })
  const root = join(dir, options.name)
  await unpackPackage(file, root)
  return (id = randomUUID()) => ({
    instance: DesiredInstance.parse({
      ...examples.desiredInstance,
      appInstanceId: id,
      appName: options.name,
      parameters: {},
    }),
    packageDir: root,
    packageRoot: root,
    artifacts: content.artifacts,
    env: {
      MECM_APP_INSTANCE_ID: id,
      MECM_AK: 'QUtfZm9yX3Rlc3Rz',
      MECM_SK: 'c2VjcmV0IGtleSBmb3IgdGVzdHM=',
      MECM_MEP_ADDRESS: '192.0.2.10:8443',
    },
  })
}
