import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import { ServiceError } from './state'

/** One request, as a service route sees it. */
export interface CloudRequest {
  method: string
  /** The path below the service's prefix. */
  path: string
  params: Record<string, string>
  query: URLSearchParams
  headers: IncomingMessage['headers']
  /** The base URL the client reached the cloud at. */
  base: string
  /** The request body, for streaming uploads. */
  stream: Readable
  json(): Promise<Record<string, unknown>>
}

export interface CloudReply {
  status: number
  body?: unknown
  headers?: Record<string, string>
}

export type Handler = (request: CloudRequest) => CloudReply | Promise<CloudReply>

export interface Route {
  method: string
  pattern: RegExp
  keys: string[]
  handler: Handler
}

/** A route on `METHOD /path/:param`; parameters match one path segment. */
export function route(method: string, path: string, handler: Handler): Route {
  const keys: string[] = []
  const source = path.replace(/:(\w+)/g, (_, key: string) => {
    keys.push(key)
    return '([^/]+)'
  })
  return { method, pattern: new RegExp(`^${source}/?$`), keys, handler }
}

/** How a service writes its errors. */
export type ErrorBody = (error: ServiceError) => unknown

export interface Service {
  /** The path prefix the service answers under (as in the catalog). */
  prefix: string
  routes: Route[]
  errorBody: ErrorBody
  /** Whether a route needs a token: all but Keystone's own token issue. */
  open?: (method: string, path: string) => boolean
}

export async function readJson(message: Readable): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  for await (const chunk of message) chunks.push(chunk as Buffer)
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text) return {}
  try {
    const value = JSON.parse(text)
    if (value && typeof value === 'object' && !Array.isArray(value)) return value
  } catch {}
  throw new ServiceError(400, 'BadRequest', 'Malformed request body')
}

export const asRecord = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}

/** The object under `key` of a request body (`{"server": {...}}`), or a 400. */
export function member(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = body[key]
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new ServiceError(400, 'BadRequest', `Missing or invalid '${key}' in request body`)
  return value as Record<string, unknown>
}
