import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writePackage } from '@mecm/csar'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import type { RunSpec } from '../../plugin'

const manifests = join(import.meta.dirname, '../../../../../examples/web-k8s')

/** Where the sample image is pulled from: what Image/SwImageDesc.json gives as the location of nginx:1.27-alpine. */
export const NGINX_LOCATION = 'docker.io/library/nginx:1.27-alpine'

/** The web-k8s example package (a Deployment and a Service of nginx), unpacked into `root`, for tests and the bench. */
export function webPackage(root: string, extra: Record<string, string> = {}): string {
  const dir = join(root, 'Artifacts/Deployment/Kubernetes')
  mkdirSync(dir, { recursive: true })
  mkdirSync(join(root, 'Image'), { recursive: true })
  copyFileSync(join(manifests, 'deployment.yaml'), join(dir, 'deployment.yaml'))
  copyFileSync(join(manifests, 'service.yaml'), join(dir, 'service.yaml'))
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, name), text)
  writeFileSync(
    join(root, 'Image/SwImageDesc.json'),
    JSON.stringify([{ id: 'nginx', name: 'nginx', version: '1.27-alpine', swImage: NGINX_LOCATION }]),
  )
  return root
}

/** The same package as a CSAR file, to onboard at a center. */
export async function webPackageFile(file: string): Promise<string> {
  const text = (name: string) => readFileSync(join(manifests, name))
  await writePackage(file, {
    appClass: 'container',
    appd: { id: 'web-k8s', name: 'web-k8s', provider: 'tests', version: '1.0.0' },
    files: {
      'Artifacts/Deployment/Kubernetes/deployment.yaml': text('deployment.yaml'),
      'Artifacts/Deployment/Kubernetes/service.yaml': text('service.yaml'),
      'Image/SwImageDesc.json': JSON.stringify([
        { id: 'nginx', name: 'nginx', version: '1.27-alpine', containerFormat: 'bare', swImage: NGINX_LOCATION },
      ]),
    },
  })
  return file
}

let count = 0
/** A fresh instance id per call, unique across test runs on a shared cluster. */
export const instanceId = () =>
  `${Date.now().toString(16).padStart(8, '0').slice(-8)}-0000-4000-8000-${String(++count).padStart(12, '0')}`

/** What the agent hands the plugin for an instance of the package in `root` (its `kubernetes` artifacts). */
export function webSpec(root: string, id = instanceId(), files = ['deployment.yaml', 'service.yaml']): RunSpec {
  const instance = DesiredInstance.parse({
    ...examples.desiredInstance,
    appInstanceId: id,
    parameters: { GREETING: 'hello' },
  })
  return {
    instance,
    packageDir: root,
    packageRoot: root,
    artifacts: [
      ...files.map((file) => ({ kind: 'kubernetes' as const, path: `Artifacts/Deployment/Kubernetes/${file}` })),
      { kind: 'container-image', path: NGINX_LOCATION },
    ],
    env: {
      MECM_AK: `ak-${id.slice(0, 8)}`,
      MECM_SK: 'sk-very-secret',
      MECM_APP_INSTANCE_ID: id,
      MECM_TENANT_ID: instance.tenantId,
      MECM_MEP_ADDRESS: '192.0.2.10:8443',
    },
  }
}
