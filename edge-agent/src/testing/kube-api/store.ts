import { randomUUID } from 'node:crypto'
import { now } from './objects'
import { apiVersionOf, groupResource, type ResourceType } from './resources'

export interface OwnerReference {
  apiVersion: string
  kind: string
  name: string
  uid: string
  controller?: boolean
  blockOwnerDeletion?: boolean
}

export interface ObjectMeta {
  name: string
  namespace?: string
  uid: string
  resourceVersion: string
  generation?: number
  creationTimestamp: string
  deletionTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  ownerReferences?: OwnerReference[]
  finalizers?: string[]
  managedFields?: unknown[]
  [field: string]: unknown
}

/** A stored object: the JSON a client reads, with kind and apiVersion. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: ObjectMeta
  // biome-ignore lint/suspicious/noExplicitAny: objects are schemaless JSON in the store
  [field: string]: any
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'
export interface Change {
  type: WatchEventType
  resource: ResourceType
  object: KubeObject
}

const HISTORY = 2000
const clone = <T>(value: T): T => structuredClone(value)

/** Everything but metadata and status: a change to it is a new generation. */
const specOf = (object: KubeObject) => {
  const { metadata: _metadata, status: _status, ...spec } = object
  return JSON.stringify(spec)
}

/**
 * The objects of the test API server, like etcd behind a real one: one resourceVersion counter
 * for every write, a bounded history of changes for watches that resume from a resourceVersion.
 */
export function objectStore() {
  const objects = new Map<string, Map<string, KubeObject>>()
  const listeners = new Set<(change: Change) => void>()
  const history: Array<Change & { resourceVersion: number }> = []
  let revision = 100
  /** The history holds every change after this resourceVersion. */
  let complete = revision

  const table = (type: ResourceType) => {
    const key = groupResource(type)
    const found = objects.get(key) ?? new Map<string, KubeObject>()
    objects.set(key, found)
    return found
  }
  const keyOf = (namespace: string | undefined, name: string) => `${namespace ?? ''}/${name}`

  function emit(type: WatchEventType, resource: ResourceType, object: KubeObject) {
    const change = { type, resource, object: clone(object) }
    history.push({ ...change, resourceVersion: revision })
    if (history.length > HISTORY) complete = history.shift()?.resourceVersion ?? complete
    for (const listener of listeners) listener(change)
  }

  return {
    get revision() {
      return String(revision)
    },

    get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
      const found = table(type).get(keyOf(type.namespaced ? namespace : undefined, name))
      return found && clone(found)
    },

    list(type: ResourceType, namespace?: string): KubeObject[] {
      return [...table(type).values()]
        .filter((object) => !namespace || object.metadata.namespace === namespace)
        .sort((a, b) =>
          keyOf(a.metadata.namespace, a.metadata.name).localeCompare(keyOf(b.metadata.namespace, b.metadata.name)),
        )
        .map(clone)
    },

    /** Stores a new object: uid, resourceVersion, generation and creationTimestamp are the server's. */
    create(type: ResourceType, object: Omit<KubeObject, 'metadata'> & { metadata: Partial<ObjectMeta> }): KubeObject {
      revision++
      const stored = {
        ...clone(object),
        apiVersion: apiVersionOf(type),
        kind: type.kind,
        metadata: {
          ...clone(object.metadata),
          name: object.metadata.name ?? '',
          uid: randomUUID(),
          resourceVersion: String(revision),
          creationTimestamp: now(),
          ...(type.namespaced ? {} : { namespace: undefined }),
          ...(type.kind === 'Event' ? {} : { generation: 1 }),
        },
      } as KubeObject
      if (!type.namespaced) delete stored.metadata.namespace
      table(type).set(keyOf(stored.metadata.namespace, stored.metadata.name), stored)
      emit('ADDED', type, stored)
      return clone(stored)
    },

    /** Replaces a stored object; a write that changes nothing keeps its resourceVersion, like a real no-op update. */
    update(type: ResourceType, object: KubeObject): KubeObject {
      const key = keyOf(object.metadata.namespace, object.metadata.name)
      const current = table(type).get(key)
      if (!current) throw new Error(`update of absent ${groupResource(type)} ${key}`)
      const next = clone(object)
      next.metadata.resourceVersion = current.metadata.resourceVersion
      next.metadata.generation = current.metadata.generation
      if (JSON.stringify(next) === JSON.stringify(current)) return clone(current)
      revision++
      next.metadata.resourceVersion = String(revision)
      if (current.metadata.generation !== undefined && specOf(next) !== specOf(current))
        next.metadata.generation = current.metadata.generation + 1
      table(type).set(key, next)
      emit('MODIFIED', type, next)
      return clone(next)
    },

    remove(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
      const key = keyOf(type.namespaced ? namespace : undefined, name)
      const current = table(type).get(key)
      if (!current) return undefined
      table(type).delete(key)
      revision++
      const gone = { ...current, metadata: { ...current.metadata, resourceVersion: String(revision) } }
      emit('DELETED', type, gone)
      return clone(gone)
    },

    /** Changes after `resourceVersion`, or undefined when the history no longer reaches back that far. */
    since(resourceVersion: number): Change[] | undefined {
      if (resourceVersion < complete) return undefined
      return history.filter((change) => change.resourceVersion > resourceVersion)
    },

    subscribe(listener: (change: Change) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
}
export type ObjectStore = ReturnType<typeof objectStore>
