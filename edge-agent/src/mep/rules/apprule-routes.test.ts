import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { testAgent } from '../../testing/agent'
import { dns, rulesPackage, traffic } from './testing'

describe('the apprule interface on the local API', () => {
  let edge: Awaited<ReturnType<typeof testAgent>>
  let id: string
  const path = (instance = id) => `/apprule/v1/app_instances/${instance}/appd_configuration`
  const mp1 = (kind: 'traffic' | 'dns') =>
    edge.agent.store.mep.rules.list(id, kind).map((rule) => [rule.trafficRuleId ?? rule.dnsRuleId, rule.state])
  const reports = () =>
    edge.agent.store.outbox
      .after(0, 1000)
      .map((event) => event.body)
      .filter((body) => body.kind === 'mep.rules')

  beforeAll(async () => {
    edge = await testAgent()
    const added = await edge.call('POST', '/mepm/v1/packages', await rulesPackage(edge.dataDir))
    expect(added.status).toBe(201)
    const deployed = await edge.call('POST', '/mepm/v1/instances', { package: added.body.appPkgId, state: 'STOPPED' })
    expect(deployed.status).toBe(201)
    id = deployed.body.appInstanceId
    // deployed: the APPD's rules are the app's Mp1 rules
    await vi.waitFor(() => expect(mp1('dns')).toEqual([['d1', 'ACTIVE']]), { timeout: 10_000, interval: 50 })
  })
  afterAll(() => edge.close())

  it('needs the local admin session', async () => {
    const response = await fetch(edge.agent.url + path(), { method: 'GET' })
    expect(response.status).toBe(401)
    expect(response.headers.get('content-type')).toContain('application/problem+json')
  })

  it('adds rules with POST, and answers as EdgeGallery does', async () => {
    const reply = await edge.call('POST', path(), { appTrafficRule: [traffic('tr2')], appDnsRule: [dns('d2')] })
    expect(reply.status).toBe(201)
    expect(reply.body).toEqual({
      taskId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      appInstanceId: id,
      configResult: 'SUCCESS',
      configPhase: '0',
      detailed: '',
    })
    expect(mp1('traffic')).toEqual([
      ['tr1', 'ACTIVE'],
      ['tr2', 'ACTIVE'],
    ])
    expect(mp1('dns')).toEqual([
      ['d1', 'ACTIVE'],
      ['d2', 'ACTIVE'],
    ])
    // a second POST adds to what is there, replacing by id
    await edge.call('POST', path(), { appDNSRule: [dns('d2', '10.2.2.2'), dns('d3')] })
    expect(
      (await edge.call('GET', path())).body.appDNSRule.map((rule: { ipAddress: string }) => rule.ipAddress),
    ).toEqual(['10.2.2.2', '10.0.0.1'])
    expect(edge.agent.store.rules.get(id)?.taskId).toBeTruthy()
    // the center hears of the rule set made here, with the states
    expect(reports().at(-1)).toMatchObject({
      appInstanceId: id,
      dnsRules: [
        { dnsRuleId: 'd1', state: 'ACTIVE' },
        { dnsRuleId: 'd2', state: 'ACTIVE' },
        { dnsRuleId: 'd3', state: 'ACTIVE' },
      ],
      configuration: { appDNSRule: [{ dnsRuleId: 'd2' }, { dnsRuleId: 'd3' }] },
    })
  })

  it('replaces the rule set with PUT, keeping the state an app gave a rule', async () => {
    edge.agent.store.mep.rules.put(id, 'dns', 'd3', { ...dns('d3'), state: 'INACTIVE' })
    const reply = await edge.call('PUT', path(), { appDNSRule: [dns('d3', '10.3.3.3')] })
    expect(reply.status).toBe(200)
    expect(reply.body.configResult).toBe('SUCCESS')
    expect(mp1('traffic')).toEqual([['tr1', 'ACTIVE']])
    expect(mp1('dns')).toEqual([
      ['d1', 'ACTIVE'],
      ['d3', 'INACTIVE'],
    ])
    expect((await edge.call('GET', path())).body).toEqual({
      appSupportMp1: true,
      appTrafficRule: [],
      appDNSRule: [dns('d3', '10.3.3.3')],
    })
  })

  it('removes rules by id with DELETE, and all of those set here with no body', async () => {
    await edge.call('PUT', path(), { appTrafficRule: [traffic('tr2')], appDNSRule: [dns('d2'), dns('d3')] })
    const reply = await edge.call('DELETE', path(), { appTrafficRule: [], appDNSRule: ['d3', 'unknown'] })
    expect(reply.status).toBe(204)
    expect(mp1('dns').map(([ruleId]) => ruleId)).toEqual(['d1', 'd2'])
    expect(mp1('traffic').map(([ruleId]) => ruleId)).toEqual(['tr1', 'tr2'])

    expect((await edge.call('DELETE', path())).status).toBe(204)
    expect((await edge.call('GET', path())).body).toMatchObject({ appTrafficRule: [], appDNSRule: [] })
    // the package's rules stay: they are the instance's own
    expect(mp1('traffic')).toEqual([['tr1', 'ACTIVE']])
    expect(reports().at(-1)?.configuration).toMatchObject({ appTrafficRule: [], appDNSRule: [] })
  })

  it('refuses bad fields, listing each, and more rules than AppRuleConfigDto allows', async () => {
    const bad = await edge.call('PUT', path(), {
      appDNSRule: [{ dnsRuleId: 'x', domainName: 'not a domain', ipAddressType: 'IP_V5', ipAddress: '10.0.0.1' }],
    })
    expect(bad.status).toBe(400)
    expect(bad.body.errors.map((error: { path: string }) => error.path)).toEqual([
      'body.appDNSRule.0.domainName',
      'body.appDNSRule.0.ipAddressType',
    ])
    const many = await edge.call('POST', path(), {
      appTrafficRule: Array.from({ length: 17 }, (_, i) => traffic(`t${i}`)),
      appDNSRule: Array.from({ length: 33 }, (_, i) => dns(`n${i}`)),
    })
    expect(many.status).toBe(400)
    expect(many.body.errors).toEqual([
      { path: 'body.appTrafficRule', message: 'at most 16 traffic rules' },
      { path: 'body.appDNSRule', message: 'at most 32 DNS rules' },
    ])
    expect((await edge.call('DELETE', path(), { appDNSRule: 'd1' })).status).toBe(400)
    const broken = await fetch(edge.agent.url + path(), {
      method: 'PUT',
      headers: { authorization: `Bearer ${edge.token}` },
      body: '{',
    })
    expect(broken.status).toBe(400)
  })

  it('answers 404 for an instance not on this host', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'DELETE']) {
      const reply = await edge.call(method, path(randomUUID()), method === 'GET' ? undefined : { appDNSRule: [] })
      expect(reply.status).toBe(404)
    }
  })
})
