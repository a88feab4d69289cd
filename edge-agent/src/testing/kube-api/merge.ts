import { now } from './objects'

type Json = unknown
type JsonObject = Record<string, Json>

const isObject = (value: Json): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value)

/** JSON merge patch (RFC 7386): objects merge, null removes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isObject(patch)) return structuredClone(patch)
  const result: JsonObject = isObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = mergePatch(result[key], value)
  }
  return result
}

/** Lists of objects that all have this key are merged item by item (containers, env, ports by name). */
const mergeKey = (list: Json[]) =>
  list.length > 0 && list.every((item) => isObject(item) && typeof item.name === 'string')

/**
 * Strategic merge patch, simplified: like a merge patch, but lists of named objects (containers,
 * env, volumes…) merge by `name` instead of being replaced. The `$patch` directives are not served.
 */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (Array.isArray(patch) && Array.isArray(target) && mergeKey(patch) && mergeKey(target)) {
    const merged = target.map((item) => {
      const update = patch.find((p) => (p as JsonObject).name === (item as JsonObject).name)
      return update ? strategicMergePatch(item, update) : item
    })
    const added = patch.filter((p) => !target.some((item) => (item as JsonObject).name === (p as JsonObject).name))
    return [...merged, ...structuredClone(added)]
  }
  if (!isObject(patch)) return structuredClone(patch)
  const result: JsonObject = isObject(target) ? { ...target } : {}
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key]
    else result[key] = strategicMergePatch(result[key], value)
  }
  return result
}

/** A field path, e.g. ['spec', 'replicas']. Lists are leaves (atomic), unlike real SSA's associative lists. */
export type FieldPath = string[]
const keyOf = (path: FieldPath) => JSON.stringify(path)
const display = (path: FieldPath) => `.${path.join('.')}`

/** Fields never owned by anyone: identity and server-maintained metadata. */
const unowned = new Set(
  [
    'apiVersion',
    'kind',
    'status',
    'metadata.name',
    'metadata.namespace',
    'metadata.uid',
    'metadata.resourceVersion',
  ].concat([
    'metadata.generation',
    'metadata.creationTimestamp',
    'metadata.managedFields',
    'metadata.deletionTimestamp',
  ]),
)

/** The leaf fields an object sets. */
export function fieldsOf(value: Json, prefix: FieldPath = []): FieldPath[] {
  if (unowned.has(prefix.join('.'))) return []
  if (!isObject(value) || (prefix.length > 0 && Object.keys(value).length === 0)) return prefix.length ? [prefix] : []
  return Object.entries(value).flatMap(([key, child]) => fieldsOf(child, [...prefix, key]))
}

const read = (value: Json, path: FieldPath) =>
  path.reduce<Json>((at, key) => (isObject(at) ? at[key] : undefined), value)

function remove(value: JsonObject, path: FieldPath): void {
  const [head, ...rest] = path
  if (head === undefined) return
  if (!rest.length) {
    delete value[head]
    return
  }
  const child = value[head]
  if (!isObject(child)) return
  remove(child, rest)
  if (Object.keys(child).length === 0) delete value[head]
}

/** metadata.managedFields entries, in the FieldsV1 form (`{"f:spec":{"f:replicas":{}}}`). */
export interface ManagedFields {
  manager: string
  operation: 'Apply' | 'Update'
  apiVersion: string
  time: string
  fieldsType: 'FieldsV1'
  fieldsV1: JsonObject
  subresource?: string
}

function toFieldsV1(paths: FieldPath[]): JsonObject {
  const root: JsonObject = {}
  for (const path of paths) {
    let at = root
    for (const key of path) {
      at[`f:${key}`] ??= {}
      at = at[`f:${key}`] as JsonObject
    }
  }
  return root
}

function fromFieldsV1(fields: JsonObject, prefix: FieldPath = []): FieldPath[] {
  const entries = Object.entries(fields).filter(([key]) => key.startsWith('f:'))
  if (!entries.length) return prefix.length ? [prefix] : []
  return entries.flatMap(([key, child]) => fromFieldsV1(child as JsonObject, [...prefix, key.slice(2)]))
}

const sameFields = (entry: ManagedFields | undefined, fields: JsonObject) =>
  entry !== undefined && JSON.stringify(entry.fieldsV1) === JSON.stringify(fields)

/** A field owned by another manager that this write would set to a different value. */
export interface FieldConflict {
  manager: string
  apiVersion: string
  field: string
}

