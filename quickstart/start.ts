/**
 * `npm start`: the two-command quickstart. Brings up a center (SQLite under ./data), one local edge
 * agent enrolled with it (exec plugin), onboards the hello-exec sample package and deploys it, then
 * prints where everything is. Run again, it reuses what it made. Ctrl-C stops both processes.
 *
 * Under the data dir: admin-password (mode 600), center/ and mepm/ (their data dirs),
 * logs/center.log and logs/mepm.log (their logs), quickstart.pid while it runs.
 */
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  openAsBlob,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { isAbsolute, join, relative } from 'node:path'
import { writePackage } from '@mecm/csar'
import { examples } from '../examples/build'
import { type Client, client, detailOf, type Json, until } from './api'
import { layout, parseOptions, type QuickstartOptions, USAGE } from './options'
import { ensurePortFree, type Service, StepError, startService } from './service'

const root = join(import.meta.dirname, '..')
const hello = (() => {
  const spec = examples['hello-exec']
  if (!spec) throw new Error('examples/build.ts has no hello-exec package')
  return spec
})()
const APP = { name: hello.appd.name, version: hello.appd.version }

/** A path for people: relative to where they are when it is inside, absolute otherwise. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path)
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path
}

/** Progress lines, "doing this… ok", with errors of the children printed in between. */
const out = {
  open: undefined as string | undefined,
  broken: false,
  begin(label: string) {
    out.open = label
    out.broken = false
    process.stdout.write(`${label}… `)
  },
  end(result: string) {
    if (out.open === undefined) return
    process.stdout.write(out.broken ? `${out.open}… ${result}\n` : `${result}\n`)
    out.open = undefined
  },
  say(line = '') {
    if (out.open !== undefined && !out.broken) process.stdout.write('\n')
    out.open = undefined
    process.stdout.write(`${line}\n`)
  },
  error(line: string) {
    if (out.open !== undefined && !out.broken) {
      process.stdout.write('\n')
      out.broken = true
    }
    process.stderr.write(`${line}\n`)
  },
}

/** Runs one step; a failure prints its error and hint and is thrown on (as a StepError). */
async function step<T>(label: string, run: (note: (text: string) => void) => Promise<T>): Promise<T> {
  let noted = ''
  out.begin(label)
  try {
    const value = await run((text) => {
      noted = text
    })
    out.end(noted ? `ok (${noted})` : 'ok')
    return value
  } catch (error) {
    if (stopping) return new Promise<never>(() => undefined) // Ctrl-C pulled the rug: the shutdown prints
    out.end('failed')
    const failure = error instanceof StepError ? error : new StepError((error as Error).message)
    out.error(`  error: ${failure.message}`)
    if (failure.hint) out.error(`  hint: ${failure.hint}`)
    throw failure
  }
}

let stopping = false
const services: Service[] = []
let afterStop: () => string | undefined = () => undefined

/** Stops the children (SIGINT, as Ctrl-C does), says so, and exits with `code`. */
async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true
    const running = services.filter((s) => s.child.exitCode === null && s.child.signalCode === null)
    if (running.length)
      out.say(
        `stopping ${running
          .map((s) => s.name)
          .reverse()
          .join(' and ')}…`,
      )
    // the agent first, so that it does not see its center go away
    for (const service of [...services].reverse()) await service.stop()
    for (const service of running) {
      const exit = await service.exited
      if (exit.code !== 0) {
        const how = exit.signal ?? `exit code ${exit.code}`
        out.error(`  ${service.name} did not stop cleanly (${how}); see ${shown(service.logFile)}`)
      }
    }
    if (running.length) out.say('stopped.')
    const note = afterStop()
    if (note) out.say(note)
    process.exit(code)
  }
  return new Promise<never>(() => undefined)
}

let signalledAt = 0
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    // one Ctrl-C may arrive twice (from the terminal, and forwarded by npm): only a later one forces
    if (stopping && Date.now() - signalledAt > 2000) {
      out.say('stopping at once (SIGKILL).')
      for (const s of services) s.child.kill('SIGKILL')
      process.exit(1)
    }
    if (!stopping) signalledAt = Date.now()
    void shutdown(0)
  })
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

/** Environment for a child: ours without MECM_* / MEPM_* settings (the quickstart sets those) or DATABASE_URL. */
function childEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (key === 'DATABASE_URL' || (/^(MECM|MEPM)_/.test(key) && !key.endsWith('_LOG_LEVEL'))) continue
    env[key] = value
  }
  return { ...env, ...settings }
}

