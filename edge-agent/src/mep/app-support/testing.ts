import { serveMp1 } from '../../testing/mp1'
import { API_ROOT } from './links'
import { type AppSupportDeps, appSupport } from './routes'

/**
 * For tests: the app support API served on 127.0.0.1 as the agent mounts it (behind `appAuth`,
 * errors as ProblemDetails), and apps with credentials and a token to call it with.
 */
export async function serveAppSupport(deps: AppSupportDeps) {
  const support = appSupport(deps)
  const mp1 = await serveMp1(deps.store, { [API_ROOT]: support.routes })
  const { url } = mp1

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
    url,
    support,
    call,
    /** A new app instance with its credentials and a token; `call` acts as it. */
    app() {
      const { instance, id } = mp1.newApp()
      const { token } = deps.store.mep.tokens.issue(id, 60_000)
      return {
        instance,
        id,
        token,
        call: (method: string, path: string, body?: unknown) => call(token, method, path, body),
      }
    },
    async close() {
      support.close()
      await mp1.close()
    },
  }
}
