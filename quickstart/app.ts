import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { type Client, detailOf, type Json, until } from './api'
import { step } from './output'
import { APP } from './package'
import { ensurePortFree, StepError } from './service'

/** Waits for an LCM operation to complete (/appo/v1/tenants/{t}/operations/{id}). */
async function operationDone(
  center: Client,
  tenantId: string,
  operationId: string,
  what: string,
  logs: string,
  edgeSays: () => Promise<string | undefined> = async () => undefined,
) {
  const path = `/appo/v1/tenants/${tenantId}/operations/${operationId}`
  await until(`${what} did not end`, 180_000, async () => {
    const reply = await center.call('GET', path)
    if (reply.status !== 200) throw new StepError(`GET ${path} answered ${reply.status}: ${detailOf(reply.body)}`)
    const occ: Json = reply.body
    if (occ.operationState === 'COMPLETED') return true
    if (occ.operationState === 'FAILED' || occ.operationState === 'FAILED_TEMP') {
      throw new StepError(
        `${what} failed (operation ${operationId} is ${occ.operationState}): ${detailOf(occ.error)}`,
        `the logs tell more: ${logs}`,
      )
    }
    return undefined
  }).catch(async (error: StepError) => {
    const said = await edgeSays().catch(() => undefined)
    throw new StepError(`${error.message}${said ? `; the edge says: ${said}` : ''}`, `the logs tell more: ${logs}`)
  })
}

/** EdgeGallery's labels (operationalStatus) at /appo/v1/.../app_instance_infos. */
const label = (info: Json) => String(info.operationalStatus ?? '')
const busy = (info: Json) => /ing$/i.test(label(info))

/** What a deploy needs: the two APIs, where, what, on which port, and where the logs are. */
interface Deploy {
  center: Client
  agent: Client
  tenantId: string
  hostIp: string
  pkg: Json
  appPort: number
  logs: string
}

/**
 * Deploys hello-exec on the host through the EdgeGallery-compatible APPO API, or finds the instance
 * a previous run deployed: create (unless there is one), instantiate with PORT, wait for each
 * operation. Resolves to the instance and the port it was given.
 */
async function deploy(d: Deploy & { note(text: string): void }): Promise<{ instanceId: string; port: number }> {
  const { center, tenantId, hostIp, logs } = d
  const appo = `/appo/v1/tenants/${tenantId}`
  const portOf = async (info: Json): Promise<number> => {
    const given = Number(info.parameters?.PORT)
    if (given > 0) return given
    const seen = await d.agent.call('GET', `/mepm/v1/instances/${info.appInstanceId}`)
    const port = Number(seen.body?.parameters?.PORT)
    return seen.status === 200 && port > 0 ? port : d.appPort
  }
  const infos = async (): Promise<Json[]> => {
    const reply = await center.call('GET', `${appo}/app_instance_infos`)
    // EdgeGallery answers 404 when there are none (and a center without APPO answers 404 too)
    if (reply.status === 404) return []
    if (reply.status !== 200) {
      throw new StepError(`GET ${appo}/app_instance_infos answered ${reply.status}: ${detailOf(reply.body)}`)
    }
    const list = reply.body?.response ?? reply.body
    return (Array.isArray(list) ? list : []).filter(
      // a record whose creation failed is no instance: it is passed over
      (i: Json) => i.appName === APP.name && i.mecHost === hostIp && !/^create failed$/i.test(label(i)),
    )
  }

  let mine = await infos()
  if (mine.some(busy)) {
    mine = await until('the app instance is still busy', 180_000, async () => {
      const now = await infos()
      return now.some(busy) ? undefined : now
    })
  }
  const running = mine.find((i) => /^instantiated$/i.test(label(i)))
  if (running) {
    d.note(`deployed already: instance ${running.appInstanceId}`)
    return { instanceId: running.appInstanceId, port: await portOf(running) }
  }
  const existing = mine.find((i) => /^(created|instantiation failed)$/i.test(label(i)))
  if (!existing && mine[0]) {
    throw new StepError(
      `the ${APP.name} instance ${mine[0].appInstanceId} is ${label(mine[0])}`,
      `start it, or terminate it (DELETE ${appo}/app_instances/${mine[0].appInstanceId}) and start the quickstart again`,
    )
  }

  let instanceId: string | undefined = existing?.appInstanceId
  if (!instanceId) {
    const created = await center.call('POST', `${appo}/app_instances`, {
      appPackageId: d.pkg.appPackageId,
      appId: d.pkg.appId,
      appName: APP.name,
      appInstanceDescription: `${APP.name} deployed by the quickstart`,
      mecHost: hostIp,
    })
    if (created.status === 404 && /no route/.test(detailOf(created.body))) {
      throw new StepError(
        `this center has no orchestration API yet: POST ${appo}/app_instances answered 404`,
        'the center and the edge are up; deploy once the center has /appo/v1',
      )
    }
    if (![200, 201, 202].includes(created.status)) {
      throw new StepError(`POST ${appo}/app_instances answered ${created.status}: ${detailOf(created.body)}`)
    }
    instanceId = created.body.response.app_instance_id as string
    const operationId = created.body.response.operationId
    if (operationId) await operationDone(center, tenantId, operationId, 'creating the app instance', logs)
  }

  await ensurePortFree(
    hostIp,
    d.appPort,
    APP.name,
    'set MECM_APP_PORT (or --app-port) to another port; an app left by a quickstart whose data dir was removed keeps its port until it is stopped',
  )
  const instantiate = await center.call('POST', `${appo}/app_instances/${instanceId}`, {
    parameters: { PORT: String(d.appPort) },
  })
  if (![200, 202].includes(instantiate.status)) {
    const last = existing?.operationId
    throw new StepError(
      `POST ${appo}/app_instances/${instanceId} answered ${instantiate.status}: ${detailOf(instantiate.body)}`,
      instantiate.status === 409 && last
        ? `its last operation may wait for a decision: retry it (POST /app_lcm/v1/app_lcm_op_occs/${last}/retry), or terminate the instance (DELETE ${appo}/app_instances/${instanceId}); then start the quickstart again`
        : `the logs tell more: ${logs}`,
    )
  }
  const started = instantiate.body
  if (started?.response?.operationId) {
    const edgeSays = async () => {
      const seen = await d.agent.call('GET', `/mepm/v1/instances/${instanceId}`)
      return seen.status === 200 ? `${seen.body.status}${seen.body.detail ? `, ${seen.body.detail}` : ''}` : undefined
    }
    await operationDone(center, tenantId, started.response.operationId, 'instantiating the app', logs, edgeSays)
  }
  d.note(`instance ${instanceId}`)
  return { instanceId, port: d.appPort }
}