/** One quickstart per data dir: a second one would fight over the ports and the state. */
function takeLock(file: string): void {
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim())
    let alive = false
    try {
      if (pid > 0 && pid !== process.pid) {
        process.kill(pid, 0)
        alive = true
      }
    } catch {}
    if (alive) {
      throw new StepError(
        `a quickstart is running already on this data dir (pid ${pid})`,
        `stop it first (Ctrl-C in its terminal, or kill ${pid}), or give this one another --data dir`,
      )
    }
  }
  writeFileSync(file, `${process.pid}\n`)
  process.on('exit', () => rmSync(file, { force: true }))
}

/** The admin password of this data dir: made once (mode 600), then read on every run. */
function adminPassword(file: string): { password: string; made: boolean } {
  if (existsSync(file)) {
    chmodSync(file, 0o600)
    const password = readFileSync(file, 'utf8').trim()
    if (password.length < 8) throw new StepError(`${shown(file)} holds no password of 8 characters or more`)
    return { password, made: false }
  }
  const password = randomBytes(12).toString('base64url')
  writeFileSync(`${file}.tmp`, `${password}\n`, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
  return { password, made: true }
}

/** Every package of the tenant, page after page. */
async function allPackages(center: Client, tenantId: string): Promise<Json[]> {
  const found: Json[] = []
  let cursor: string | null = null
  do {
    const page: Json = await center.must(
      'GET',
      `/apm/v1/tenants/${tenantId}/packages?limit=500${cursor ? `&cursor=${cursor}` : ''}`,
      undefined,
      [200],
    )
    found.push(...page.items)
    cursor = page.nextCursor
  } while (cursor)
  return found
}

/** The hello-exec package file, built from examples/ when it is missing. */
async function packageFile(): Promise<string> {
  const file = join(root, 'examples', 'dist', 'hello-exec.csar')
  if (existsSync(file)) return file
  await step(`building ${shown(file)}`, async () => {
    mkdirSync(join(root, 'examples', 'dist'), { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    await writePackage(tmp, hello)
    renameSync(tmp, file)
  })
  return file
}

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

/**
 * Deploys hello-exec on the host through the EdgeGallery-compatible APPO API, or finds the instance
 * a previous run deployed: create (unless there is one), instantiate with PORT, wait for each
 * operation. Resolves to the instance and the port it was given.
 */
async function deploy(d: {
  center: Client
  agent: Client
  tenantId: string
  hostIp: string
  pkg: Json
  appPort: number
  logs: string
  note(text: string): void
}): Promise<{ instanceId: string; port: number }> {
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

async function main(options: QuickstartOptions): Promise<void> {
  const files = layout(options.dataDir)
  const logs = `${shown(files.centerLog)}, ${shown(files.mepmLog)}`
  const centerUrl = `http://${options.host}:${options.centerPort}`
  const agentUrl = `http://${options.host}:${options.agentPort}`
  const hostIp = options.host
  const onError = (name: string) => (line: string) => {
    if (!stopping) out.error(`  ${name}: ${line}`)
  }
  const watch = (service: Service) => {
    services.push(service)
    service.exited.then(({ code, signal }) => {
      if (stopping) return
      const said = service.lastError() ?? (service.stderrTail().slice(-5).join('\n    ') || 'no error logged')
      out.error(`${service.name} stopped unexpectedly (${signal ?? `exit code ${code}`}): ${said}`)
      out.error(`  its log: ${shown(service.logFile)}`)
      void shutdown(1)
    })
  }

  const { password } = await step(`preparing ${shown(options.dataDir)}`, async (note) => {
    mkdirSync(options.dataDir, { recursive: true })
    takeLock(files.lock)
    const made = adminPassword(files.password)
    note(made.made ? 'new admin password' : 'existing state')
    return made
  })

  const center = client(centerUrl, 'the center')
  await step(`starting the center on ${centerUrl}`, async () => {
    await ensurePortFree(
      options.host,
      options.centerPort,
      'the center',
      'set MECM_PORT (or --center-port) to another port',
    )
    watch(
      await startService({
        name: 'the center',
        script: join(root, 'center', 'src', 'main.ts'),
        env: childEnv({
          MECM_LISTEN: `${options.host}:${options.centerPort}`,
          MECM_DATA_DIR: files.center,
          MECM_ADMIN_PASSWORD: password,
          MECM_LOG_LEVEL: process.env.MECM_LOG_LEVEL ?? 'info',
        }),
        logFile: files.centerLog,
        readyMessage: 'center listening',
        onError: onError('center'),
      }).catch((error: StepError) => {
        throw new StepError(error.message, `see ${shown(files.centerLog)}`)
      }),
    )
  })

  const tenantId: string = await step('signing in as admin', async (note) => {
    const reply = await center.call('POST', '/auth/v1/login', { username: 'admin', password })
    if (reply.status === 401) {
      throw new StepError(
        `the center refused the password in ${shown(files.password)}`,
        `the admin password was changed since: put the current one in that file, or remove ${shown(files.center)} to start the center over`,
      )
    }
    if (reply.status !== 200)
      throw new StepError(`POST /auth/v1/login answered ${reply.status}: ${detailOf(reply.body)}`)
    center.setToken(reply.body.accessToken)
    note(`tenant ${reply.body.user.tenantId}`)
    return reply.body.user.tenantId
  })

  const agent = client(agentUrl, 'the edge agent')
  await step(`starting the edge agent on ${agentUrl}`, async () => {
    await ensurePortFree(
      options.host,
      options.agentPort,
      'the edge agent',
      'set MEPM_PORT (or --agent-port) to another port',
    )
    watch(
      await startService({
        name: 'the edge agent',
        script: join(root, 'edge-agent', 'src', 'main.ts'),
        env: childEnv({
          MEPM_LISTEN: `${options.host}:${options.agentPort}`,
          MEPM_DATA_DIR: files.mepm,
          MEPM_ADMIN_PASSWORD: password,
          MEPM_CENTER_URL: centerUrl,
          MEPM_VIM: 'exec',
          MEPM_LOG_LEVEL: process.env.MEPM_LOG_LEVEL ?? 'info',
        }),
        logFile: files.mepmLog,
        readyMessage: 'agent listening',
        onError: onError('edge agent'),
      }).catch((error: StepError) => {
        throw new StepError(error.message, `see ${shown(files.mepmLog)}`)
      }),
    )
    const login = await agent.call('POST', '/mepm/v1/login', { username: 'admin', password })
    if (login.status !== 200) {
      throw new StepError(
        `the edge agent refused the password in ${shown(files.password)}`,
        `its local admin password was changed since: put the current one in that file, or remove ${shown(files.mepm)} to start the edge over`,
      )
    }
    agent.setToken(login.body.token)
  })

  const hostsPath = `/inventory/v1/tenants/${tenantId}/mechosts`
  const { token } = await step(`registering the edge host ${hostIp}`, async (note) => {
    const existing = await center.call('GET', `${hostsPath}/${hostIp}`)
    if (existing.status === 200) {
      note('registered already')
      return { token: undefined as string | undefined, made: false }
    }
    if (existing.status !== 404) {
      throw new StepError(`GET ${hostsPath}/${hostIp} answered ${existing.status}: ${detailOf(existing.body)}`)
    }
    const made = await center.must(
      'POST',
      hostsPath,
      { mechostIp: hostIp, mechostName: 'local-edge', vim: 'exec', labels: { 'mecm.io/quickstart': 'true' } },
      [201],
    )
    return { token: made.enrollment.token as string | undefined, made: true }
  })

  await step('enrolling the edge', async (note) => {
    const sync = await agent.must('GET', '/mepm/v1/sync', undefined, [200])
    // a host made just now is a new identity: an old one (of a center since removed) is replaced
    if (sync.enrolled && !token) {
      note('enrolled already')
      return
    }
    const oneTime = token ?? (await center.must('POST', `${hostsPath}/${hostIp}/enrollment`, undefined, [201])).token
    await agent.must('POST', '/mepm/v1/sync/enroll', { centerUrl, token: oneTime }, [200, 201])
  })

  await step('waiting for the edge to come online', async () => {
    await until('the edge did not come ONLINE', 30_000, async () => {
      const host = await center.must('GET', `${hostsPath}/${hostIp}`, undefined, [200])
      return host.status === 'ONLINE' ? true : undefined
    }).catch(async (error: StepError) => {
      const sync = await agent.call('GET', '/mepm/v1/sync')
      throw new StepError(
        `${error.message}${sync.body?.lastError ? `; the agent says: ${sync.body.lastError}` : ''}`,
        `if this edge was removed from the center or its identity revoked, remove ${shown(files.mepm)} and start again; logs: ${logs}`,
      )
    })
  })

  const packagesPath = `/apm/v1/tenants/${tenantId}/packages`
  const sameApp = (p: Json) => p.appPkgName === APP.name && p.appPkgVersion === APP.version
  const known = (await allPackages(center, tenantId)).some(sameApp)
  const file = known ? '' : await packageFile()
  const pkg: Json = await step(`onboarding ${APP.name} ${APP.version}`, async (note) => {
    let found = (await allPackages(center, tenantId)).find(sameApp)
    if (found?.onboardingState === 'ERROR') {
      // a failed onboarding is no use to anyone: it goes, and the package is uploaded again
      await center.must('DELETE', `${packagesPath}/${found.appPackageId}`, undefined, [200, 202, 204])
      found = undefined
    }
    if (!found) {
      const form = new FormData()
      form.append('appPackageName', APP.name)
      form.append('appPackageVersion', APP.version)
      form.append('hostList', hostIp)
      form.append('file', await openAsBlob(file || (await packageFile())), 'hello-exec.csar')
      found = await center.must('POST', `${packagesPath}/upload`, form, [201, 202])
      note(`package ${found.appPackageId}`)
    } else note(`onboarded already: package ${found.appPackageId}`)
    const id = found.appPackageId
    const onboarded = await until('the package was not onboarded', 60_000, async () => {
      const shownPkg = await center.must('GET', `${packagesPath}/${id}`, undefined, [200])
      if (shownPkg.onboardingState === 'ERROR') {
        throw new StepError(`the center refused the package: ${shownPkg.onboardingFailure}`)
      }
      return shownPkg.onboardingState === 'ONBOARDED' ? shownPkg : undefined
    })
    return onboarded
  })
  const distribution = (p: Json) => (p.distributions ?? []).find((d: Json) => d.hostIp === hostIp)
  if (distribution(pkg) && distribution(pkg).state !== 'DISTRIBUTED') {
    await step(`sending the package to the edge`, async () => {
      await until('the package did not reach the edge', 120_000, async () => {
        const now = distribution(await center.must('GET', `${packagesPath}/${pkg.appPackageId}`, undefined, [200]))
        if (now?.state === 'FAILED')
          throw new StepError(`the edge did not take the package: ${now.error}`, `see ${logs}`)
        return now?.state === 'DISTRIBUTED' ? true : undefined
      })
    })
  }

  const host = await center.must('GET', `${hostsPath}/${hostIp}`, undefined, [200])
  const login = JSON.stringify({ username: 'admin', password })
  out.say()
  out.say('MECM is up.')
  out.say(`  center API   ${centerUrl}  (admin's tenant: ${tenantId})`)
  out.say(`  API docs     ${centerUrl}/docs  (OpenAPI document: ${centerUrl}/openapi.json, signed in)`)
  out.say(`  admin        user admin, password ${password}  (kept in ${shown(files.password)})`)
  out.say(`  sign in      curl -s ${centerUrl}/auth/v1/login -H 'content-type: application/json' -d '${login}'`)
  out.say(`  edge host    ${hostIp} ${host.status}, agent API ${agentUrl} (local admin: same password)`)
  out.say(`  edge CLI     edge-agent/bin/mepm --url ${agentUrl} login -p ${password}`)
  out.say(`  package      ${APP.name} ${APP.version} ${pkg.appPackageId} ${pkg.onboardingState}`)
  out.say(`  logs         ${logs}`)
  out.say()

  afterStop = () => {
    const pids = appsRunning(join(files.mepm, 'run'))
    if (!pids.length) return undefined
    return `${APP.name} keeps running (pid ${pids.join(', ')}): apps outlive their agent, as on a real edge. The next npm start takes it back; kill ${pids.join(' ')} stops it.`
  }

  // The app: deploy and check are not fatal. The center and the edge are useful without it.
  let app: { instanceId: string; port: number } | undefined
  let appProblem = ''
  try {
    app = await step(`deploying ${APP.name} on ${hostIp}`, (note) =>
      deploy({ center, agent, tenantId, hostIp, pkg, appPort: options.appPort, logs, note }),
    )
    const appUrl = `http://${hostIp}:${app.port}/`
    await step(`checking that ${APP.name} answers at ${appUrl}`, async () => {
      const instanceId = app?.instanceId
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
  } catch (error) {
    app = undefined
    appProblem = (error as Error).message
  }
  out.say(
    app
      ? `  app          ${APP.name} at http://${hostIp}:${app.port}/  (instance ${app.instanceId})`
      : `  app          ${APP.name} not deployed: ${appProblem}`,
  )
  out.say('Ready. Press Ctrl-C to stop the center and the edge agent.')
}

let options: ReturnType<typeof parseOptions>
try {
  options = parseOptions(process.argv.slice(2), process.env, root)
} catch (error) {
  console.error(`${(error as Error).message}\n\n${USAGE}`)
  process.exit(2)
}
if (options === 'help') {
  console.log(USAGE)
} else {
  await main(options).catch(async (error) => {
    if (!(error instanceof StepError)) out.error(`error: ${(error as Error).stack ?? error}`)
    await shutdown(1)
  })
}
