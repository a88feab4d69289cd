import { ApiError, matchesLabel, parseLabelSelector, selectorClauses } from '@mecm/runtime'
import { badRequest } from './status'

/** A label selector as the API takes it in `?labelSelector=` (equality- and set-based). */
export function labelSelector(selector: string | null): (labels: Record<string, string>) => boolean {
  try {
    const requirements = parseLabelSelector(selector ?? '')
    return (labels) => requirements.every((requirement) => matchesLabel(requirement, labels))
  } catch (error) {
    if (error instanceof ApiError) throw badRequest(`unable to parse requirement: ${error.message}`)
    throw error
  }
}

/** A field selector (`metadata.name=web,involvedObject.uid=…`): dotted paths compared as strings. */
export function fieldSelector(selector: string | null): (object: unknown) => boolean {
  const requirements = selectorClauses(selector ?? '')
    .filter(Boolean)
    .map((term) => {
      const match = term.match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/)
      if (!match) throw badRequest(`invalid field selector: ${term}`)
      const [, path = '', op, value] = match
      const read = (object: unknown) =>
        String(
          path.split('.').reduce<unknown>((at, key) => (at as Record<string, unknown> | undefined)?.[key], object) ??
            '',
        )
      return op === '!=' ? (object: unknown) => read(object) !== value : (object: unknown) => read(object) === value
    })
  return (object) => requirements.every((matches) => matches(object))
}
