import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { Role, TenantId, Uuid } from '@mecm/protocol'
import { z } from 'zod'

/**
 * Access tokens are compact JWTs (HS256) signed with a key derived from the master key, so
 * every center replica that shares the master key accepts them. Refresh tokens are opaque
 * random strings, kept only as SHA-256 hashes.
 */
const Claims = z.object({
  sub: Uuid,
  tenantId: TenantId,
  role: Role,
  username: z.string(),
  iat: z.number().int(),
  exp: z.number().int(),
})
export type Claims = z.infer<typeof Claims>

const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url')
const header = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))

export function signToken(key: Buffer, claims: Omit<Claims, 'iat' | 'exp'>, ttlSeconds: number, nowMs = Date.now()) {
  const iat = Math.floor(nowMs / 1000)
  const payload = b64(JSON.stringify({ ...claims, iat, exp: iat + ttlSeconds }))
  const signature = createHmac('sha256', key).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}

/** The token's claims, or a reason it is refused. */
export function verifyToken(key: Buffer, token: string, nowMs = Date.now()): Claims | string {
  const [head, payload, signature] = token.split('.')
  if (!head || !payload || !signature) return 'the token is not a JWT'
  const expected = createHmac('sha256', key).update(`${head}.${payload}`).digest()
  const given = Buffer.from(signature, 'base64url')
  if (head !== header || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 'the token signature is not valid'
  }
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
  } catch {
    return 'the token payload is not JSON'
  }
  const claims = Claims.safeParse(decoded)
  if (!claims.success) return 'the token claims are not valid'
  if (claims.data.exp <= Math.floor(nowMs / 1000)) return 'the token has expired: log in again or use the refresh token'
  return claims.data
}

export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url')
}
