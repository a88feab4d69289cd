import type { Logger } from '@mecm/runtime'
import { ApiError, conflict, notFound, problemResponse, unauthorized } from '@mecm/runtime'
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { BlobStore } from '../apm/blob-store'
import { edgeGalleryPackageRoutes } from '../apm/edgegallery-routes'
import { etsiPackageRoutes } from '../apm/etsi-routes'
import type { Notifier } from '../apm/notifier'
import type { Onboarding } from '../apm/onboarding'
import { edgeGalleryAppoRoutes } from '../appo/edgegallery-routes'
import { etsiLcmRoutes } from '../appo/etsi-routes'
import { etsiLcmSubscriptionRoutes } from '../appo/etsi-subscription-routes'
import type { LcmService } from '../appo/lcm'
import { type AuthDeps, authenticate } from '../auth/authenticate'
import { authRoutes, type TokenSettings } from '../auth/routes'
import { isForeignKeyViolation } from '../db/driver'
import { appdRoutes } from '../inventory/appd-routes'
import { appStoreRoutes } from '../inventory/catalog-routes'
import { hostAppRoutes } from '../inventory/host-app-routes'
import { hostRoutes } from '../inventory/host-routes'
import { issueEnrollment } from '../sync/enrollment'
import { enrollmentRoutes } from '../sync/enrollment-routes'
import { hostSyncRoutes } from '../sync/host-sync-routes'
import type { SyncHub } from '../sync/hub'
import { pluginConfigRoutes } from '../sync/plugin-config-routes'
import { docsPage } from './docs-page'
import { openApiDocument } from './openapi'
import { Api, type Env } from './route'

export interface AppDeps extends AuthDeps {
  log: Logger
  version: string
  bodyLimit: number
  tokens: TokenSettings
  packages: { blobs: BlobStore; onboarding: Onboarding; notifier: Notifier }
  callbackAllowLoopback: boolean
  hub: SyncHub
  lcm: LcmService
  enrollmentTtlSeconds: number
}

/** The center's HTTP API: health, docs, and every component's routes behind authentication. */
export function createApp(deps: AppDeps) {
  const app = new Hono<Env>()
  const { store, log } = deps

  app.onError((error, c) => {
    if (error instanceof ApiError) return problemResponse(error, c.req.path)
    if (isForeignKeyViolation(error)) {
      const gone = conflict('a record this request refers to was deleted meanwhile: reload it and try again')
      return problemResponse(gone, c.req.path)
    }
    log.error('request failed', {
      method: c.req.method,
      path: c.req.path,
      error: String(error),
      stack: (error as Error).stack,
    })
    return problemResponse(
      new ApiError(500, 'Internal Server Error', 'the center failed to handle this request; see its log'),
    )
  })

  app.use(async (c, next) => {
    const started = performance.now()
    await next()
    log.debug('request', {
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round(performance.now() - started),
    })
  })

  app.get('/healthz', (c) => c.json({ status: 'ok' }))
  app.get('/readyz', async (c) => {
    const ready = await store.ready().catch(() => false)
    return c.json({ status: ready ? 'ready' : 'not ready' }, ready ? 200 : 503)
  })
  app.get('/inventory/v1/health', (c) => c.text('ok'))
  app.get('/apm/v1/health', (c) => c.text('ok'))
  // the page holds no data: it signs in from the browser and reads /openapi.json with the token
  app.get('/docs', (c) => c.html(docsPage))

  app.use(authenticate(deps))

  const jsonLimit = bodyLimit({
    maxSize: deps.bodyLimit,
    onError: (c) => {
      const response = problemResponse(
        new ApiError(413, 'Content Too Large', `the request body is larger than ${deps.bodyLimit} bytes`),
        c.req.path,
      )
      // the rest of the body was never read: the connection cannot carry another request
      response.headers.set('connection', 'close')
      return response
    },
  })
  const api = new Api(app, async (tenantId) => (await store.tenants.getTenant(tenantId)) !== undefined, jsonLimit)
  authRoutes(api, deps, deps.tokens, deps.packages.onboarding)
  hostRoutes(api, store, {
    enroll: (hostId, centerUrl) => issueEnrollment(store, hostId, deps.enrollmentTtlSeconds, centerUrl),
    disconnect: (hostId, reason) => deps.hub.disconnect(hostId, reason),
  })
  enrollmentRoutes(api, { store, hub: deps.hub, blobs: deps.packages.blobs, ttlSeconds: deps.enrollmentTtlSeconds })
  hostSyncRoutes(api, { store, hub: deps.hub })
  pluginConfigRoutes(api, { store, hub: deps.hub })
  hostAppRoutes(api, store)
  appdRoutes(api, store)
  appStoreRoutes(api, deps.sealer, store)
  edgeGalleryPackageRoutes(api, { store, ...deps.packages })
  etsiPackageRoutes(api, { store, ...deps.packages, callbackAllowLoopback: deps.callbackAllowLoopback })
  edgeGalleryAppoRoutes(api, { store, hub: deps.hub, lcm: deps.lcm })
  etsiLcmRoutes(api, { store, lcm: deps.lcm })
  etsiLcmSubscriptionRoutes(api, { store, callbackAllowLoopback: deps.callbackAllowLoopback })
  app.get('/appo/v1/health', (c) => c.text('ok'))

  const document = openApiDocument(api.routes, deps.version)
  api.add(
    {
      method: 'get',
      path: '/openapi.json',
      summary: 'Read the OpenAPI 3.1 document of this API',
      tag: 'docs',
      access: 'read',
      responses: { 200: { description: 'the document' } },
    },
    ({ c }) => c.json(document),
  )

  app.notFound((c) => {
    // say nothing about which paths exist to a caller who has not signed in
    const error = c.get('principal')
      ? notFound(`no route ${c.req.method} ${c.req.path}`)
      : unauthorized(c.get('authError') ?? 'sign in first')
    return problemResponse(error, c.req.path)
  })

  return { app, routes: api.routes }
}
