import { randomBytes } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { DesiredInstance, type HostMetrics, InstantiationParameters, redacted, Uuid } from '@mecm/protocol'
import type { Logger, Sealer } from '@mecm/runtime'
import {
  ApiError,
  badRequest,
  conflict,
  hashToken,
  notFound,
  parseInput,
  problemResponse,
  unauthorized,
  verifyPassword,
} from '@mecm/runtime'
import { type Context, Hono } from 'hono'
import { stream } from 'hono/streaming'
import { z } from 'zod'
import type { Plugin } from '../lcm/plugin'
import type { Mp1Env } from '../mep/auth'
import { appRuleRoutes } from '../mep/rules/apprule-routes'
import type { PackageManager } from '../packages/package-manager'
import type { AgentStore } from '../store/store'
import type { SyncClient } from '../sync/client'
import { readBody } from './request'

export interface LocalApiDeps {
  store: AgentStore
  packages: PackageManager
  plugin: Plugin
  /** The host's KPI: its plugin's backend's, or this machine's. */
  kpi(): Promise<HostMetrics>
  /** Seals the apps' secret keys at rest. */
  sealer: Sealer
  version: string
  log: Logger
  /** Called after every change of desired state, so the reconciler acts at once. */
  changed(): void
  sync: Pick<SyncClient, 'status' | 'enroll' | 'rotateKey'>
  /** EdgeGallery's resource API (flavors, networks, servers…), on hosts whose plugin has one. */
  resources?: Hono
  /** The MEP (Mp1) for the apps here: its own auth (app tokens), not the admin session. */
  mep: { app: Hono<Mp1Env> }
}

const SESSION_MS = 12 * 3600 * 1000
const tokenOf = (c: Context) =>
  c.req.header('authorization')?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? c.req.header('access_token')

const Deploy = z.object({
  /** The package, by the appPkgId `mepm pkgs ls` shows, or by its digest. */
  package: z.string().regex(/^[0-9a-f]{32}([0-9a-f]{32})?$/, 'must be an appPkgId (32 hex) or a digest (64 hex)'),
  appInstanceId: Uuid.optional(),
  appName: z.string().min(1).max(128).optional(),
  parameters: InstantiationParameters.default({}),
  state: z.enum(['STARTED', 'STOPPED']).default('STARTED'),
})

/**
 * The local MEPM API: works with no center at all. Everything but /healthz and /readyz needs a
 * session from POST /mepm/v1/login (the local admin). Changes made here are desired state with
 * origin = edge, reported to the center as local changes.
 */
