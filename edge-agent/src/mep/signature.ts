import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

/**
 * EdgeGallery's request signing for the MEP (the SDK-HMAC-SHA256 scheme of its app SDKs): the
 * app signs the method, path, query, chosen headers (at least host and x-sdk-date) and the body's
 * hash with its secret key, and sends
 *   Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=host;x-sdk-date, Signature=<hex>
 *   X-Sdk-Date: 20261204T101500Z
 */
export const SCHEME = 'SDK-HMAC-SHA256'
/** How far a request's date may be from the agent's clock. */
export const MAX_SKEW_MS = 15 * 60_000

export interface SignedRequest {
  method: string
  /** The path and query as sent: /mep/token?x=1 */
  url: string
  /** Header values by lowercase name. */
  headers: Record<string, string>
  body: Buffer | string
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

/** A query part decoded, or as it is when it is not valid percent-encoding (the signature then fails). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part)
  } catch {
    return part
  }
}

/** The date format of X-Sdk-Date: 20261204T101500Z. */
export const sdkDate = (at = new Date()) =>
  at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')

function canonical(request: SignedRequest, signedHeaders: string[]): string {
  const [path = '/', query = ''] = request.url.split('?')
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((pair) =>
      pair
        .split('=')
        .map((part) => encodeURIComponent(decoded(part)))
        .join('='),
    )
    .sort()
    .join('&')
  return [
    request.method.toUpperCase(),
    path.endsWith('/') ? path : `${path}/`,
    canonicalQuery,
    signedHeaders.map((name) => `${name}:${(request.headers[name] ?? '').trim()}\n`).join(''),
    signedHeaders.join(';'),
    sha256(request.body),
  ].join('\n')
}

/** The hex signature of a request with the secret key `sk`, over `signedHeaders` (lowercase, sorted). */
export function signature(sk: string, request: SignedRequest, signedHeaders: string[]): string {
  const date = request.headers['x-sdk-date'] ?? ''
  const toSign = [SCHEME, date, sha256(canonical(request, signedHeaders))].join('\n')
  return createHmac('sha256', sk).update(toSign).digest('hex')
}

/** The Authorization header for a request an app signs with its AK/SK. */
export function authorization(ak: string, sk: string, request: SignedRequest): string {
  const signedHeaders = ['host', 'x-sdk-date']
  return `${SCHEME} Access=${ak}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature(sk, request, signedHeaders)}`
}

/** The parts of an Authorization header in the scheme, or why it is not one. */
export function parseAuthorization(
  header: string | undefined,
): { access: string; signedHeaders: string[]; signature: string } | string {
  if (!header?.startsWith(`${SCHEME} `)) return `the request is not signed: Authorization must use ${SCHEME}`
  const fields = Object.fromEntries(
    header
      .slice(SCHEME.length + 1)
      .split(',')
      .map((part) => part.trim().split('='))
      .map(([name = '', ...value]) => [name, value.join('=')]),
  )
  if (!fields.Access || !fields.SignedHeaders || !fields.Signature)
    return 'the Authorization header needs Access, SignedHeaders and Signature'
  const signedHeaders = fields.SignedHeaders.toLowerCase().split(';')
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-sdk-date'))
    return 'SignedHeaders must include host and x-sdk-date'
  return { access: fields.Access, signedHeaders, signature: fields.Signature }
}

/** Whether `given` is the signature of the request with `sk`, compared in constant time. */
export function signatureMatches(sk: string, request: SignedRequest, signedHeaders: string[], given: string): boolean {
  const expected = Buffer.from(signature(sk, request, signedHeaders), 'hex')
  const actual = Buffer.from(given, 'hex')
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** The time an X-Sdk-Date names, or undefined when it is not one. */
export function parseSdkDate(value: string | undefined): number | undefined {
  const match = value?.match(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/)
  if (!match) return undefined
  const [, y, mo, d, h, mi, s] = match
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
}