/** Deploys hello-exec and checks that it answers; neither is fatal, so a failure is said, not thrown. */
export async function deployApp(d: Deploy): Promise<{ instanceId: string; port: number } | { problem: string }> {
  try {
    const app = await step(`deploying ${APP.name} on ${d.hostIp}`, (note) => deploy({ ...d, note }))
    const appUrl = `http://${d.hostIp}:${app.port}/`
    await step(`checking that ${APP.name} answers at ${appUrl}`, async () => {
      const instanceId = app.instanceId
      const answer = await until(`${appUrl} did not answer`, 60_000, async () => {
        try {
          const response = await fetch(appUrl, { signal: AbortSignal.timeout(2000) })
          return response.ok ? ((await response.json().catch(() => ({}))) as Json) : undefined
        } catch {
          return undefined
        }
      })
      if (answer.instance && answer.instance !== instanceId) {
        throw new StepError(
          `${appUrl} is answered by another app instance (${answer.instance})`,
          'an app from an earlier quickstart whose data dir was removed still holds the port: stop it, or set MECM_APP_PORT',
        )
      }
    })
    return app
  } catch (error) {
    return { problem: (error as Error).message }
  }
}

/** The apps the exec plugin started under `runDir` that are still alive, by pid. */
function appsRunning(runDir: string): number[] {
  const pids: number[] = []
  let instances: string[] = []
  try {
    instances = readdirSync(runDir)
  } catch {
    return pids
  }
  for (const instance of instances) {
    try {
      const { pid } = JSON.parse(readFileSync(join(runDir, instance, 'process.json'), 'utf8')) as { pid: number }
      process.kill(pid, 0)
      pids.push(pid)
    } catch {
      // not running, or no record
    }
  }
  return pids
}

/** What to say after the stop when apps the agent started under `mepmDir` outlive it; nothing when none do. */
export function appsLeft(mepmDir: string): string | undefined {
  const pids = appsRunning(join(mepmDir, 'run'))
  if (!pids.length) return undefined
  return `${APP.name} keeps running (pid ${pids.join(', ')}): apps outlive their agent, as on a real edge. The next npm start takes it back; kill ${pids.join(' ')} stops it.`
}
