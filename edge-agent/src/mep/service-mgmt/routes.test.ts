import { randomUUID } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { HostMetrics } from '@mecm/protocol'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Plugin } from '../../lcm/plugin'
import { openAgentStore } from '../../store/store'
import { rpcHandlers } from '../../sync/rpc'
import { serveMp1 } from '../../testing/mp1'
import { serviceMgmt } from './routes'

const store = openAgentStore(':memory:')
const warnings: Record<string, unknown>[] = []
const log = createLogger('warn', {}, (line) => warnings.push(JSON.parse(line)))
const mgmt = serviceMgmt({ store, log })
const API = '/mec_service_mgmt/v1'
const SLOW = { timeout: 6_000, interval: 50 }
let url: string

let mp1: Awaited<ReturnType<typeof serveMp1>>

beforeAll(async () => {
  mp1 = await serveMp1(store, { [API]: mgmt.routes })
  url = mp1.url
})
afterAll(async () => {
  mgmt.close()
  await mp1.close()
  store.close()
})

/** A new app instance with its AK/SK and an Mp1 client signed in with them. */
function newApp() {
  const { id, client } = mp1.newApp()
  return {
    id,
    client,
    services: `${API}/applications/${id}/services`,
    subscriptions: `${API}/applications/${id}/subscriptions`,
    /** A call with headers of its own, or a body sent as it is. */
    async raw(method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) {
      const response = await fetch(new URL(path, url), {
        method,
        body: init.body,
        headers: { authorization: `Bearer ${await client.token()}`, ...init.headers },
      })
      // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
      return { status: response.status, headers: response.headers, body: (await response.json()) as any }
    },
  }
}

const serviceInfo = (overrides: Record<string, unknown> = {}) => ({
  serName: `location-${randomUUID().slice(0, 8)}`,
  serCategory: { href: '/catalogue/location', id: 'location', name: 'Location', version: '1.0' },
  version: '2.1',
  state: 'ACTIVE',
  serializer: 'JSON',
  transportInfo: {
    id: 'own-rest',
    name: 'REST',
    type: 'REST_HTTP',
    protocol: 'HTTP',
    version: '1.1',
    endpoint: { uris: ['http://127.0.0.1:9999/location'] },
    security: {},
  },
  ...overrides,
})

/** A SerAvailabilityNotificationSubscription body, with filteringCriteria when given. */
const subscriptionBody = (callbackReference: string, filteringCriteria?: Record<string, unknown>) => ({
  subscriptionType: 'SerAvailabilityNotificationSubscription',
  callbackReference,
  ...(filteringCriteria ? { filteringCriteria } : {}),
})

