import { DnsRule, TrafficRule } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { openAgentStore } from '../../store/store'
import { mp1DnsRule, mp1TrafficRule } from '../rules/convert'
import { serveAppSupport } from './testing'

const store = openAgentStore(':memory:')
const rulesChanged = vi.fn()
let api: Awaited<ReturnType<typeof serveAppSupport>>
beforeAll(async () => {
  api = await serveAppSupport({ store, log: createLogger('silent'), rulesChanged })
})
afterAll(() => {
  api.close()
  store.close()
})

/** The examples' APPD rules as Mp1 serves them. */
const trafficRule = mp1TrafficRule(TrafficRule.parse(examples.trafficRule))
const dnsRule = mp1DnsRule(DnsRule.parse(examples.dnsRule))
/** An app with one traffic and one DNS rule, as the APPD gives them (or `traffic` for the traffic one). */
function appWithRules(traffic = trafficRule) {
  const app = api.app()
  store.mep.rules.replace(app.id, [
    { kind: 'traffic', ruleId: traffic.trafficRuleId, record: traffic },
    { kind: 'dns', ruleId: dnsRule.dnsRuleId, record: dnsRule },
  ])
  return app
}
/** The fields a 400 names, sorted. */
const badFields = (answer: { body: { errors: { path: string }[] } }) => answer.body.errors.map((e) => e.path).sort()
const subscriptionBody = (appInstanceId: string) => ({
  subscriptionType: 'AppTerminationNotificationSubscription',
  callbackReference: 'http://127.0.0.1:9/terminating',
  appInstanceId,
})

describe('app support access', () => {
  const routes: [string, (id: string) => string, unknown?][] = [
    ['GET', (id) => `/applications/${id}/traffic_rules`],
    ['GET', (id) => `/applications/${id}/traffic_rules/${trafficRule.trafficRuleId}`],
    ['PUT', (id) => `/applications/${id}/traffic_rules/${trafficRule.trafficRuleId}`, trafficRule],
    ['GET', (id) => `/applications/${id}/dns_rules`],
    ['GET', (id) => `/applications/${id}/dns_rules/${dnsRule.dnsRuleId}`],
    ['PUT', (id) => `/applications/${id}/dns_rules/${dnsRule.dnsRuleId}`, dnsRule],
    ['GET', (id) => `/applications/${id}/subscriptions`],
    ['POST', (id) => `/applications/${id}/subscriptions`, subscriptionBody(examples.appInstanceId)],
    ['GET', (id) => `/applications/${id}/subscriptions/some-subscription`],
    ['DELETE', (id) => `/applications/${id}/subscriptions/some-subscription`],
    ['POST', (id) => `/applications/${id}/confirm_ready`, { indication: 'READY' }],
    ['POST', (id) => `/applications/${id}/confirm_termination`, { operationAction: 'TERMINATING' }],
  ]

  it.each(routes)('%s %s: 403 on another app, 401 without or with a bad token', async (method, path, body) => {
    const me = api.app()
    const other = appWithRules()
    const foreign = await me.call(method, path(other.id), body)
    expect(foreign.status).toBe(403)
    expect(foreign.headers.get('content-type')).toBe('application/problem+json')
    expect(foreign.body).toMatchObject({
      status: 403,
      detail: `app instance ${me.id} may not act for app instance ${other.id}`,
    })
    expect((await api.call(undefined, method, path(other.id), body)).status).toBe(401)
    expect((await api.call('not-a-token', method, path(other.id), body)).body).toMatchObject({
      status: 401,
      detail: 'the access token is unknown, expired, or its app instance is gone',
    })
    // nothing of the other app changed
    expect(store.mep.subscriptions.list('mec_app_support', other.id)).toEqual([])
    expect(store.mep.apps.lifecycle(other.id).readyAt).toBeNull()
  })

  it('answers the timing resources only with a token', async () => {
    expect((await api.call(undefined, 'GET', '/timing/current_time')).status).toBe(401)
    expect((await api.call(undefined, 'GET', '/timing/timing_caps')).status).toBe(401)
  })
})

