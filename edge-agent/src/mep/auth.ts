import { timingSafeEqual } from 'node:crypto'
import { badRequest, forbidden, type Sealer, unauthorized } from '@mecm/runtime'
import { type Context, Hono, type MiddlewareHandler } from 'hono'
import type { AgentStore } from '../store/store'
import { MAX_SKEW_MS, parseAuthorization, parseSdkDate, signatureMatches } from './signature'

/** Mp1 routes know which app instance is calling. */
export type Mp1Env = { Variables: { appInstanceId: string } }

/** How long an Mp1 access token lives. */
export const TOKEN_TTL_S = 3600

/** The same text, compared in constant time. */
function same(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)]
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * `POST /mep/token`: an app proves it holds its AK/SK and gets a bearer token for Mp1. Either it
 * signs the request as EdgeGallery's app SDKs do (signature.ts), or it uses OAuth 2.0 client
 * credentials (RFC 6749 §4.4: `grant_type=client_credentials`, HTTP Basic with AK and SK), which
 * the transport info offers. Refusals are 401 saying why.
 */
export function tokenRoutes(deps: { store: AgentStore; sealer: Sealer }) {
  const app = new Hono()
  const answer = (c: Context, appInstanceId: string) => {
    const { token } = deps.store.mep.tokens.issue(appInstanceId, TOKEN_TTL_S * 1000)
    return c.json({ access_token: token, token_type: 'Bearer', expires_in: TOKEN_TTL_S })
  }
  const refused = () => unauthorized('the access key is unknown or the signature does not match')

  app.post('/mep/token', async (c) => {
    const basic = c.req.header('authorization')?.match(/^Basic\s+(\S+)$/i)?.[1]
    if (basic) {
      const form = new URLSearchParams(await c.req.text())
      if (form.get('grant_type') !== 'client_credentials')
        throw badRequest('OAuth 2.0 at /mep/token takes grant_type=client_credentials only')
      // RFC 6749 §2.3.1: client id and secret are form-encoded, then joined by ':' (decoding never throws)
      const [ak = '', ...rest] = Buffer.from(basic, 'base64').toString('utf8').split(':')
      const formDecoded = (part: string) => new URLSearchParams(`v=${part}`).get('v') ?? ''
      const holder = deps.store.credentials.byAccessKey(formDecoded(ak), deps.sealer)
      if (!holder || !same(holder.secretKey, formDecoded(rest.join(':'))))
        throw unauthorized('the access key or secret key is wrong')
      return answer(c, holder.appInstanceId)
    }
    const parsed = parseAuthorization(c.req.header('authorization'))
    if (typeof parsed === 'string') throw unauthorized(parsed)
    const date = parseSdkDate(c.req.header('x-sdk-date'))
    if (date === undefined) throw unauthorized('X-Sdk-Date is missing or not like 20261204T101500Z')
    if (Math.abs(Date.now() - date) > MAX_SKEW_MS)
      throw unauthorized(`X-Sdk-Date is more than ${MAX_SKEW_MS / 60_000} minutes from the MEP's clock`)
    const holder = deps.store.credentials.byAccessKey(parsed.access, deps.sealer)
    const url = new URL(c.req.url)
    const request = {
      method: c.req.method,
      url: url.pathname + url.search,
      headers: Object.fromEntries([...c.req.raw.headers].map(([name, value]) => [name.toLowerCase(), value])),
      body: Buffer.from(await c.req.arrayBuffer()),
    }
    // an unknown key and a wrong signature answer alike, so that keys cannot be probed
    if (!holder || !signatureMatches(holder.secretKey, request, parsed.signedHeaders, parsed.signature)) throw refused()
    return answer(c, holder.appInstanceId)
  })
  return app
}

/** Mp1 calls carry the app's token: `Authorization: Bearer <token>`; 401 without a valid one. */
export function appAuth(store: AgentStore): MiddlewareHandler<Mp1Env> {
  return async (c, next) => {
    const token = c.req.header('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1]
    if (!token) throw unauthorized('Mp1 needs an access token from POST /mep/token: Authorization: Bearer <token>')
    const appInstanceId = store.mep.tokens.appOf(token)
    if (!appInstanceId) throw unauthorized('the access token is unknown, expired, or its app instance is gone')
    c.set('appInstanceId', appInstanceId)
    await next()
  }
}

/** The app instance a path names (`:appInstanceId`), when it is the caller's own; 403 otherwise. */
export function ownApp(c: Context<Mp1Env>): string {
  const named = c.req.param('appInstanceId')
  if (named !== c.var.appInstanceId)
    throw forbidden(`app instance ${c.var.appInstanceId} may not act for app instance ${named}`)
  return named
}
