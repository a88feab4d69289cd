/**
 * Builds the sample application packages into examples/dist/ (or the folder given):
 *   npm run examples              hello-exec, mep-producer, mep-consumer, web-k8s and edge-vm .csar
 * Each is a CSAR in EdgeGallery's layout with every file hashed in its manifest.
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type PackageSpec, writePackage } from '@mecm/csar'

const here = import.meta.dirname
const file = (...path: string[]) => readFileSync(join(here, ...path))
/** An exec app's descriptor and server, from its folder; with `mp1`, the Mp1 client it signs in to the MEP with. */
const execFiles = (name: string, options: { mp1?: boolean } = {}) => ({
  'Artifacts/Deployment/Exec/app.yaml': file(name, 'app.yaml'),
  'Artifacts/Deployment/Exec/server.js': file(name, 'server.js'),
  ...(options.mp1 ? { 'Artifacts/Deployment/Exec/mp1.js': file('mep-client', 'mp1.js') } : {}),
})

export const examples: Record<string, PackageSpec> = {
  'hello-exec': {
    appClass: 'exec',
    appd: {
      id: 'hello-exec',
      name: 'hello-exec',
      provider: 'MECM examples',
      version: '1.0.0',
      description: 'A small HTTP service run as a local process',
      inputs: { PORT: { type: 'string', default: '8080', description: 'port the service listens on' } },
      configuration: {
        appServiceProduced: [{ serName: 'hello', version: '1.0' }],
        appDNSRule: [
          { dnsRuleId: 'hello', domainName: 'hello.mec', ipAddressType: 'IP_V4', ipAddress: '127.0.0.1', ttl: 60 },
        ],
      },
    },
    files: execFiles('hello-exec'),
  },
  'mep-producer': {
    appClass: 'exec',
    appd: {
      id: 'mep-producer',
      name: 'mep-producer',
      provider: 'MECM examples',
      version: '1.0.0',
      description: 'Registers a "greeting" service with the MEP (Mp1) and answers it',
      inputs: { PORT: { type: 'string', default: '8081', description: 'port the greeting service listens on' } },
      configuration: {
        appServiceProduced: [{ serName: 'greeting', version: '1.0' }],
        appDNSRule: [
          {
            dnsRuleId: 'greeting',
            domainName: 'greeting.mec',
            ipAddressType: 'IP_V4',
            ipAddress: '127.0.0.1',
            ttl: 60,
          },
        ],
      },
    },
    files: execFiles('mep-producer', { mp1: true }),
  },
  'mep-consumer': {
    appClass: 'exec',
    appd: {
      id: 'mep-consumer',
      name: 'mep-consumer',
      provider: 'MECM examples',
      version: '1.0.0',
      description: 'Finds the "greeting" service through the MEP (Mp1), calls it and shows the answer',
      inputs: { PORT: { type: 'string', default: '8082', description: 'port the consumer shows its result on' } },
      configuration: { appServiceRequired: [{ serName: 'greeting', version: '1.0' }] },
    },
    files: execFiles('mep-consumer', { mp1: true }),
  },
  'web-k8s': {
    appClass: 'container',
    appd: {
      id: 'web-k8s',
      name: 'web-k8s',
      provider: 'MECM examples',
      version: '1.0.0',
      description: 'nginx on Kubernetes: a Deployment and a Service',
      configuration: {
        appTrafficRule: [
          {
            trafficRuleId: 'web-in',
            filterType: 'FLOW',
            priority: 1,
            action: 'FORWARD_DECAPSULATED',
            trafficFilter: [{ dstPort: ['80'], protocol: ['TCP'] }],
          },
        ],
      },
    },
    layout: 'zip',
    files: {
      'Artifacts/Deployment/Kubernetes/deployment.yaml': file('web-k8s', 'deployment.yaml'),
      'Artifacts/Deployment/Kubernetes/service.yaml': file('web-k8s', 'service.yaml'),
      'Image/SwImageDesc.json': JSON.stringify([
        { id: 'nginx', name: 'nginx', version: '1.27-alpine', containerFormat: 'bare', swImage: 'nginx:1.27-alpine' },
      ]),
    },
  },
  'edge-vm': {
    appClass: 'vm',
    appd: {
      id: 'edge-vm',
      name: 'edge-vm',
      provider: 'MECM examples',
      version: '1.0.0',
      description: 'A Debian VM with 2 vCPUs, 2 GiB and 10 GiB of disk',
      compute: { cpus: 2, memoryMiB: 2048, storageGiB: 10 },
      inputs: {
        mep_ip: { type: 'string', description: 'MEC platform address' },
        ak: { type: 'string', description: 'access key' },
        sk: { type: 'string', description: 'secret key' },
      },
    },
    files: {
      'Artifacts/Deployment/user-data.sh': file('edge-vm', 'user-data.sh'),
      'Image/SwImageDesc.json': JSON.stringify([
        {
          id: 'debian-12',
          name: 'debian-12-genericcloud-amd64',
          version: '12',
          containerFormat: 'bare',
          diskFormat: 'qcow2',
          minDisk: 10,
          minRam: 1024,
          architecture: 'x86_64',
          swImage: 'https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-amd64.qcow2',
          operatingSystem: 'debian',
        },
      ]),
    },
  },
}

/** Writes every example package into `dir`; resolves to their paths by name. */
export async function buildExamples(dir: string): Promise<Record<string, string>> {
  mkdirSync(dir, { recursive: true })
  const built: Record<string, string> = {}
  for (const [name, spec] of Object.entries(examples)) {
    built[name] = join(dir, `${name}.csar`)
    await writePackage(built[name], spec)
  }
  return built
}

if (process.argv[1] === import.meta.filename) {
  const built = await buildExamples(process.argv[2] ?? join(here, 'dist'))
  for (const path of Object.values(built)) console.log(path)
}
