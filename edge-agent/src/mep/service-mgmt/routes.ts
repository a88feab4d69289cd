import { randomUUID } from 'node:crypto'
import { badRequest, conflict, forbidden, invalid, type Logger, notFound } from '@mecm/runtime'
import { type Context, Hono } from 'hono'
import { readBody } from '../../http/request'
import type { AgentStore } from '../../store/store'
import { type Mp1Env, ownApp } from '../auth'
import { etag, ifMatch } from '../etag'
import type { StoredService, StoredSubscription } from '../store'
import { livenessSupervisor } from './liveness'
import { serviceNotifications } from './notifications'
import { answersQuery, paths, recordOf, type ServiceRecord } from './registry'
import {
  SerAvailabilityNotificationSubscription,
  ServiceInfoBody,
  ServiceLivenessUpdate,
  ServiceQuery,
  type TransportInfo,
} from './schemas'

const API = 'mec_service_mgmt'
const REST_TRANSPORT_ID = 'rest-http'

/** The one transport the platform offers: REST over HTTP, with bearer tokens from the agent's /mep/token. */
function restTransport(agentUrl: string): TransportInfo {
  return {
    id: REST_TRANSPORT_ID,
    name: 'REST',
    description: 'REST over HTTP; consumers authenticate with a bearer token from the MEP',
    type: 'REST_HTTP',
    protocol: 'HTTP',
    version: '1.1',
    // the endpoint is the producer's own, so the platform's transport names none
    endpoint: { uris: [] },
    security: { oAuth2Info: { grantTypes: ['OAUTH2_CLIENT_CREDENTIALS'], tokenEndpoint: `${agentUrl}/mep/token` } },
  }
}

const agentUrl = (c: Context) => new URL(c.req.url).origin
const absolute = (c: Context, path: string) => new URL(path, c.req.url).href
const failed = (path: string, message: string) => badRequest(`invalid body: ${path}: ${message}`, [{ path, message }])

/** ser_instance_id and ser_name may repeat (form, explode) or list values with commas. */
function serviceQuery(c: Context): ServiceQuery {
  const list = (name: string) => c.req.queries(name)?.flatMap((value) => value.split(','))
  const parsed = ServiceQuery.safeParse({
    ser_instance_id: list('ser_instance_id'),
    ser_name: list('ser_name'),
    ser_category_id: c.req.query('ser_category_id'),
    consumed_local_only: c.req.query('consumed_local_only'),
    is_local: c.req.query('is_local'),
    scope_of_locality: c.req.query('scope_of_locality'),
  })
  if (!parsed.success) throw invalid('query', parsed.error)
  return parsed.data
}

/** What the registry keeps of a POSTed or PUT ServiceInfo. */
function toRecord(info: ServiceInfoBody, serInstanceId: string, agent: string): ServiceRecord {
  const { serInstanceId: _given, transportInfo, livenessInterval, ...rest } = info
  if (rest.transportId !== undefined && rest.transportId !== REST_TRANSPORT_ID)
    throw failed('body.transportId', `the platform offers only transport ${REST_TRANSPORT_ID} (GET /transports)`)
  return {
    ...rest,
    serInstanceId,
    transportInfo: transportInfo ?? restTransport(agent),
    // a livenessInterval of 0 asks for no heartbeats: the platform then omits it
    ...(livenessInterval ? { livenessInterval } : {}),
  }
}

/** ServiceInfo with its links; `self` is the URI the caller may read it at. */
function serviceInfo(service: StoredService, self: string) {
  const record = recordOf(service)
  const liveness = record.livenessInterval
    ? { liveness: { href: paths.liveness(service.appInstanceId, record.serInstanceId) } }
    : {}
  return { ...record, _links: { self: { href: self }, ...liveness } }
}
const ownView = (service: StoredService) =>
  serviceInfo(service, paths.appService(service.appInstanceId, service.record.serInstanceId))
const publicView = (service: StoredService) => serviceInfo(service, paths.service(service.record.serInstanceId))

const etagOf = (service: StoredService) => etag([service.updatedAt, service.record])

const subscriptionView = (subscription: StoredSubscription) => ({
  ...subscription.record,
  _links: { self: { href: paths.subscription(subscription.appInstanceId, subscription.subscriptionId) } },
})

/**
 * MEC 011 Mp1 service management (`/mec_service_mgmt/v1`, mounted under appAuth): the service
 * registry, producers' own services, availability subscriptions with notifications, transports,
 * and liveness (v2.2.1; by PATCH as the spec says, or PUT as EdgeGallery's apps do).
 */
