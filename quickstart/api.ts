import { StepError } from './service'

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field, as the APIs document them
export type Json = any

export interface Reply {
  status: number
  body: Json
}

/** What a problem response (RFC 9457) says, or the text itself. */
export function detailOf(body: Json): string {
  if (body && typeof body === 'object') return String(body.detail ?? body.title ?? JSON.stringify(body))
  return String(body ?? '')
}

/**
 * A small HTTP client of one service (the center or the agent's local API): JSON or multipart
 * bodies, the bearer token once signed in. Network failures become StepErrors.
 */
export function client(baseUrl: string, name: string) {
  let token: string | undefined
  async function call(method: string, path: string, body?: unknown): Promise<Reply> {
    const form = body instanceof FormData
    let response: Response
    try {
      response = await fetch(baseUrl + path, {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...(body === undefined || form ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: form ? body : JSON.stringify(body) }),
        signal: AbortSignal.timeout(60_000),
      })
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message
      throw new StepError(`cannot reach ${name} at ${baseUrl}: ${cause}`)
    }
    const text = await response.text()
    let parsed: Json = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {}
    return { status: response.status, body: parsed }
  }
  return {
    url: baseUrl,
    call,
    setToken(value: string) {
      token = value
    },
    /** The call, when it answers one of `ok`; otherwise a StepError with the problem's detail. */
    async must(method: string, path: string, body: unknown, ok: number[]): Promise<Json> {
      const reply = await call(method, path, body)
      if (!ok.includes(reply.status)) {
        throw new StepError(`${method} ${path} answered ${reply.status}: ${detailOf(reply.body)}`)
      }
      return reply.body
    },
  }
}
export type Client = ReturnType<typeof client>

/** Calls `probe` until it answers something other than undefined, or throws after `timeoutMs`. */
export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = await probe()
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new StepError(`${what}: not within ${Math.round(timeoutMs / 1000)} s`)
    await new Promise((done) => setTimeout(done, intervalMs))
  }
}
