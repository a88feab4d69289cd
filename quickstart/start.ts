/**
 * `npm start`: the two-command quickstart. Brings up a center (SQLite under ./data), one local edge
 * agent enrolled with it (exec plugin), onboards the hello-exec sample package and deploys it, then
 * prints where everything is. Run again, it reuses what it made. Ctrl-C stops both processes.
 *
 * Under the data dir: admin-password (mode 600), center/ and mepm/ (their data dirs),
 * logs/center.log and logs/mepm.log (their logs), quickstart.pid while it runs.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { client, detailOf } from './api'
import { appsLeft, deployApp } from './app'
import { adminPassword, takeLock } from './data-dir'
import { edgeHost, enrollEdge } from './edge'
import { layout, parseOptions, type QuickstartOptions, USAGE } from './options'
import { out, sayApp, sayUp, shown, step } from './output'
import { APP, onboard } from './package'
import { ensurePortFree, type Service, StepError, startService } from './service'

const root = join(import.meta.dirname, '..')

const services: Service[] = []
let afterStop: () => string | undefined = () => undefined

/** Stops the children (SIGINT, as Ctrl-C does), says so, and exits with `code`. */
async function shutdown(code: number): Promise<never> {
  if (!out.stopping) {
    out.stopping = true
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
    if (out.stopping && Date.now() - signalledAt > 2000) {
      out.say('stopping at once (SIGKILL).')
      for (const s of services) s.child.kill('SIGKILL')
      process.exit(1)
    }
    if (!out.stopping) signalledAt = Date.now()
    void shutdown(0)
  })
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

async function main(options: QuickstartOptions): Promise<void> {
  const files = layout(options.dataDir)
  const logs = `${shown(files.centerLog)}, ${shown(files.mepmLog)}`
  const centerUrl = `http://${options.host}:${options.centerPort}`
  const agentUrl = `http://${options.host}:${options.agentPort}`
  const hostIp = options.host
  const onError = (name: string) => (line: string) => {
    if (!out.stopping) out.error(`  ${name}: ${line}`)
  }
  const watch = (service: Service) => {
    services.push(service)
    service.exited.then(({ code, signal }) => {
      if (out.stopping) return
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

  await enrollEdge({ center, agent, centerUrl, tenantId, hostIp, mepmDir: files.mepm, logs })
  const pkg = await onboard(center, tenantId, hostIp, logs)

  const host = await edgeHost(center, tenantId, hostIp)
  sayUp({
    centerUrl,
    agentUrl,
    tenantId,
    password,
    passwordFile: files.password,
    hostIp,
    hostStatus: host.status,
    app: APP,
    packageId: pkg.appPackageId,
    packageState: pkg.onboardingState,
    logs,
  })

  afterStop = () => appsLeft(files.mepm)

  // The app: deploy and check are not fatal. The center and the edge are useful without it.
  const app = await deployApp({ center, agent, tenantId, hostIp, pkg, appPort: options.appPort, logs })
  sayApp(APP.name, hostIp, app)
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