describe.each([
  {
    path: 'traffic_rules',
    id: 'trafficRuleId',
    rule: trafficRule as Record<string, unknown>,
    kind: 'traffic' as const,
  },
  { path: 'dns_rules', id: 'dnsRuleId', rule: dnsRule as Record<string, unknown>, kind: 'dns' as const },
])('$path', ({ path, id, rule, kind }) => {
  const ruleId = rule[id] as string

  it('lists the app’s rules and gives one, 404 for a rule it does not have', async () => {
    const app = appWithRules()
    expect(await app.call('GET', `/applications/${app.id}/${path}`)).toMatchObject({ status: 200, body: [rule] })
    expect(await app.call('GET', `/applications/${app.id}/${path}/${ruleId}`)).toMatchObject({
      status: 200,
      body: rule,
    })
    const missing = await app.call('GET', `/applications/${app.id}/${path}/nope`)
    expect(missing).toMatchObject({ status: 404, body: { detail: `app instance ${app.id} has no ${kind} rule nope` } })
  })

  it('an empty list for an app without rules', async () => {
    const app = api.app()
    expect(await app.call('GET', `/applications/${app.id}/${path}`)).toMatchObject({ status: 200, body: [] })
  })

  it('PUT switches the rule’s state, keeps it and tells the center’s reporter once', async () => {
    const app = appWithRules()
    rulesChanged.mockClear()
    const inactive = { ...rule, state: 'INACTIVE' }
    const put = await app.call('PUT', `/applications/${app.id}/${path}/${ruleId}`, inactive)
    expect(put).toMatchObject({ status: 200, body: inactive })
    expect(store.mep.rules.get(app.id, kind, ruleId)).toEqual(inactive)
    expect(rulesChanged.mock.calls).toEqual([[app.id]])
    // the same rule again changes nothing
    expect((await app.call('PUT', `/applications/${app.id}/${path}/${ruleId}`, inactive)).status).toBe(200)
    expect(rulesChanged).toHaveBeenCalledTimes(1)
  })

  it('PUT: 400 for another rule’s id, listing the field; 404 for an unknown rule', async () => {
    const app = appWithRules()
    const mismatch = await app.call('PUT', `/applications/${app.id}/${path}/${ruleId}`, { ...rule, [id]: 'other' })
    expect(mismatch).toMatchObject({
      status: 400,
      body: { errors: [{ path: `body.${id}`, message: `must be ${ruleId}` }] },
    })
    const unknown = await app.call('PUT', `/applications/${app.id}/${path}/other`, { ...rule, [id]: 'other' })
    expect(unknown.status).toBe(404)
    expect(store.mep.rules.list(app.id, kind)).toEqual([rule])
  })

  it('PUT: 400 for a body that is not JSON', async () => {
    const app = appWithRules()
    const answer = await app.call('PUT', `/applications/${app.id}/${path}/${ruleId}`, '{"state": ')
    expect(answer).toMatchObject({ status: 400, body: { detail: 'the request body is not valid JSON' } })
  })
})

describe('PUT a rule with bad fields', () => {
  it('lists each bad field of a traffic rule', async () => {
    const app = appWithRules()
    const { priority: _, ...withoutPriority } = trafficRule
    const answer = await app.call('PUT', `/applications/${app.id}/traffic_rules/${trafficRule.trafficRuleId}`, {
      ...withoutPriority,
      action: 'TELEPORT',
      state: 'ON',
    })
    expect(answer.status).toBe(400)
    expect(badFields(answer)).toEqual(['body.action', 'body.priority', 'body.state'])
    expect(store.mep.rules.get(app.id, 'traffic', trafficRule.trafficRuleId)).toEqual(trafficRule)
  })

  it('lists each bad field of a DNS rule', async () => {
    const app = appWithRules()
    const answer = await app.call('PUT', `/applications/${app.id}/dns_rules/${dnsRule.dnsRuleId}`, {
      ...dnsRule,
      ipAddress: 'not-an-ip',
      ipAddressType: 'IP_V5',
    })
    expect(answer.status).toBe(400)
    expect(badFields(answer)).toEqual(['body.ipAddress', 'body.ipAddressType'])
  })

  it('refuses a rule in the APPD’s shape, naming each field', async () => {
    const app = appWithRules()
    rulesChanged.mockClear()
    const appdShape = {
      ...examples.trafficRule,
      action: 'FORWARD_AS_IS',
      trafficFilter: [{ ...examples.trafficRule.trafficFilter[0], tag: ['t1'] }],
      state: 'INACTIVE',
    }
    const answer = await app.call(
      'PUT',
      `/applications/${app.id}/traffic_rules/${trafficRule.trafficRuleId}`,
      appdShape,
    )
    expect(answer.status).toBe(400)
    expect(answer.body.errors).toEqual([
      { path: 'body.trafficFilter.0', message: 'Unrecognized key: "tag"' },
      { path: 'body.action', message: expect.stringContaining('FORWARD_ENCAPSULATED') },
      { path: 'body.dstInterface', message: expect.stringContaining('object') },
    ])
    expect(store.mep.rules.get(app.id, 'traffic', trafficRule.trafficRuleId)).toEqual(trafficRule)
    expect(rulesChanged).not.toHaveBeenCalled()
  })
})

