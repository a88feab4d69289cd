import type { IncomingMessage, ServerResponse } from 'node:http'
import { parse as parseYaml } from 'yaml'
import { withDefaults } from './defaults'
import type { deletion } from './lifecycle'
import type { podLogs } from './logs'
import { type FieldConflict, mergePatch, recordUpdate, serverSideApply, strategicMergePatch } from './merge'
import { metricsApi } from './metrics'
import { suffix } from './objects'
import {
  apiGroup,
  apiVersionOf,
  coreVersions,
  findType,
  groupList,
  metricsResourceList,
  type ResourceType,
  resourceList,
  resourceTypes,
} from './resources'
import { fieldSelector, labelSelector } from './selectors'
import {
  alreadyExists,
  badRequest,
  deleted,
  invalid,
  methodNotAllowed,
  noSuchPath,
  notFound,
  StatusError,
  staleVersion,
  unsupportedMediaType,
} from './status'
import type { KubeObject, ObjectStore } from './store'

export interface ApiContext {
  store: ObjectStore
  /** The admission checks for a create (NamespaceLifecycle, ResourceQuota). */
  admit(type: ResourceType, namespace: string | undefined, name: string): void
  deletion: ReturnType<typeof deletion>
  logs: ReturnType<typeof podLogs>
  metricsServer(): boolean
  serverAddress: string
  /** Open watch streams, ended when the server closes. */
  watches: Set<ServerResponse>
}

interface Target {
  type: ResourceType
  namespace: string | undefined
  name: string | undefined
  subresource: string | undefined
}

const VERSION = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-mecm-test',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
}

/** A discovery document, or the 404 the API server gives for a path it does not serve. */
function served<T>(document: T | undefined): T {
  if (document === undefined) throw noSuchPath()
  return document
}

function stored(context: ApiContext, target: Target): KubeObject {
  const found = context.store.get(target.type, target.namespace, target.name ?? '')
  if (!found) throw notFound(target.type, target.name ?? '')
  return found
}

function send(response: ServerResponse, code: number, body: unknown) {
  const text = JSON.stringify(body)
  response.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  response.end(text)
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of request) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function parse(text: string, yaml: boolean): KubeObject {
  try {
    const value = yaml ? parseYaml(text) : JSON.parse(text)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object')
    value.metadata ??= {}
    return value
  } catch (error) {
    throw badRequest(`the body of the request could not be decoded: ${(error as Error).message}`)
  }
}

/** A list as the API server returns it: items without kind and apiVersion. */
function listOf(store: ObjectStore, type: ResourceType, items: KubeObject[], next?: string) {
  return {
    kind: `${type.kind}List`,
    apiVersion: apiVersionOf(type),
    metadata: { resourceVersion: store.revision, ...(next ? { continue: next } : {}) },
    items: items.map(({ kind: _kind, apiVersion: _apiVersion, ...rest }) => rest),
  }
}

/** Maps /api/v1/namespaces/{ns}/{resource}/{name}/{subresource} and its cluster-scoped forms. */
function targetOf(group: string, version: string, rest: string[]): Target {
  const namespaced = rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2] ?? '')
  const [plural = '', name, subresource, ...more] = namespaced ? rest.slice(2) : rest
  const type = findType(group, version, plural)
  if (!type || more.length || (namespaced && !type.namespaced)) throw noSuchPath()
  if (subresource && !type.subresources?.includes(subresource)) throw noSuchPath()
  return { type, namespace: namespaced ? rest[1] : undefined, name, subresource }
}

const managerOf = (request: IncomingMessage, query: URLSearchParams) =>
  query.get('fieldManager') ?? (request.headers['user-agent'] ?? 'unknown').split('/')[0] ?? 'unknown'

function checkIdentity(target: Target, object: KubeObject) {
  const { type } = target
  if (object.apiVersion && object.apiVersion !== apiVersionOf(type))
    throw badRequest(
      `the API version in the data (${object.apiVersion}) does not match the expected API version (${apiVersionOf(type)})`,
    )
  if (object.kind && object.kind !== type.kind)
    throw badRequest(`the kind in the data (${object.kind}) does not match the expected kind (${type.kind})`)
  if (target.namespace && object.metadata.namespace && object.metadata.namespace !== target.namespace)
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request')
  if (target.name && object.metadata.name && object.metadata.name !== target.name)
    throw badRequest(
      `the name of the object (${object.metadata.name}) does not match the name on the URL (${target.name})`,
    )
}