/**
 * Server-side apply of `applied` by `manager` onto `current` (absent: a create). Fields another
 * manager owns and this apply changes are conflicts, unless forced (then they change hands);
 * fields this manager applied before and no longer applies are removed when nobody else owns them.
 */
export function serverSideApply(
  current: JsonObject | undefined,
  applied: JsonObject,
  manager: string,
  force: boolean,
): { object: JsonObject; conflicts: FieldConflict[] } {
  const managed = ((current?.metadata as JsonObject | undefined)?.managedFields ?? []) as ManagedFields[]
  const owned = managed.map((entry) => ({
    entry,
    paths: new Map(fromFieldsV1(entry.fieldsV1).map((p) => [keyOf(p), p])),
  }))
  const mine = owned.find((o) => o.entry.manager === manager && o.entry.operation === 'Apply')
  const wanted = fieldsOf(applied)
  const conflicts: FieldConflict[] = []
  for (const path of wanted) {
    const same = JSON.stringify(read(current, path)) === JSON.stringify(read(applied, path))
    for (const other of owned) {
      if (other === mine || !other.paths.has(keyOf(path)) || same) continue
      if (force) other.paths.delete(keyOf(path))
      else conflicts.push({ manager: other.entry.manager, apiVersion: other.entry.apiVersion, field: display(path) })
    }
  }
  if (conflicts.length) return { object: current ?? {}, conflicts }

  const wantedKeys = new Set(wanted.map(keyOf))
  const base = structuredClone(current ?? {})
  for (const [key, path] of mine?.paths ?? []) {
    const ownedElsewhere = owned.some((o) => o !== mine && o.paths.has(key))
    if (!wantedKeys.has(key) && !ownedElsewhere) remove(base, path)
  }
  const object = mergePatch(base, applied) as JsonObject
  const entries: ManagedFields[] = [
    ...owned
      .filter((o) => o !== mine && o.paths.size)
      .map((o) => ({ ...o.entry, fieldsV1: toFieldsV1([...o.paths.values()]) })),
    {
      manager,
      operation: 'Apply',
      apiVersion: String(applied.apiVersion),
      // an apply that changes nothing leaves the object as it was, timestamp included
      time: sameFields(mine?.entry, toFieldsV1(wanted)) ? (mine?.entry.time ?? now()) : now(),
      fieldsType: 'FieldsV1',
      fieldsV1: toFieldsV1(wanted),
    },
  ]
  ;(object.metadata as JsonObject).managedFields = entries
  return { object, conflicts: [] }
}

/**
 * Records an ordinary write (create, update, patch) by `manager`: it takes the fields whose value
 * it changed (all of them on a create), and the other managers lose those.
 */
export function recordUpdate(before: JsonObject | undefined, after: JsonObject, manager: string): void {
  const managed = ((before?.metadata as JsonObject | undefined)?.managedFields ?? []) as ManagedFields[]
  const changed = fieldsOf(after).filter((p) => JSON.stringify(read(before, p)) !== JSON.stringify(read(after, p)))
  const changedKeys = new Set(changed.map(keyOf))
  const entries = managed
    .map((entry) => {
      const paths = fromFieldsV1(entry.fieldsV1).filter((p) => entry.manager === manager || !changedKeys.has(keyOf(p)))
      return { ...entry, fieldsV1: toFieldsV1(paths), size: paths.length }
    })
    .filter((entry) => entry.size > 0)
    .map(({ size: _size, ...entry }) => entry)
  const mineAt = entries.findIndex((e) => e.manager === manager && e.operation === 'Update')
  const previous = mineAt >= 0 ? fromFieldsV1((entries[mineAt] as ManagedFields).fieldsV1) : []
  const paths = [...previous, ...changed.filter((p) => !previous.some((q) => keyOf(q) === keyOf(p)))]
  const fieldsV1 = toFieldsV1(paths)
  const previousEntry = mineAt >= 0 ? entries[mineAt] : undefined
  const entry: ManagedFields = {
    manager,
    operation: 'Update',
    apiVersion: String(after.apiVersion),
    time: sameFields(previousEntry, fieldsV1) && !changed.length ? (previousEntry?.time ?? now()) : now(),
    fieldsType: 'FieldsV1',
    fieldsV1,
  }
  if (mineAt >= 0) entries[mineAt] = entry
  else if (paths.length) entries.push(entry)
  ;(after.metadata as JsonObject).managedFields = entries
}
