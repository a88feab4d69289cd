import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { processesOf } from '../edge-agent/src/testing/agent-process'
import { freePort } from '../edge-agent/src/testing/apps'
import { parseOptions } from './options'

const script = join(import.meta.dirname, 'start.ts')
/** The last line of what the center and the edge print: they are up, the app comes next. */
const UP = /^ {2}logs +/
/** The last line of all: the app deployed (or not, and why). */
const READY = /^Ready\. Press Ctrl-C/

/**
 * `npm start` as its own process on a data dir and ports of the test's: its stdout and stderr
 * lines as they come, waited on line by line (no polling, no sleeps).
 */
function quickstart(dataDir: string, ports: { center: number; agent: number; app: number }) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, '--data', dataDir], {
    env: {
      ...process.env,
      MECM_PORT: String(ports.center),
      MEPM_PORT: String(ports.agent),
      MECM_APP_PORT: String(ports.app),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const waiters: { pattern: RegExp; found(line: string): void; failed(error: Error): void }[] = []
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)))
  const take = (line: string) => {
    lines.push(line)
    for (const waiter of [...waiters]) {
      if (waiter.pattern.test(line)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.found(line)
      }
    }
  }
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', take)
  createInterface({ input: child.stderr as NodeJS.ReadableStream }).on('line', take)
  exited.then((code) => {
    for (const waiter of waiters.splice(0)) {
      waiter.failed(
        new Error(`the quickstart exited (${code}) before printing ${waiter.pattern}:\n${lines.join('\n')}`),
      )
    }
  })
  return {
    child,
    lines,
    exited,
    /** The first line matching `pattern`, printed already or still to come (within `timeoutMs`). */
    line(pattern: RegExp, timeoutMs = 90_000): Promise<string> {
      const seen = lines.find((line) => pattern.test(line))
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((found, failed) => {
        const timer = setTimeout(() => {
          failed(
            new Error(`no line ${pattern} within ${timeoutMs / 1000} s; the quickstart printed:\n${lines.join('\n')}`),
          )
        }, timeoutMs)
        waiters.push({
          pattern,
          found: (line) => {
            clearTimeout(timer)
            found(line)
          },
          failed: (error) => {
            clearTimeout(timer)
            failed(error)
          },
        })
      })
    },
    /** One field of the summary, by the pattern of its line (the first group). */
    field(pattern: RegExp): string | undefined {
      for (const line of lines) {
        const match = line.match(pattern)
        if (match) return match[1]
      }
      return undefined
    },
    /** Ctrl-C; resolves to the exit code. */
    async interrupt(): Promise<number | null> {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      return exited
    },
  }
}
type Quickstart = ReturnType<typeof quickstart>

/** What a run printed in its summary. */
function summaryOf(run: Quickstart) {
  return {
    centerUrl: run.field(/^ {2}center API +(\S+)/),
    docsUrl: run.field(/^ {2}API docs +(\S+)/),
    password: run.field(/^ {2}admin +user admin, password (\S+)/),
    hostIp: run.field(/^ {2}edge host +(\S+) /),
    hostStatus: run.field(/^ {2}edge host +\S+ (\S+),/),
    packageId: run.field(/^ {2}package +hello-exec \S+ ([0-9a-f]{64}) /),
    appUrl: run.field(/^ {2}app +hello-exec at (\S+)/),
    instanceId: run.field(/^ {2}app +hello-exec at \S+ +\(instance (\S+)\)/),
    appLine: run.field(/^ {2}(app +.*)$/),
  }
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
async function api(base: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const response = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, body: await response.json().catch(() => null) }
}

const refused = (url: string) =>
  fetch(url).then(
    () => false,
    () => true,
  )

