import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * AK/SK request signing for machine clients.
 *
 *   Authorization: MECM-HMAC-SHA256 Credential=<AK>, Signature=<hex>
 *   X-MECM-Date:   <ISO 8601 time>     (within SIGNING_SKEW_MS of the center's clock)
 *   X-MECM-Nonce:  <unique string>     (each nonce is accepted once per access key)
 *
 * Signature = HMAC-SHA256(SK, canonical request), where the canonical request is the lines
 * METHOD, path with query, date, nonce and the hex SHA-256 of the body, joined by "\n".
 */
export const SIGNING_SCHEME = 'MECM-HMAC-SHA256'
export const SIGNING_SKEW_MS = 5 * 60 * 1000

export interface SignedParts {
  method: string
  pathWithQuery: string
  date: string
  nonce: string
  body: Uint8Array | string
}

export function canonicalRequest(parts: SignedParts): string {
  const bodyHash = createHash('sha256').update(parts.body).digest('hex')
  return [parts.method.toUpperCase(), parts.pathWithQuery, parts.date, parts.nonce, bodyHash].join('\n')
}

export function signRequest(secretKey: string, parts: SignedParts): string {
  return createHmac('sha256', secretKey).update(canonicalRequest(parts)).digest('hex')
}

/** The headers a client adds to sign a request. */
export function signingHeaders(accessKey: string, secretKey: string, parts: SignedParts): Record<string, string> {
  return {
    authorization: `${SIGNING_SCHEME} Credential=${accessKey}, Signature=${signRequest(secretKey, parts)}`,
    'x-mecm-date': parts.date,
    'x-mecm-nonce': parts.nonce,
  }
}

export function parseSignatureHeader(value: string): { accessKey: string; signature: string } | undefined {
  const match = value.match(/^MECM-HMAC-SHA256\s+Credential=([A-Za-z0-9_-]+),\s*Signature=([0-9a-f]{64})$/)
  return match?.[1] && match[2] ? { accessKey: match[1], signature: match[2] } : undefined
}

export function signatureMatches(secretKey: string, parts: SignedParts, signature: string): boolean {
  const expected = Buffer.from(signRequest(secretKey, parts), 'hex')
  const given = Buffer.from(signature, 'hex')
  return expected.length === given.length && timingSafeEqual(expected, given)
}
