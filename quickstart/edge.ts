import { type Client, detailOf, type Json, until } from './api'
import { shown, step } from './output'
import { StepError } from './service'

const hostsPath = (tenantId: string) => `/inventory/v1/tenants/${tenantId}/mechosts`

/** The edge host as the center's inventory shows it. */
export function edgeHost(center: Client, tenantId: string, hostIp: string): Promise<Json> {
  return center.must('GET', `${hostsPath(tenantId)}/${hostIp}`, undefined, [200])
}

/**
 * Registers the local edge host with the center and enrolls its agent, or finds that a previous
 * run did; then waits for the center to see it ONLINE.
 */
export async function enrollEdge(e: {
  center: Client
  agent: Client
  centerUrl: string
  tenantId: string
  hostIp: string
  /** The agent's data dir, to remove when its identity is no longer the center's. */
  mepmDir: string
  logs: string
}): Promise<void> {
  const { center, agent, hostIp } = e
  const hostsAt = hostsPath(e.tenantId)
  const { token } = await step(`registering the edge host ${hostIp}`, async (note) => {
    const existing = await center.call('GET', `${hostsAt}/${hostIp}`)
    if (existing.status === 200) {
      note('registered already')
      return { token: undefined as string | undefined, made: false }
    }
    if (existing.status !== 404) {
      throw new StepError(`GET ${hostsAt}/${hostIp} answered ${existing.status}: ${detailOf(existing.body)}`)
    }
    const made = await center.must(
      'POST',
      hostsAt,
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
    const oneTime = token ?? (await center.must('POST', `${hostsAt}/${hostIp}/enrollment`, undefined, [201])).token
    await agent.must('POST', '/mepm/v1/sync/enroll', { centerUrl: e.centerUrl, token: oneTime }, [200, 201])
  })

  await step('waiting for the edge to come online', async () => {
    await until('the edge did not come ONLINE', 30_000, async () => {
      const host = await edgeHost(center, e.tenantId, hostIp)
      return host.status === 'ONLINE' ? true : undefined
    }).catch(async (error: StepError) => {
      const sync = await agent.call('GET', '/mepm/v1/sync')
      throw new StepError(
        `${error.message}${sync.body?.lastError ? `; the agent says: ${sync.body.lastError}` : ''}`,
        `if this edge was removed from the center or its identity revoked, remove ${shown(e.mepmDir)} and start again; logs: ${e.logs}`,
      )
    })
  })
}