export function serviceMgmt(deps: { store: AgentStore; log: Logger }) {
  const { mep } = deps.store
  const notifications = serviceNotifications(deps)
  const supervisor = livenessSupervisor({ mep, log: deps.log })
  const routes = new Hono<Mp1Env>()

  /** The path's service, when it is the caller's own: 404 if there is none, 403 if another app's. */
  function ownService(c: Context<Mp1Env>): StoredService {
    const app = ownApp(c)
    const id = c.req.param('serviceId') as string
    const service = mep.services.get(id)
    if (!service) throw notFound(`no service ${id} is registered`)
    if (service.appInstanceId !== app) throw forbidden(`service ${id} belongs to another app instance`)
    return service
  }
  /** The path's service, when it is the caller's and sends heartbeats. */
  function supervised(c: Context<Mp1Env>): StoredService {
    const service = ownService(c)
    if (!recordOf(service).livenessInterval)
      throw notFound(`service ${service.record.serInstanceId} was registered without a livenessInterval`)
    return service
  }
  function ownSubscription(c: Context<Mp1Env>): StoredSubscription {
    const app = ownApp(c)
    const id = c.req.param('subscriptionId') as string
    const subscription = mep.subscriptions.get(id)
    if (!subscription || subscription.api !== API) throw notFound(`no subscription ${id}`)
    if (subscription.appInstanceId !== app) throw forbidden(`subscription ${id} belongs to another app instance`)
    return subscription
  }

  routes.get('/services', (c) => {
    const query = serviceQuery(c)
    return c.json(
      mep.services
        .list()
        .filter((service) => answersQuery(query, recordOf(service)))
        .map(publicView),
    )
  })
  routes.get('/services/:serviceId', (c) => {
    const service = mep.services.get(c.req.param('serviceId'))
    if (!service) throw notFound(`no service ${c.req.param('serviceId')} is registered`)
    c.header('ETag', etagOf(service))
    return c.json(publicView(service))
  })
  routes.get('/transports', (c) => c.json([restTransport(agentUrl(c))]))

  const appServices = '/applications/:appInstanceId/services'
  routes.get(appServices, (c) => {
    const app = ownApp(c)
    const query = serviceQuery(c)
    return c.json(
      mep.services
        .ofApp(app)
        .filter((service) => answersQuery(query, recordOf(service)))
        .map(ownView),
    )
  })
  // each handler reads the body first, then checks and writes with no wait between them
  routes.post(appServices, async (c) => {
    const info = await readBody(c, ServiceInfoBody)
    const app = ownApp(c)
    const service = mep.services.put(app, toRecord(info, randomUUID(), agentUrl(c)))
    c.header('Location', absolute(c, paths.appService(app, service.record.serInstanceId)))
    c.header('ETag', etagOf(service))
    return c.json(ownView(service), 201)
  })
  routes.get(`${appServices}/:serviceId`, (c) => {
    const service = ownService(c)
    c.header('ETag', etagOf(service))
    return c.json(ownView(service))
  })
  routes.put(`${appServices}/:serviceId`, async (c) => {
    const info = await readBody(c, ServiceInfoBody)
    const service = ownService(c)
    const id = service.record.serInstanceId
    ifMatch(c, etagOf(service), `service ${id}`)
    if (info.serInstanceId !== undefined && info.serInstanceId !== id)
      throw failed('body.serInstanceId', `must be ${id}, the service this PUT replaces`)
    const updated = mep.services.put(service.appInstanceId, toRecord(info, id, agentUrl(c)))
    c.header('ETag', etagOf(updated))
    return c.json(ownView(updated))
  })
  routes.delete(`${appServices}/:serviceId`, (c) => {
    mep.services.remove(ownService(c).record.serInstanceId)
    return c.body(null, 204)
  })

  const liveness = `${appServices}/:serviceId/liveness`
  routes.get(liveness, (c) => c.json(supervisor.info(supervised(c))))
  const heartbeat = async (c: Context<Mp1Env>) => {
    const service = supervised(c)
    await readBody(c, ServiceLivenessUpdate)
    if (recordOf(service).state === 'INACTIVE')
      throw conflict(`service ${service.record.serInstanceId} is INACTIVE: its producer makes it ACTIVE with a PUT`)
    return c.json(supervisor.info(supervisor.beat(service)))
  }
  routes.patch(liveness, heartbeat)
  routes.put(liveness, heartbeat)

  const appSubscriptions = '/applications/:appInstanceId/subscriptions'
  routes.get(appSubscriptions, (c) => {
    const app = ownApp(c)
    const subscriptions = mep.subscriptions.list(API, app).map((subscription) => ({
      href: paths.subscription(app, subscription.subscriptionId),
      // the OpenAPI file names it rel, the spec's table subscriptionType: both are given
      rel: subscription.record.subscriptionType,
      subscriptionType: subscription.record.subscriptionType,
    }))
    return c.json({ _links: { self: { href: paths.subscriptions(app) }, subscriptions } })
  })
  routes.post(appSubscriptions, async (c) => {
    const body = await readBody(c, SerAvailabilityNotificationSubscription)
    const app = ownApp(c)
    const subscription = mep.subscriptions.add(app, API, body)
    c.header('Location', absolute(c, paths.subscription(app, subscription.subscriptionId)))
    return c.json(subscriptionView(subscription), 201)
  })
  routes.get(`${appSubscriptions}/:subscriptionId`, (c) => c.json(subscriptionView(ownSubscription(c))))
  routes.delete(`${appSubscriptions}/:subscriptionId`, (c) => {
    mep.subscriptions.remove(ownSubscription(c).subscriptionId)
    return c.body(null, 204)
  })

  return {
    routes,
    close() {
      notifications.close()
      supervisor.close()
    },
  }
}
