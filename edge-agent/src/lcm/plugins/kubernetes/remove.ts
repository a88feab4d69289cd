import type { KubernetesObject } from '@kubernetes/client-node'
import { type Wait, waitUntil } from '../wait'
import { type Cluster, discover } from './cluster'
import { calling, describeObject, unlessAbsent } from './errors'
import type { Footprint, Kind } from './footprint'
import { INSTANCE_LABEL, instanceNamespace, instanceSelector } from './instance'

/** Every object of these kinds labelled for the instance, in its namespaces (or cluster-wide for cluster-scoped kinds). */
async function labelledObjects(cluster: Cluster, footprint: Footprint, appInstanceId: string, kinds: Kind[]) {
  const found: KubernetesObject[] = []
  for (const { apiVersion, kind } of kinds) {
    const resource = await discover(cluster, apiVersion, kind)
    if (!resource) continue // a kind this cluster does not serve has no objects on it
    const namespaces = resource.namespaced ? footprint.namespaces : [undefined]
    for (const namespace of namespaces) {
      const list = await calling(cluster, `listing ${kind} objects of app instance ${appInstanceId}`, () =>
        cluster.objects.list(
          apiVersion,
          kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          instanceSelector(appInstanceId),
        ),
      )
      // list items come without kind and apiVersion
      found.push(...list.items.map((item) => ({ ...item, apiVersion, kind })))
    }
  }
  return found
}

/**
 * Deletes every object labelled for the instance and its own namespace, then waits until they
 * are gone (a namespace takes a while: the cluster empties it first); `timeoutMs` bounds the wait.
 */
export async function removeInstance(
  cluster: Cluster,
  footprint: Footprint,
  appInstanceId: string,
  timing: Wait,
): Promise<void> {
  const own = instanceNamespace(appInstanceId)
  // in its own namespace, the namespace's deletion takes everything with it
  const elsewhere = {
    ...footprint,
    namespaces: footprint.namespaces.filter((n) => !footprint.ownNamespace || n !== own),
  }
  const objects = await labelledObjects(cluster, elsewhere, appInstanceId, footprint.kinds)
  await Promise.all(
    objects.map((object) =>
      unlessAbsent(cluster, `deleting ${describeObject(object)}`, () =>
        cluster.objects.delete(object, undefined, undefined, undefined, undefined, 'Background'),
      ),
    ),
  )
  const namespace = await unlessAbsent(cluster, `reading namespace ${own}`, () =>
    cluster.core.readNamespace({ name: own }),
  )
  if (namespace?.metadata?.labels?.[INSTANCE_LABEL] === appInstanceId)
    await unlessAbsent(cluster, `deleting namespace ${own}`, () => cluster.core.deleteNamespace({ name: own }))

  await waitUntil(
    timing,
    // the kinds include Pod (every footprint has the common kinds): the wait lasts until the pods are gone too
    async () => [
      ...(await labelledObjects(cluster, elsewhere, appInstanceId, footprint.kinds)),
      ...((await unlessAbsent(cluster, `reading namespace ${own}`, () => cluster.core.readNamespace({ name: own })))
        ? [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: own } }]
        : []),
    ],
    (left) => !left.length,
    (left, waited) =>
      new Error(
        `Kubernetes API at ${cluster.server}: app instance ${appInstanceId} was not gone within ${waited}: ${left.map(describeObject).join(', ')} remain`,
      ),
  )
}
