import type { SwImageDescriptor } from '@mecm/protocol'
import { credentialsSecret, INSTANCE_LABEL, MANAGED_BY, TENANT_LABEL } from './instance'
import type { Manifest } from './manifests'

/** What an instance's objects are given. */
export interface InstanceValues {
  appInstanceId: string
  tenantId: string
  /** Plain variables for every container: the instance's parameters, then what the agent injects (not AK/SK). */
  env: Record<string, string>
  images: SwImageDescriptor[]
}

/** Variables that reach containers through the credentials Secret, never in the pod spec. */
export const SECRET_KEYS = ['MECM_AK', 'MECM_SK']

interface Container {
  image?: string
  env?: Array<{ name: string }>
}
interface PodSpec {
  containers?: Container[]
  initContainers?: Container[]
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> }
  spec?: PodSpec
}

/** The pod templates of a workload (a Pod's own spec counts as one). */
function podTemplates(object: Manifest): PodTemplate[] {
  const spec = object.spec as
    | { template?: PodTemplate; jobTemplate?: { spec?: { template?: PodTemplate } } }
    | undefined
  if (object.kind === 'Pod') return [object as PodTemplate]
  return [spec?.template, spec?.jobTemplate?.spec?.template].filter((t): t is PodTemplate => Boolean(t))
}

/** An image the package declares by `name` or `name:version` becomes its location (`swImage`). */
function imageLocation(image: string, images: SwImageDescriptor[]): string {
  const declared = images.find((i) => image === i.name || (i.version && image === `${i.name}:${i.version}`))
  return declared?.swImage ?? image
}

function injectContainer(container: Container, values: InstanceValues, secret: string) {
  const ours = new Set([...Object.keys(values.env), ...SECRET_KEYS])
  container.env = [
    ...(container.env ?? []).filter((variable) => !ours.has(variable.name)),
    ...Object.entries(values.env).map(([name, value]) => ({ name, value })),
    ...SECRET_KEYS.map((key) => ({ name: key, valueFrom: { secretKeyRef: { name: secret, key } } })),
  ]
  if (container.image) container.image = imageLocation(container.image, values.images)
}

/**
 * An instance's copy of a package object: labelled with the instance id (pod templates too, so
 * its pods are), in its namespace, its containers given the instance's variables, AK/SK from the
 * credentials Secret and the images' locations from the package's image descriptors.
 */
export function forInstance(object: Manifest, namespace: string | undefined, values: InstanceValues): Manifest {
  const copy = structuredClone(object)
  const labels = { [INSTANCE_LABEL]: values.appInstanceId, [TENANT_LABEL]: values.tenantId, ...MANAGED_BY }
  copy.metadata = {
    ...copy.metadata,
    labels: { ...copy.metadata.labels, ...labels },
    ...(namespace ? { namespace } : {}),
  }
  if (!namespace) delete copy.metadata.namespace
  const secret = credentialsSecret(values.appInstanceId)
  for (const template of podTemplates(copy)) {
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } }
    for (const container of [...(template.spec?.containers ?? []), ...(template.spec?.initContainers ?? [])])
      injectContainer(container, values, secret)
  }
  return copy
}

/** The Secret with the instance's AK/SK, in a namespace where its pods run. */
export function credentials(namespace: string, values: InstanceValues, env: Record<string, string>): Manifest {
  const data = Object.fromEntries(SECRET_KEYS.map((key) => [key, Buffer.from(env[key] ?? '').toString('base64')]))
  return forInstance(
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: credentialsSecret(values.appInstanceId) },
      type: 'Opaque',
      data,
    },
    namespace,
    values,
  )
}
