import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ADMIN_PASSWORD, helloPackage } from './agent'
import { freePort } from './apps'

const main = join(import.meta.dirname, '../main.ts')

/**
 * The agent as its own process on a fixed port and data dir, so that it can be killed and started
 * again: from source through tsx, or from the bundle `npm run build` makes (`bundle`).
 */
export async function agentProcess(dataDir: string, port: number, options: { bundle?: string } = {}) {
  const args = options.bundle ? [options.bundle] : ['--import', 'tsx', main]
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      ...process.env,
      MEPM_LISTEN: `127.0.0.1:${port}`,
      MEPM_DATA_DIR: dataDir,
      MEPM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MEPM_RECONCILE_MS: '100',
      MEPM_LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.includes('"agent listening"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the agent exited with ${code}`)))
  })
  const url = `http://127.0.0.1:${port}`
  const login = await fetch(`${url}/mepm/v1/login`, {
    method: 'POST',
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  return {
    child,
    url,
    call: (method: string, path: string, body?: unknown) =>
      fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}` },
        ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      }),
    async kill() {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
  }
}

/** Adds the hello package to a running agent and deploys `count` instances of it, each on a port of its own. */
export async function deployHellos(agent: Awaited<ReturnType<typeof agentProcess>>, dataDir: string, count: number) {
  const bytes = readFileSync(await helloPackage(join(dataDir, 'hello.csar')))
  const pkg = (await (await agent.call('POST', '/mepm/v1/packages', bytes)).json()) as { appPkgId: string }
  const deployed: { appInstanceId: string; port: number }[] = []
  for (let i = 0; i < count; i++) {
    const port = await freePort()
    const response = await agent.call('POST', '/mepm/v1/instances', {
      package: pkg.appPkgId,
      parameters: { PORT: String(port) },
    })
    deployed.push({ appInstanceId: ((await response.json()) as { appInstanceId: string }).appInstanceId, port })
  }
  return deployed
}

/** Whether an app answers HTTP on its port. */
export const answers = (port: number): Promise<boolean> =>
  fetch(`http://127.0.0.1:${port}/`).then(
    (response) => response.ok,
    () => false,
  )

/** Processes of this machine started for an app instance, found by the instance id in their environment. */
export function processesOf(appInstanceId: string): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').includes(`MECM_APP_INSTANCE_ID=${appInstanceId}\0`)) {
        const state = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.[0]
        if (state !== 'Z') found.push(Number(entry))
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found
}
