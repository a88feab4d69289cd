import { randomBytes, randomUUID } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { type ServerType, serve } from '@hono/node-server'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { ApiError, problemResponse, sealer } from '@mecm/runtime'
import { Hono } from 'hono'
import { appAuth, type Mp1Env } from '../auth'
import { API_ROOT } from './links'
import { type AppSupportDeps, appSupport } from './routes'

/**
 * For tests: the app support API served on 127.0.0.1 as the agent mounts it (behind `appAuth`,
 * errors as ProblemDetails), and apps with credentials and a token to call it with.
 */
export async function serveAppSupport(deps: AppSupportDeps) {
  const support = appSupport(deps)
  const app = new Hono<Mp1Env>()
  app.onError((error, c) => (error instanceof ApiError ? problemResponse(error, c.req.path) : c.text('boom', 500)))
  app.use(`${API_ROOT}/*`, appAuth(deps.store))
  app.route(API_ROOT, support.routes)
  const server = await new Promise<ServerType>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started))
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const keys = sealer(randomBytes(32))

  /** Calls the API (a path below API_ROOT, or from the root); a string body is sent as it is. */
  async function call(token: string | undefined, method: string, path: string, body?: unknown) {
    const response = await fetch(url + (path.startsWith(API_ROOT) ? path : API_ROOT + path), {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    })
    const text = await response.text()
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as any }
  }

  return {
    support,
    call,
    /** A new app instance with its credentials and a token; `call` acts as it. */
    app() {
      const instance = DesiredInstance.parse({ ...examples.desiredInstance, appInstanceId: randomUUID() })
      deps.store.credentials.forInstance(instance, keys)
      const { token } = deps.store.mep.tokens.issue(instance.appInstanceId, 60_000)
      const id = instance.appInstanceId
      return {
        instance,
        id,
        token,
        call: (method: string, path: string, body?: unknown) => call(token, method, path, body),
      }
    },
    close() {
      support.close()
      server.close()
    },
  }
}
