import { badRequest } from './status'

type Requirement = (labels: Record<string, string>) => boolean

/** Splits at commas outside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
function terms(selector: string): string[] {
  const parts: string[] = []
  let depth = 0
  let current = ''
  for (const char of selector) {
    if (char === '(') depth++
    if (char === ')') depth--
    if (char === ',' && depth === 0) {
      parts.push(current)
      current = ''
    } else current += char
  }
  parts.push(current)
  return parts.map((part) => part.trim()).filter(Boolean)
}

function requirement(term: string): Requirement {
  const set = term.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/)
  if (set) {
    const [, key = '', op, list = ''] = set
    const values = list.split(',').map((v) => v.trim())
    return op === 'in'
      ? (labels) => key in labels && values.includes(labels[key] ?? '')
      : (labels) => !values.includes(labels[key] ?? '\0')
  }
  const compare = term.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/)
  if (compare) {
    const [, key = '', op, value] = compare
    return op === '!=' ? (labels) => labels[key] !== value : (labels) => labels[key] === value
  }
  const exists = term.match(/^(!?)([\w./-]+)$/)
  if (exists) {
    const [, not, key = ''] = exists
    return not ? (labels) => !(key in labels) : (labels) => key in labels
  }
  throw badRequest(`unable to parse requirement: ${term}`)
}

/** A label selector as the API takes it in `?labelSelector=` (equality- and set-based). */
export function labelSelector(selector: string | null): Requirement {
  const requirements = terms(selector ?? '').map(requirement)
  return (labels) => requirements.every((matches) => matches(labels))
}

/** A field selector (`metadata.name=web,involvedObject.uid=…`): dotted paths compared as strings. */
export function fieldSelector(selector: string | null): (object: unknown) => boolean {
  const requirements = terms(selector ?? '').map((term) => {
    const match = term.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/)
    if (!match) throw badRequest(`invalid field selector: ${term}`)
    const [, path = '', op, value] = match
    const read = (object: unknown) =>
      String(
        path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], object) ?? '',
      )
    return op === '!=' ? (object: unknown) => read(object) !== value : (object: unknown) => read(object) === value
  })
  return (object) => requirements.every((matches) => matches(object))
}