describe('a rule read, changed and written back', () => {
  it('is taken with all its Mp1 fields, and read back as written', async () => {
    const tunnelled = mp1TrafficRule(
      TrafficRule.parse({
        ...examples.trafficRule,
        action: 'DUPLICATE_AS_IS',
        trafficFilter: [{ tag: ['t1'], dstTunnelAddress: ['10.1.1.1'], srcTunnelPort: ['2152'], qCI: 9 }],
        dstInterface: [{ interfaceType: 'TUNNEL', tunnelInfo: { tunnelType: 'GTP_U', tunnelDstAddress: '10.2.2.2' } }],
      }),
    )
    const app = appWithRules(tunnelled)
    rulesChanged.mockClear()
    const path = `/applications/${app.id}/traffic_rules/${tunnelled.trafficRuleId}`
    const read = await app.call('GET', path)
    expect(read.body).toMatchObject({
      action: 'DUPLICATE_ENCAPSULATED',
      trafficFilter: [{ token: ['t1'], tgtTunnelAddress: ['10.1.1.1'] }],
    })

    const written = await app.call('PUT', path, { ...read.body, state: 'INACTIVE' })
    expect(written).toMatchObject({ status: 200, body: { ...tunnelled, state: 'INACTIVE' } })
    expect((await app.call('GET', path)).body).toEqual({ ...tunnelled, state: 'INACTIVE' })
    expect(rulesChanged.mock.calls).toEqual([[app.id]])
  })

  it('honours If-Match: 412 when the rule changed since it was read', async () => {
    const app = appWithRules()
    const path = `/applications/${app.id}/traffic_rules/${trafficRule.trafficRuleId}`
    const read = await app.call('GET', path)
    const tag = read.headers.get('etag') as string
    expect(tag).toMatch(/^"[\w-]+"$/)
    const put = (state: string, ifMatch: string) =>
      fetch(`${api.url}/mec_app_support/v1${path}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${app.token}`, 'content-type': 'application/json', 'if-match': ifMatch },
        body: JSON.stringify({ ...trafficRule, state }),
      })
    const first = await put('INACTIVE', tag)
    expect(first.status).toBe(200)
    const stale = await put('ACTIVE', tag)
    expect(stale.status).toBe(412)
    expect(((await stale.json()) as { detail: string }).detail).toContain('has changed: its ETag is')
    expect(store.mep.rules.get(app.id, 'traffic', trafficRule.trafficRuleId)).toMatchObject({ state: 'INACTIVE' })
    expect((await put('ACTIVE', first.headers.get('etag') as string)).status).toBe(200)
  })

  it('changes nothing but the state: what a rule does is the package’s and the operator’s', async () => {
    const app = appWithRules()
    rulesChanged.mockClear()
    const path = `/applications/${app.id}/traffic_rules/${trafficRule.trafficRuleId}`
    const answer = await app.call('PUT', path, { ...trafficRule, priority: 200, state: 'INACTIVE' })
    expect(answer).toMatchObject({
      status: 400,
      body: { detail: expect.stringContaining('only the state of traffic rule') },
    })
    expect(store.mep.rules.get(app.id, 'traffic', trafficRule.trafficRuleId)).toEqual(trafficRule)
    expect(rulesChanged).not.toHaveBeenCalled()
  })
})

