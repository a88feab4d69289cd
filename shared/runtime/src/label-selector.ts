import { badRequest } from './errors'

/**
 * Kubernetes label selectors: `zone=south`, `tier!=gold`, `gpu`, `!legacy`,
 * `env in (prod,stage)`, `env notin (dev)`, joined by commas (all must hold).
 */
export type LabelRequirement =
  | { key: string; op: 'exists' | 'absent' }
  | { key: string; op: 'in' | 'notin'; values: string[] }

const key = '[A-Za-z0-9][-A-Za-z0-9_./]*'
const value = '[-A-Za-z0-9_.]*'
const forms: [RegExp, (m: RegExpMatchArray) => LabelRequirement][] = [
  [new RegExp(`^(${key})\\s*(?:==|=)\\s*(${value})$`), (m) => ({ key: m[1] ?? '', op: 'in', values: [m[2] ?? ''] })],
  [new RegExp(`^(${key})\\s*!=\\s*(${value})$`), (m) => ({ key: m[1] ?? '', op: 'notin', values: [m[2] ?? ''] })],
  [
    new RegExp(`^(${key})\\s+(in|notin)\\s*\\(([^)]*)\\)$`),
    (m) => ({
      key: m[1] ?? '',
      op: m[2] as 'in' | 'notin',
      values: (m[3] ?? '').split(',').map((v) => v.trim()),
    }),
  ],
  [new RegExp(`^!\\s*(${key})$`), (m) => ({ key: m[1] ?? '', op: 'absent' })],
  [new RegExp(`^(${key})$`), (m) => ({ key: m[1] ?? '', op: 'exists' })],
]

/** Splits on commas that are not inside parentheses: `a in (x,y),b` → [`a in (x,y)`, `b`]. */
export function selectorClauses(selector: string): string[] {
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
  return parts.map((part) => part.trim())
}

export function parseLabelSelector(selector: string): LabelRequirement[] {
  if (!selector.trim()) return []
  return selectorClauses(selector).map((clause) => {
    for (const [form, build] of forms) {
      const match = clause.match(form)
      if (match) {
        const requirement = build(match)
        const set = clause.includes('(')
        const values = requirement.op === 'in' || requirement.op === 'notin' ? requirement.values : []
        if (values.some((v) => !new RegExp(`^${value}$`).test(v) || (set && v === ''))) break
        return requirement
      }
    }
    throw badRequest(
      `labelSelector: cannot read "${clause}"; use key=value, key!=value, key, !key, key in (a,b) or key notin (a,b)`,
    )
  })
}

/** Whether a set of labels meets one requirement (in memory; the center's labelConditions is the SQL form). */
export function matchesLabel(requirement: LabelRequirement, labels: Record<string, string>): boolean {
  const present = Object.hasOwn(labels, requirement.key)
  switch (requirement.op) {
    case 'exists':
      return present
    case 'absent':
      return !present
    case 'in':
      return present && requirement.values.includes(labels[requirement.key] ?? '')
    case 'notin':
      return !present || !requirement.values.includes(labels[requirement.key] ?? '')
  }
}
