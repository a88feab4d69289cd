import { randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { ApiError, problemResponse, sealer } from '@mecm/runtime'
import { Hono } from 'hono'
import { appAuth, type Mp1Env, tokenRoutes } from '../mep/auth'
import { authorization, sdkDate } from '../mep/signature'
import type { AgentStore } from '../store/store'

/** An app's view of the MEP for tests: a token got by signing with its AK/SK, then bearer calls. */
export function mp1Client(agentUrl: string, credentials: { ak: string; sk: string }) {
  let token: string | undefined
  /** Asks for a token with a signed request; resolves to the raw answer. */
  async function requestToken(options: { sk?: string; date?: Date } = {}) {
    const url = new URL('/mep/token', agentUrl)
    const headers = { host: url.host, 'x-sdk-date': sdkDate(options.date) }
    const signed = authorization(credentials.ak, options.sk ?? credentials.sk, {
      method: 'POST',
      url: url.pathname,
      headers,
      body: '',
    })
    const response = await fetch(url, { method: 'POST', headers: { ...headers, authorization: signed } })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return {
    requestToken,
    /** Signs in once (a token kept for the next calls). */
    async token(): Promise<string> {
      if (token) return token
      const answer = await requestToken()
      if (answer.status !== 200) throw new Error(`no token: ${JSON.stringify(answer.body)}`)
      token = answer.body.access_token as string
      return token
    },
    async call(method: string, path: string, body?: unknown) {
      const response = await fetch(new URL(path, agentUrl), {
        method,
        headers: { authorization: `Bearer ${await this.token()}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
      return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as any }
    },
  }
}

/**
 * Mp1 routes served on 127.0.0.1 as the agent serves them: `POST /mep/token`, each of `mount`
 * (by its base path) behind appAuth, errors as ProblemDetails. `keys` seals the apps' secrets.
 */
export async function serveMp1(store: AgentStore, mount: Record<string, Hono<Mp1Env>>) {
  const keys = sealer(randomBytes(32))
  const app = new Hono<Mp1Env>()
  app.onError((error, c) => (error instanceof ApiError ? problemResponse(error, c.req.path) : c.text('boom', 500)))
  app.route('/', tokenRoutes({ store, sealer: keys }))
  for (const [base, routes] of Object.entries(mount)) {
    app.use(`${base}/*`, appAuth(store))
    app.route(base, routes)
  }
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    keys,
    /** A new app instance with its AK/SK, and an Mp1 client that signs in with them. */
    newApp(parameters: Record<string, string> = {}) {
      const instance = DesiredInstance.parse({ ...examples.desiredInstance, appInstanceId: randomUUID(), parameters })
      const pair = store.credentials.forInstance(instance, keys)
      return {
        instance,
        id: instance.appInstanceId,
        client: mp1Client(url, { ak: pair.accessKey, sk: pair.secretKey }),
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