describe('subscriptions to the app’s termination', () => {
  it('creates one (201, Location), lists it, gives it and deletes it', async () => {
    const app = api.app()
    const created = await app.call('POST', `/applications/${app.id}/subscriptions`, subscriptionBody(app.id))
    const href = created.headers.get('location')
    expect(href).toMatch(new RegExp(`^/mec_app_support/v1/applications/${app.id}/subscriptions/[0-9a-f-]{36}$`))
    expect(created).toMatchObject({ status: 201, body: { ...subscriptionBody(app.id), _links: { self: { href } } } })

    const list = await app.call('GET', `/applications/${app.id}/subscriptions`)
    expect(list).toMatchObject({
      status: 200,
      body: {
        _links: {
          self: { href: `/mec_app_support/v1/applications/${app.id}/subscriptions` },
          subscriptions: [{ href, rel: 'AppTerminationNotificationSubscription' }],
        },
      },
    })
    expect(await app.call('GET', href as string)).toEqual(expect.objectContaining({ status: 200, body: created.body }))
    expect((await app.call('DELETE', href as string)).status).toBe(204)
    expect((await app.call('GET', href as string)).status).toBe(404)
    expect((await app.call('DELETE', href as string)).status).toBe(404)
    expect((await app.call('GET', `/applications/${app.id}/subscriptions`)).body._links.subscriptions).toEqual([])
  })

  it('400 listing each bad field, and for another app’s termination', async () => {
    const app = api.app()
    const bad = await app.call('POST', `/applications/${app.id}/subscriptions`, {
      subscriptionType: 'SerAvailabilityNotificationSubscription',
      callbackReference: 'ftp://example.com/x',
      appInstanceId: app.id,
    })
    expect(bad.status).toBe(400)
    expect(badFields(bad)).toEqual(['body.callbackReference', 'body.subscriptionType'])
    const foreign = await app.call('POST', `/applications/${app.id}/subscriptions`, subscriptionBody(api.app().id))
    expect(foreign).toMatchObject({ status: 400, body: { errors: [{ path: 'body.appInstanceId' }] } })
    expect(store.mep.subscriptions.list('mec_app_support', app.id)).toEqual([])
  })

  it('404 for another app’s subscription asked for on one’s own path, or a service management one', async () => {
    const app = api.app()
    const other = api.app()
    const theirs = await other.call('POST', `/applications/${other.id}/subscriptions`, subscriptionBody(other.id))
    const id = (theirs.headers.get('location') as string).split('/').pop()
    expect((await app.call('GET', `/applications/${app.id}/subscriptions/${id}`)).status).toBe(404)
    expect((await app.call('DELETE', `/applications/${app.id}/subscriptions/${id}`)).status).toBe(404)
    const serviceMgmt = store.mep.subscriptions.add(app.id, 'mec_service_mgmt', {
      subscriptionType: 'SerAvailabilityNotificationSubscription',
      callbackReference: 'http://127.0.0.1:9/x',
    })
    expect((await app.call('GET', `/applications/${app.id}/subscriptions/${serviceMgmt.subscriptionId}`)).status).toBe(
      404,
    )
    expect(store.mep.subscriptions.list('mec_app_support', other.id)).toHaveLength(1)
  })
})

describe('confirmations', () => {
  it('confirm_ready records when the app said it was ready, with or without a body', async () => {
    const app = api.app()
    const before = new Date().toISOString()
    expect((await app.call('POST', `/applications/${app.id}/confirm_ready`, { indication: 'READY' })).status).toBe(204)
    expect((store.mep.apps.lifecycle(app.id).readyAt ?? '') >= before).toBe(true)
    const bare = api.app()
    expect((await bare.call('POST', `/applications/${bare.id}/confirm_ready`)).status).toBe(204)
    expect(store.mep.apps.lifecycle(bare.id).readyAt).not.toBeNull()
  })

  it('confirm_ready: 400 for another indication', async () => {
    const app = api.app()
    const answer = await app.call('POST', `/applications/${app.id}/confirm_ready`, { indication: 'SOON' })
    expect(answer).toMatchObject({ status: 400, body: { errors: [{ path: 'body.indication' }] } })
    expect(store.mep.apps.lifecycle(app.id).readyAt).toBeNull()
  })

  it('confirm_termination: 409 when no termination is under way, 400 for a bad action', async () => {
    const app = api.app()
    const answer = await app.call('POST', `/applications/${app.id}/confirm_termination`, {
      operationAction: 'TERMINATING',
    })
    expect(answer).toMatchObject({
      status: 409,
      body: { detail: `no termination or stop of app instance ${app.id} is under way` },
    })
    const bad = await app.call('POST', `/applications/${app.id}/confirm_termination`, { operationAction: 'PAUSING' })
    expect(bad).toMatchObject({ status: 400, body: { errors: [{ path: 'body.operationAction' }] } })
  })
})

describe('timing', () => {
  const closeToNow = (answer: { seconds: number; nanoSeconds: number }) => {
    const ms = answer.seconds * 1000 + answer.nanoSeconds / 1e6
    expect(Math.abs(ms - Date.now())).toBeLessThan(5000)
    expect(answer.nanoSeconds).toBeGreaterThanOrEqual(0)
    expect(answer.nanoSeconds).toBeLessThan(1e9)
  }

  it('current_time: the host clock, not traceable to UTC', async () => {
    const answer = await api.call(api.app().token, 'GET', '/timing/current_time')
    expect(answer).toMatchObject({ status: 200, body: { timeSourceStatus: 'NONTRACEABLE' } })
    closeToNow(answer.body)
  })

  it('timing_caps: a time stamp, and no NTP servers or PTP masters offered', async () => {
    const answer = await api.call(api.app().token, 'GET', '/timing/timing_caps')
    expect(answer).toMatchObject({ status: 200, body: { ntpServers: [], ptpMasters: [] } })
    closeToNow(answer.body.timeStamp)
  })
})
