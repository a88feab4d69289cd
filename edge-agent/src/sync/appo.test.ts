import { dialects } from '@mecm/center/testing'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { freePort } from '../testing/apps'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'

describe.each(dialects)('orchestration on %s: one instance through its lifecycle', (dialect) => {
  let fleet: TestFleet
  beforeAll(async () => {
    fleet = await testFleet(dialect)
  })
  afterAll(() => fleet.close())

  const appo = (path: string) => `/appo/v1/tenants/${fleet.operator.tenantId}${path}`
  const settled = async (operationId: string) => {
    let body: { operationState: string; error: unknown } = { operationState: '', error: null }
    await vi.waitFor(async () => {
      body = (await fleet.call('GET', appo(`/operations/${operationId}`))).body
      expect(['COMPLETED', 'FAILED_TEMP', 'FAILED']).toContain(body.operationState)
    }, WAIT)
    return body
  }

  it('creates, instantiates, configures rules, queries and terminates through /appo/v1', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const created = await fleet.call('POST', appo('/app_instances'), {
      appPackageId: appPkgId,
      appName: 'hello-one',
      appInstanceDescription: 'a test',
      mecHost: edge.ip,
    })
    expect(created.status).toBe(202)
    const id = created.body.response.app_instance_id as string
    expect(await settled(created.body.response.operationId)).toMatchObject({ operationState: 'COMPLETED' })

    const port = await freePort()
    const instantiated = await fleet.call('POST', appo(`/app_instances/${id}`), { parameters: { PORT: String(port) } })
    expect(instantiated.status).toBe(202)
    const busy = await fleet.call('POST', appo(`/app_instances/${id}/appd_configuration`), {
      appTrafficRule: [],
      appDNSRule: [],
    })
    expect(busy.status).toBe(409)
    expect(await settled(instantiated.body.response.operationId)).toMatchObject({ operationState: 'COMPLETED' })
    expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(id)
    const info = await fleet.call('GET', appo(`/app_instance_infos/${id}`))
    expect(info.body.response).toMatchObject({ operationalStatus: 'Instantiated', status: 'STARTED', mecHost: edge.ip })

    const rule = await fleet.call('POST', appo(`/app_instances/${id}/appd_configuration`), {
      appDNSRule: [{ dnsRuleId: 'dns1', domainName: 'hello.example', ipAddressType: 'IP_V4', ipAddress: '10.1.1.1' }],
    })
    expect(rule.status).toBe(202)
    const taskId = rule.body.response.apprule_task_id
    await vi.waitFor(async () => {
      const task = await fleet.call('GET', appo(`/apprule_task_infos/${taskId}`))
      expect(task.body.response.configResult).toBe('SUCCESS')
    }, WAIT)
    const mirror = await fleet.call(
      'GET',
      `/inventory/v1/tenants/${fleet.operator.tenantId}/app_instances/${id}/appd_configuration`,
    )
    expect(mirror.body.appDNSRule).toEqual([expect.objectContaining({ dnsRuleId: 'dns1' })])

    const live = await fleet.call('GET', appo(`/app_instances/${id}`))
    expect(live.status).toBe(200)

    const terminated = await fleet.call('DELETE', appo(`/app_instances/${id}`))
    expect(terminated.status).toBe(202)
    expect(await settled(terminated.body.response.operationId)).toMatchObject({ operationState: 'COMPLETED' })
    expect((await fleet.call('GET', appo(`/app_instance_infos/${id}`))).status).toBe(404)
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
  })
})
