import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Plugin } from '../../lcm/plugin'
import { reconciler } from '../../lcm/reconciler'
import { openAgentStore } from '../../store/store'
import { appTermination } from './termination'
import { serveAppSupport } from './testing'

const store = openAgentStore(':memory:')
const log = createLogger('silent')

/** The apps' side: a callback server that keeps every notification it gets. */
const notifications: { path: string; body: Record<string, unknown>; at: number }[] = []
let callbacks: Server
let callbackUrl: string
beforeAll(async () => {
  callbacks = createServer(async (request, response) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    notifications.push({ path: request.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()), at: Date.now() })
    response.writeHead(204).end()
  })
  await new Promise<void>((resolve) => callbacks.listen(0, '127.0.0.1', resolve))
  callbackUrl = `http://127.0.0.1:${(callbacks.address() as AddressInfo).port}`
})
const told = (appInstanceId: string) => notifications.filter((n) => n.path === `/${appInstanceId}`)

/** The MEP and the reconciler sharing one termination, with a plugin that records what it was asked. */
async function platform(gracefulTimeoutMs: number) {
  const termination = appTermination({ store, log, gracefulTimeoutMs })
  const api = await serveAppSupport({ store, log, termination })
  const calls: { call: string; at: number }[] = []
  const record = async (call: string) => void calls.push({ call, at: Date.now() })
  const plugin: Plugin = {
    kind: 'exec',
    instantiate: async () => {},
    start: async () => {},
    stop: (id) => record(`stop ${id}`),
    terminate: (id) => record(`terminate ${id}`),
    observe: async () => ({ state: 'running', healthy: true, detail: 'pid 1' }),
    logs: async function* () {},
  }
  const lcm = reconciler({
    store,
    plugin,
    prepare: () => Promise.reject(new Error('not needed to stop or terminate')),
    log,
    halting: termination.halting,
  })
  /** A running app, subscribed to its termination (at its own callback path) unless told otherwise. */
  async function runningApp(callbackReference: string | null = callbackUrl) {
    const app = api.app()
    store.desired.put(app.instance, 'center')
    for (const status of ['INSTANTIATING', 'STARTED'] as const)
      store.observed.record(app.id, status, { generation: 1, operationId: null })
    if (callbackReference) {
      const subscribed = await app.call('POST', `/applications/${app.id}/subscriptions`, {
        subscriptionType: 'AppTerminationNotificationSubscription',
        callbackReference: `${callbackReference}/${app.id}`,
        appInstanceId: app.id,
      })
      expect(subscribed.status).toBe(201)
      return { ...app, subscription: subscribed.headers.get('location') as string }
    }
    return { ...app, subscription: '' }
  }
  /** Asks for the instance in `targetState` and runs the reconciler on it. */
  const want = (app: Awaited<ReturnType<typeof runningApp>>, targetState: 'STOPPED' | 'NOT_INSTANTIATED') => {
    store.desired.put({ ...app.instance, targetState, generation: 2 }, 'center')
    return lcm.reconcile(app.id)
  }
  const callsFor = (id: string) => calls.filter((c) => c.call.endsWith(id)).map((c) => c.call)
  return { termination, api, calls, callsFor, runningApp, want }
}

let patient: Awaited<ReturnType<typeof platform>>
let hasty: Awaited<ReturnType<typeof platform>>
beforeAll(async () => {
  patient = await platform(20_000)
  hasty = await platform(600)
})
afterAll(() => {
  patient.api.close()
  hasty.api.close()
  patient.termination.close()
  hasty.termination.close()
  callbacks.close()
  store.close()
})

