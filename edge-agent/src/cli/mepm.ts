import { chmodSync, createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { parseArgs } from 'node:util'

/**
 * mepm: the edge's command line, over the local MEPM API.
 *   mepm login -p PASSWORD            sign in as the local admin (session kept in ~/.mepm, mode 600)
 *   mepm status | kpi
 *   mepm enroll --center URL --token TOKEN   join the center with the one-time token from host registration
 *   mepm sync                          the link to the center: enrolled, connected, events waiting
 *   mepm rotate-key                    replace this edge's key pair at the center
 *   mepm apps ls | show ID | deploy PACKAGE [--name N] [--param k=v ...] [--stopped] | rm ID | start ID | stop ID
 *   mepm apps logs ID [-f] [--tail N]
 *   mepm pkgs ls | add FILE
 * Options: -o json (for scripts), --url URL (or MEPM_URL; default http://127.0.0.1:8090).
 * Exit codes: 0 done, 1 refused by the agent, 2 wrong usage, 3 agent unreachable or not signed in.
 */
class Exit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message)
  }
}

const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    output: { type: 'string', short: 'o', default: 'table' },
    url: { type: 'string' },
    password: { type: 'string', short: 'p' },
    username: { type: 'string', short: 'u', default: 'admin' },
    name: { type: 'string' },
    param: { type: 'string', multiple: true, default: [] },
    stopped: { type: 'boolean', default: false },
    follow: { type: 'boolean', short: 'f', default: false },
    tail: { type: 'string', default: '100' },
    center: { type: 'string' },
    token: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
})

const home = process.env.MEPM_HOME ?? join(homedir(), '.mepm')
const sessionFile = join(home, 'session.json')
const session = (() => {
  try {
    return JSON.parse(readFileSync(sessionFile, 'utf8')) as { url: string; token: string }
  } catch {
    return undefined
  }
})()
const url = (options.url ?? process.env.MEPM_URL ?? session?.url ?? 'http://127.0.0.1:8090').replace(/\/$/, '')
const json = options.output === 'json'

async function call(
  method: string,
  path: string,
  body?: string | ReadableStream,
  headers: Record<string, string> = {},
): Promise<Response> {
  // the saved session goes only to the agent it came from
  const token = process.env.MEPM_TOKEN ?? (session?.url === url ? session.token : undefined)
  let response: Response
  try {
    response = await fetch(url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit)
  } catch (error) {
    throw new Exit(
      3,
      `cannot reach the agent at ${url}: ${(error as Error).cause ?? (error as Error).message}. Is it running? (--url, MEPM_URL)`,
    )
  }
  if (response.status === 401 && path !== '/mepm/v1/login')
    throw new Exit(3, 'not signed in, or the session ended: run mepm login -p PASSWORD')
  if (!response.ok) {
    const problem = (await response.json().catch(() => ({}))) as { detail?: string }
    throw new Exit(1, problem.detail ?? `the agent answered ${response.status}`)
  }
  return response
}

// biome-ignore lint/suspicious/noExplicitAny: the agent's answers are printed as they come
const get = async (path: string): Promise<any> => (await call('GET', path)).json()
// biome-ignore lint/suspicious/noExplicitAny: as get
const send = async (method: string, path: string, body?: unknown): Promise<any> =>
  (
    await call(method, path, body === undefined ? undefined : JSON.stringify(body), {
      'content-type': 'application/json',
    })
  ).json()

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = rows.map((row) => columns.map((column) => String(row[column] ?? '')))
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((cell) => cell[i]?.length ?? 0)))
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [line(columns.map((c) => c.toUpperCase())), ...cells.map(line)].join('\n')
}

function print(data: unknown, human: () => string): void {
  console.log(json ? JSON.stringify(data, null, 2) : human())
}

