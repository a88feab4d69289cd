import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writePackage } from '@mecm/csar'
import { createLogger } from '@mecm/runtime'
import { startAgent } from '../agent'
import { loadAgentConfig } from '../config'

export const ADMIN_PASSWORD = 'Admin-pass1'

/** An exec package whose app answers on PORT, given as a parameter at deploy. */
export async function helloPackage(file: string): Promise<string> {
  await writePackage(file, {
    appClass: 'exec',
    appd: { id: 'hello', name: 'hello', provider: 'Acme', version: '1.0.0' },
    files: {
      'Artifacts/Deployment/Exec/app.yaml': 'command: node\nargs: [server.js]\nrestart: on-failure\n',
      'Artifacts/Deployment/Exec/server.js':
        "require('node:http').createServer((q, s) => { console.log('request ' + q.url); s.end(process.env.MECM_APP_INSTANCE_ID) }).listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'))\n",
    },
  })
  return file
}

/** A running agent in this process on a fresh data dir (or the one given), signed in. */
export async function testAgent(
  env: Record<string, string> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'mecm-agent-')),
) {
  const config = loadAgentConfig([], {
    MEPM_LISTEN: '127.0.0.1:0',
    MEPM_DATA_DIR: dataDir,
    MEPM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    MEPM_RECONCILE_MS: '100',
    MEPM_RECONNECT_BASE_MS: '50',
    MEPM_RECONNECT_MAX_MS: '1000',
    ...env,
  })
  const agent = await startAgent(config, createLogger('silent'))
  const login = await fetch(`${agent.url}/mepm/v1/login`, {
    method: 'POST',
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  })
  const { token } = (await login.json()) as { token: string }
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const response = await fetch(agent.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...headers },
      ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
    })
    const text = await response.text()
    let parsed: unknown = text
    try {
      parsed = JSON.parse(text)
    } catch {}
    // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
    return { status: response.status, body: parsed as any }
  }
  return {
    agent,
    dataDir,
    token,
    call,
    async close() {
      // the apps outlive the agent by design: stop them before the folder goes
      for (const instance of agent.store.desired.list())
        await call('DELETE', `/mepm/v1/instances/${instance.appInstanceId}`)
      for (let pass = 0; pass < 20 && agent.store.observed.list().length; pass++) await agent.reconcile()
      await agent.close()
      rmSync(dataDir, { recursive: true, force: true })
    },
    /** Stops the agent and keeps its data dir (to start it again). */
    stop: () => agent.close(),
  }
}
