import { type Wait, waitUntil } from '../wait'
import type { OpenStackClient } from './client'
import type { HeatResource, StackRef } from './heat'
import type { NovaServer } from './nova'
import { OpenStackError } from './request'

/** The Nova servers among a stack's resources (those still there). */
export async function serversOf(client: OpenStackClient, resources: HeatResource[]): Promise<NovaServer[]> {
  const ids = resources
    .filter((resource) => resource.resource_type === 'OS::Nova::Server' && resource.physical_resource_id)
    .map((resource) => resource.physical_resource_id)
  const servers = await Promise.all(ids.map((id) => client.nova.servers.find(id)))
  return servers.filter((server): server is NovaServer => server !== undefined)
}

/** The Nova servers a stack made (those still there). */
export async function stackServers(client: OpenStackClient, stack: StackRef): Promise<NovaServer[]> {
  return serversOf(client, await client.heat.resources(stack))
}

/** The action that brings a server from its status towards `target`, if any. */
function actionFor(status: string, target: 'ACTIVE' | 'SHUTOFF'): string | undefined {
  if (target === 'SHUTOFF') return status === 'ACTIVE' || status === 'ERROR' ? 'os-stop' : undefined
  return ({ SHUTOFF: 'os-start', PAUSED: 'unpause', SUSPENDED: 'resume' } as Record<string, string>)[status]
}

/**
 * Powers the stack's servers on (ACTIVE) or off (SHUTOFF) and waits until each is there. A server
 * busy with another task is waited for; Nova's 409 for a state that changed meanwhile is not an error.
 */
export async function power(client: OpenStackClient, stack: StackRef, target: 'ACTIVE' | 'SHUTOFF', wait: Wait) {
  await waitUntil(
    wait,
    async () => {
      const pending = (await stackServers(client, stack)).filter((server) => server.status !== target)
      for (const server of pending) {
        const action = server['OS-EXT-STS:task_state'] ? undefined : actionFor(server.status, target)
        if (!action) continue
        await client.nova.servers.action(server.id, action).catch((error) => {
          if (!(error instanceof OpenStackError && error.status === 409)) throw error
        })
      }
      return pending
    },
    (pending) => !pending.length,
    (pending, waited) =>
      new Error(
        `Nova: server ${pending.map((server) => `${server.name} is ${server.status}`).join(', ')}, not ${target}, after ${waited} (timed out waiting)`,
      ),
  )
}

/** A server's console lines; none yet while it builds (Nova's 409 "not ready"). */
export async function consoleLines(client: OpenStackClient, server: NovaServer, length?: number): Promise<string[]> {
  try {
    const output = await client.nova.servers.consoleOutput(server.id, length)
    const lines = output.split('\n')
    if (lines.at(-1) === '') lines.pop()
    return lines
  } catch (error) {
    if (error instanceof OpenStackError && error.status === 409) return []
    throw error
  }
}
