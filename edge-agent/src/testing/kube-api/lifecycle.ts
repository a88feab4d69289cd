import { now } from './objects'
import { type ResourceType, resourceTypes, typeOfKind } from './resources'
import type { KubeObject, ObjectStore } from './store'

const namespaces = typeOfKind('Namespace')

const everything = (store: ObjectStore) =>
  resourceTypes.flatMap((type) => store.list(type).map((object) => ({ type, object })))

/**
 * Deletion as the garbage collector and the namespace controller carry it out: dependents whose
 * owner is gone are deleted (background propagation); an owner deleted in the foreground waits
 * until its dependents are gone; a terminating namespace is emptied after `namespaceDeletionMs`,
 * then removed.
 */
export function deletion(options: {
  store: ObjectStore
  namespaceDeletionMs: () => number
  later(ms: number, work: () => void): void
}) {
  const { store } = options
  const finalizing = new Set<string>()

  function finalizeNamespace(name: string) {
    for (const type of resourceTypes.filter((t) => t.namespaced))
      for (const object of store.list(type, name)) store.remove(type, name, object.metadata.name)
    store.remove(namespaces, undefined, name)
    finalizing.delete(name)
  }

  return {
    /** Marks an object deleted in the foreground: it stays, with a finalizer, until its dependents are gone. */
    deleteInForeground(type: ResourceType, object: KubeObject): KubeObject {
      return store.update(type, {
        ...object,
        metadata: {
          ...object.metadata,
          deletionTimestamp: now(),
          deletionGracePeriodSeconds: 0,
          finalizers: [...(object.metadata.finalizers ?? []), 'foregroundDeletion'],
        },
      })
    },

    /** Deletes a namespace: Terminating at once, gone with its content later. */
    terminateNamespace(namespace: KubeObject): KubeObject {
      const terminating = store.update(namespaces, {
        ...namespace,
        metadata: { ...namespace.metadata, deletionTimestamp: namespace.metadata.deletionTimestamp ?? now() },
        status: { ...namespace.status, phase: 'Terminating' },
      })
      if (!finalizing.has(namespace.metadata.name)) {
        finalizing.add(namespace.metadata.name)
        options.later(options.namespaceDeletionMs(), () => finalizeNamespace(namespace.metadata.name))
      }
      return terminating
    },

    sync() {
      const all = everything(store)
      const uids = new Set(all.map(({ object }) => object.metadata.uid))
      for (const { type, object } of all) {
        const owners = object.metadata.ownerReferences ?? []
        if (owners.length && owners.every((ref) => !uids.has(ref.uid)))
          store.remove(type, object.metadata.namespace, object.metadata.name)
      }
      for (const { type, object } of all) {
        if (!object.metadata.finalizers?.includes('foregroundDeletion')) continue
        const dependents = all.filter(({ object: d }) =>
          d.metadata.ownerReferences?.some((ref) => ref.uid === object.metadata.uid),
        )
        for (const { type: dependentType, object: dependent } of dependents)
          store.remove(dependentType, dependent.metadata.namespace, dependent.metadata.name)
        store.remove(type, object.metadata.namespace, object.metadata.name)
      }
    },
  }
}
