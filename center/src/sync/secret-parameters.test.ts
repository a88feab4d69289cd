import { randomBytes } from 'node:crypto'
import { sealer } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import { openSecret, sealSecret } from './secret-parameters'

const keys = sealer(randomBytes(32))

describe("an instance's secret key at the center", () => {
  it('is sealed where it is kept and opened only for the wire; other parameters stay as they are', () => {
    const sealed = sealSecret({ PORT: '8080', ak: 'AK1', sk: 'the-secret' }, keys)
    expect(sealed).toMatchObject({ PORT: '8080', ak: 'AK1', sk: expect.stringMatching(/^sealed:v1\./) })
    expect(JSON.stringify(sealed)).not.toContain('the-secret')
    expect(openSecret(sealed, keys)).toEqual({ PORT: '8080', ak: 'AK1', sk: 'the-secret' })
  })

  it('seals once, and leaves a masked value or no secret alone', () => {
    const once = sealSecret({ sk: 'the-secret' }, keys)
    expect(sealSecret(once, keys)).toBe(once)
    expect(sealSecret({ sk: '***' }, keys)).toEqual({ sk: '***' })
    expect(openSecret({ PORT: '1' }, keys)).toEqual({ PORT: '1' })
    expect(() => openSecret(once, sealer(randomBytes(32)))).toThrow()
  })
})
