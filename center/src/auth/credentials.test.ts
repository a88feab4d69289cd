import { randomBytes } from 'node:crypto'
import { hashPassword, hashToken, sealer, verifyPassword } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import { canonicalRequest, parseSignatureHeader, signatureMatches, signingHeaders } from './signing'
import { signToken, verifyToken } from './tokens'

describe('passwords', () => {
  it('hash with scrypt and a salt of their own, and verify only the right password', async () => {
    const [one, two] = await Promise.all([hashPassword('Secret-pass1'), hashPassword('Secret-pass1')])
    expect(one).toMatch(/^scrypt\$16384\$8\$1\$[\w-]+\$[\w-]+$/)
    expect(one).not.toBe(two)
    expect(await verifyPassword('Secret-pass1', one)).toBe(true)
    expect(await verifyPassword('Secret-pass2', one)).toBe(false)
    expect(await verifyPassword('Secret-pass1', 'plain:Secret-pass1')).toBe(false)
  })
})

describe('access tokens', () => {
  const key = randomBytes(32)
  const claims = {
    sub: '9b2f6a1e-3c4d-4e5f-8a7b-0c1d2e3f4a5b',
    tenantId: '3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b',
    role: 'TENANT' as const,
    username: 'alice',
  }

  it('verify with the key that signed them', () => {
    expect(verifyToken(key, signToken(key, claims, 60))).toMatchObject(claims)
  })

  it('are refused with another key, after they expire, or when changed', () => {
    const token = signToken(key, claims, 60, Date.parse('2026-01-01T00:00:00Z'))
    expect(verifyToken(randomBytes(32), token)).toBe('the token signature is not valid')
    expect(verifyToken(key, token, Date.parse('2026-01-01T00:01:01Z'))).toContain('expired')
    const [head, , signature] = token.split('.')
    const promoted = Buffer.from(JSON.stringify({ ...claims, role: 'ADMIN', iat: 0, exp: 9e9 })).toString('base64url')
    expect(verifyToken(key, `${head}.${promoted}.${signature}`)).toBe('the token signature is not valid')
    expect(verifyToken(key, 'not-a-jwt')).toBe('the token is not a JWT')
  })

  it('keep refresh tokens only as hashes', () => {
    expect(hashToken('abc')).toMatch(/^[0-9a-f]{64}$/)
    expect(hashToken('abc')).not.toBe(hashToken('abd'))
  })
})

describe('request signatures', () => {
  const parts = {
    method: 'post',
    pathWithQuery: '/x?a=1',
    date: '2026-11-21T10:00:00Z',
    nonce: 'n0nce-123',
    body: '{"a":1}',
  }

  it('cover method, path with query, date, nonce and the body hash', () => {
    expect(canonicalRequest(parts).split('\n')).toEqual([
      'POST',
      '/x?a=1',
      '2026-11-21T10:00:00Z',
      'n0nce-123',
      '015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862',
    ])
    const headers = signingHeaders('AK123', 'SK', parts)
    const parsed = parseSignatureHeader(headers.authorization ?? '')
    expect(parsed?.accessKey).toBe('AK123')
    expect(signatureMatches('SK', parts, parsed?.signature ?? '')).toBe(true)
    for (const change of [
      { method: 'GET' },
      { pathWithQuery: '/x?a=2' },
      { nonce: 'other-nonce' },
      { body: '{"a":2}' },
    ]) {
      expect(signatureMatches('SK', { ...parts, ...change }, parsed?.signature ?? '')).toBe(false)
    }
    expect(signatureMatches('other', parts, parsed?.signature ?? '')).toBe(false)
  })

  it('have a header form that is read strictly', () => {
    expect(parseSignatureHeader('MECM-HMAC-SHA256 Credential=AK, Signature=abc')).toBeUndefined()
  })
})

describe('sealed secrets', () => {
  const master = randomBytes(32)

  it('open with the same master key, and differ each time they are sealed', () => {
    const box = sealer(master)
    const one = box.seal('kubeconfig: secret')
    expect(one).not.toContain('secret')
    expect(box.seal('kubeconfig: secret')).not.toBe(one)
    expect(box.open(one)).toBe('kubeconfig: secret')
  })

  it('refuse a wrong key and a changed byte', () => {
    const sealed = sealer(master).seal('password')
    expect(() => sealer(randomBytes(32)).open(sealed)).toThrow()
    const [v, iv, tag, body] = sealed.split('.')
    const flipped = Buffer.from(body ?? '', 'base64url')
    flipped[0] = (flipped[0] ?? 0) ^ 1
    expect(() => sealer(master).open([v, iv, tag, flipped.toString('base64url')].join('.'))).toThrow()
    expect(() => sealer(master).open('plaintext')).toThrow('not a sealed secret')
  })
})
