import { asRecord } from './http'
import { ServiceError } from './state'

/** What intrinsic functions read: parameter values, resources' physical ids and attributes. */
export interface Scope {
  param(name: string): string
  resource(name: string): string
  attribute(name: string, attribute: string): unknown
}

/** The resources a value refers to with get_resource or get_attr. */
export function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references)
  if (!value || typeof value !== 'object') return []
  const object = value as Record<string, unknown>
  if (typeof object.get_resource === 'string') return [object.get_resource]
  if (Array.isArray(object.get_attr) && typeof object.get_attr[0] === 'string') return [object.get_attr[0]]
  return Object.values(object).flatMap(references)
}

/** Resolves HOT intrinsic functions: get_param, get_resource, get_attr (with a path), str_replace, list_join. */
export function resolve(value: unknown, scope: Scope): unknown {
  if (Array.isArray(value)) return value.map((item) => resolve(item, scope))
  if (!value || typeof value !== 'object') return value
  const object = value as Record<string, unknown>
  const [only] = Object.keys(object)
  if (Object.keys(object).length === 1 && only) {
    const argument = object[only]
    switch (only) {
      case 'get_param':
        return scope.param(String(argument))
      case 'get_resource':
        return scope.resource(String(argument))
      case 'get_attr': {
        const [name, attribute, ...path] = (argument as unknown[]).map((part) => resolve(part, scope))
        let found = scope.attribute(String(name), String(attribute))
        for (const key of path) found = asRecord(found)[String(key)] ?? (found as unknown[] | undefined)?.[Number(key)]
        return found ?? null
      }
      case 'str_replace': {
        const spec = asRecord(argument)
        const params = asRecord(resolve(spec.params, scope))
        return Object.entries(params).reduce(
          (text, [key, replacement]) => text.split(key).join(String(replacement)),
          String(resolve(spec.template, scope)),
        )
      }
      case 'list_join': {
        const [separator, ...lists] = argument as unknown[]
        return lists.flatMap((list) => resolve(list, scope) as unknown[]).join(String(separator))
      }
    }
  }
  return Object.fromEntries(Object.entries(object).map(([key, item]) => [key, resolve(item, scope)]))
}

/** Resources in an order where each comes after those it refers to or depends_on; a cycle is a 400. */
export function creationOrder(resources: Record<string, Record<string, unknown>>): string[] {
  const order: string[] = []
  const visiting = new Set<string>()
  const visit = (name: string) => {
    if (order.includes(name)) return
    if (visiting.has(name))
      throw new ServiceError(400, 'CircularDependencyException', `Circular Dependency Found: ${name}`)
    const resource = resources[name]
    if (!resource)
      throw new ServiceError(400, 'InvalidTemplateReference', `The specified reference "${name}" is incorrect.`)
    visiting.add(name)
    const dependsOn = resource.depends_on
    for (const dependency of [
      ...references(resource.properties),
      ...(Array.isArray(dependsOn) ? dependsOn : dependsOn ? [dependsOn] : []).map(String),
    ])
      visit(dependency)
    visiting.delete(name)
    order.push(name)
  }
  for (const name of Object.keys(resources)) visit(name)
  return order
}
