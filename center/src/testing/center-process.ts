import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ADMIN_PASSWORD } from './center'

const main = join(import.meta.dirname, '../main.ts')

/**
 * The center as its own process on a fixed port and data dir (SQLite), so that a test can kill it
 * with SIGKILL and start it again where it was.
 */
export async function centerProcess(dataDir: string, port: number, env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      MECM_LISTEN: `127.0.0.1:${port}`,
      MECM_DATA_DIR: dataDir,
      MECM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MECM_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.includes('"center listening"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the center exited with ${code}`)))
  })
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill(signal)
      await exited
    },
  }
}

/**
 * The first admin of a center process, signed in: `as` calls its API with JSON and answers the
 * parsed body (null for 204), throwing on any other status; `hosts` is the admin tenant's host
 * path. The center is looked up on each call (`center()`), and the token outlives a restart: it
 * is signed with a key kept in the data dir.
 */
export async function signedInAdmin(center: () => { url: string }) {
  // biome-ignore lint/suspicious/noExplicitAny: replies are read field by field
  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<any> => {
    const response = await fetch(center().url + path, {
      method,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (response.status >= 300) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`)
    return response.status === 204 ? null : response.json()
  }
  const token = (await call('POST', '/auth/v1/login', { username: 'admin', password: ADMIN_PASSWORD })).accessToken
  const as = (method: string, path: string, body?: unknown) => call(method, path, body, token)
  const hosts = `/inventory/v1/tenants/${(await as('GET', '/auth/v1/me')).tenantId}/mechosts`
  return { as, hosts, token }
}
