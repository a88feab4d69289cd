import type { Role } from '@mecm/protocol'
import { badRequest, forbidden, notFound, parseInput, parseJsonBody, unauthorized } from '@mecm/runtime'
import type { Context, Hono, MiddlewareHandler } from 'hono'
import type { z } from 'zod'
import type { EdgePrincipal } from '../auth/edge-identity-store'

/** Who is calling, as the authentication middleware established it. */
export interface Principal {
  userId: string
  tenantId: string
  role: Role
  username: string
  via: 'token' | 'signature'
}

/** `authError`: why the credentials sent were refused; only routes that need a principal report it. */
export type Env = { Variables: { principal?: Principal; edge?: EdgePrincipal; authError?: string } }

/**
 * Who may call a route: `public` anyone (health, login); `read` any signed-in role;
 * `write` TENANT and ADMIN; `admin` ADMIN only. A route with a `tenantId` path parameter is
 * open only to that tenant's users and to admins; to anyone else the tenant does not exist (404).
 * `edge`: an enrolled edge agent, by its signature (users are refused); the handler gets `edge`.
 */
export type Access = 'public' | 'read' | 'write' | 'admin' | 'edge'

const allowed: Record<Exclude<Access, 'public' | 'edge'>, readonly Role[]> = {
  read: ['ADMIN', 'TENANT', 'GUEST'],
  write: ['ADMIN', 'TENANT'],
  admin: ['ADMIN'],
}

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete'
type Schema = z.ZodType
type Out<S> = [S] extends [z.ZodType] ? z.output<S> : undefined

export interface RouteSpec<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined> {
  method: Method
  /** hono path syntax: /inventory/v1/tenants/:tenantId/mechosts */
  path: string
  summary: string
  tag: string
  access: Access
  params?: P
  query?: Q
  body?: B
  /** The body is streamed by the handler (package content), not read as JSON nor held to the JSON size limit. */
  upload?: 'multipart/form-data' | 'application/zip'
  responses: Record<number, { description: string; schema?: z.ZodType }>
}

export interface RouteInput<P, Q, B> {
  c: Context<Env>
  params: Out<P>
  query: Out<Q>
  body: Out<B>
  principal: Principal
  /** The calling edge, on `edge` routes. */
  edge: EdgePrincipal
}

export type AnyRoute = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>

/** Text with a NUL character has no place in any field, and PostgreSQL cannot store it. */
function refuseNul(value: unknown, where: string): void {
  if (JSON.stringify(value ?? null).includes('\\u0000')) throw badRequest(`${where} contains a NUL character`)
}

function check<S extends Schema | undefined>(schema: S, value: unknown, where: string): Out<S> {
  if (!schema) return undefined as Out<S>
  refuseNul(value, where)
  return parseInput(schema, value, where) as Out<S>
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text()
  return text.trim() ? parseJsonBody(text) : undefined
}

/**
 * The one way routes are declared: each declaration validates its inputs, enforces its access
 * rule, and is listed in the OpenAPI document, so the three never drift apart.
 */
export class Api {
  readonly routes: AnyRoute[] = []

  constructor(
    private readonly app: Hono<Env>,
    private readonly tenantExists: (tenantId: string) => Promise<boolean>,
    private readonly jsonLimit: MiddlewareHandler,
  ) {}

  add<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined>(
    spec: RouteSpec<P, Q, B>,
    handler: (input: RouteInput<P, Q, B>) => Response | Promise<Response>,
  ): void {
    this.routes.push(spec as AnyRoute)
    // routes that stream their body (package content) are not held to the JSON limit
    if (!spec.upload) this.app.on(spec.method.toUpperCase(), spec.path, this.jsonLimit)
    this.app.on(spec.method.toUpperCase(), spec.path, async (c) => {
      const principal = c.get('principal')
      const edge = c.get('edge')
      if (spec.access === 'edge') {
        if (!edge) {
          throw principal
            ? forbidden(`only an edge agent may ${spec.summary.toLowerCase()}`)
            : unauthorized(c.get('authError') ?? 'sign this request with the edge key (MECM-EDGE-ED25519)')
        }
      } else if (spec.access !== 'public') {
        if (!principal) {
          throw unauthorized(
            c.get('authError') ?? 'sign in first: send Authorization: Bearer <token> or a signed request',
          )
        }
        if (!allowed[spec.access].includes(principal.role)) {
          throw forbidden(`${principal.role} users may not ${spec.summary.toLowerCase()}`)
        }
      }
      const params = check(spec.params, c.req.param(), 'path')
      const tenantId = (c.req.param() as Record<string, string>).tenantId
      if (tenantId !== undefined && principal && spec.access !== 'public' && spec.access !== 'edge') {
        const visible = principal.role === 'ADMIN' ? await this.tenantExists(tenantId) : principal.tenantId === tenantId
        if (!visible) throw notFound(`tenant ${tenantId} not found`)
      }
      const query = check(spec.query, c.req.query(), 'query')
      const body = check(spec.body, spec.body ? await readJson(c) : undefined, 'body')
      return handler({ c, params, query, body, principal: principal as Principal, edge: edge as EdgePrincipal })
    })
  }
}
