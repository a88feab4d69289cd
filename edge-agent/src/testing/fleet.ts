import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { type Dialect, type TestCenter, testCenter, uploadForm } from '@mecm/center/testing'
import type { VimKind } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { expect, vi } from 'vitest'
import { helloPackage, testAgent } from './agent'

export const WAIT = { timeout: 20_000, interval: 50 }

/**
 * A real center and edge agents that enroll with it, all on 127.0.0.1: the setting of the sync
 * tests. Hosts are registered by a TENANT user; each agent spends its host's token.
 */
export async function testFleet(dialect: Dialect = 'sqlite', centerEnv: Record<string, string> = {}) {
  const t: TestCenter = await testCenter(dialect, { MECM_EDGE_HEARTBEAT_MS: '500', ...centerEnv })
  const operator = await t.user('TENANT')
  const agents: Awaited<ReturnType<typeof testAgent>>[] = []
  let hosts = 0
  const hostPath = (ip: string) => `/inventory/v1/tenants/${operator.tenantId}/mechosts/${ip}`

  async function register(ip = `10.20.0.${++hosts}`, vim: VimKind = 'exec') {
    const reply = await t.call('POST', `/inventory/v1/tenants/${operator.tenantId}/mechosts`, {
      token: operator.token,
      body: { ...examples.mecHostInput, mechostIp: ip, mechostName: `edge-${ip}`, vim },
    })
    if (reply.status !== 201) throw new Error(`registering ${ip} failed: ${JSON.stringify(reply.body)}`)
    return { ip, token: reply.body.enrollment.token as string }
  }

  const statusOf = async (ip: string) =>
    (await t.call('GET', hostPath(ip), { token: operator.token })).body.status as string

  /** A new host and an agent enrolled as it and connected (through `centerUrl` when given), running `vim` apps. */
  async function edge(
    options: { centerUrl?: string; env?: Record<string, string>; dataDir?: string; vim?: VimKind } = {},
  ) {
    const host = await register(undefined, options.vim)
    const agent = await testAgent(
      {
        ...(options.centerUrl ? { MEPM_CENTER_URL: options.centerUrl } : {}),
        ...(options.vim ? { MEPM_VIM: options.vim } : {}),
        ...options.env,
      },
      options.dataDir ?? mkdtempSync(join(tmpdir(), 'mecm-agent-')),
    )
    agents.push(agent)
    await agent.agent.sync.enroll(t.center.url, host.token)
    await vi.waitFor(async () => {
      if ((await statusOf(host.ip)) !== 'ONLINE') throw new Error(`${host.ip} is not ONLINE yet`)
    }, WAIT)
    return { ...agent, ip: host.ip, hostId: agent.agent.sync.status().hostId as string }
  }

  const call = (method: string, path: string, body?: unknown) => t.call(method, path, { token: operator.token, body })
  /** A path of the tenant's /appo/v1 API. */
  const appo = (path: string) => `/appo/v1/tenants/${operator.tenantId}${path}`

  /** Uploads the hello exec package (to be distributed to `hostList`); resolves when it is onboarded. */
  async function onboardHello(hostList?: string): Promise<string> {
    return onboard(await helloPackage(join(mkdtempSync(join(tmpdir(), 'mecm-pkg-')), 'hello.csar')), hostList)
  }

  /** Uploads a package file (to be distributed to `hostList`); resolves to its id when it is onboarded. */
  async function onboard(file: string, hostList?: string): Promise<string> {
    const response = await fetch(`${t.center.url}/apm/v1/tenants/${operator.tenantId}/packages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator.token}` },
      body: uploadForm(file, {
        appPackageName: basename(file).replace(/\.csar$/, ''),
        appPackageVersion: '1.0.0',
        ...(hostList ? { hostList } : {}),
      }),
    })
    const body = (await response.json()) as { appPkgId: string }
    await vi.waitFor(async () => {
      const shown = await t.call('GET', `/apm/v1/tenants/${operator.tenantId}/packages/${body.appPkgId}`, {
        token: operator.token,
      })
      if (shown.body.onboardingState !== 'ONBOARDED') throw new Error(`package is ${shown.body.onboardingState}`)
    }, WAIT)
    return body.appPkgId
  }

  return {
    t,
    operator,
    hostPath,
    register,
    statusOf,
    edge,
    onboardHello,
    onboard,
    call,
    appo,
    /** The operation's view once it has ended (COMPLETED, FAILED_TEMP or FAILED), read field by field. */
    async settled(operationId: string, wait = WAIT) {
      // biome-ignore lint/suspicious/noExplicitAny: tests read the view field by field
      let body: any
      await vi.waitFor(async () => {
        body = (await call('GET', appo(`/operations/${operationId}`))).body
        expect(['COMPLETED', 'FAILED_TEMP', 'FAILED'], JSON.stringify(body)).toContain(body.operationState)
      }, wait)
      return body
    },
    async close() {
      for (const agent of agents) await agent.close().catch(() => undefined)
      await t.close()
    },
  }
}
export type TestFleet = Awaited<ReturnType<typeof testFleet>>
