import { randomUUID } from 'node:crypto'
import { EventEmitter, once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Reply, type Session, type TestCenter, testCenter } from '../testing/center'
import { packageFile, uploadForm } from '../testing/packages'
import { dialects } from '../testing/stores'
import { type InstanceFacts, selects, wantsInstanceState, wantsOperation } from './lcm-subscriptions'

const dir = mkdtempSync(join(tmpdir(), 'mecm-lcm-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const base = '/app_lcm/v1'
const uuid = /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/
const opOccLocation = new RegExp(`^${base}/app_lcm_op_occs/[0-9a-f-]{36}$`)
const timeStamp = { seconds: expect.any(Number), nanoSeconds: expect.any(Number) }

// biome-ignore lint/suspicious/noExplicitAny: notifications are read field by field and asserted
type Notification = Record<string, any>

/** The subscriber: an HTTP server of the test's own, telling each notification it receives as an event. */
async function subscriber() {
  const received: Notification[] = []
  const events = new EventEmitter()
  const server: Server = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    const notification = JSON.parse(Buffer.concat(chunks).toString()) as Notification
    received.push(notification)
    // a callback under /down is one that keeps failing
    response.writeHead(request.url?.startsWith('/down') ? 503 : 204).end()
    events.emit('notification', notification)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`,
    down: `http://127.0.0.1:${(server.address() as AddressInfo).port}/down`,
    received,
    /** Resolves with the first notification (received already, or to come) that `wanted` accepts. */
    next(wanted: (notification: Notification) => boolean): Promise<Notification> {
      const already = received.find(wanted)
      if (already) return Promise.resolve(already)
      return new Promise((resolve) => {
        const listen = (notification: Notification) => {
          if (!wanted(notification)) return
          events.off('notification', listen)
          resolve(notification)
        }
        events.on('notification', listen)
      })
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

describe.each(dialects)('/app_lcm/v1 on %s', (dialect) => {
  let t: TestCenter
  let op: Session
  let other: Session
  let appPkgId: string
  let pkgInfo: { appSoftwareVersion: string; appDVersion: string }
  let callbacks: Awaited<ReturnType<typeof subscriber>>

  const as = (session: Session) => ({
    get: (path: string) => t.call('GET', path, { token: session.token }),
    post: (path: string, body?: unknown) => t.call('POST', path, { token: session.token, body: body ?? {} }),
    del: (path: string) => t.call('DELETE', path, { token: session.token }),
  })
  const api = () => as(op)
  /** Resolves when the operation ends (COMPLETED, FAILED_TEMP or FAILED): call it before it can. */
  const ends = (operationId: string) => t.center.lcm.runner.ended(operationId)
  const idOf = (reply: Reply) => (reply.headers.get('location') ?? '').split('/').pop() as string
  const hostOf = async (appInstanceId: string) => (await t.store.appo.instances.get(appInstanceId))?.mechostIp

  /** What an edge agent's operation.result does: records the outcome and wakes the waiting step. */
  async function edgeReports(operationId: string, appInstanceId: string) {
    const hostId = (await t.store.appo.instances.get(appInstanceId))?.hostId as string
    await t.store.appo.operations.edgeResult(hostId, operationId, appInstanceId, 'COMPLETED', null)
    t.center.lcm.feed.notify()
  }

  async function create(name: string) {
    const reply = await api().post(`${base}/app_instances`, { appDId: 'hello-appd', appInstanceName: name })
    expect(reply.status).toBe(201)
    return reply.body.id as string
  }

  beforeAll(async () => {
    t = await testCenter(dialect, {
      MECM_OPERATION_TIMEOUT_MS: '1000',
      MECM_NOTIFY_RETRY_MS: '20',
      MECM_CALLBACK_ALLOW_LOOPBACK: 'true',
    })
    op = await t.user('TENANT')
    other = await t.user('TENANT')
    for (const host of [
      { mechostIp: '10.0.0.1', mechostName: 'edge-a', city: 'Paris' },
      { mechostIp: '10.0.0.2', mechostName: 'edge-b', city: 'Berlin' },
    ]) {
      const registered = await t.call('POST', `/inventory/v1/tenants/${op.tenantId}/mechosts`, {
        token: op.token,
        body: host,
      })
      expect(registered.status).toBe(201)
    }
    const uploaded = await fetch(`${t.center.url}/apm/v1/tenants/${op.tenantId}/packages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${op.token}` },
      body: uploadForm(await packageFile(dir), { appPackageName: 'hello', appPackageVersion: '1.0' }),
    })
    expect(uploaded.status).toBe(201)
    appPkgId = ((await uploaded.json()) as { appPkgId: string }).appPkgId
    pkgInfo = (await api().get(`/app_pkgm/v1/app_packages/${appPkgId}`)).body
    callbacks = await subscriber()
  })
  afterAll(async () => {
    await callbacks?.close()
    await t?.close()
  })

  let first: string
  let watcher: string
  let failedTemp: Promise<Notification>

  it('creates an app instance: 201, its Location, and an AppInstanceInfo NOT_INSTANTIATED', async () => {
    const reply = await api().post(`${base}/app_instances`, {
      appDId: 'hello-appd',
      appInstanceName: 'face-1',
      appInstanceDescription: 'the first face',
    })
    expect(reply.status).toBe(201)
    first = reply.body.id
    expect(first).toMatch(uuid)
    expect(reply.headers.get('location')).toBe(`${base}/app_instances/${first}`)
    expect(reply.body).toEqual({
      id: first,
      appInstanceName: 'face-1',
      appInstanceDescription: 'the first face',
      appDId: 'hello-appd',
      appProvider: 'Acme',
      appName: 'hello',
      appSoftVersion: pkgInfo.appSoftwareVersion,
      appDVersion: pkgInfo.appDVersion,
      appPkgId,
      instantiationState: 'NOT_INSTANTIATED',
      _links: {
        self: { href: `${base}/app_instances/${first}` },
        instantiate: { href: `${base}/app_instances/${first}/instantiate` },
      },
    })
    expect(pkgInfo.appSoftwareVersion).toBe('1.0.0')
    expect((await api().get(`${base}/app_instances/${first}`)).body).toEqual(reply.body)
    // no host is connected: the instance waits, unplaced and free, for INSTANTIATE to place it
    const stored = await t.store.appo.instances.get(first)
    expect(stored).toMatchObject({ hostId: null, operationId: null, status: 'NOT_INSTANTIATED' })
    // the placing step of create is this center's own, not an ETSI operation occurrence
    expect((await api().get(`${base}/app_lcm_op_occs`)).body).toEqual([])
  })

  it('refuses a create without an appDId (400) or of an unknown one (404), as problem details', async () => {
    const missing = await api().post(`${base}/app_instances`, { appInstanceName: 'x' })
    expect(missing.status).toBe(400)
    expect(missing.headers.get('content-type')).toBe('application/problem+json')
    expect(missing.body).toMatchObject({ status: 400, title: 'Bad Request', detail: expect.stringContaining('appDId') })
    const unknown = await api().post(`${base}/app_instances`, { appDId: 'no-such-appd' })
    expect(unknown.status).toBe(404)
    expect(unknown.body).toMatchObject({ status: 404, detail: expect.stringContaining('no-such-appd') })
    // and another tenant cannot create from this tenant's package
    expect((await as(other).post(`${base}/app_instances`, { appDId: 'hello-appd' })).status).toBe(404)
  })

  it('lists and filters the tenant’s instances; another tenant sees none of them', async () => {
    const second = await create('face-2')
    const all = await api().get(`${base}/app_instances`)
    expect(all.status).toBe(200)
    expect(all.body.map((info: { id: string }) => info.id)).toEqual([first, second])
    const filtered = await api().get(`${base}/app_instances?filter=(eq,appInstanceName,face-2)`)
    expect(filtered.body.map((info: { id: string }) => info.id)).toEqual([second])
    const byState = await api().get(`${base}/app_instances?filter=(neq,instantiationState,NOT_INSTANTIATED)`)
    expect(byState.body).toEqual([])
    expect((await api().get(`${base}/app_instances?filter=(eq,secret,1)`)).status).toBe(400)
    expect((await api().get(`${base}/app_instances?fields=_links`)).status).toBe(400)
    expect((await api().get(`${base}/app_instances?limit=1`)).status).toBe(400)

    const stranger = as(other)
    expect((await stranger.get(`${base}/app_instances`)).body).toEqual([])
    expect((await stranger.get(`${base}/app_instances/${second}`)).status).toBe(404)
    expect((await stranger.post(`${base}/app_instances/${second}/instantiate`)).status).toBe(404)
    expect((await stranger.post(`${base}/app_instances/${second}/operate`, { changeStateTo: 'STOPPED' })).status).toBe(
      404,
    )
    expect((await stranger.del(`${base}/app_instances/${second}`)).status).toBe(404)

    expect((await api().del(`${base}/app_instances/${second}`)).status).toBe(204)
    expect((await api().get(`${base}/app_instances/${second}`)).status).toBe(404)
    expect((await api().del(`${base}/app_instances/${second}`)).status).toBe(404)
  })

  it('subscribes, lists, reads and deletes subscriptions within the tenant', async () => {
    const created = await api().post(`${base}/subscriptions?subscriptionType=AppLcmOpOccStateChange`, {
      subscriptionType: 'AppLcmOpOccStateChange',
      callbackUri: callbacks.url,
      appLcmOpOccSubscriptionFilter: { operationStates: 'FAILED_TEMP', operationTypes: ['INSTANTIATE'] },
    })
    expect(created.status).toBe(201)
    const href = `${base}/subscriptions/${created.body.id}`
    expect(created.headers.get('location')).toBe(href)
    expect(created.body).toEqual({
      id: expect.stringMatching(uuid),
      subscriptionType: 'AppLcmOpOccStateChange',
      callbackUri: callbacks.url,
      appLcmOpOccSubscriptionFilter: { operationStates: 'FAILED_TEMP', operationTypes: ['INSTANTIATE'] },
      _links: { self: { href } },
    })
    // every FAILED_TEMP instantiate of the tenant goes to the subscriber from now on
    watcher = created.body.id
    failedTemp = callbacks.next((n) => n.subscriptionId === watcher)

    const instances = await api().post(`${base}/subscriptions`, {
      subscriptionType: 'AppInstanceStateChange',
      callbackUri: callbacks.url,
      appInstanceState: 'STOPPED',
    })
    expect(instances.status).toBe(201)
    expect(instances.body).toMatchObject({
      subscriptionType: 'AppInstanceStateChange',
      notificationType: 'STOPPED',
      appInstanceState: 'STOPPED',
      callbackUri: callbacks.url,
      _links: { self: { href: `${base}/subscriptions/${instances.body.id}` } },
    })

    const list = await api().get(`${base}/subscriptions`)
    expect(list.body).toEqual({
      _links: {
        self: { href: `${base}/subscriptions` },
        subscriptions: expect.arrayContaining([
          { href, subscriptionType: 'AppLcmOpOccStateChange' },
          { href: `${base}/subscriptions/${instances.body.id}`, subscriptionType: 'AppInstanceStateChange' },
        ]),
      },
    })
    expect(list.body._links.subscriptions).toHaveLength(2)
    const onlyInstances = await api().get(`${base}/subscriptions?subscriptionType=AppInstanceStateChange`)
    expect(onlyInstances.body._links.subscriptions).toEqual([
      { href: `${base}/subscriptions/${instances.body.id}`, subscriptionType: 'AppInstanceStateChange' },
    ])
    expect((await api().get(href)).body).toEqual(created.body)
    expect((await api().get(`${href}?subscriptionType=AppInstanceStateChange`)).status).toBe(404)

    const stranger = as(other)
    expect((await stranger.get(`${base}/subscriptions`)).body._links.subscriptions).toEqual([])
    expect((await stranger.get(href)).status).toBe(404)
    expect((await stranger.del(href)).status).toBe(404)

    expect((await api().del(`${base}/subscriptions/${instances.body.id}`)).status).toBe(204)
    expect((await api().get(`${base}/subscriptions/${instances.body.id}`)).status).toBe(404)
    expect((await api().del(`${base}/subscriptions/${instances.body.id}`)).status).toBe(404)
  })

  it('refuses bad subscriptions with 400', async () => {
    const bad = (body: unknown, query = '') => api().post(`${base}/subscriptions${query}`, body)
    const good = { subscriptionType: 'AppInstanceStateChange', callbackUri: callbacks.url }
    expect((await bad({ ...good, callbackUri: 'ftp://127.0.0.1/x' })).status).toBe(400)
    expect((await bad({ ...good, subscriptionType: 'Everything' })).status).toBe(400)
    expect((await bad(good, '?subscriptionType=AppLcmOpOccStateChange')).status).toBe(400)
    expect((await bad({ ...good, appInstanceState: 'RUNNING' })).status).toBe(400)
    const noIds = await bad({ ...good, appInstanceSubscriptionFilter: { appInstSelectorType: 'APP_IDENTITY' } })
    expect(noIds.status).toBe(400)
    expect(noIds.body.detail).toContain('appInstances')
    expect((await api().get(`${base}/subscriptions`)).body._links.subscriptions).toHaveLength(1)
  })

  let instantiate: string

  it('instantiates on the selected host: 202 with the Location of a running operation; a second operation or a delete is refused with 409', async () => {
    const unknownHost = await api().post(`${base}/app_instances/${first}/instantiate`, {
      selectedMECHostInfo: [{ hostId: '10.9.9.9' }],
    })
    expect(unknownHost.status).toBe(400)
    expect(unknownHost.body.detail).toContain('10.9.9.9')

    const reply = await api().post(`${base}/app_instances/${first}/instantiate`, {
      selectedMECHostInfo: [{ hostId: { site: 'left' }, hostName: 'edge-b' }],
    })
    expect(reply.status).toBe(202)
    expect(reply.headers.get('location')).toMatch(opOccLocation)
    instantiate = idOf(reply)
    const ended = ends(instantiate)
    expect(await hostOf(first)).toBe('10.0.0.2')

    const occ = await api().get(reply.headers.get('location') as string)
    expect(occ.status).toBe(200)
    expect(occ.body).toEqual({
      id: instantiate,
      operationState: expect.stringMatching(/^(STARTING|PROCESSING)$/),
      stateEnteredTime: timeStamp,
      startTime: timeStamp,
      lcmOperation: 'INSTANTIATE',
      operationParams: {},
      isCancelPending: false,
      appInstanceId: first,
      _links: {
        self: { href: `${base}/app_lcm_op_occs/${instantiate}` },
        appInstance: { href: `${base}/app_instances/${first}` },
        cancel: { href: `${base}/app_lcm_op_occs/${instantiate}/cancel` },
      },
    })
    const info = await api().get(`${base}/app_instances/${first}`)
    expect(info.body.instantiationState).toBe('NOT_INSTANTIATED')
    expect(info.body._links.instantiate).toBeUndefined()

    for (const [what, refused] of [
      ['instantiate', await api().post(`${base}/app_instances/${first}/instantiate`)],
      ['terminate', await api().post(`${base}/app_instances/${first}/terminate`, { terminationType: 'FORCEFUL' })],
      ['operate', await api().post(`${base}/app_instances/${first}/operate`, { changeStateTo: 'STOPPED' })],
      ['delete', await api().del(`${base}/app_instances/${first}`)],
      ['retry', await api().post(`${base}/app_lcm_op_occs/${instantiate}/retry`)],
      ['fail', await api().post(`${base}/app_lcm_op_occs/${instantiate}/fail`)],
    ] as const) {
      expect([what, refused.status, refused.headers.get('content-type')]).toEqual([
        what,
        409,
        'application/problem+json',
      ])
    }
    expect((await api().get(`${base}/app_instances/${first}`)).status).toBe(200)
    expect((await ended).state).toBe('FAILED_TEMP')
  })

  it('ends FAILED_TEMP with a 504 problem when the edge never answers, and tells the subscriber', async () => {
    const occ = await api().get(`${base}/app_lcm_op_occs/${instantiate}`)
    expect(occ.body).toMatchObject({
      operationState: 'FAILED_TEMP',
      isCancelPending: false,
      error: { type: 'about:blank', title: 'Edge Timeout', status: 504, detail: expect.stringContaining('10.0.0.2') },
      _links: {
        retry: { href: `${base}/app_lcm_op_occs/${instantiate}/retry` },
        fail: { href: `${base}/app_lcm_op_occs/${instantiate}/fail` },
      },
    })
    expect(occ.body._links.cancel).toBeUndefined()
    // the FAILED_TEMP operation still holds the instance: no task is offered on it
    expect(Object.keys((await api().get(`${base}/app_instances/${first}`)).body._links)).toEqual(['self'])
    const notification = await failedTemp
    expect(notification).toEqual({
      id: expect.stringMatching(uuid),
      notificationType: 'FAILED_TEMP',
      subscriptionId: expect.stringMatching(uuid),
      timeStamp,
      appLcmOpOccId: instantiate,
      appInstanceId: first,
      lcmOperation: 'INSTANTIATE',
      operationState: 'FAILED_TEMP',
      _links: {
        subscription: { href: `${base}/subscriptions/${notification.subscriptionId}` },
        appInstance: { href: `${base}/app_instances/${first}` },
        appLcmOpOcc: { href: `${base}/app_lcm_op_occs/${instantiate}` },
      },
    })
  })

  it('retries a FAILED_TEMP operation: 202, PROCESSING again, and FAILED_TEMP after the next timeout', async () => {
    const reply = await api().post(`${base}/app_lcm_op_occs/${instantiate}/retry`)
    expect(reply.status).toBe(202)
    expect(reply.headers.get('location')).toBe(`${base}/app_lcm_op_occs/${instantiate}`)
    const ended = ends(instantiate)
    const occ = await api().get(`${base}/app_lcm_op_occs/${instantiate}`)
    expect(occ.body.operationState).toBe('PROCESSING')
    expect(occ.body.error).toBeUndefined()
    expect(occ.body._links.retry).toBeUndefined()
    expect((await ended).state).toBe('FAILED_TEMP')
    expect((await api().get(`${base}/app_lcm_op_occs/${instantiate}`)).body.error.status).toBe(504)
    // the subscriber hears of it a second time
    const told = await failedTemp
    const again = await callbacks.next((n) => n.subscriptionId === watcher && n.id !== told.id)
    expect(again).toMatchObject({ appLcmOpOccId: instantiate, notificationType: 'FAILED_TEMP' })
  })

  it('fails a FAILED_TEMP operation: 200 with it FAILED, and the instance takes another operation', async () => {
    const stranger = as(other)
    for (const action of ['retry', 'fail', 'cancel'])
      expect((await stranger.post(`${base}/app_lcm_op_occs/${instantiate}/${action}`)).status).toBe(404)
    expect((await stranger.get(`${base}/app_lcm_op_occs/${instantiate}`)).status).toBe(404)
    expect((await stranger.get(`${base}/app_lcm_op_occs`)).body).toEqual([])

    const reply = await api().post(`${base}/app_lcm_op_occs/${instantiate}/fail`)
    expect(reply.status).toBe(200)
    expect(reply.body).toMatchObject({ id: instantiate, operationState: 'FAILED', error: { status: 504 } })
    expect(Object.keys(reply.body._links).sort()).toEqual(['appInstance', 'self'])
    for (const action of ['retry', 'fail', 'cancel'])
      expect((await api().post(`${base}/app_lcm_op_occs/${instantiate}/${action}`)).status).toBe(409)
    expect((await t.store.appo.instances.get(first))?.operationId).toBeNull()
    // free again, so the instantiate task is offered again
    const info = await api().get(`${base}/app_instances/${first}`)
    expect(info.body._links.instantiate).toEqual({ href: `${base}/app_instances/${first}/instantiate` })
  })

  it('cancels a running operation: it stops waiting and ends FAILED_TEMP; cancelling that ends it FAILED', async () => {
    const again = await api().post(`${base}/app_instances/${first}/instantiate`, { parameters: { port: '9090' } })
    expect(again.status).toBe(202)
    const cancelled = idOf(again)
    const ended = ends(cancelled)
    expect((await api().get(`${base}/app_lcm_op_occs/${cancelled}`)).body.operationParams).toEqual({
      parameters: { port: '9090' },
    })
    const reply = await api().post(`${base}/app_lcm_op_occs/${cancelled}/cancel`, { cancelMode: 'GRACEFUL' })
    expect(reply.status).toBe(202)
    expect(reply.headers.get('location')).toBe(`${base}/app_lcm_op_occs/${cancelled}`)
    expect((await ended).state).toBe('FAILED_TEMP')
    const stopped = await api().get(`${base}/app_lcm_op_occs/${cancelled}`)
    expect(stopped.body).toMatchObject({
      operationState: 'FAILED_TEMP',
      isCancelPending: false,
      error: { title: 'Cancelled', status: 409 },
    })
    expect(stopped.body.cancelMode).toBeUndefined()
    await callbacks.next((n) => n.subscriptionId === watcher && n.appLcmOpOccId === cancelled)

    expect((await api().post(`${base}/app_lcm_op_occs/${cancelled}/cancel`)).status).toBe(202)
    expect((await api().get(`${base}/app_lcm_op_occs/${cancelled}`)).body.operationState).toBe('FAILED')
    expect((await api().post(`${base}/app_lcm_op_occs/${cancelled}/cancel`)).status).toBe(409)
    expect((await api().post(`${base}/app_lcm_op_occs/${cancelled}/cancel`, { cancelMode: 'SOON' })).status).toBe(400)
  })

  it('lists the operation occurrences newest first, with filter and exclude_default', async () => {
    const list = await api().get(`${base}/app_lcm_op_occs`)
    expect(list.status).toBe(200)
    expect(list.body.map((occ: { id: string }) => occ.id)).toHaveLength(2)
    expect(list.body[1].id).toBe(instantiate)
    expect(list.body.map((occ: { operationState: string }) => occ.operationState)).toEqual(['FAILED', 'FAILED'])
    const byCancel = await api().get(`${base}/app_lcm_op_occs?filter=(eq,error/title,Cancelled)`)
    expect(byCancel.status).toBe(400)
    const byId = await api().get(`${base}/app_lcm_op_occs?filter=(eq,id,${instantiate})`)
    expect(byId.body.map((occ: { id: string }) => occ.id)).toEqual([instantiate])
    expect((await api().get(`${base}/app_lcm_op_occs?filter=(eq,lcmOperation,OPERATE)`)).body).toEqual([])
    const lean = await api().get(`${base}/app_lcm_op_occs?exclude_default`)
    expect(lean.body[0]).not.toHaveProperty('operationParams')
    expect(lean.body[0]).not.toHaveProperty('error')
    expect(lean.body[0]).toHaveProperty('operationState', 'FAILED')
    const withError = await api().get(`${base}/app_lcm_op_occs?exclude_default&fields=error`)
    expect(withError.body[0]).toHaveProperty('error')
    expect(withError.body[0]).not.toHaveProperty('operationParams')
  })

  it('shows a cancel the operation has not acted on yet as isCancelPending, with its cancelMode', async () => {
    // an operation another replica runs (it holds the lease) and that has not reached its next wait
    const operationId = randomUUID()
    await t.store.appo.operations.insert({
      operationId,
      tenantId: op.tenantId,
      appInstanceId: randomUUID(),
      lcmOperation: 'OPERATE',
      params: { changeStateTo: 'STOPPED' },
    })
    expect(await t.store.appo.operations.claim(operationId, 'another replica', 60_000)).toBe(true)
    const href = `${base}/app_lcm_op_occs/${operationId}`
    const before = await api().get(href)
    expect(before.body).toMatchObject({
      operationState: 'STARTING',
      isCancelPending: false,
      operationParams: { changeStateTo: 'STOPPED' },
      _links: { cancel: { href: `${href}/cancel` } },
    })
    expect(before.body.cancelMode).toBeUndefined()
    const reply = await api().post(`${href}/cancel`, { cancelMode: 'GRACEFUL' })
    expect(reply.status).toBe(202)
    expect((await api().get(href)).body).toMatchObject({
      operationState: 'STARTING',
      isCancelPending: true,
      cancelMode: 'FORCEFUL',
    })
  })

  it('refuses to operate an instance that is not started or stopped, and to terminate one not instantiated', async () => {
    const fresh = await create('face-3')
    const operate = await api().post(`${base}/app_instances/${fresh}/operate`, { changeStateTo: 'STOPPED' })
    expect(operate.status).toBe(409)
    expect(operate.body.detail).toContain('NOT_INSTANTIATED')
    expect((await api().post(`${base}/app_instances/${fresh}/terminate`, { terminationType: 'GRACEFUL' })).status).toBe(
      409,
    )
    for (const body of [{}, { changeStateTo: 'PAUSED' }, { changeStateTo: 'STARTED', stopType: 'GRACEFUL' }])
      expect((await api().post(`${base}/app_instances/${fresh}/operate`, body)).status).toBe(400)
    expect((await api().post(`${base}/app_instances/${fresh}/terminate`, { terminationType: 'SOON' })).status).toBe(400)
    expect(
      (await api().post(`${base}/app_instances/${fresh}/instantiate`, { vimConnectionInfo: [{ id: 'v' }] })).status,
    ).toBe(400)
    // nothing of it was recorded as an operation
    expect((await api().get(`${base}/app_lcm_op_occs?filter=(eq,appInstanceId,${fresh})`)).body).toEqual([])
    expect((await api().del(`${base}/app_instances/${fresh}`)).status).toBe(204)
  })

  it('runs the whole lifecycle as its edge reports, notifying the subscribers of what they asked for', async () => {
    const ops = await api().post(`${base}/subscriptions`, {
      subscriptionType: 'AppLcmOpOccStateChange',
      callbackUri: callbacks.url,
      appLcmOpOccSubscriptionFilter: {
        appInstanceSubscriptionFilter: { appInstSelectorType: 'APP_NAME', appInstances: ['face-4'] },
        operationTypes: ['INSTANTIATE', 'TERMINATE'],
      },
    })
    const states = await api().post(`${base}/subscriptions`, {
      subscriptionType: 'AppInstanceStateChange',
      callbackUri: callbacks.url,
      appInstanceState: ['STARTED', 'NOT_INSTANTIATED'],
      appInstanceSubscriptionFilter: {
        appInstSelectorType: 'APP_FROM_PROVIDER',
        appsFromProviders: [{ appProvider: 'Acme', appProducts: { appName: 'hello' } }],
      },
    })
    const failing = await api().post(`${base}/subscriptions`, {
      subscriptionType: 'AppLcmOpOccStateChange',
      callbackUri: callbacks.down,
      appLcmOpOccSubscriptionFilter: {
        appInstanceSubscriptionFilter: { appInstSelectorType: 'APP_NAME', appInstances: ['face-4'] },
      },
    })
    expect([ops.status, states.status, failing.status]).toEqual([201, 201, 201])
    const to = (subscription: Reply) => (n: Notification) => n.subscriptionId === subscription.body.id
    const id = await create('face-4')

    /** Starts an operation, lets the edge report it done, and waits for its end. */
    async function completes(path: string, body: unknown) {
      const reply = await api().post(`${base}/app_instances/${id}/${path}`, body)
      expect(reply.status).toBe(202)
      const operationId = idOf(reply)
      const ended = ends(operationId)
      await edgeReports(operationId, id)
      expect((await ended).state).toBe('COMPLETED')
      return operationId
    }

    // both hosts are selected, and only edge-b is in Berlin
    const instantiated = await completes('instantiate', {
      selectedMECHostInfo: [{ hostId: '10.0.0.1' }, { hostId: { mechostIp: '10.0.0.2' } }],
      locationConstraints: { countryCode: 'DE', civicAddressElement: [{ caType: 3, caValue: 'Berlin' }] },
    })
    expect(await hostOf(id)).toBe('10.0.0.2')
    // a failing callback is tried again later; deleting its subscription drops what is still queued
    await callbacks.next((n) => to(failing)(n) && n.appLcmOpOccId === instantiated)
    expect((await api().del(`${base}/subscriptions/${failing.body.id}`)).status).toBe(204)
    const queued = await t.store.packageSubscriptions.due(1000, '9999-12-31T00:00:00.000Z')
    expect(queued.filter((n) => (n.payload as Notification).subscriptionId === failing.body.id)).toEqual([])
    const started = await api().get(`${base}/app_instances/${id}`)
    expect(started.body).toMatchObject({
      instantiationState: 'INSTANTIATED',
      instantiatedAppState: { operationalState: 'STARTED' },
      _links: { terminate: {}, operate: {} },
    })
    expect(started.body._links.instantiate).toBeUndefined()
    const completed = await api().get(`${base}/app_lcm_op_occs/${instantiated}`)
    expect(completed.body).toMatchObject({ operationState: 'COMPLETED', isCancelPending: false })
    expect(completed.body.error).toBeUndefined()
    expect((await api().post(`${base}/app_instances/${id}/instantiate`)).status).toBe(409)
    expect((await api().del(`${base}/app_instances/${id}`)).status).toBe(409)
    expect((await api().post(`${base}/app_instances/${id}/operate`, { changeStateTo: 'STARTED' })).status).toBe(409)

    await completes('operate', { changeStateTo: 'STOPPED', stopType: 'GRACEFUL', gracefulStopTimeout: 5 })
    expect((await api().get(`${base}/app_instances/${id}`)).body.instantiatedAppState).toEqual({
      operationalState: 'STOPPED',
    })
    await completes('terminate', { terminationType: 'FORCEFUL' })
    expect((await api().get(`${base}/app_instances/${id}`)).body.instantiationState).toBe('NOT_INSTANTIATED')

    // each subscriber hears of its own kinds only: no OPERATE, no STOPPED
    for (const operation of ['INSTANTIATE', 'TERMINATE'])
      for (const state of ['PROCESSING', 'COMPLETED'])
        await callbacks.next((n) => to(ops)(n) && n.lcmOperation === operation && n.notificationType === state)
    await callbacks.next((n) => to(states)(n) && n.notificationType === 'NOT_INSTANTIATED')
    // each operation is told as it begins and as it ends
    expect(
      callbacks.received
        .filter(to(ops))
        .map((n) => `${n.lcmOperation} ${n.notificationType}`)
        .sort(),
    ).toEqual(['INSTANTIATE COMPLETED', 'INSTANTIATE PROCESSING', 'TERMINATE COMPLETED', 'TERMINATE PROCESSING'])
    const told = callbacks.received.filter(to(states))
    expect(told.map((n) => n.notificationType)).toEqual(['STARTED', 'NOT_INSTANTIATED'])
    expect(told[0]).toEqual({
      id: expect.stringMatching(uuid),
      notificationType: 'STARTED',
      subscriptionId: states.body.id,
      timeStamp,
      appInstanceId: id,
      appPkgId,
      appDId: 'hello-appd',
      _links: { subscription: { href: `${base}/subscriptions/${states.body.id}` } },
    })
    // the FAILED_TEMP subscription heard of the failed instantiates only: first, retried, cancelled
    expect(callbacks.received.filter((n) => n.subscriptionId === watcher).map((n) => n.notificationType)).toEqual([
      'FAILED_TEMP',
      'FAILED_TEMP',
      'FAILED_TEMP',
    ])

    expect((await api().del(`${base}/app_instances/${id}`)).status).toBe(204)
  })
})

describe('lifecycle subscription filters', () => {
  const facts: InstanceFacts = {
    appInstanceId: 'i-1',
    appInstanceName: 'face',
    appDId: 'face-appd',
    appProvider: 'Acme',
    appName: 'face',
    appSoftVersion: '2.0',
    appDVersion: '1.1',
  }

  it('selects instances by identity, name, appDId or provider, product and versions', () => {
    expect(selects(undefined, facts)).toBe(true)
    expect(selects({ appInstSelectorType: 'VOID' }, facts)).toBe(true)
    expect(selects({ appInstSelectorType: 'APP_IDENTITY', appInstances: ['i-2', 'i-1'] }, facts)).toBe(true)
    expect(selects({ appInstSelectorType: 'APP_IDENTITY', appInstances: ['i-2'] }, facts)).toBe(false)
    expect(selects({ appInstSelectorType: 'APP_NAME', appInstances: ['face'] }, facts)).toBe(true)
    expect(selects({ appInstSelectorType: 'APP_NAME', appInstances: ['face'] }, { appInstanceId: 'i-1' })).toBe(false)
    expect(selects({ appInstSelectorType: 'APP_D_ID', appInstances: ['face-appd'] }, facts)).toBe(true)
    expect(selects({ appInstSelectorType: 'APP_D_ID', appInstances: ['face'] }, facts)).toBe(false)
    const provider = (appsFromProviders: NonNullable<Parameters<typeof selects>[0]>['appsFromProviders']) =>
      selects({ appInstSelectorType: 'APP_FROM_PROVIDER', appsFromProviders }, facts)
    expect(provider([{ appProvider: 'Acme' }])).toBe(true)
    expect(provider([{ appProvider: 'Other' }])).toBe(false)
    expect(provider([{ appProvider: 'Acme', appProducts: { appName: 'body' } }])).toBe(false)
    expect(
      provider([{ appProvider: 'Acme', appProducts: { appName: 'face', versions: { appSoftVersion: '2.0' } } }]),
    ).toBe(true)
    expect(
      provider([
        {
          appProvider: 'Acme',
          appProducts: { appName: 'face', versions: { appSoftVersion: '2.0', appDVersion: ['1.0'] } },
        },
      ]),
    ).toBe(false)
    expect(
      provider([
        { appProvider: 'Other' },
        {
          appProvider: 'Acme',
          appProducts: { appName: 'face', versions: { appSoftVersion: '2.0', appDVersion: ['1.1'] } },
        },
      ]),
    ).toBe(true)
  })

  it('matches operations by state and type, and instance states by the state listed', () => {
    const op = { state: 'FAILED_TEMP', lcmOperation: 'INSTANTIATE' } as const
    expect(wantsOperation({}, op, facts)).toBe(true)
    expect(wantsOperation({ appLcmOpOccSubscriptionFilter: { operationStates: 'FAILED_TEMP' } }, op, facts)).toBe(true)
    expect(wantsOperation({ appLcmOpOccSubscriptionFilter: { operationStates: ['COMPLETED'] } }, op, facts)).toBe(false)
    expect(wantsOperation({ appLcmOpOccSubscriptionFilter: { operationTypes: 'TERMINATE' } }, op, facts)).toBe(false)
    expect(
      wantsOperation(
        {
          appLcmOpOccSubscriptionFilter: {
            operationTypes: ['INSTANTIATE'],
            appInstanceSubscriptionFilter: { appInstSelectorType: 'APP_IDENTITY', appInstances: ['i-9'] },
          },
        },
        op,
        facts,
      ),
    ).toBe(false)
    expect(wantsInstanceState({}, 'STOPPED', facts)).toBe(true)
    expect(wantsInstanceState({ appInstanceState: 'STARTED' }, 'STOPPED', facts)).toBe(false)
    expect(wantsInstanceState({ appInstanceState: ['STARTED', 'STOPPED'] }, 'STOPPED', facts)).toBe(true)
  })
})