export function localApi(deps: LocalApiDeps) {
  const { store } = deps
  const app = new Hono()
  /** Followed log streams, ended when the agent stops. */
  const streams = new Set<AbortController>()
  const LOCAL_TENANT = '00000000-0000-4000-8000-000000000000'

  app.onError((error, c) => {
    if (error instanceof ApiError) return problemResponse(error, c.req.path)
    deps.log.error('request failed', { path: c.req.path, error: String(error) })
    return problemResponse(
      new ApiError(500, 'Internal Server Error', 'the agent failed to handle this request; see its log'),
    )
  })
  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', (c) => c.json({ status: 'ready' }))

  app.post('/mepm/v1/login', async (c) => {
    const body = await readBody(c, z.object({ username: z.string(), password: z.string() }))
    const hash = store.local.adminPasswordHash()
    if (body.username !== 'admin' || !hash || !(await verifyPassword(body.password, hash))) {
      throw unauthorized('wrong username or password')
    }
    const token = randomBytes(32).toString('base64url')
    store.local.addSession(hashToken(token), new Date(Date.now() + SESSION_MS).toISOString())
    return c.json({ token, expiresIn: SESSION_MS / 1000 })
  })

  app.get('/lcmcontroller/v1/health', (c) => c.text('ok'))
  const signedIn: Parameters<typeof app.use>[1] = async (c, next) => {
    const token = tokenOf(c)
    if (!token || !store.local.sessionValid(hashToken(token))) {
      throw unauthorized('sign in first: mepm login, or POST /mepm/v1/login, then send Authorization: Bearer <token>')
    }
    await next()
  }
  app.route('/', deps.mep.app)
  app.use('/mepm/*', signedIn)
  app.use('/lcmcontroller/v2/*', signedIn)
  app.use('/rescontroller/*', signedIn)
  app.use('/apprule/*', signedIn)
  app.route('/apprule/v1', appRuleRoutes({ store }))
  const resourceBase = '/rescontroller/v1/tenants/:tenantId/hosts/:hostIp'
  if (deps.resources) app.route(resourceBase, deps.resources)
  else
    app.all(`${resourceBase}/*`, () => {
      throw notFound(
        `the resource API (flavors, networks, security groups, servers, images) needs the openstack plugin; this agent runs ${deps.plugin.kind}`,
      )
    })

  app.post('/mepm/v1/logout', (c) => {
    store.local.endSession(hashToken(tokenOf(c) ?? ''))
    return c.body(null, 204)
  })

  const view = (id: string) => {
    const desired = store.desired.get(id)
    const observed = store.observed.get(id)
    if (!desired && !observed) return undefined
    return {
      appInstanceId: id,
      appName: desired?.appName ?? '',
      appPkgId: desired?.appPkgId ?? '',
      targetState: desired?.targetState ?? 'NOT_INSTANTIATED',
      status: observed?.status ?? 'NOT_INSTANTIATED',
      detail: observed?.detail ?? '',
      origin: desired?.origin ?? 'edge',
      generation: desired?.generation ?? observed?.generation ?? 0,
      parameters: desired ? redacted(desired).parameters : {},
      updatedAt: observed?.updatedAt ?? null,
    }
  }
  const mustView = (id: string) => {
    const found = view(id)
    if (!found) throw notFound(`no app instance ${id} on this host`)
    return found
  }

  app.get('/mepm/v1/status', (c) =>
    c.json({
      version: deps.version,
      storeId: store.storeId,
      vim: deps.plugin.kind,
      instances: store.desired.list().length,
      packages: store.packages.list().length,
      pendingEvents: store.outbox.count(),
      sync: deps.sync.status(),
    }),
  )

  app.get('/mepm/v1/instances', (c) => {
    const ids = new Set([
      ...store.desired.list().map((d) => d.appInstanceId),
      ...store.observed.list().map((o) => o.appInstanceId),
    ])
    return c.json([...ids].sort().map((id) => mustView(id)))
  })

  app.get('/mepm/v1/instances/:id', (c) => c.json(mustView(c.req.param('id'))))
  // what the plugin sees right now: pods, services, servers, and the backend's recent events
  app.get('/mepm/v1/instances/:id/live', async (c) => {
    const id = mustView(c.req.param('id')).appInstanceId
    return c.json({ appInstanceId: id, ...(await deps.plugin.observe(id)) })
  })

  /** Records a local change of desired state and tells the center about it. */
  const want = (instance: DesiredInstance, change: 'deployed' | 'started' | 'stopped' | 'terminated') => {
    store.changeLocally(store.credentials.adopt(instance, deps.sealer), change)
    deps.changed()
  }

  const deploy = (body: z.output<typeof Deploy>) => {
    const pkg = body.package.length === 64 ? store.packages.get(body.package) : store.packages.byAppPkgId(body.package)
    if (!pkg) throw notFound(`no package ${body.package} on this host: add it with mepm pkgs add`)
    const id = body.appInstanceId ?? crypto.randomUUID()
    if (store.desired.get(id)) throw conflict(`app instance ${id} exists already`)
    const ak = body.parameters.ak
    if (ak && (store.credentials.accessKeyTaken(ak) || store.desired.list().some((d) => d.parameters.ak === ak))) {
      throw conflict('the access key given as parameter ak belongs to another instance already')
    }
    const instance = DesiredInstance.parse({
      appInstanceId: id,
      tenantId: deps.sync.status().tenantId ?? LOCAL_TENANT,
      appPkgId: pkg.appPkgId,
      packageDigest: pkg.digest,
      appName: body.appName ?? pkg.details.appName,
      targetState: body.state,
      parameters: body.parameters,
      operationId: null,
      generation: 1,
    })
    want(instance, 'deployed')
    return mustView(id)
  }
  app.post('/mepm/v1/instances', async (c) => c.json(deploy(await readBody(c, Deploy)), 201))

  const retarget =
    (state: 'STARTED' | 'STOPPED' | 'NOT_INSTANTIATED', change: 'started' | 'stopped' | 'terminated') =>
    async (c: Context) => {
      const id = c.req.param('id') ?? ''
      const desired = store.desired.get(id)
      if (!desired) throw notFound(`no app instance ${id} on this host`)
      if (desired.targetState !== state)
        want({ ...desired, targetState: state, generation: desired.generation + 1, operationId: null }, change)
      return c.json(mustView(id), 202)
    }
  app.post('/mepm/v1/instances/:id/start', retarget('STARTED', 'started'))
  app.post('/mepm/v1/instances/:id/stop', retarget('STOPPED', 'stopped'))
  app.delete('/mepm/v1/instances/:id', retarget('NOT_INSTANTIATED', 'terminated'))

  app.get('/mepm/v1/instances/:id/logs', (c) => {
    const id = c.req.param('id')
    mustView(id)
    const query = parseInput(
      z.object({
        tail: z.coerce.number().int().min(0).max(100_000).default(100),
        follow: z.enum(['true', 'false']).default('false'),
      }),
      c.req.query(),
      'query',
    )
    c.header('content-type', 'text/plain; charset=utf-8')
    return stream(c, async (out) => {
      const controller = new AbortController()
      streams.add(controller)
      out.onAbort(() => controller.abort())
      for await (const line of deps.plugin.logs(id, {
        tail: query.tail,
        follow: query.follow === 'true',
        signal: controller.signal,
      })) {
        await out.write(`${line}\n`)
      }
      streams.delete(controller)
    })
  })

  app.get('/mepm/v1/packages', (c) => c.json(store.packages.list()))

  // EdgeGallery's lcmcontroller paths, for its MEPM clients: the tenant segment is accepted as given
  const lcm = '/lcmcontroller/v2/tenants/:tenantId'
  app.post(`${lcm}/app_instances/:id/instantiate`, async (c) => {
    const body = await readBody(
      c,
      z.object({
        packageId: z.string(),
        appName: z.string().optional(),
        parameters: InstantiationParameters.default({}),
      }),
    )
    const appInstanceId = parseInput(Uuid, c.req.param('id'), 'path.appInstanceId')
    const request = {
      package: body.packageId,
      appInstanceId,
      parameters: body.parameters,
      ...(body.appName ? { appName: body.appName } : {}),
    }
    return c.json(deploy(parseInput(Deploy, request, 'body')), 202)
  })
  app.post(`${lcm}/app_instances/:id/terminate`, retarget('NOT_INSTANTIATED', 'terminated'))
  app.get(`${lcm}/app_instances/:id`, (c) => c.json(mustView(c.req.param('id'))))
  app.get(`${lcm}/hosts/:hostIp/kpi`, async (c) => c.json(await deps.kpi()))
  app.get(`${lcm}/packages`, (c) => c.json(store.packages.list()))

  app.post('/mepm/v1/packages', async (c) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
    const body =
      incoming ??
      (c.req.raw.body ? Readable.fromWeb(c.req.raw.body as import('node:stream/web').ReadableStream) : undefined)
    if (!body) throw badRequest('send the package file as the request body (application/zip)')
    return c.json(await deps.packages.add(body), 201)
  })

  app.get('/mepm/v1/sync', (c) => c.json(deps.sync.status()))

  app.post('/mepm/v1/sync/enroll', async (c) => {
    const body = parseInput(
      z.object({ centerUrl: z.url(), token: z.string().min(16).max(256) }),
      await c.req.json().catch(() => undefined),
      'body',
    )
    try {
      const identity = await deps.sync.enroll(body.centerUrl, body.token)
      return c.json({ hostId: identity.hostId, mechostIp: identity.mechostIp, centerUrl: identity.centerUrl }, 201)
    } catch (error) {
      throw new ApiError(502, 'Bad Gateway', (error as Error).message)
    }
  })

  app.post('/mepm/v1/sync/rotate', async (c) => {
    try {
      const identity = await deps.sync.rotateKey()
      return c.json({ hostId: identity.hostId, rotated: true })
    } catch (error) {
      throw new ApiError(502, 'Bad Gateway', (error as Error).message)
    }
  })

  app.get('/mepm/v1/kpi', async (c) => c.json(await deps.kpi()))

  app.get('/mepm/v1/events', (c) => {
    const after = parseInput(
      z.object({ after: z.coerce.number().int().min(0).default(0) }),
      c.req.query(),
      'query',
    ).after
    return c.json(store.outbox.after(after, 500))
  })

  app.notFound((c) => problemResponse(notFound(`no route ${c.req.method} ${c.req.path}`), c.req.path))
  return {
    app,
    close(): void {
      for (const controller of streams) controller.abort()
    },
  }
}
