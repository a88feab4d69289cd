import type { AppPackage } from '@mecm/protocol'
import { badRequest } from '@mecm/runtime'
import { z } from 'zod'

/**
 * ETSI GS MEC 009 attribute-based filtering: `(op,attr,value[,value...])` expressions joined by
 * `;`, all of which must hold. Operators eq, neq, gt, lt, gte, lte, in, nin, cont, ncont.
 * Attributes are a record's top-level fields, or nested ones joined by `/` (checksum/hash).
 */
type Op = 'eq' | 'neq' | 'gt' | 'lt' | 'gte' | 'lte' | 'in' | 'nin' | 'cont' | 'ncont'
const ops = new Set<Op>(['eq', 'neq', 'gt', 'lt', 'gte', 'lte', 'in', 'nin', 'cont', 'ncont'])

export interface Condition {
  op: Op
  path: string[]
  values: string[]
}

export function parseFilter(filter: string, attributes: readonly string[]): Condition[] {
  const expressions = filter.match(/\([^()]*\)/g) ?? []
  if (
    filter
      .replace(/\([^()]*\)/g, '')
      .replace(/;/g, '')
      .trim() ||
    !expressions.length
  ) {
    throw badRequest(`filter: cannot read "${filter}"; write (op,attribute,value) expressions joined by ";"`)
  }
  return expressions.map((expression) => {
    const [op = '', attribute = '', ...values] = expression
      .slice(1, -1)
      .split(',')
      .map((part) => part.trim())
    if (!ops.has(op as Op)) throw badRequest(`filter: unknown operator "${op}"; use ${[...ops].join(', ')}`)
    if (!attributes.includes(attribute)) {
      throw badRequest(`filter: unknown attribute "${attribute}"; filterable are ${attributes.join(', ')}`)
    }
    if (!values.length) throw badRequest(`filter: ${expression} has no value`)
    if (!['in', 'nin'].includes(op) && values.length > 1)
      throw badRequest(`filter: ${op} takes one value in ${expression}`)
    return { op: op as Op, path: attribute.split('/'), values }
  })
}

function valueAt(record: unknown, path: string[]): string | undefined {
  let current: unknown = record
  for (const key of path)
    current = current && typeof current === 'object' ? (current as Record<string, unknown>)[key] : undefined
  return current === undefined || current === null ? undefined : String(current)
}

export function matches(record: unknown, conditions: Condition[]): boolean {
  return conditions.every(({ op, path, values }) => {
    const actual = valueAt(record, path)
    const [value = ''] = values
    switch (op) {
      case 'eq':
        return actual === value
      case 'neq':
        return actual !== value
      case 'in':
        return actual !== undefined && values.includes(actual)
      case 'nin':
        return actual === undefined || !values.includes(actual)
      case 'cont':
        return actual?.includes(value) ?? false
      case 'ncont':
        return !(actual?.includes(value) ?? false)
      default: {
        if (actual === undefined) return false
        const [a, b] = [Number(actual), Number(value)]
        const numeric = !Number.isNaN(a) && !Number.isNaN(b)
        const order = numeric ? a - b : actual.localeCompare(value)
        return op === 'gt' ? order > 0 : op === 'lt' ? order < 0 : op === 'gte' ? order >= 0 : order <= 0
      }
    }
  })
}

/** The AppPkgInfo attributes a filter may name. */
export const filterable = [
  'id',
  'appDId',
  'appProvider',
  'appName',
  'appSoftwareVersion',
  'appDVersion',
  'onboardingState',
  'operationalState',
  'usageState',
  'checksum/algorithm',
  'checksum/hash',
] as const

/** A package under AppPkgInfo's attribute names, as filters see it. */
export function filterView(pkg: AppPackage) {
  return {
    id: pkg.appPkgId,
    appDId: pkg.appDId,
    appProvider: pkg.appProvider,
    appName: pkg.appName,
    appSoftwareVersion: pkg.appSoftVersion,
    appDVersion: pkg.appDVersion,
    onboardingState: pkg.onboardingState,
    operationalState: pkg.operationalState,
    usageState: pkg.usageState,
    checksum: pkg.checksum,
  }
}

/** Whether a package passes every one of a subscription's appPkgFilter expressions. */
export function passes(filters: readonly string[], pkg: AppPackage): boolean {
  return filters.every((filter) => matches(filterView(pkg), parseFilter(filter, filterable)))
}

/** The list query of ETSI GS MEC 009: a filter and attribute selectors. */
export const ListQuery = z
  .object({
    filter: z.string().max(4096).optional(),
    all_fields: z.string().optional(),
    fields: z.string().max(1024).optional(),
    exclude_fields: z.string().max(1024).optional(),
    exclude_default: z.string().optional(),
  })
  .strict()
export type ListQuery = z.infer<typeof ListQuery>

/**
 * ETSI GS MEC 009 filter and attribute selectors over a list: all_fields (everything), fields and
 * exclude_fields (complex attributes by name), exclude_default (drops the complex attributes not
 * named in fields). Without a selector, records come whole.
 */
export function selectFrom<T extends Record<string, unknown>>(
  records: T[],
  query: ListQuery,
  filterable: readonly string[],
  complex: readonly string[],
): Partial<T>[] {
  const names = (list?: string) => (list ? list.split(',').map((field) => field.trim()) : [])
  for (const field of [...names(query.fields), ...names(query.exclude_fields)]) {
    if (!complex.includes(field))
      throw badRequest(
        complex.length
          ? `"${field}" is not a complex attribute here; those are ${complex.join(', ')}`
          : `"${field}": these records have no complex attributes to select`,
      )
  }
  const conditions = query.filter ? parseFilter(query.filter, filterable) : []
  const drop = new Set<string>(query.all_fields === undefined ? names(query.exclude_fields) : [])
  if (query.all_fields === undefined && (query.exclude_default !== undefined || query.fields !== undefined)) {
    for (const field of complex) if (!names(query.fields).includes(field)) drop.add(field)
  }
  return records
    .filter((record) => matches(record, conditions))
    .map((record) => Object.fromEntries(Object.entries(record).filter(([key]) => !drop.has(key))) as Partial<T>)
}
