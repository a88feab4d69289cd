import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { centerProcess, signedInAdmin, uploadForm } from '@mecm/center/testing'
import { examples } from '@mecm/protocol/examples'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { helloPackage } from '../testing/agent'
import { agentProcess, answers } from '../testing/agent-process'
import { freePort } from '../testing/apps'
import { WAIT } from '../testing/fleet'

const SETTLE = { timeout: 90_000, interval: 200 }
const FINAL = ['COMPLETED', 'FAILED']

/**
 * The whole product as an operator meets it: a center and three agents, each its own process,
 * driven only through the APIs.
 */
describe('orchestration end to end: a center and three agents as processes', () => {
  const cleanup: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined)
  })

  async function world() {
    const dataDir = mkdtempSync(join(tmpdir(), 'mecm-e2e-'))
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }))
    const port = await freePort()
    const env = { MECM_EDGE_HEARTBEAT_MS: '500', MECM_OPERATION_LEASE_MS: '2000' }
    const state = { center: await centerProcess(join(dataDir, 'center'), port, env) }
    cleanup.push(() => state.center.kill())
    const admin = await signedInAdmin(() => state.center)
    const tenant = admin.hosts.split('/')[4] as string
    const appo = (path: string) => `/appo/v1/tenants/${tenant}${path}`
    const agents: (Awaited<ReturnType<typeof agentProcess>> & { ip: string })[] = []
    for (const [index, zone] of ['north', 'north', 'south'].entries()) {
      const ip = `10.40.0.${index + 1}`
      const host = await admin.as('POST', admin.hosts, {
        ...examples.mecHostInput,
        mechostIp: ip,
        mechostName: `edge-${index + 1}`,
        vim: 'exec',
        labels: { zone },
      })
      const agent = await agentProcess(join(dataDir, `agent-${index + 1}`), await freePort())
      cleanup.push(() => agent.kill())
      const enrolled = await agent.call('POST', '/mepm/v1/sync/enroll', {
        centerUrl: state.center.url,
        token: host.enrollment.token,
      })
      expect(enrolled.status).toBe(201)
      agents.push({ ...agent, ip })
    }
    await vi.waitFor(async () => {
      for (const agent of agents) expect((await admin.as('GET', `${admin.hosts}/${agent.ip}`)).status).toBe('ONLINE')
    }, WAIT)
    const upload = await fetch(`${state.center.url}/apm/v1/tenants/${tenant}/packages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}` },
      body: uploadForm(await helloPackage(join(dataDir, 'hello.csar')), {
        appPackageName: 'hello',
        appPackageVersion: '1.0.0',
      }),
    })
    const { appPkgId } = (await upload.json()) as { appPkgId: string }
    await vi.waitFor(async () => {
      const pkg = await admin.as('GET', `/apm/v1/tenants/${tenant}/packages/${appPkgId}`)
      expect(pkg.onboardingState).toBe('ONBOARDED')
    }, WAIT)
    const settled = async (operationId: string) => {
      // biome-ignore lint/suspicious/noExplicitAny: the view is read field by field
      let view: any
      await vi.waitFor(async () => {
        view = await admin.as('GET', appo(`/operations/${operationId}`))
        expect(FINAL, JSON.stringify(view)).toContain(view.operationState)
      }, SETTLE)
      return view
    }
    /** Every instance each agent runs, by agent. */
    const running = async () =>
      Promise.all(
        agents.map(async (agent) => {
          const list = (await (await agent.call('GET', '/mepm/v1/instances')).json()) as { appInstanceId: string }[]
          return list.map((one) => one.appInstanceId)
        }),
      )
    /** batch_instantiate of `ids`, each app on a port of its own. */
    const deployAll = async (ids: string[], rollout: object) => {
      const ports = await Promise.all(ids.map(() => freePort()))
      const deploy = await admin.as('POST', appo('/app_instances/batch_instantiate'), {
        instantiationParameters: ids.map((appInstanceId, i) => ({
          appInstanceId,
          parameters: { PORT: String(ports[i]) },
        })),
        rollout,
      })
      return { operationId: deploy.operationId as string, ports }
    }
    return { state, env, dataDir, port, admin, appo, agents, appPkgId, settled, running, deployAll }
  }

  it('onboards, batch-deploys by placement, configures rules, queries and terminates', async () => {
    const w = await world()
    const created = await w.admin.as('POST', w.appo('/app_instances/batch_create'), {
      appPackageId: w.appPkgId,
      appName: 'hello',
      placement: { labelSelector: 'zone in (north,south)', strategy: 'spread' },
    })
    expect(created.response).toHaveLength(3)
    expect((await w.settled(created.operationId)).operationState).toBe('COMPLETED')
    const ids: string[] = created.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    const { operationId, ports } = await w.deployAll(ids, { stageSize: 2, concurrency: 2 })
    const batch = await w.settled(operationId)
    expect(batch.operationState).toBe('COMPLETED')
    expect(Object.keys(batch.hosts).sort()).toEqual(w.agents.map((agent) => agent.ip))
    // started means the process runs (hello has no health check): it answers once it listens
    for (const port of ports) await vi.waitFor(async () => expect(await answers(port)).toBe(true), WAIT)
    expect((await w.running()).map((list) => list.length)).toEqual([1, 1, 1])

    const rules = await w.admin.as('POST', w.appo(`/app_instances/${ids[0]}/appd_configuration`), {
      appDNSRule: [{ dnsRuleId: 'hello', domainName: 'hello.mec', ipAddressType: 'IP_V4', ipAddress: '10.40.0.1' }],
    })
    await vi.waitFor(async () => {
      const task = await w.admin.as('GET', w.appo(`/apprule_task_infos/${rules.response.apprule_task_id}`))
      expect(task.response.configResult).toBe('SUCCESS')
    }, WAIT)
    const infos = await w.admin.as('GET', w.appo('/app_instance_infos'))
    expect(infos.response.map((info: { operationalStatus: string }) => info.operationalStatus)).toEqual([
      'Instantiated',
      'Instantiated',
      'Instantiated',
    ])
    const live = await w.admin.as('GET', w.appo(`/app_instances/${ids[1]}`))
    expect(live.response).toBeTruthy()
    const kpi = await w.admin.as('GET', w.appo(`/hosts/${w.agents[2]?.ip}/kpi`))
    expect(kpi.response).toBeTruthy()

    const gone = await w.admin.as('POST', w.appo('/app_instances/batch_terminate'), { appInstanceIds: ids })
    expect((await w.settled(gone.operationId)).operationState).toBe('COMPLETED')
    for (const port of ports) expect(await answers(port)).toBe(false)
    expect((await w.running()).flat()).toEqual([])
  }, 240_000)

  it('finishes every operation after the center is killed with SIGKILL mid-batch, deploying no instance twice', async () => {
    const w = await world()
    const created = await w.admin.as('POST', w.appo('/app_instances/batch_create'), {
      appPackageId: w.appPkgId,
      appName: 'many',
      placement: { strategy: 'spread' },
      count: 9,
    })
    expect((await w.settled(created.operationId)).operationState).toBe('COMPLETED')
    const ids: string[] = created.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    const { operationId, ports } = await w.deployAll(ids, { stageSize: 3, concurrency: 3 })
    // kill it once the first stage has started and before the batch is done
    await vi.waitFor(async () => {
      const view = await w.admin.as('GET', w.appo(`/operations/${operationId}`))
      expect(view.items.some((item: { operationState: string }) => item.operationState !== 'STARTING')).toBe(true)
    }, WAIT)
    const before = await w.admin.as('GET', w.appo(`/operations/${operationId}`))
    expect(before.operationState).toBe('PROCESSING')
    await w.state.center.kill('SIGKILL')
    w.state.center = await centerProcess(join(w.dataDir, 'center'), w.port, w.env)

    const batch = await w.settled(operationId)
    expect(batch.operationState).toBe('COMPLETED')
    expect(batch.items.every((item: { operationState: string }) => item.operationState === 'COMPLETED')).toBe(true)
    const everywhere = (await w.running()).flat()
    expect(everywhere.sort()).toEqual([...ids].sort())
    // started means the process runs (hello has no health check): it answers once it listens
    for (const port of ports) await vi.waitFor(async () => expect(await answers(port)).toBe(true), WAIT)
    const infos = await w.admin.as('GET', w.appo(`/app_instance_infos?appInstIds=${ids.join(',')}`))
    expect(
      infos.response.every(
        (info: { status: string; operationId: null }) => info.status === 'STARTED' && info.operationId === null,
      ),
    ).toBe(true)
  }, 240_000)
})
