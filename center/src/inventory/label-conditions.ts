import type { LabelRequirement } from '@mecm/runtime'

/** SQL conditions over host_labels for a host row aliased `h`, with their parameters. */
export function labelConditions(requirements: LabelRequirement[]): { sql: string[]; params: string[] } {
  const sql: string[] = []
  const params: string[] = []
  for (const requirement of requirements) {
    const base = 'SELECT 1 FROM host_labels l WHERE l.host_id = h.host_id AND l.label_key = ?'
    params.push(requirement.key)
    if (!('values' in requirement)) {
      sql.push(`${requirement.op === 'absent' ? 'NOT ' : ''}EXISTS (${base})`)
    } else {
      sql.push(
        `${requirement.op === 'notin' ? 'NOT ' : ''}EXISTS (${base} AND l.label_value IN (${requirement.values.map(() => '?').join(', ')}))`,
      )
      params.push(...requirement.values)
    }
  }
  return { sql, params }
}
