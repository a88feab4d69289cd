import { dialects } from '@mecm/center/testing'
import type { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { freePort } from '../testing/apps'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'
import { localSealer } from './local-key'

describe.each(dialects)('orchestration on %s: one instance through its lifecycle', (dialect) => {
  let fleet: TestFleet
  beforeAll(async () => {
    fleet = await testFleet(dialect)
  })
  afterAll(() => fleet.close())

  it('creates, instantiates, configures rules, queries and terminates through /appo/v1', async () => {
    const edge = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const created = await fleet.call('POST', fleet.appo('/app_instances'), {
      appPackageId: appPkgId,
      appName: 'hello-one',
      appInstanceDescription: 'a test',
      mecHost: edge.ip,
    })
    expect(created.status).toBe(202)
    const id = created.body.response.app_instance_id as string
    expect(await fleet.settled(created.body.response.operationId)).toMatchObject({ operationState: 'COMPLETED' })

    const port = await freePort()
    const instantiated = await fleet.call('POST', fleet.appo(`/app_instances/${id}`), {
      parameters: { PORT: String(port), sk: 'appo-secret-key' },
    })
    expect(instantiated.status).toBe(202)
    const busy = await fleet.call('POST', fleet.appo(`/app_instances/${id}/appd_configuration`), {
      appTrafficRule: [],
      appDNSRule: [],
    })
    expect(busy.status).toBe(409)
    expect(await fleet.settled(instantiated.body.response.operationId)).toMatchObject({ operationState: 'COMPLETED' })
    // started means its process runs (hello has no health check): it answers once it listens
    await vi.waitFor(async () => expect(await (await fetch(`http://127.0.0.1:${port}/`)).text()).toBe(id), WAIT)
    const info = await fleet.call('GET', fleet.appo(`/app_instance_infos/${id}`))
    expect(info.body.response).toMatchObject({ operationalStatus: 'Instantiated', status: 'STARTED', mecHost: edge.ip })
    // the secret key is sealed at the center (records, operations, the edge's queue) and reaches the app
    const kept = await fleet.t.store.edgeOutbox.desired<DesiredInstance>(edge.hostId, 'instance', id)
    expect(kept?.record.parameters.sk).toMatch(/^sealed:v1\./)
    const sealedOp = await fleet.t.store.appo.operations.get(instantiated.body.response.operationId)
    expect(JSON.stringify(sealedOp)).not.toContain('appo-secret-key')
    expect(JSON.stringify(await fleet.t.store.appo.instances.get(id, fleet.operator.tenantId))).not.toContain(
      'appo-secret-key',
    )
    const desired = edge.agent.store.desired.get(id) as DesiredInstance
    expect(edge.agent.store.credentials.forInstance(desired, localSealer(edge.dataDir)).secretKey).toBe(
      'appo-secret-key',
    )
    const onHost = await fleet.call('GET', `${fleet.hostPath(edge.ip)}/apps/${id}`)
    expect(onHost.body).toMatchObject({ appInstanceId: id, appName: 'hello-one', status: 'Instantiated' })

    const rule = await fleet.call('POST', fleet.appo(`/app_instances/${id}/appd_configuration`), {
      appDNSRule: [{ dnsRuleId: 'dns1', domainName: 'hello.example', ipAddressType: 'IP_V4', ipAddress: '10.1.1.1' }],
    })
    expect(rule.status).toBe(202)
    const taskId = rule.body.response.apprule_task_id
    await vi.waitFor(async () => {
      const task = await fleet.call('GET', fleet.appo(`/apprule_task_infos/${taskId}`))
      expect(task.body.response.configResult).toBe('SUCCESS')
    }, WAIT)
    const mirror = await fleet.call(
      'GET',
      `/inventory/v1/tenants/${fleet.operator.tenantId}/app_instances/${id}/appd_configuration`,
    )
    expect(mirror.body.appDNSRule).toEqual([expect.objectContaining({ dnsRuleId: 'dns1' })])

    const live = await fleet.call('GET', fleet.appo(`/app_instances/${id}`))
    expect(live.status).toBe(200)

    const terminated = await fleet.call('DELETE', fleet.appo(`/app_instances/${id}`))
    expect(terminated.status).toBe(202)
    expect(await fleet.settled(terminated.body.response.operationId)).toMatchObject({ operationState: 'COMPLETED' })
    expect((await fleet.call('GET', fleet.appo(`/app_instance_infos/${id}`))).status).toBe(404)
    expect((await fleet.call('GET', `${fleet.hostPath(edge.ip)}/apps/${id}`)).status).toBe(404)
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow()
  })
})

describe('orchestration: placement and staged rollouts over three edges', () => {
  let fleet: TestFleet
  let edges: Awaited<ReturnType<TestFleet['edge']>>[]
  let appPkgId: string
  beforeAll(async () => {
    fleet = await testFleet('sqlite')
    edges = [await fleet.edge(), await fleet.edge(), await fleet.edge()]
    for (const [index, edge] of edges.entries()) {
      const labelled = await fleet.call('PUT', fleet.hostPath(edge.ip), {
        ...examples.mecHostInput,
        mechostIp: edge.ip,
        mechostName: `edge-${index}`,
        vim: 'exec',
        labels: { zone: index < 2 ? 'north' : 'south' },
      })
      expect(labelled.status).toBe(200)
    }
    appPkgId = await fleet.onboardHello()
  }, 120_000)
  afterAll(() => fleet.close())

  const instantiateAll = async (ids: string[], rollout: object = {}) => {
    const ports = await Promise.all(ids.map(() => freePort()))
    const reply = await fleet.call('POST', fleet.appo('/app_instances/batch_instantiate'), {
      instantiationParameters: ids.map((appInstanceId, index) => ({
        appInstanceId,
        parameters: { PORT: String(ports[index]) },
      })),
      rollout,
    })
    expect(reply.status).toBe(202)
    return { operationId: reply.body.operationId as string, ports }
  }

  it('explains a placement: the hosts kept, the ones dropped and why', async () => {
    const explained = await fleet.call('POST', fleet.appo('/placement/explain'), {
      appPackageId: appPkgId,
      placement: { labelSelector: 'zone=north' },
      count: 2,
    })
    expect(explained.status).toBe(200)
    expect([...explained.body.chosen].sort()).toEqual([edges[0]?.ip, edges[1]?.ip].sort())
    const south = explained.body.decisions.find((d: { mechostIp: string }) => d.mechostIp === edges[2]?.ip)
    expect(south).toMatchObject({ kept: false })
    expect(south.reasons.join(' ')).toContain('zone=north')
    const bad = await fleet.call('POST', fleet.appo('/placement/explain'), {
      appPackageId: appPkgId,
      placement: { labelSelector: 'zone in (north' },
    })
    expect(bad.status).toBe(400)
  })

  it('batch-creates by a label selector, one instance on every matching host, and deploys them in parallel', async () => {
    const created = await fleet.call('POST', fleet.appo('/app_instances/batch_create'), {
      appPackageId: appPkgId,
      appName: 'north',
      placement: { labelSelector: 'zone=north' },
    })
    expect(created.status).toBe(202)
    expect(created.body.response).toHaveLength(2)
    expect((await fleet.settled(created.body.operationId)).operationState).toBe('COMPLETED')
    const ids = created.body.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    const infos = await fleet.call('GET', fleet.appo(`/app_instance_infos?appInstIds=${ids.join(',')}`))
    expect(infos.body.response.map((info: { mecHost: string }) => info.mecHost).sort()).toEqual(
      [edges[0]?.ip, edges[1]?.ip].sort(),
    )
    const { operationId, ports } = await instantiateAll(ids, { concurrency: 2 })
    const batch = await fleet.settled(operationId)
    expect(batch).toMatchObject({ operationState: 'COMPLETED', batchOf: 'INSTANTIATE' })
    expect(Object.keys(batch.hosts).sort()).toEqual([edges[0]?.ip, edges[1]?.ip].sort())
    for (const port of ports)
      await vi.waitFor(async () => expect((await fetch(`http://127.0.0.1:${port}/`)).ok).toBe(true), WAIT)

    const terminated = await fleet.call('POST', fleet.appo('/app_instances/batch_terminate'), { appInstanceIds: ids })
    expect((await fleet.settled(terminated.body.operationId)).operationState).toBe('COMPLETED')
    expect(
      (await fleet.call('GET', fleet.appo(`/app_instance_infos?appInstIds=${ids.join(',')}`))).body.response,
    ).toEqual([])
  })

  it('aborts a staged rollout at the stage whose edge is offline, skips the rest, and rolls back what it deployed', async () => {
    const created = await fleet.call('POST', fleet.appo('/app_instances/batch_create'), {
      appPackageId: appPkgId,
      appName: 'staged',
      mecHost: edges.map((edge) => edge.ip),
    })
    expect((await fleet.settled(created.body.operationId)).operationState).toBe('COMPLETED')
    const ids: string[] = created.body.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    // the second host goes away: its stage cannot finish
    await edges[1]?.stop()
    await vi.waitFor(async () => expect(await fleet.statusOf(edges[1]?.ip as string)).toBe('OFFLINE'), WAIT)
    const { operationId, ports } = await instantiateAll(ids, {
      stageSize: 1,
      hostTimeoutMs: 2000,
      rollback: true,
    })
    const batch = await fleet.settled(operationId)
    expect(batch.operationState, JSON.stringify(batch)).toBe('FAILED')
    expect(batch.error.title).toBe('Rollout Aborted')
    expect(batch.error.detail).toContain('stage 2')
    const byInstance = (id: string) =>
      batch.items.filter((item: { appInstanceId: string; rollbackOf: string | null }) => item.appInstanceId === id)
    // stage 1 went through and was rolled back; stage 2 timed out; stage 3 never started
    expect(
      byInstance(ids[0] as string)
        .map((item: { lcmOperation: string }) => item.lcmOperation)
        .sort(),
    ).toEqual(['INSTANTIATE', 'TERMINATE'])
    expect(byInstance(ids[1] as string)[0].error).toContain('did not report')
    expect(byInstance(ids[2] as string)).toEqual([
      expect.objectContaining({ operationState: 'FAILED', error: expect.stringContaining('not started') }),
    ])
    await expect(fetch(`http://127.0.0.1:${ports[0]}/`)).rejects.toThrow()
    await expect(fetch(`http://127.0.0.1:${ports[2]}/`)).rejects.toThrow()
    const first = await fleet.call('GET', fleet.appo(`/app_instance_infos/${ids[0]}`))
    expect(first.body.response).toMatchObject({ status: 'NOT_INSTANTIATED', operationId: null })
    expect(batch.hosts[edges[0]?.ip as string]).toMatchObject({ COMPLETED: 2 })
  })

  it('completes a rollout whose stages meet their success threshold, showing the failure it tolerated', async () => {
    // edges[1] is offline since the test before
    const created = await fleet.call('POST', fleet.appo('/app_instances/batch_create'), {
      appPackageId: appPkgId,
      appName: 'tolerant',
      mecHost: [edges[0]?.ip, edges[1]?.ip],
    })
    expect((await fleet.settled(created.body.operationId)).operationState).toBe('COMPLETED')
    const ids: string[] = created.body.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    const { operationId, ports } = await instantiateAll(ids, { successThreshold: 0.5, hostTimeoutMs: 1500 })
    const batch = await fleet.settled(operationId)
    expect(batch.operationState, JSON.stringify(batch)).toBe('COMPLETED')
    expect(batch.items.map((item: { operationState: string }) => item.operationState)).toEqual(['COMPLETED', 'FAILED'])
    expect((await fetch(`http://127.0.0.1:${ports[0]}/`)).ok).toBe(true)
    const strict = await instantiateAll([ids[1] as string], {
      successThreshold: 1,
      abortOnFailure: false,
      hostTimeoutMs: 1500,
    })
    expect(await fleet.settled(strict.operationId)).toMatchObject({
      operationState: 'FAILED',
      error: { title: 'Rollout Finished With Failures' },
    })
  })

  it('changes at most maxUnavailable instances at once when terminating', async () => {
    const created = await fleet.call('POST', fleet.appo('/app_instances/batch_create'), {
      appPackageId: appPkgId,
      appName: 'capped',
      mecHost: [edges[0]?.ip, edges[2]?.ip, edges[0]?.ip, edges[2]?.ip],
    })
    expect((await fleet.settled(created.body.operationId)).operationState).toBe('COMPLETED')
    const ids: string[] = created.body.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    expect((await fleet.settled((await instantiateAll(ids, { concurrency: 4 })).operationId)).operationState).toBe(
      'COMPLETED',
    )
    const gone = await fleet.call('POST', fleet.appo('/app_instances/batch_terminate'), {
      appInstanceIds: ids,
      rollout: { concurrency: 4, maxUnavailable: 1 },
    })
    // sampled while it runs: never two children in progress at once
    let most = 0
    let view: { operationState: string; items: { operationState: string }[] }
    do {
      view = (await fleet.call('GET', fleet.appo(`/operations/${gone.body.operationId}`))).body
      most = Math.max(most, view.items.filter((item) => item.operationState === 'PROCESSING').length)
    } while (view.operationState === 'PROCESSING' || view.operationState === 'STARTING')
    expect(view.operationState).toBe('COMPLETED')
    expect(most).toBe(1)
  })
})
