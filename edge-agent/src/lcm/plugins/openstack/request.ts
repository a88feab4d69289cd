import type { Readable } from 'node:stream'
import { type Dispatcher, request } from 'undici'

/** A failed OpenStack call: says which service, where, what it answered (or that it was unreachable). */
export class OpenStackError extends Error {
  constructor(
    message: string,
    /** The HTTP status, when the service answered. */
    readonly status?: number,
    /** The error's type when the service names one (Neutron, Heat): SecurityGroupRuleExists, StackExists… */
    readonly type?: string,
  ) {
    super(message)
  }
}

export interface Endpoint {
  /** The service's name for people: Keystone, Nova, Glance… */
  service: string
  url: string
}

export interface CallOptions {
  token?: string
  body?: unknown
  /** Raw data (image uploads): sent as application/octet-stream. */
  stream?: Readable
  query?: Record<string, string | number | undefined>
}

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: unknown
}

const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/**
 * The message and type of an OpenStack error body: Keystone and Heat `{error: {message, type}}`,
 * Neutron `{NeutronError: {message, type}}`, Nova and Cinder `{badRequest: {message}}`, Glance
 * `{message}` or an HTML page.
 */
function problemOf(text: string): { message: string; type?: string } {
  let body: Record<string, unknown>
  try {
    body = record(JSON.parse(text))
  } catch {
    const plain = text
      .replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
    return { message: plain.slice(0, 500) || 'no message' }
  }
  const inner = record(body.NeutronError ?? body.error ?? Object.values(body).find((value) => record(value).message))
  const message = inner.message ?? body.message ?? body.explanation ?? text.slice(0, 500)
  const type = inner.type ?? body.type
  return {
    message: String(message)
      .replace(/<br \/>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim(),
    ...(typeof type === 'string' ? { type } : {}),
  }
}

/** One HTTP call to an OpenStack service on undici; JSON in and out unless a stream is sent. */
export async function call(
  dispatcher: Dispatcher,
  endpoint: Endpoint,
  method: Dispatcher.HttpMethod,
  path: string,
  options: CallOptions = {},
): Promise<Reply> {
  const url = new URL(endpoint.url.replace(/\/+$/, '') + path)
  for (const [key, value] of Object.entries(options.query ?? {}))
    if (value !== undefined) url.searchParams.set(key, String(value))
  const where = `${endpoint.service} at ${endpoint.url}`
  const what = `(${method} ${path})`
  const send = (): Promise<Dispatcher.ResponseData> =>
    request(url, {
      method,
      dispatcher,
      headers: {
        accept: 'application/json',
        ...(options.token ? { 'x-auth-token': options.token } : {}),
        ...(options.stream
          ? { 'content-type': 'application/octet-stream' }
          : options.body !== undefined
            ? { 'content-type': 'application/json' }
            : {}),
      },
      body: options.stream ?? (options.body !== undefined ? JSON.stringify(options.body) : undefined),
    })
  const idempotent = method === 'GET' || method === 'PUT' || method === 'DELETE'
  let response: Dispatcher.ResponseData
  try {
    response = await send().catch((error: { code?: string }) => {
      // a kept-alive connection the server closed meanwhile: an idempotent call may go again, on a new one
      if (error.code === 'UND_ERR_SOCKET' && idempotent && !options.stream) return send()
      throw error
    })
  } catch (error) {
    const cause = error as { code?: string; cause?: { code?: string }; message: string }
    throw new OpenStackError(`${where}: unreachable (${cause.code ?? cause.cause?.code ?? cause.message}) ${what}`)
  }
  const text = await response.body.text()
  if (response.statusCode >= 400) {
    const problem = problemOf(text)
    throw new OpenStackError(
      `${where}: ${response.statusCode} ${problem.message} ${what}`,
      response.statusCode,
      problem.type,
    )
  }
  const json = /json/.test(String(response.headers['content-type'] ?? '')) && text ? JSON.parse(text) : text
  return { status: response.statusCode, headers: response.headers, body: json }
}