describe('app termination notifications', () => {
  it('tells a subscribed app it is being terminated, and terminates it once it confirms', async () => {
    const app = await patient.runningApp()
    const terminated = patient.want(app, 'NOT_INSTANTIATED')
    await vi.waitFor(() => expect(told(app.id)).toHaveLength(1))
    expect(told(app.id)[0]?.body).toEqual({
      notificationType: 'AppTerminationNotification',
      operationAction: 'TERMINATING',
      maxGracefulTimeout: 20,
      _links: {
        subscription: { href: app.subscription },
        confirmTermination: { href: `/mec_app_support/v1/applications/${app.id}/confirm_termination` },
      },
    })
    // the app has its time: nothing is terminated until it confirms
    expect(store.observed.get(app.id)?.status).toBe('TERMINATING')
    expect(patient.callsFor(app.id)).toEqual([])
    expect(store.mep.apps.lifecycle(app.id)).toMatchObject({ terminationAction: 'TERMINATING' })

    const wrongAction = await app.call('POST', `/applications/${app.id}/confirm_termination`, {
      operationAction: 'STOPPING',
    })
    expect(wrongAction).toMatchObject({
      status: 409,
      body: { detail: `app instance ${app.id} is TERMINATING, not STOPPING` },
    })
    const confirmed = await app.call('POST', `/applications/${app.id}/confirm_termination`, {
      operationAction: 'TERMINATING',
    })
    expect(confirmed.status).toBe(204)
    await terminated
    expect(patient.callsFor(app.id)).toEqual([`terminate ${app.id}`])
    expect(store.observed.get(app.id)).toBeUndefined()
    // the terminated app's token no longer works
    expect((await app.call('POST', `/applications/${app.id}/confirm_termination`)).status).toBe(401)
  })

  it('tells a subscribed app it is being stopped, and stops it after the graceful timeout when it does not confirm', async () => {
    const app = await hasty.runningApp()
    const started = Date.now()
    await hasty.want(app, 'STOPPED')
    expect(told(app.id).map((n) => n.body)).toEqual([
      expect.objectContaining({ operationAction: 'STOPPING', maxGracefulTimeout: 1 }),
    ])
    expect(hasty.callsFor(app.id)).toEqual([`stop ${app.id}`])
    expect((hasty.calls.find((c) => c.call === `stop ${app.id}`)?.at ?? 0) - started).toBeGreaterThanOrEqual(590)
    expect(store.observed.get(app.id)?.status).toBe('STOPPED')
    // once stopped, nothing is under way any more
    const late = await app.call('POST', `/applications/${app.id}/confirm_termination`, { operationAction: 'STOPPING' })
    expect(late.status).toBe(409)
    expect(store.mep.apps.lifecycle(app.id)).toEqual({
      readyAt: null,
      terminationAction: 'STOPPING',
      terminationConfirmedAt: null,
    })
  })

  it('a confirmation without a body ends the wait of a stop, and is recorded', async () => {
    const app = await patient.runningApp()
    const stopped = patient.want(app, 'STOPPED')
    await vi.waitFor(() => expect(told(app.id)).toHaveLength(1))
    expect((await app.call('POST', `/applications/${app.id}/confirm_termination`)).status).toBe(204)
    await stopped
    expect(patient.callsFor(app.id)).toEqual([`stop ${app.id}`])
    expect(store.mep.apps.lifecycle(app.id).terminationConfirmedAt).not.toBeNull()
  })

  it('does not wait for an app that did not subscribe, or whose callback cannot be reached', async () => {
    const quiet = await patient.runningApp(null)
    const unreachable = await patient.runningApp('http://127.0.0.1:9')
    const started = Date.now()
    await Promise.all([patient.want(quiet, 'NOT_INSTANTIATED'), patient.want(unreachable, 'STOPPED')])
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(patient.callsFor(quiet.id)).toEqual([`terminate ${quiet.id}`])
    expect(patient.callsFor(unreachable.id)).toEqual([`stop ${unreachable.id}`])
    expect(told(quiet.id)).toEqual([])
  })

  it('stops waiting when the agent closes', async () => {
    // longer than the test may take: only close() can end this wait
    const termination = appTermination({ store, log, gracefulTimeoutMs: 60_000 })
    const app = await patient.runningApp()
    const waiting = termination.halting(app.id, 'TERMINATING')
    await vi.waitFor(() => expect(told(app.id)).toHaveLength(1))
    termination.close()
    await waiting
    // and tells no one any more
    await termination.halting(app.id, 'STOPPING')
    expect(told(app.id)).toHaveLength(1)
  })
})