const instanceColumns = ['appInstanceId', 'appName', 'status', 'targetState', 'origin', 'detail']
const one = (i: Record<string, unknown>) =>
  Object.entries(i)
    .map(([k, v]) => `${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
    .join('\n')

async function upload(file: string) {
  const path = resolve(file)
  let size: number
  try {
    size = statSync(path).size
  } catch {
    throw new Exit(2, `no such file: ${file}`)
  }
  let sent = 0
  let shown = -1
  const progress = new Transform({
    transform(chunk: Buffer, _, done) {
      sent += chunk.length
      const percent = Math.floor((100 * sent) / size)
      if (!json && process.stderr.isTTY && percent !== shown) {
        shown = percent
        process.stderr.write(`\ruploading ${file}: ${percent}%`)
      }
      done(null, chunk)
    },
  })
  const body = Readable.toWeb(createReadStream(path).pipe(progress)) as ReadableStream
  const response = await call('POST', '/mepm/v1/packages', body, {
    'content-type': 'application/zip',
    'content-length': String(size),
  })
  if (!json && process.stderr.isTTY) process.stderr.write('\n')
  return response.json()
}

async function main(): Promise<void> {
  const [group, action, target] = positionals
  if (options.help || !group)
    throw new Exit(
      2,
      readFileSync(new URL(import.meta.url))
        .toString()
        .match(/\/\*\*([\s\S]*?)\*\//)?.[1]
        ?.replace(/^ \* ?/gm, '') ?? '',
    )
  const need = (what: string) => {
    if (!target) throw new Exit(2, `usage: mepm ${group} ${action} ${what}`)
    return target
  }
  switch (`${group} ${action ?? ''}`.trim()) {
    case 'login': {
      const password = options.password ?? process.env.MEPM_PASSWORD
      if (!password) throw new Exit(2, 'usage: mepm login -p PASSWORD (or set MEPM_PASSWORD)')
      const { token } = (await send('POST', '/mepm/v1/login', { username: options.username, password })) as {
        token: string
      }
      mkdirSync(home, { recursive: true, mode: 0o700 })
      chmodSync(home, 0o700)
      writeFileSync(sessionFile, JSON.stringify({ url, token }), { mode: 0o600 })
      chmodSync(sessionFile, 0o600)
      return print({ url, signedIn: true }, () => `signed in to ${url}`)
    }
    case 'status': {
      const status = await get('/mepm/v1/status')
      return print(status, () => one(status))
    }
    case 'enroll': {
      if (!options.center || !options.token) throw new Exit(2, 'usage: mepm enroll --center URL --token TOKEN')
      const enrolled = (await send('POST', '/mepm/v1/sync/enroll', {
        centerUrl: options.center,
        token: options.token,
      })) as { hostId: string; mechostIp: string; centerUrl: string }
      return print(
        enrolled,
        () => `enrolled as host ${enrolled.mechostIp} (${enrolled.hostId}) at ${enrolled.centerUrl}`,
      )
    }
    case 'sync': {
      const status = await get('/mepm/v1/sync')
      return print(status, () => one(status))
    }
    case 'rotate-key': {
      const rotated = await send('POST', '/mepm/v1/sync/rotate', {})
      return print(rotated, () => 'the center now knows this edge by its new key')
    }
    case 'kpi': {
      const kpi = (await get('/mepm/v1/kpi')) as {
        cpu: { cores: number; usedPercent: number }
        memory: { totalBytes: number; usedBytes: number }
        disk: { totalBytes: number; usedBytes: number }
        instances: number
      }
      const gib = (bytes: number) => (bytes / 1024 ** 3).toFixed(1)
      return print(kpi, () =>
        [
          `cpu        ${kpi.cpu.usedPercent}% of ${kpi.cpu.cores} cores`,
          `memory     ${gib(kpi.memory.usedBytes)} / ${gib(kpi.memory.totalBytes)} GiB`,
          `disk       ${gib(kpi.disk.usedBytes)} / ${gib(kpi.disk.totalBytes)} GiB`,
          `instances  ${kpi.instances}`,
        ].join('\n'),
      )
    }
    case 'apps ls': {
      const apps = (await get('/mepm/v1/instances')) as Record<string, unknown>[]
      return print(apps, () => (apps.length ? table(apps, instanceColumns) : 'no app instances'))
    }
    case 'apps show': {
      const id = need('ID')
      const app = await get(`/mepm/v1/instances/${id}`)
      const live = (await get(`/mepm/v1/instances/${id}/live`)) as {
        resources?: Record<string, unknown>[]
        events?: { at: string; object: string; reason: string; message: string }[]
      }
      return print({ ...app, live }, () =>
        [
          one(app),
          ...(live.resources?.length
            ? ['', table(live.resources, ['kind', 'name', 'status', 'ready', 'restarts'])]
            : []),
          ...(live.events?.length
            ? ['', ...live.events.map((e) => `${e.at}  ${e.object}  ${e.reason}: ${e.message}`)]
            : []),
        ].join('\n'),
      )
    }
    case 'apps deploy': {
      const parameters = Object.fromEntries(
        (options.param as string[]).map((pair) => {
          const at = pair.indexOf('=')
          if (at < 1) throw new Exit(2, `--param takes key=value, not ${pair}`)
          return [pair.slice(0, at), pair.slice(at + 1)]
        }),
      )
      const app = await send('POST', '/mepm/v1/instances', {
        package: need('PACKAGE'),
        parameters,
        state: options.stopped ? 'STOPPED' : 'STARTED',
        ...(options.name ? { appName: options.name } : {}),
      })
      return print(
        app,
        () => `deploying ${app.appName} as ${app.appInstanceId}; follow it with mepm apps show ${app.appInstanceId}`,
      )
    }
    case 'apps rm':
    case 'apps start':
    case 'apps stop': {
      const id = need('ID')
      const app =
        action === 'rm'
          ? await send('DELETE', `/mepm/v1/instances/${id}`)
          : await send('POST', `/mepm/v1/instances/${id}/${action}`)
      return print(app, () => `${action === 'rm' ? 'terminating' : action === 'start' ? 'starting' : 'stopping'} ${id}`)
    }
    case 'apps logs': {
      const id = need('ID')
      const response = await call(
        'GET',
        `/mepm/v1/instances/${id}/logs?tail=${Number(options.tail)}&follow=${options.follow}`,
      )
      for await (const chunk of response.body ?? []) process.stdout.write(chunk)
      return
    }
    case 'pkgs ls': {
      const pkgs = (await get('/mepm/v1/packages')) as {
        appPkgId: string
        appClass: string
        size: number
        details: { appName: string; appSoftVersion: string }
      }[]
      const rows = pkgs.map((p) => ({
        appPkgId: p.appPkgId,
        name: p.details.appName,
        version: p.details.appSoftVersion,
        class: p.appClass,
        size: p.size,
      }))
      return print(pkgs, () =>
        rows.length ? table(rows, ['appPkgId', 'name', 'version', 'class', 'size']) : 'no packages',
      )
    }
    case 'pkgs add': {
      const pkg = (await upload(need('FILE'))) as { appPkgId: string; details: { appName: string } }
      return print(
        pkg,
        () => `added ${pkg.details.appName} as ${pkg.appPkgId}; deploy it with mepm apps deploy ${pkg.appPkgId}`,
      )
    }
    default:
      throw new Exit(2, `unknown command: mepm ${positionals.join(' ')}; see mepm --help`)
  }
}

main().catch((error: Error) => {
  if (error instanceof Exit) {
    ;(error.code === 0 ? console.log : console.error)(
      error.code === 2 && !positionals.length ? error.message : `mepm: ${error.message}`,
    )
    process.exit(error.code)
  }
  console.error(`mepm: ${error.message}`)
  process.exit(1)
})