/** A callback server on 127.0.0.1 that keeps the notifications it receives, answering `status`. */
async function callbackServer(status = 204) {
  const received: Record<string, unknown>[] = []
  const listener: Server = createServer((request, response) => {
    let text = ''
    request.on('data', (chunk) => {
      text += chunk
    })
    request.on('end', () => {
      received.push(JSON.parse(text))
      response.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}/notify`,
    received,
    /** The serviceReferences received, in order. */
    references: () => received.flatMap((n) => n.serviceReferences as Record<string, unknown>[]),
    close: () => new Promise((resolve) => listener.close(resolve)),
  }
}

/** The services of the last mep.services event queued for the center. */
function lastSynced() {
  const events = store.outbox.after(0, 10_000).filter((event) => event.body.kind === 'mep.services')
  const last = events.at(-1)?.body
  return last?.kind === 'mep.services' ? last.services : []
}

describe('the service registry: a producer registers, reads, replaces and deregisters its services', () => {
  it('registers a service with 201 and its Location, lists it, queues it for the center, and deregisters it', async () => {
    const producer = newApp()
    const created = await producer.client.call('POST', producer.services, serviceInfo({ serName: 'location' }))
    expect(created.status).toBe(201)
    const id = created.body.serInstanceId as string
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.headers.get('location')).toBe(`${url}${producer.services}/${id}`)
    expect(created.body).toMatchObject({
      serName: 'location',
      version: '2.1',
      state: 'ACTIVE',
      transportInfo: { endpoint: { uris: ['http://127.0.0.1:9999/location'] } },
      _links: { self: { href: `${producer.services}/${id}` } },
    })
    expect(created.body._links.liveness).toBeUndefined()

    const read = await producer.client.call('GET', created.headers.get('location') as string)
    expect(read).toMatchObject({ status: 200, body: created.body })
    const consumer = newApp()
    const discovered = await consumer.client.call('GET', `${API}/services/${id}`)
    expect(discovered.status).toBe(200)
    expect(discovered.body).toEqual({ ...created.body, _links: { self: { href: `${API}/services/${id}` } } })
    expect((await producer.client.call('GET', producer.services)).body).toEqual([created.body])
    expect(lastSynced()).toContainEqual({
      serInstanceId: id,
      serName: 'location',
      version: '2.1',
      state: 'ACTIVE',
      appInstanceId: producer.id,
    })

    expect((await producer.client.call('DELETE', `${producer.services}/${id}`)).status).toBe(204)
    expect((await consumer.client.call('GET', `${API}/services/${id}`)).status).toBe(404)
    expect((await producer.client.call('GET', `${producer.services}/${id}`)).status).toBe(404)
    expect(lastSynced().map((service) => service.serInstanceId)).not.toContain(id)
  })

  it('replaces a service with PUT, keeping its id, and honours If-Match', async () => {
    const producer = newApp()
    const created = await producer.client.call('POST', producer.services, serviceInfo())
    const path = `${producer.services}/${created.body.serInstanceId}`
    const etag = created.headers.get('etag') as string
    const changed = serviceInfo({ serName: created.body.serName, version: '3.0', state: 'INACTIVE' })

    const mismatch = await producer.client.call('PUT', path, { ...changed, serInstanceId: randomUUID() })
    expect(mismatch).toMatchObject({ status: 400, body: { errors: [{ path: 'body.serInstanceId' }] } })

    const put = await producer.raw('PUT', path, {
      body: JSON.stringify({ ...changed, serInstanceId: created.body.serInstanceId }),
      headers: { 'content-type': 'application/json', 'if-match': etag },
    })
    expect(put).toMatchObject({ status: 200, body: { serInstanceId: created.body.serInstanceId, version: '3.0' } })
    expect(put.headers.get('etag')).not.toBe(etag)
    expect((await producer.client.call('GET', path)).body).toMatchObject({ version: '3.0', state: 'INACTIVE' })

    const stale = await producer.raw('PUT', path, {
      body: JSON.stringify(changed),
      headers: { 'content-type': 'application/json', 'if-match': etag },
    })
    expect(stale).toMatchObject({ status: 412, body: { title: 'Precondition Failed' } })
    expect((await producer.client.call('PUT', `${producer.services}/${randomUUID()}`, changed)).status).toBe(404)
  })

  it('refuses a bad ServiceInfo with 400 listing each bad field', async () => {
    const producer = newApp()
    const bad = await producer.client.call('POST', producer.services, {
      serName: '',
      state: 'RUNNING',
      serializer: 'YAML',
      transportInfo: { id: 'x', name: 'REST', type: 'CARRIER_PIGEON' },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual(
      expect.arrayContaining([
        'body.serName',
        'body.version',
        'body.state',
        'body.serializer',
        'body.transportInfo.type',
        'body.transportInfo.protocol',
        'body.transportInfo.endpoint',
        'body.transportInfo.security',
      ]),
    )
    const both = await producer.client.call('POST', producer.services, serviceInfo({ transportId: 'rest-http' }))
    expect(both).toMatchObject({ status: 400, body: { errors: [{ path: 'body.transportInfo' }] } })
    const unknown = await producer.client.call(
      'POST',
      producer.services,
      serviceInfo({ transportInfo: undefined, transportId: 'mqtt' }),
    )
    expect(unknown).toMatchObject({ status: 400, body: { errors: [{ path: 'body.transportId' }] } })
    const notJson = await producer.raw('POST', producer.services, { body: '{serName', headers: {} })
    expect(notJson).toMatchObject({ status: 400, body: { detail: 'the request body is not valid JSON' } })
    expect((await producer.client.call('GET', producer.services)).body).toEqual([])
  })

  it("offers REST over HTTP as its transport, with this agent's token endpoint, and fills it in for transportId", async () => {
    const producer = newApp()
    const transport = {
      id: 'rest-http',
      name: 'REST',
      type: 'REST_HTTP',
      protocol: 'HTTP',
      version: '1.1',
      security: { oAuth2Info: { grantTypes: ['OAUTH2_CLIENT_CREDENTIALS'], tokenEndpoint: `${url}/mep/token` } },
    }
    const transports = await producer.client.call('GET', `${API}/transports`)
    expect(transports.status).toBe(200)
    expect(transports.body).toEqual([expect.objectContaining(transport)])
    const created = await producer.client.call(
      'POST',
      producer.services,
      serviceInfo({ transportInfo: undefined, transportId: 'rest-http' }),
    )
    expect(created).toMatchObject({ status: 201, body: { transportId: 'rest-http', transportInfo: transport } })
  })
})

describe('service discovery: GET /services and its filters', () => {
  const tag = randomUUID().slice(0, 8)
  const names = { near: `near-${tag}`, far: `far-${tag}`, other: `other-${tag}` }
  const ids: Record<string, string> = {}
  let consumer: ReturnType<typeof newApp>
  const find = async (query: string) => {
    const answer = await consumer.client.call('GET', `${API}/services?${query}`)
    expect(answer.status).toBe(200)
    return (answer.body as { serName: string }[]).map((service) => service.serName).filter((n) => n.endsWith(tag))
  }

  beforeAll(async () => {
    consumer = newApp()
    const one = newApp()
    const two = newApp()
    const category = (id: string) => ({ href: `/catalogue/${id}`, id: `${id}-${tag}`, name: id, version: '1' })
    for (const [app, info] of [
      [one, serviceInfo({ serName: names.near, serCategory: category('maps') })],
      [
        one,
        serviceInfo({
          serName: names.far,
          serCategory: category('maps'),
          isLocal: false,
          consumedLocalOnly: true,
          scopeOfLocality: 'MEC_SYSTEM',
        }),
      ],
      [two, serviceInfo({ serName: names.other, serCategory: category('radio'), state: 'INACTIVE' })],
    ] as const) {
      const created = await app.client.call('POST', app.services, info)
      ids[info.serName] = created.body.serInstanceId
    }
  })

  it('filters by instance ids, names (repeated or comma-separated) and category', async () => {
    expect(await find('')).toEqual([names.near, names.far, names.other])
    expect(await find(`ser_instance_id=${ids[names.far]}`)).toEqual([names.far])
    expect(await find(`ser_name=${names.near}&ser_name=${names.other}`)).toEqual([names.near, names.other])
    expect(await find(`ser_name=${names.near},${names.far}`)).toEqual([names.near, names.far])
    expect(await find(`ser_category_id=maps-${tag}`)).toEqual([names.near, names.far])
    expect(await find('ser_name=nobody')).toEqual([])
  })

  it('filters by locality: consumed_local_only, is_local (local unless said otherwise), scope_of_locality (MEC_HOST if absent)', async () => {
    expect(await find('consumed_local_only=true')).toEqual([names.far])
    expect(await find('consumed_local_only=false')).toEqual([names.near, names.other])
    expect(await find('is_local=false')).toEqual([names.far])
    expect(await find('is_local=true')).toEqual([names.near, names.other])
    expect(await find('scope_of_locality=MEC_SYSTEM')).toEqual([names.far])
    expect(await find('scope_of_locality=MEC_HOST')).toEqual([names.near, names.other])
  })

  it('refuses ser_instance_id, ser_name and ser_category_id together, and malformed values, with 400', async () => {
    const together = await consumer.client.call('GET', `${API}/services?ser_name=${names.near}&ser_category_id=maps`)
    expect(together).toMatchObject({ status: 400, body: { detail: expect.stringContaining('alternatives') } })
    const malformed = await consumer.client.call('GET', `${API}/services?is_local=maybe&scope_of_locality=PLANET`)
    expect(malformed.status).toBe(400)
    expect(malformed.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'query.is_local',
      'query.scope_of_locality',
    ])
  })

  it("lists an app's own services only under its path, with the same filters", async () => {
    const owner = store.mep.services.get(ids[names.near] as string)?.appInstanceId as string
    const token = store.mep.tokens.issue(owner, 60_000).token
    const own = await fetch(`${url}${API}/applications/${owner}/services?ser_name=${names.far}`, {
      headers: { authorization: `Bearer ${token}` },
    })
    expect(((await own.json()) as { serName: string }[]).map((s) => s.serName)).toEqual([names.far])
    expect((await consumer.client.call('GET', `${API}/services/${randomUUID()}`)).status).toBe(404)
  })
})

describe('an app acts only on its own services and subscriptions', () => {
  it("answers 403 for another app's path or service, 404 for none, 401 without a token", async () => {
    const owner = newApp()
    const intruder = newApp()
    const created = await owner.client.call('POST', owner.services, serviceInfo())
    const id = created.body.serInstanceId
    const subscription = await owner.client.call(
      'POST',
      owner.subscriptions,
      subscriptionBody('http://127.0.0.1:9/notify'),
    )

    for (const [method, path] of [
      ['GET', `${owner.services}`],
      ['POST', `${owner.services}`],
      ['GET', `${owner.services}/${id}`],
      ['PUT', `${owner.services}/${id}`],
      ['DELETE', `${owner.services}/${id}`],
      ['GET', `${owner.subscriptions}`],
      ['GET', `${owner.subscriptions}/${subscription.body._links.self.href.split('/').at(-1)}`],
    ] as const) {
      const refused = await intruder.client.call(method, path, method === 'GET' ? undefined : serviceInfo())
      expect({ method, path, status: refused.status, title: refused.body.title }).toEqual({
        method,
        path,
        status: 403,
        title: 'Forbidden',
      })
    }
    const viaOwnPath = `${intruder.services}/${id}`
    expect((await intruder.client.call('GET', viaOwnPath)).status).toBe(403)
    expect((await intruder.client.call('PUT', viaOwnPath, serviceInfo())).status).toBe(403)
    expect((await intruder.client.call('DELETE', viaOwnPath)).status).toBe(403)
    const theirSubscription = subscription.headers.get('location')?.split('/').at(-1)
    expect((await intruder.client.call('DELETE', `${intruder.subscriptions}/${theirSubscription}`)).status).toBe(403)
    expect((await intruder.client.call('GET', `${intruder.subscriptions}/${randomUUID()}`)).status).toBe(404)
    expect((await intruder.client.call('DELETE', `${intruder.services}/${randomUUID()}`)).status).toBe(404)
    expect((await fetch(`${url}${API}/services`)).status).toBe(401)
    // still there, unchanged
    expect((await owner.client.call('GET', `${owner.services}/${id}`)).body).toEqual(created.body)
    await owner.client.call('DELETE', `${owner.subscriptions}/${theirSubscription}`)
  })
})

describe('service availability subscriptions and notifications', () => {
  it('creates, lists, reads and deletes a subscription', async () => {
    const app = newApp()
    const body = subscriptionBody('http://127.0.0.1:9/notify', {
      serNames: ['nothing-here'],
      states: ['ACTIVE'],
      isLocal: true,
    })
    const created = await app.client.call('POST', app.subscriptions, body)
    expect(created.status).toBe(201)
    const location = created.headers.get('location') as string
    const path = new URL(location).pathname
    expect(path).toMatch(new RegExp(`^${app.subscriptions}/[0-9a-f-]{36}$`))
    expect(created.body).toEqual({ ...body, _links: { self: { href: path } } })
    expect(await app.client.call('GET', location)).toMatchObject({ status: 200, body: created.body })
    const list = await app.client.call('GET', app.subscriptions)
    expect(list).toMatchObject({
      status: 200,
      body: {
        _links: {
          self: { href: app.subscriptions },
          subscriptions: [{ href: path, subscriptionType: 'SerAvailabilityNotificationSubscription' }],
        },
      },
    })
    expect((await app.client.call('DELETE', location)).status).toBe(204)
    expect((await app.client.call('GET', location)).status).toBe(404)
    expect((await app.client.call('GET', app.subscriptions)).body._links.subscriptions).toEqual([])
  })

  it('refuses a bad subscription with 400 listing each bad field', async () => {
    const app = newApp()
    const bad = await app.client.call('POST', app.subscriptions, {
      subscriptionType: 'AppTerminationNotificationSubscription',
      callbackReference: 'not a url',
      filteringCriteria: { serNames: ['a'], serInstanceIds: ['b'], states: ['GONE'] },
    })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((e: { path: string }) => e.path)).toEqual([
      'body.subscriptionType',
      'body.callbackReference',
      'body.filteringCriteria.states.0',
    ])
    const alternatives = await app.client.call(
      'POST',
      app.subscriptions,
      subscriptionBody('http://127.0.0.1:9/notify', { serNames: ['a'], serInstanceIds: ['b'] }),
    )
    expect(alternatives).toMatchObject({ status: 400, body: { errors: [{ path: 'body.filteringCriteria' }] } })
  })

  it('notifies ADDED, STATE_CHANGED, ATTRIBUTES_CHANGED and REMOVED, in order, for the services its criteria select', async () => {
    const callback = await callbackServer()
    const consumer = newApp()
    const producer = newApp()
    const serName = `weather-${randomUUID().slice(0, 8)}`
    const subscription = await consumer.client.call(
      'POST',
      consumer.subscriptions,
      subscriptionBody(callback.url, { serNames: [serName] }),
    )
    // not selected: its notification would come before the next one's, which it does not
    await producer.client.call('POST', producer.services, serviceInfo())
    const created = await producer.client.call('POST', producer.services, serviceInfo({ serName }))
    const id = created.body.serInstanceId
    const path = `${producer.services}/${id}`
    await producer.client.call('PUT', path, serviceInfo({ serName, state: 'INACTIVE' }))
    await producer.client.call('PUT', path, serviceInfo({ serName, state: 'INACTIVE' })) // no change, no notification
    await producer.client.call('PUT', path, serviceInfo({ serName, state: 'INACTIVE', version: '9' }))
    await producer.client.call('DELETE', path)

    const reference = (changeType: string, state: string) => ({
      link: { href: `${API}/services/${id}` },
      serName,
      serInstanceId: id,
      state,
      changeType,
    })
    await vi.waitFor(() => expect(callback.received).toHaveLength(4))
    expect(callback.references()).toEqual([
      reference('ADDED', 'ACTIVE'),
      reference('STATE_CHANGED', 'INACTIVE'),
      reference('ATTRIBUTES_CHANGED', 'INACTIVE'),
      reference('REMOVED', 'INACTIVE'),
    ])
    expect(callback.received[0]).toMatchObject({
      notificationType: 'SerAvailabilityNotification',
      _links: { subscription: { href: subscription.body._links.self.href } },
    })
    await consumer.client.call('DELETE', subscription.headers.get('location') as string)
    await callback.close()
  })

  it('tells subscribers when a terminated app leaves the registry', async () => {
    const callback = await callbackServer()
    const consumer = newApp()
    const producer = newApp()
    const created = await producer.client.call('POST', producer.services, serviceInfo())
    const watching = await consumer.client.call(
      'POST',
      consumer.subscriptions,
      subscriptionBody(callback.url, { serInstanceIds: [created.body.serInstanceId], states: ['INACTIVE', 'ACTIVE'] }),
    )
    store.retire(producer.id)
    await vi.waitFor(() =>
      expect(callback.references()).toEqual([expect.objectContaining({ changeType: 'REMOVED', state: 'ACTIVE' })]),
    )
    await consumer.client.call('DELETE', watching.headers.get('location') as string)
    await callback.close()
  })

  it('tries a failing callback a few times, then warns, without holding up the request', async () => {
    const callback = await callbackServer(500)
    const app = newApp()
    const subscription = await app.client.call('POST', app.subscriptions, subscriptionBody(callback.url))
    const created = await app.client.call('POST', app.services, serviceInfo())
    expect(created.status).toBe(201)
    expect(callback.received.length).toBeLessThan(3)
    await vi.waitFor(
      () =>
        expect(warnings).toContainEqual(
          expect.objectContaining({
            msg: 'a service availability notification was not delivered',
            callbackReference: callback.url,
            error: 'the callback answered 500',
          }),
        ),
      SLOW,
    )
    expect(callback.received).toHaveLength(3)
    await app.client.call('DELETE', subscription.headers.get('location') as string)
    await callback.close()
  })
})

describe('liveness (MEC 011 v2.2.1): heartbeats by PATCH or PUT, suspension after two missed intervals', () => {
  it('keeps a livenessInterval only when heartbeats are asked for, and has no liveness resource otherwise', async () => {
    const producer = newApp()
    const none = await producer.client.call('POST', producer.services, serviceInfo({ livenessInterval: 0 }))
    expect(none.body.livenessInterval).toBeUndefined()
    expect((await producer.client.call('GET', `${producer.services}/${none.body.serInstanceId}/liveness`)).status).toBe(
      404,
    )
    const beating = await producer.client.call('POST', producer.services, serviceInfo({ livenessInterval: 30 }))
    const liveness = `${producer.services}/${beating.body.serInstanceId}/liveness`
    expect(beating.body).toMatchObject({ livenessInterval: 30, _links: { liveness: { href: liveness } } })
    const info = await producer.client.call('GET', liveness)
    expect(info).toMatchObject({
      status: 200,
      body: {
        state: 'ACTIVE',
        interval: 30,
        timeStamp: { seconds: expect.any(Number), nanoSeconds: expect.any(Number) },
      },
    })
    expect(Math.abs(info.body.timeStamp.seconds - Date.now() / 1000)).toBeLessThan(5)
    expect((await newApp().client.call('GET', liveness)).status).toBe(403)
  })

  it('takes ACTIVE heartbeats only, and refuses them with 409 for an INACTIVE service', async () => {
    const producer = newApp()
    const created = await producer.client.call('POST', producer.services, serviceInfo({ livenessInterval: 30 }))
    const liveness = `${producer.services}/${created.body.serInstanceId}/liveness`
    const before = (await producer.client.call('GET', liveness)).body.timeStamp
    const beat = await producer.raw('PATCH', liveness, {
      body: JSON.stringify({ state: 'ACTIVE' }),
      headers: { 'content-type': 'application/merge-patch+json' },
    })
    expect(beat).toMatchObject({ status: 200, body: { state: 'ACTIVE', interval: 30 } })
    expect(beat.body.timeStamp.seconds * 1e9 + beat.body.timeStamp.nanoSeconds).toBeGreaterThan(
      before.seconds * 1e9 + before.nanoSeconds,
    )
    const wrong = await producer.client.call('PATCH', liveness, { state: 'INACTIVE' })
    expect(wrong).toMatchObject({ status: 400, body: { errors: [{ path: 'body.state' }] } })
    await producer.client.call(
      'PUT',
      `${producer.services}/${created.body.serInstanceId}`,
      serviceInfo({ livenessInterval: 30, state: 'INACTIVE' }),
    )
    expect((await producer.client.call('PATCH', liveness, { state: 'ACTIVE' })).status).toBe(409)
  })

  it('suspends a service that misses two intervals, tells subscribers, and makes it ACTIVE again on a heartbeat', async () => {
    const callback = await callbackServer()
    const producer = newApp()
    const serName = `pulse-${randomUUID().slice(0, 8)}`
    const subscription = await producer.client.call(
      'POST',
      producer.subscriptions,
      subscriptionBody(callback.url, { serNames: [serName] }),
    )
    const registeredAt = Date.now()
    const created = await producer.client.call('POST', producer.services, serviceInfo({ serName, livenessInterval: 1 }))
    const id = created.body.serInstanceId
    const liveness = `${producer.services}/${id}/liveness`
    await vi.waitFor(
      async () => expect((await producer.client.call('GET', liveness)).body.state).toBe('SUSPENDED'),
      SLOW,
    )
    // two intervals of silence, not fewer
    expect(Date.parse(store.mep.services.get(id)?.updatedAt as string) - registeredAt).toBeGreaterThanOrEqual(2000)
    expect(lastSynced()).toContainEqual(expect.objectContaining({ serInstanceId: id, state: 'SUSPENDED' }))

    // EdgeGallery's apps beat with PUT
    const beat = await producer.client.call('PUT', liveness, { state: 'ACTIVE' })
    expect(beat).toMatchObject({ status: 200, body: { state: 'ACTIVE', interval: 1 } })
    expect((await producer.client.call('GET', `${API}/services/${id}`)).body.state).toBe('ACTIVE')
    expect(lastSynced()).toContainEqual(expect.objectContaining({ serInstanceId: id, state: 'ACTIVE' }))
    await vi.waitFor(() =>
      expect(callback.references().map((r) => [r.changeType, r.state])).toEqual([
        ['ADDED', 'ACTIVE'],
        ['STATE_CHANGED', 'SUSPENDED'],
        ['STATE_CHANGED', 'ACTIVE'],
      ]),
    )
    expect(warnings).toContainEqual(
      expect.objectContaining({ msg: 'a service missed its heartbeats and is suspended', serInstanceId: id }),
    )
    await producer.client.call('DELETE', `${producer.services}/${id}`)
    await producer.client.call('DELETE', subscription.headers.get('location') as string)
    await callback.close()
  })
})

describe("the center's mep.capabilities RPC", () => {
  it('answers the registry as MepService entries', async () => {
    const producer = newApp()
    const created = await producer.client.call('POST', producer.services, serviceInfo({ version: '4.2' }))
    const rpc = rpcHandlers({ store, plugin: {} as Plugin, kpi: async () => ({}) as HostMetrics })
    const answer = await rpc['mep.capabilities']({}, () => {}, new AbortController().signal)
    expect(answer).toContainEqual({
      serInstanceId: created.body.serInstanceId,
      serName: created.body.serName,
      version: '4.2',
      state: 'ACTIVE',
      appInstanceId: producer.id,
    })
  })
})