describe('npm start: the quickstart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mecm-quickstart-'))
  let ports: { center: number; agent: number; app: number }
  let first: Quickstart
  let second: Quickstart | undefined
  let firstSummary: ReturnType<typeof summaryOf>
  const instanceIds = new Set<string>()

  beforeAll(async () => {
    ports = { center: await freePort(), agent: await freePort(), app: await freePort() }
  })

  afterAll(async () => {
    for (const run of [first, second]) await run?.interrupt()
    // apps outlive their agent by design: the ones this test deployed go now
    try {
      for (const id of readdirSync(join(dataDir, 'mepm', 'run'))) instanceIds.add(id)
    } catch {}
    for (const id of instanceIds) {
      for (const pid of processesOf(id)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {}
      }
    }
    rmSync(dataDir, { recursive: true, force: true })
  })

  it('brings up the center and an enrolled, ONLINE edge, onboards hello-exec, and prints working credentials', async () => {
    first = quickstart(dataDir, ports)
    await first.line(UP)
    const progress = [
      /^preparing .*… ok \(new admin password\)$/,
      new RegExp(`^starting the center on http://127.0.0.1:${ports.center}… ok$`),
      /^signing in as admin… ok/,
      new RegExp(`^starting the edge agent on http://127.0.0.1:${ports.agent}… ok$`),
      /^registering the edge host 127\.0\.0\.1… ok$/,
      /^enrolling the edge… ok$/,
      /^waiting for the edge to come online… ok$/,
      /^onboarding hello-exec 1\.0\.0… ok \(package [0-9a-f]{64}\)$/,
    ]
    let at = -1
    for (const step of progress) {
      const index = first.lines.findIndex((line, i) => i > at && step.test(line))
      expect(index, `a line matching ${step} after line ${at}:\n${first.lines.join('\n')}`).toBeGreaterThan(at)
      at = index
    }
    // the children's logs go to files, not to the console
    expect(first.lines.filter((line) => line.startsWith('{'))).toEqual([])
    expect(readFileSync(join(dataDir, 'logs', 'center.log'), 'utf8')).toContain('"center listening"')
    expect(readFileSync(join(dataDir, 'logs', 'mepm.log'), 'utf8')).toContain('"agent listening"')

    firstSummary = summaryOf(first)
    const { centerUrl, password, packageId } = firstSummary
    expect(centerUrl).toBe(`http://127.0.0.1:${ports.center}`)
    expect(firstSummary.docsUrl).toBe(`${centerUrl}/docs`)
    expect(password).toBe(readFileSync(join(dataDir, 'admin-password'), 'utf8').trim())
    expect(statSync(join(dataDir, 'admin-password')).mode & 0o777).toBe(0o600)

    const login = await api(`${centerUrl}`, 'POST', '/auth/v1/login', undefined, { username: 'admin', password })
    expect(login.status).toBe(200)
    const token = login.body.accessToken
    const tenant = login.body.user.tenantId
    const host = await api(`${centerUrl}`, 'GET', `/inventory/v1/tenants/${tenant}/mechosts/127.0.0.1`, token)
    expect(host.body).toMatchObject({ mechostIp: '127.0.0.1', vim: 'exec', status: 'ONLINE' })
    expect(firstSummary).toMatchObject({ hostIp: '127.0.0.1', hostStatus: 'ONLINE' })
    const pkg = await api(`${centerUrl}`, 'GET', `/apm/v1/tenants/${tenant}/packages/${packageId}`, token)
    expect(pkg.body).toMatchObject({ appPkgName: 'hello-exec', onboardingState: 'ONBOARDED' })
    expect((await fetch(`${centerUrl}/docs`)).status).toBe(200)
    // the edge's local API takes the same password
    const edge = await api(`http://127.0.0.1:${ports.agent}`, 'POST', '/mepm/v1/login', undefined, {
      username: 'admin',
      password,
    })
    expect(edge.status).toBe(200)
  }, 120_000)

  it('deploys hello-exec and prints a URL where it answers', async () => {
    await first.line(READY)
    const { appUrl, instanceId, appLine } = summaryOf(first)
    expect(appUrl, `the summary says: ${appLine}`).toBe(`http://127.0.0.1:${ports.app}/`)
    instanceIds.add(instanceId ?? '')
    expect(first.lines.some((line) => /^checking that hello-exec answers at .*… ok$/.test(line))).toBe(true)
    const answer = (await (await fetch(appUrl ?? '')).json()) as { hello: string; instance: string }
    expect(answer).toMatchObject({ hello: 'from the edge', instance: instanceId })
  }, 120_000)

  it('stops the center and the agent on Ctrl-C', async () => {
    expect(await first.interrupt()).toBe(0)
    expect(first.lines).toContain('stopped.')
    expect(await refused(`http://127.0.0.1:${ports.center}/healthz`)).toBe(true)
    expect(await refused(`http://127.0.0.1:${ports.agent}/healthz`)).toBe(true)
  }, 30_000)

  it('run again, reuses the password, the host, its enrollment and the package', async () => {
    second = quickstart(dataDir, ports)
    await second.line(UP)
    for (const step of [
      /^preparing .*… ok \(existing state\)$/,
      /^registering the edge host 127\.0\.0\.1… ok \(registered already\)$/,
      /^enrolling the edge… ok \(enrolled already\)$/,
      /^waiting for the edge to come online… ok$/,
      /^onboarding hello-exec 1\.0\.0… ok \(onboarded already: package [0-9a-f]{64}\)$/,
    ]) {
      expect(second.lines.some((line) => step.test(line))).toBe(true)
    }
    const again = summaryOf(second)
    expect(again.password).toBe(firstSummary.password)
    expect(again.packageId).toBe(firstSummary.packageId)
    expect(again.hostStatus).toBe('ONLINE')

    const { centerUrl } = again
    const login = await api(`${centerUrl}`, 'POST', '/auth/v1/login', undefined, {
      username: 'admin',
      password: again.password,
    })
    const token = login.body.accessToken
    const tenant = login.body.user.tenantId
    const hosts = await api(`${centerUrl}`, 'GET', `/inventory/v1/tenants/${tenant}/mechosts`, token)
    expect(hosts.body.items.map((h: { mechostIp: string }) => h.mechostIp)).toEqual(['127.0.0.1'])
    const packages = await api(`${centerUrl}`, 'GET', `/apm/v1/tenants/${tenant}/packages`, token)
    expect(packages.body.items.map((p: { appPackageId: string }) => p.appPackageId)).toEqual([firstSummary.packageId])
  }, 120_000)

  it('run again, reuses the app instance, which still answers', async () => {
    const active = second as Quickstart
    await active.line(READY)
    const again = summaryOf(active)
    const before = summaryOf(first)
    expect(before.instanceId, 'the first run deployed nothing').toBeDefined()
    expect(again.instanceId, `the summary says: ${again.appLine}`).toBe(before.instanceId)
    expect(active.lines.some((line) => /^deploying hello-exec on 127\.0\.0\.1… ok \(deployed already/.test(line))).toBe(
      true,
    )
    expect(again.appUrl).toBe(before.appUrl)
    const answer = (await (await fetch(again.appUrl ?? '')).json()) as { instance: string }
    expect(answer.instance).toBe(before.instanceId)

    const login = await api(`${again.centerUrl}`, 'POST', '/auth/v1/login', undefined, {
      username: 'admin',
      password: again.password,
    })
    const infos = await api(
      `${again.centerUrl}`,
      'GET',
      `/appo/v1/tenants/${login.body.user.tenantId}/app_instance_infos`,
      login.body.accessToken,
    )
    const mine = infos.body.response.filter((i: { appName: string }) => i.appName === 'hello-exec')
    expect(mine.map((i: { appInstanceId: string }) => i.appInstanceId)).toEqual([before.instanceId])
  }, 120_000)

  it('stops again on Ctrl-C', async () => {
    expect(await (second as Quickstart).interrupt()).toBe(0)
    expect(await refused(`http://127.0.0.1:${ports.center}/healthz`)).toBe(true)
  }, 30_000)
})

// the options, checked without starting anything
describe('quickstart options', () => {
  it('take flags over environment over defaults, and refuse bad or equal ports', () => {
    expect(parseOptions([], {}, '/repo')).toEqual({
      dataDir: '/repo/data',
      host: '127.0.0.1',
      centerPort: 8080,
      agentPort: 8090,
      appPort: 8081,
    })
    expect(
      parseOptions(['--data', '/x', '--center-port', '9000'], { MECM_PORT: '9100', MEPM_PORT: '9200' }, '/repo'),
    ).toMatchObject({ dataDir: '/x', centerPort: 9000, agentPort: 9200 })
    expect(parseOptions([], { MECM_QUICKSTART_DIR: '/y' }, '/repo')).toMatchObject({ dataDir: '/y' })
    expect(() => parseOptions(['--app-port', '70000'], {}, '/repo')).toThrow(/--app-port/)
    expect(() => parseOptions(['--app-port', '8080'], {}, '/repo')).toThrow(/must differ/)
    expect(parseOptions(['-h'], {}, '/repo')).toBe('help')
  })
})
