import { PatchStrategy } from '@kubernetes/client-node'
import { type Wait, waitUntil } from '../wait'
import { type Cluster, discover } from './cluster'
import { calling, describeObject, unlessAbsent } from './errors'
import type { Footprint, Kind } from './footprint'
import { credentials, forInstance, type InstanceValues } from './inject'
import { FIELD_MANAGER, INSTANCE_LABEL, instanceNamespace, MANAGED_BY } from './instance'
import type { Manifest } from './manifests'

/** Applied earlier rank first, like Helm's install order: what pods need exists before they start. */
const RANK = [
  ['Namespace'],
  ['ResourceQuota', 'LimitRange', 'Secret', 'ConfigMap', 'ServiceAccount', 'PersistentVolumeClaim', 'StorageClass'],
  ['CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'],
  ['Service'],
]
const rankOf = (kind: string) => {
  const at = RANK.findIndex((kinds) => kinds.includes(kind))
  return at < 0 ? RANK.length : at
}

const hasPods = (object: Manifest) =>
  object.kind === 'Pod' ||
  Boolean((object.spec as { template?: unknown; jobTemplate?: unknown } | undefined)?.template) ||
  Boolean((object.spec as { jobTemplate?: unknown } | undefined)?.jobTemplate)

export interface Plan {
  /** What to apply, in order of rank. */
  objects: Manifest[]
  footprint: Footprint
}

const namespaceObject = (name: string, labels: Record<string, string>): Manifest => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { ...labels, ...MANAGED_BY } },
})

/**
 * What an instance of the package is on this cluster: each object in its namespace (the one the
 * package names, else the instance's own), labelled and injected, plus the namespaces and the
 * credentials Secret its pods need. The cluster's discovery says which kinds are namespaced.
 */
export async function plan(
  cluster: Cluster,
  manifests: Manifest[],
  values: InstanceValues,
  secrets: Record<string, string>,
): Promise<Plan> {
  const id = values.appInstanceId
  const scopes = new Map<string, boolean>()
  for (const { apiVersion, kind } of manifests) {
    const key = `${apiVersion}/${kind}`
    if (scopes.has(key)) continue
    const resource = await discover(cluster, apiVersion, kind)
    if (!resource)
      throw new Error(
        `Kubernetes API at ${cluster.server} does not serve ${kind} (${apiVersion}): is its CRD installed?`,
      )
    scopes.set(key, resource.namespaced)
  }
  const namespaced = (m: Manifest) => scopes.get(`${m.apiVersion}/${m.kind}`) === true
  const declared = manifests.filter((m) => m.kind === 'Namespace' && m.apiVersion === 'v1').map((m) => m.metadata.name)
  const named = new Set([...declared, ...manifests.filter(namespaced).flatMap((m) => m.metadata.namespace ?? [])])
  const packageNamespace = named.size === 1 ? [...named][0] : undefined
  const own = instanceNamespace(id)
  const placed = manifests
    .filter((m) => m.kind !== 'Namespace')
    .map((m) => ({
      manifest: m,
      namespace: namespaced(m) ? (m.metadata.namespace ?? packageNamespace ?? own) : undefined,
    }))
  const namespaces = [...new Set(placed.flatMap((p) => p.namespace ?? []))]
  const ownNamespace = namespaces.includes(own)
  const podNamespaces = new Set(placed.filter((p) => hasPods(p.manifest)).flatMap((p) => p.namespace ?? []))
  const objects = [
    // the package's namespaces are shared by its instances and outlive them; the instance's own goes with it
    ...namespaces.map((name) => namespaceObject(name, name === own ? { [INSTANCE_LABEL]: id } : {})),
    ...[...podNamespaces].map((namespace) => credentials(namespace, values, secrets)),
    ...placed.map((p) => forInstance(p.manifest, p.namespace, values)),
  ].sort((a, b) => rankOf(a.kind) - rankOf(b.kind))
  const kinds: Kind[] = []
  for (const { apiVersion, kind } of objects)
    if (kind !== 'Namespace' && !kinds.some((k) => k.apiVersion === apiVersion && k.kind === kind))
      kinds.push({ apiVersion, kind })
  return { objects, footprint: { namespaces, ownNamespace, kinds } }
}

/**
 * Fails, before anything is applied, when an object of the plan exists already for another
 * instance or for nobody MECM knows: in a namespace the package names, two instances of the
 * same package would otherwise overwrite each other.
 */
export async function checkOwnership(cluster: Cluster, planned: Plan, appInstanceId: string): Promise<void> {
  const own = instanceNamespace(appInstanceId)
  const shared = planned.objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== own)
  await Promise.all(
    shared.map(async (object) => {
      const found = await unlessAbsent(cluster, `reading ${describeObject(object)}`, () => cluster.objects.read(object))
      const owner = found?.metadata?.labels?.[INSTANCE_LABEL]
      if (!found || owner === appInstanceId) return
      throw new Error(
        `Kubernetes API at ${cluster.server}: 409 Conflict while applying ${describeObject(object)}: it exists already and belongs to ${owner ? `app instance ${owner}` : 'something MECM did not create'}; instances of a package that names its namespace cannot share a cluster (leave metadata.namespace out of the manifests so that each instance gets a namespace of its own)`,
      )
    }),
  )
}

/** A namespace deleted moments ago is still Terminating and refuses new content: wait until it is gone. */
async function awaitNamespaceGone(cluster: Cluster, name: string, wait: Wait) {
  await waitUntil(
    wait,
    () => unlessAbsent(cluster, `reading namespace ${name}`, () => cluster.core.readNamespace({ name })),
    (found) => found?.status?.phase !== 'Terminating',
    (_, waited) =>
      new Error(`Kubernetes API at ${cluster.server}: namespace ${name} is still being deleted after ${waited}`),
  )
}

/** Applies the plan by server-side apply (field manager `mecm`, forced: the instance's objects are ours), rank by rank. */
export async function applyPlan(cluster: Cluster, planned: Plan, timing: Wait) {
  for (const name of planned.footprint.namespaces) await awaitNamespaceGone(cluster, name, timing)
  const ranks = [...new Set(planned.objects.map((o) => rankOf(o.kind)))]
  for (const rank of ranks)
    await Promise.all(
      planned.objects
        .filter((o) => rankOf(o.kind) === rank)
        .map((object) =>
          calling(cluster, `applying ${describeObject(object)}`, () =>
            cluster.objects.patch(object, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply),
          ),
        ),
    )
}
