import { EDGE_SIGNING_SCHEME } from '@mecm/protocol'
import type { Sealer } from '@mecm/runtime'
import { ApiError, unauthorized } from '@mecm/runtime'
import type { MiddlewareHandler } from 'hono'
import type { Store } from '../db/store'
import type { Env, Principal } from '../http/route'
import { isEdgeSignature, verifyEdgeRequest } from './edge-signature'
import { parseSignatureHeader, SIGNING_SCHEME, SIGNING_SKEW_MS, signatureMatches } from './signing'
import { verifyToken } from './tokens'

export interface AuthDeps {
  store: Store
  tokenKey: Buffer
  sealer: Sealer
  /** The largest body a signed request may have: it is read whole to check the signature. */
  signedBodyLimit: number
}

async function principalOf(store: Store, userId: string, via: Principal['via']): Promise<Principal> {
  // read the user each time: a deleted user or a changed role takes effect at once
  const user = await store.tenants.getUser(userId)
  if (!user) throw unauthorized('the user of this credential no longer exists')
  return { userId: user.userId, tenantId: user.tenantId, role: user.role, username: user.username, via }
}

/** The body of a signed request, read whole to check the signature: bounded, and of known length. */
async function signedBody(deps: AuthDeps, c: Parameters<MiddlewareHandler<Env>>[0]): Promise<Uint8Array> {
  if (Number(c.req.header('content-length') ?? 0) > deps.signedBodyLimit || c.req.header('transfer-encoding')) {
    throw new ApiError(
      413,
      'Content Too Large',
      `a signed request carries at most ${deps.signedBodyLimit} bytes with a known length; upload packages with a token`,
    )
  }
  return new Uint8Array(await c.req.arrayBuffer())
}

async function fromSignature(deps: AuthDeps, header: string, c: Parameters<MiddlewareHandler<Env>>[0]) {
  const parsed = parseSignatureHeader(header)
  if (!parsed) throw unauthorized(`malformed ${SIGNING_SCHEME} header: expected Credential=<AK>, Signature=<64 hex>`)
  const date = c.req.header('x-mecm-date') ?? ''
  const nonce = c.req.header('x-mecm-nonce') ?? ''
  const time = Date.parse(date)
  if (Number.isNaN(time)) throw unauthorized('a signed request needs an X-MECM-Date header with an ISO 8601 time')
  if (Math.abs(Date.now() - time) > SIGNING_SKEW_MS) {
    throw unauthorized('X-MECM-Date is more than 5 minutes away from the center clock: check the client clock')
  }
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(nonce)) {
    throw unauthorized('a signed request needs an X-MECM-Nonce header of 8-128 letters, digits, "-" or "_"')
  }
  const key = await deps.store.credentials.getAccessKey(parsed.accessKey)
  if (!key) throw unauthorized('unknown access key')
  const url = new URL(c.req.url)
  const body = await signedBody(deps, c)
  const parts = { method: c.req.method, pathWithQuery: url.pathname + url.search, date, nonce, body }
  if (!signatureMatches(deps.sealer.open(key.secretSealed), parts, parsed.signature)) {
    throw unauthorized('the request signature does not match: sign METHOD, path?query, date, nonce and body SHA-256')
  }
  const expiresAt = new Date(time + SIGNING_SKEW_MS).toISOString()
  if (!(await deps.store.credentials.rememberNonce(parsed.accessKey, nonce, expiresAt))) {
    throw unauthorized('this nonce was already used: a signed request is accepted once')
  }
  return principalOf(deps.store, key.userId, 'signature')
}

/**
 * Establishes who is calling from `Authorization: Bearer`, EdgeGallery's `access_token` header,
 * or an AK/SK signature. A request goes on without a principal when it sent no credentials or
 * wrong ones; routes that need a principal then answer 401 with the reason (`authError`), while
 * public ones (login, refresh) still work for a client that sends its expired token along.
 */
export function authenticate(deps: AuthDeps): MiddlewareHandler<Env> {
  return async (c, next) => {
    try {
      await identify(deps, c)
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error
      c.set('authError', error.message)
    }
    await next()
  }
}

async function identify(deps: AuthDeps, c: Parameters<MiddlewareHandler<Env>>[0]): Promise<void> {
  const authorization = c.req.header('authorization')
  const bearer = authorization?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? c.req.header('access_token')
  if (isEdgeSignature(authorization)) {
    const url = new URL(c.req.url)
    const request = {
      authorization: authorization ?? '',
      method: c.req.method,
      pathWithQuery: url.pathname + url.search,
      body: await signedBody(deps, c),
    }
    c.set('edge', await verifyEdgeRequest({ edges: deps.store.edges, credentials: deps.store.credentials }, request))
  } else if (authorization?.startsWith(SIGNING_SCHEME)) {
    c.set('principal', await fromSignature(deps, authorization, c))
  } else if (bearer) {
    const claims = verifyToken(deps.tokenKey, bearer)
    if (typeof claims === 'string') throw unauthorized(claims)
    c.set('principal', await principalOf(deps.store, claims.sub, 'token'))
  } else if (authorization) {
    throw unauthorized(
      `unsupported Authorization scheme: use Bearer <token>, ${SIGNING_SCHEME} or ${EDGE_SIGNING_SCHEME}`,
    )
  }
}
