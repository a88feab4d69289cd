/**
 * Orchestration speed with real parts: a center as its own process (SQLite) and 10 edge agents
 * (in this process, each with its own store, reconciler and exec plugin), on 127.0.0.1, running
 * the hello exec app (a Node HTTP server per instance). It measures:
 *   - create-to-running latency of one instance, p50/p99 over 20 runs: from POST app_instances
 *     (explicit host) through the CREATE operation, POST instantiate, the package on the edge,
 *     the process up and healthy, to the INSTANTIATE operation COMPLETED at the center. The
 *     baseline, in the same run, is setting the same instance directly on the host
 *     (PUT .../mechosts/{ip}/instances/{id}, no operation) until the edge reports it STARTED;
 *   - a 100-instance batch across the 10 edges: batch_create (spread, 10 per edge), then
 *     batch_instantiate until the batch is COMPLETED, then batch_terminate: once with the default
 *     rollout (one stage, 20 at a time), once with all 100 at a time. The baseline, in the same
 *     run, is the same 100 instances set directly on their hosts at once (no operations) until
 *     all are STARTED.
 *
 *   npm run bench:appo
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { centerProcess, signedInAdmin, uploadForm } from '@mecm/center/testing'
import { examples } from '@mecm/protocol/examples'
import { helloPackage, testAgent } from '../edge-agent/src/testing/agent'
import { freePort } from '../edge-agent/src/testing/apps'
import { percentile } from './stats'

const EDGES = 10
const SAMPLES = 20
const BATCH = 100

const root = mkdtempSync(join(tmpdir(), 'mecm-bench-appo-'))
const port = await freePort()
const center = await centerProcess(join(root, 'center'), port, { MECM_EDGE_HEARTBEAT_MS: '2000' })
const agents: Awaited<ReturnType<typeof testAgent>>[] = []
try {
  const { as, hosts, token } = await signedInAdmin(() => center)
  const tenant = hosts.split('/')[4] as string
  const appo = (path: string) => `/appo/v1/tenants/${tenant}${path}`
  const ips: string[] = []
  for (let i = 0; i < EDGES; i++) {
    const ip = `10.50.0.${i + 1}`
    const host = await as('POST', hosts, {
      ...examples.mecHostInput,
      mechostIp: ip,
      mechostName: `edge-${i}`,
      vim: 'exec',
    })
    const agent = await testAgent({ MEPM_METRICS_MS: '60000' })
    await agent.agent.sync.enroll(center.url, host.enrollment.token)
    agents.push(agent)
    ips.push(ip)
  }
  while ((await as('GET', `${hosts}?status=ONLINE&limit=100`)).items.length < EDGES) await delay(20)
  const upload = await fetch(`${center.url}/apm/v1/tenants/${tenant}/packages/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
    body: uploadForm(await helloPackage(join(root, 'hello.csar')), {
      appPackageName: 'hello',
      appPackageVersion: '1.0.0',
    }),
  })
  const { appPkgId } = (await upload.json()) as { appPkgId: string }
  while ((await as('GET', `/apm/v1/tenants/${tenant}/packages/${appPkgId}`)).onboardingState !== 'ONBOARDED')
    await delay(20)

  const finished = async (operationId: string) => {
    for (;;) {
      const view = await as('GET', appo(`/operations/${operationId}`))
      if (view.operationState === 'COMPLETED') return view
      if (view.operationState === 'FAILED' || view.operationState === 'FAILED_TEMP')
        throw new Error(`operation ${operationId} ended ${view.operationState}: ${JSON.stringify(view.error)}`)
      await delay(5)
    }
  }

  // warm up: the package reaches every edge once, outside the measurements
  for (const ip of ips) {
    const warm = await as('POST', appo('/app_instances'), { appPackageId: appPkgId, appName: 'warm', mecHost: ip })
    await finished(warm.response.operationId)
    const up = await as('POST', appo(`/app_instances/${warm.response.app_instance_id}`), {
      parameters: { PORT: String(await freePort()) },
    })
    await finished(up.response.operationId)
    await finished((await as('DELETE', appo(`/app_instances/${warm.response.app_instance_id}`))).response.operationId)
  }

  const viaApi: number[] = []
  const direct: number[] = []
  for (let n = 0; n < SAMPLES; n++) {
    const ip = ips[n % EDGES] as string
    let started = performance.now()
    const created = await as('POST', appo('/app_instances'), {
      appPackageId: appPkgId,
      appName: `one-${n}`,
      mecHost: ip,
    })
    await finished(created.response.operationId)
    const id = created.response.app_instance_id
    const up = await as('POST', appo(`/app_instances/${id}`), { parameters: { PORT: String(await freePort()) } })
    await finished(up.response.operationId)
    viaApi.push(performance.now() - started)
    await finished((await as('DELETE', appo(`/app_instances/${id}`))).response.operationId)

    const directId = randomUUID()
    started = performance.now()
    await as('PUT', `${hosts}/${ip}/instances/${directId}`, {
      appPkgId,
      targetState: 'STARTED',
      parameters: { PORT: String(await freePort()) },
    })
    for (;;) {
      const list = await as('GET', `${hosts}/${ip}/instances`)
      const seen = list.find((one: { appInstanceId: string }) => one.appInstanceId === directId)
      if (seen?.observed?.status === 'STARTED') break
      await delay(5)
    }
    direct.push(performance.now() - started)
    await as('PUT', `${hosts}/${ip}/instances/${directId}`, { appPkgId, targetState: 'NOT_INSTANTIATED' })
  }
  viaApi.sort((a, b) => a - b)
  direct.sort((a, b) => a - b)
  const p50 = percentile(viaApi, 50)
  console.log(
    `create-to-running, one instance (create + instantiate through /appo/v1 until COMPLETED): p50 ${p50.toFixed(0)} ms, ` +
      `p99 ${percentile(viaApi, 99).toFixed(0)} ms; baseline, the same instance set directly on its host until STARTED: ` +
      `p50 ${percentile(direct, 50).toFixed(0)} ms (orchestration p50 is ${(p50 / percentile(direct, 50)).toFixed(2)}× that)`,
  )

  /** One batch of BATCH instances: create, instantiate with `rollout`, terminate; seconds of each. */
  async function batchRun(label: string, rollout: object) {
    const batchStarted = performance.now()
    const created = await as('POST', appo('/app_instances/batch_create'), {
      appPackageId: appPkgId,
      appName: 'batch',
      placement: { strategy: 'spread' },
      count: BATCH,
    })
    await finished(created.operationId)
    const placed = performance.now()
    const ids: string[] = created.response.map((item: { appInstanceId: string }) => item.appInstanceId)
    const ports = await Promise.all(ids.map(() => freePort()))
    const deployed = await as('POST', appo('/app_instances/batch_instantiate'), {
      instantiationParameters: ids.map((appInstanceId, i) => ({
        appInstanceId,
        parameters: { PORT: String(ports[i]) },
      })),
      rollout,
    })
    const batch = await finished(deployed.operationId)
    const running = performance.now()
    const perHost = Object.values(batch.hosts as Record<string, { COMPLETED: number }>).map(
      (counts) => counts.COMPLETED,
    )
    const terminating = performance.now()
    const gone = await as('POST', appo('/app_instances/batch_terminate'), { appInstanceIds: ids, rollout })
    await finished(gone.operationId)
    const instantiate = (running - placed) / 1000
    console.log(
      `${BATCH}-instance batch across ${EDGES} edges, ${label}: batch_create (placed ${Math.min(...perHost)}–${Math.max(...perHost)} per edge) ` +
        `${((placed - batchStarted) / 1000).toFixed(2)} s, batch_instantiate to COMPLETED ${instantiate.toFixed(2)} s, ` +
        `create to all running ${((running - batchStarted) / 1000).toFixed(2)} s; batch_terminate ${((performance.now() - terminating) / 1000).toFixed(2)} s`,
    )
    return instantiate
  }
  const byDefault = await batchRun('default rollout (one stage, 20 at a time)', {})
  const unlimited = await batchRun(`one stage, all ${BATCH} at a time`, { concurrency: BATCH })

  // baseline: the same 100 instances set directly on their hosts, all at once, until all STARTED
  const directStarted = performance.now()
  const direct100 = await Promise.all(
    Array.from({ length: BATCH }, async (_, i) => {
      const ip = ips[i % EDGES] as string
      const id = randomUUID()
      await as('PUT', `${hosts}/${ip}/instances/${id}`, {
        appPkgId,
        targetState: 'STARTED',
        parameters: { PORT: String(await freePort()) },
      })
      return { ip, id }
    }),
  )
  for (;;) {
    const lists = await Promise.all(ips.map((ip) => as('GET', `${hosts}/${ip}/instances`)))
    const up = lists.flat().filter((one: { observed?: { status: string } }) => one.observed?.status === 'STARTED')
    if (up.length >= BATCH) break
    await delay(20)
  }
  const directSeconds = (performance.now() - directStarted) / 1000
  console.log(
    `baseline, the same ${BATCH} instances set directly on their hosts (no operations) until all STARTED: ` +
      `${directSeconds.toFixed(2)} s (batch_instantiate took ${(byDefault / directSeconds).toFixed(2)}× that by default, ` +
      `${(unlimited / directSeconds).toFixed(2)}× with all at a time)`,
  )
  for (const { ip, id } of direct100)
    await as('PUT', `${hosts}/${ip}/instances/${id}`, { appPkgId, targetState: 'NOT_INSTANTIATED' })
} finally {
  for (const agent of agents) await agent.close().catch(() => undefined)
  await center.kill()
  rmSync(root, { recursive: true, force: true })
}