/** A write that names a resourceVersion must name the stored one (optimistic concurrency). */
function checkVersion(type: ResourceType, written: KubeObject, existing: KubeObject) {
  const version = written.metadata.resourceVersion
  if (version && version !== existing.metadata.resourceVersion) throw staleVersion(type, existing.metadata.name)
}

function conflictError(target: Target, conflicts: FieldConflict[]) {
  const using = (c: FieldConflict) => `"${c.manager}"${c.apiVersion ? ` using ${c.apiVersion}` : ''}`
  const [first] = conflicts
  const message =
    conflicts.length === 1 && first
      ? `Apply failed with 1 conflict: conflict with ${using(first)}: ${first.field}`
      : `Apply failed with ${conflicts.length} conflicts: ${[...new Set(conflicts.map(using))]
          .map(
            (who) =>
              `conflicts with ${who}:\n${conflicts
                .filter((c) => using(c) === who)
                .map((c) => `- ${c.field}`)
                .join('\n')}`,
          )
          .join('\n')}`
  return new StatusError(409, 'Conflict', message, {
    ...(target.name ? { name: target.name } : {}),
    ...(target.type.group ? { group: target.type.group } : {}),
    kind: target.type.plural,
    causes: conflicts.map((c) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with ${using(c)}`,
      field: c.field,
    })),
  })
}

/** Fields of the stored object a write cannot change: identity, and status behind its subresource. */
function keepServerFields(type: ResourceType, written: KubeObject, existing: KubeObject): KubeObject {
  const object: KubeObject = {
    ...written,
    apiVersion: existing.apiVersion,
    kind: existing.kind,
    metadata: {
      ...written.metadata,
      name: existing.metadata.name,
      namespace: existing.metadata.namespace,
      uid: existing.metadata.uid,
      creationTimestamp: existing.metadata.creationTimestamp,
      ...(existing.metadata.deletionTimestamp ? { deletionTimestamp: existing.metadata.deletionTimestamp } : {}),
    },
  }
  if (!type.namespaced) delete object.metadata.namespace
  if (type.subresources?.includes('status')) object.status = existing.status
  return withDefaults(type, object, existing)
}

function create(context: ApiContext, target: Target, body: KubeObject, manager: string) {
  const { type } = target
  checkIdentity(target, body)
  const metadata = body.metadata
  const name = metadata.name ?? (metadata.generateName ? `${metadata.generateName}${suffix()}` : undefined)
  if (!name)
    throw invalid(type, '', [
      {
        reason: 'FieldValueRequired',
        message: 'Required value: name or generateName is required',
        field: 'metadata.name',
      },
    ])
  if (context.store.get(type, target.namespace, name)) throw alreadyExists(type, name)
  context.admit(type, target.namespace, name)
  const object = {
    ...body,
    metadata: { ...metadata, name, ...(target.namespace ? { namespace: target.namespace } : {}) },
  } as KubeObject
  if (type.subresources?.includes('status') && type.kind !== 'Pod') delete object.status
  for (const field of ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'deletionTimestamp'])
    delete object.metadata[field]
  withDefaults(type, object)
  recordUpdate(undefined, object, manager)
  return context.store.create(type, object)
}

function patch(context: ApiContext, target: Target, request: IncomingMessage, query: URLSearchParams, text: string) {
  const { type, namespace } = target
  const name = target.name as string
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]?.trim() ?? ''
  const existing = context.store.get(type, namespace, name)
  const force = query.get('force') === 'true'
  if (mediaType === 'application/apply-patch+yaml') {
    const manager = query.get('fieldManager')
    if (!manager)
      throw new StatusError(
        422,
        'Invalid',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        {
          causes: [
            {
              reason: 'FieldValueRequired',
              message: 'Required value: is required for apply patch',
              field: 'fieldManager',
            },
          ],
        },
      )
    const applied = parse(text, true)
    checkIdentity(target, applied)
    if (!applied.apiVersion || !applied.kind) throw badRequest('apiVersion and kind must be set in an apply patch')
    applied.metadata = { ...applied.metadata, name, ...(namespace ? { namespace } : {}) }
    if (!existing) context.admit(type, namespace, name)
    const result = serverSideApply(existing, applied, manager, force)
    if (result.conflicts.length) throw conflictError(target, result.conflicts)
    const object = result.object as KubeObject
    if (!existing) {
      if (type.subresources?.includes('status') && type.kind !== 'Pod') delete object.status
      return { code: 201, object: context.store.create(type, withDefaults(type, object)) }
    }
    return { code: 200, object: context.store.update(type, keepServerFields(type, object, existing)) }
  }
  if (force) throw badRequest('force: Forbidden: may not be specified for non-apply patch')
  const merge = {
    'application/merge-patch+json': mergePatch,
    'application/strategic-merge-patch+json': strategicMergePatch,
  }[mediaType]
  if (!merge) throw unsupportedMediaType(mediaType)
  if (!existing) throw notFound(type, name)
  const change = parse(text, false)
  checkVersion(type, change, existing)
  const patched = merge(existing, change) as KubeObject
  const object = keepServerFields(type, patched, existing)
  recordUpdate(existing, object, managerOf(request, query))
  return { code: 200, object: context.store.update(type, object) }
}

function replace(context: ApiContext, target: Target, body: KubeObject, manager: string) {
  const { type } = target
  checkIdentity(target, body)
  const existing = stored(context, target)
  checkVersion(type, body, existing)
  const object = keepServerFields(type, body, existing)
  recordUpdate(existing, object, manager)
  return context.store.update(type, object)
}

/** PUT or PATCH of the status subresource: only status changes. */
function writeStatus(context: ApiContext, target: Target, request: IncomingMessage, text: string) {
  const { type } = target
  const existing = stored(context, target)
  const body = parse(text, false)
  checkVersion(type, body, existing)
  const status =
    request.method === 'PUT' ? body.status : (mergePatch({ status: existing.status }, body) as KubeObject).status
  return context.store.update(type, { ...existing, status })
}

function remove(context: ApiContext, target: Target, query: URLSearchParams, text: string) {
  const { type, namespace, store } = { ...target, store: context.store }
  const name = target.name as string
  const existing = store.get(type, namespace, name)
  if (!existing) throw notFound(type, name)
  const options = text ? parse(text, false) : undefined
  const policy = query.get('propagationPolicy') ?? options?.propagationPolicy ?? 'Background'
  if (type.kind === 'Namespace') {
    if (['default', 'kube-system', 'kube-public'].includes(name))
      throw new StatusError(403, 'Forbidden', `namespaces "${name}" is forbidden: this namespace may not be deleted`)
    return context.deletion.terminateNamespace(existing)
  }
  if (existing.metadata.deletionTimestamp) return existing
  if (policy === 'Foreground') return context.deletion.deleteInForeground(type, existing)
  if (policy === 'Orphan') {
    for (const dependentType of resourceTypes)
      for (const dependent of store.list(dependentType, namespace)) {
        const refs = dependent.metadata.ownerReferences ?? []
        if (!refs.some((ref) => ref.uid === existing.metadata.uid)) continue
        const metadata = {
          ...dependent.metadata,
          ownerReferences: refs.filter((ref) => ref.uid !== existing.metadata.uid),
        }
        store.update(dependentType, { ...dependent, metadata })
      }
  }
  store.remove(type, namespace, name)
  // a pod is deleted gracefully: the answer is the pod, marked for deletion
  if (type.kind === 'Pod')
    return {
      ...existing,
      metadata: { ...existing.metadata, deletionTimestamp: new Date().toISOString(), deletionGracePeriodSeconds: 30 },
    }
  return deleted(type, name, existing.metadata.uid)
}

function matching(target: Target, query: URLSearchParams) {
  const labels = labelSelector(query.get('labelSelector'))
  const fields = fieldSelector(query.get('fieldSelector'))
  return (object: KubeObject) =>
    (!target.namespace || object.metadata.namespace === target.namespace) &&
    labels(object.metadata.labels ?? {}) &&
    fields(object)
}

function list(context: ApiContext, target: Target, query: URLSearchParams) {
  const all = context.store.list(target.type, target.namespace).filter(matching(target, query))
  const limit = Number(query.get('limit') ?? 0)
  const start = query.get('continue') ? Number(Buffer.from(query.get('continue') ?? '', 'base64url').toString()) : 0
  const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start)
  const next =
    limit > 0 && start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64url') : undefined
  return listOf(context.store, target.type, page, next)
}

/** ?watch=true: one JSON event per line, from `resourceVersion` on (or the current state, then changes). */
function watch(context: ApiContext, target: Target, query: URLSearchParams, response: ServerResponse) {
  const { store } = context
  const matches = matching(target, query)
  const from = query.get('resourceVersion')
  response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' })
  response.flushHeaders()
  const write = (type: string, object: unknown) => response.write(`${JSON.stringify({ type, object })}\n`)
  if (!from || from === '0') {
    for (const object of store.list(target.type, target.namespace).filter(matches)) write('ADDED', object)
  } else {
    const missed = store.since(Number(from))
    if (!missed) {
      const expired = new StatusError(410, 'Expired', `too old resource version: ${from} (${store.revision})`)
      write('ERROR', expired.status)
      response.end()
      return
    }
    for (const change of missed)
      if (change.resource === target.type && matches(change.object)) write(change.type, change.object)
  }
  const unsubscribe = store.subscribe((change) => {
    if (change.resource === target.type && matches(change.object)) write(change.type, change.object)
  })
  context.watches.add(response)
  const timeout = Number(query.get('timeoutSeconds') ?? 0)
  const timer = timeout > 0 ? setTimeout(() => response.end(), timeout * 1000) : undefined
  response.on('close', () => {
    unsubscribe()
    clearTimeout(timer)
    context.watches.delete(response)
  })
}

function deleteCollection(context: ApiContext, target: Target, query: URLSearchParams) {
  const items = context.store.list(target.type, target.namespace).filter(matching(target, query))
  for (const item of items) remove(context, { ...target, name: item.metadata.name }, query, '')
  return listOf(context.store, target.type, items)
}

async function resource(
  context: ApiContext,
  target: Target,
  request: IncomingMessage,
  response: ServerResponse,
  query: URLSearchParams,
) {
  const { namespace, name, subresource } = target
  const method = request.method ?? 'GET'
  const path = request.url ?? ''
  if (subresource === 'log') {
    if (method !== 'GET') throw methodNotAllowed(method, path)
    context.logs.serve(namespace ?? '', name ?? '', query, response)
    return
  }
  if (subresource === 'status' || subresource === 'finalize') {
    if (method === 'GET') return send(response, 200, stored(context, target))
    if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed(method, path)
    return send(response, 200, writeStatus(context, target, request, await bodyOf(request)))
  }
  const manager = managerOf(request, query)
  if (!name) {
    if (method === 'GET' && (query.get('watch') === 'true' || query.get('watch') === '1'))
      return watch(context, target, query, response)
    if (method === 'GET') return send(response, 200, list(context, target, query))
    if (method === 'POST')
      return send(response, 201, create(context, target, parse(await bodyOf(request), false), manager))
    if (method === 'DELETE') return send(response, 200, deleteCollection(context, target, query))
    throw methodNotAllowed(method, path)
  }
  if (method === 'GET') return send(response, 200, stored(context, target))
  if (method === 'PUT')
    return send(response, 200, replace(context, target, parse(await bodyOf(request), false), manager))
  if (method === 'PATCH') {
    const { code, object } = patch(context, target, request, query, await bodyOf(request))
    return send(response, code, object)
  }
  if (method === 'DELETE') return send(response, 200, remove(context, target, query, await bodyOf(request)))
  throw methodNotAllowed(method, path)
}

/** The REST API: discovery, objects and their subresources, and the metrics API when there is one. */
export async function route(context: ApiContext, request: IncomingMessage, response: ServerResponse) {
  const url = new URL(request.url ?? '/', 'http://localhost')
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
  const [root, first, second, ...rest] = parts
  try {
    if (root === 'version' && !first) return send(response, 200, VERSION)
    if (root === 'api') {
      if (!first) return send(response, 200, coreVersions(context.serverAddress))
      if (!second) return send(response, 200, served(resourceList('', first)))
      return await resource(context, targetOf('', first, [second, ...rest]), request, response, url.searchParams)
    }
    if (root === 'apis') {
      const metrics = context.metricsServer()
      if (!first) return send(response, 200, groupList(metrics))
      if (!second) return send(response, 200, served(apiGroup(first, metrics)))
      if (first === 'metrics.k8s.io') {
        if (!metrics || second !== 'v1beta1') throw noSuchPath()
        if (!rest.length) return send(response, 200, metricsResourceList())
        return send(response, 200, served(metricsApi(context.store, rest)))
      }
      if (!rest.length) return send(response, 200, served(resourceList(first, second)))
      return await resource(context, targetOf(first, second, rest), request, response, url.searchParams)
    }
    throw noSuchPath()
  } catch (error) {
    if (!(error instanceof StatusError)) throw error
    if (response.headersSent) response.end()
    else send(response, error.code, error.status)
  }
}
