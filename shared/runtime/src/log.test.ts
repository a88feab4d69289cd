import { describe, expect, it } from 'vitest'
import { createLogger } from './log'

describe('createLogger', () => {
  it('writes one JSON object per line, with the base fields, at or above its level', () => {
    const lines: [string, string][] = []
    const log = createLogger('info', { component: 'test' }, (line, level) => lines.push([level, line]))
    log.debug('hidden')
    log.info('shown', { n: 1 })
    log.error('failed', { reason: 'x' })
    expect(lines.map(([level]) => level)).toEqual(['info', 'error'])
    expect(JSON.parse(lines[0]?.[1] ?? '{}')).toMatchObject({ level: 'info', msg: 'shown', component: 'test', n: 1 })
    expect(JSON.parse(lines[0]?.[1] ?? '{}').time).toMatch(/^\d{4}-\d\d-\d\dT/)
  })

  it('writes nothing when silent', () => {
    const lines: string[] = []
    createLogger('silent', {}, (line) => lines.push(line)).error('nothing')
    expect(lines).toEqual([])
  })
})
