import { groupResource, type ResourceType, typeOfKind } from './resources'
import { forbidden, notFound } from './status'
import type { ObjectStore } from './store'

const namespaces = typeOfKind('Namespace')

/** `pods`, `services`, `count/deployments.apps`: the names a ResourceQuota limits objects by. */
export const quotaName = (type: ResourceType) =>
  ['pods', 'services', 'secrets', 'configmaps', 'persistentvolumeclaims'].includes(type.plural)
    ? type.plural
    : `count/${groupResource(type)}`

/**
 * What the admission plugins check before an object is created: the namespace must exist and
 * not be terminating (NamespaceLifecycle), and a quota must leave room (ResourceQuota). `quota`
 * holds the limits, as if every namespace had a ResourceQuota named `mecm-test-quota`.
 */
export function admit(
  store: ObjectStore,
  quota: Map<string, number>,
  type: ResourceType,
  namespace: string | undefined,
  name: string,
) {
  if (!type.namespaced || !namespace || type.kind === 'Event') return
  const home = store.get(namespaces, undefined, namespace)
  if (!home) throw notFound(namespaces, namespace)
  if (home.status?.phase === 'Terminating') {
    const why = `unable to create new content in namespace ${namespace} because it is being terminated`
    throw forbidden(type, name, why, [{ reason: 'NamespaceTerminating', message: why, field: 'metadata.namespace' }])
  }
  const resource = quotaName(type)
  const limit = quota.get(resource)
  if (limit === undefined) return
  const used = store.list(type, namespace).length
  if (used + 1 > limit) {
    throw forbidden(
      type,
      name,
      `exceeded quota: mecm-test-quota, requested: ${resource}=1, used: ${resource}=${used}, limited: ${resource}=${limit}`,
    )
  }
}
