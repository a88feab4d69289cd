import type { KeystoneSession } from './keystone'
import { OpenStackError } from './request'

export interface NovaFlavor {
  id: string
  name: string
  vcpus: number
  ram: number
  disk: number
  swap: number | ''
}

export interface NovaServer {
  id: string
  name: string
  status: string
  addresses: Record<string, { addr: string; version: number }[]>
  flavor: { id?: string; original_name?: string }
  image: { id?: string } | ''
  security_groups?: { name: string }[]
  'OS-EXT-STS:task_state'?: string | null
}

/** Nova's absolute limits: the project's quota and what it uses (cores, RAM in MiB, instances). */
export interface ComputeLimits {
  maxTotalCores: number
  totalCoresUsed: number
  maxTotalRAMSize: number
  totalRAMUsed: number
  maxTotalInstances: number
  totalInstancesUsed: number
}

const missing = (error: unknown) => error instanceof OpenStackError && error.status === 404

/** Nova (Compute API v2.1, no microversion needed): flavors, servers and their actions, limits. */
export function novaApi(session: KeystoneSession) {
  const request = session.request.bind(null, 'compute')
  return {
    flavors: {
      async list(): Promise<NovaFlavor[]> {
        return ((await request('GET', '/flavors/detail')).body as { flavors: NovaFlavor[] }).flavors
      },
      async get(id: string): Promise<NovaFlavor & { extra_specs: Record<string, string> }> {
        const { flavor } = (await request('GET', `/flavors/${id}`)).body as { flavor: NovaFlavor }
        const specs = (await request('GET', `/flavors/${id}/os-extra_specs`)).body as {
          extra_specs: Record<string, string>
        }
        return { ...flavor, extra_specs: specs.extra_specs }
      },
      async create(
        flavor: { name: string; vcpus: number; ram: number; disk: number; swap?: number },
        extraSpecs: Record<string, string> = {},
      ): Promise<NovaFlavor> {
        const created = ((await request('POST', '/flavors', { body: { flavor } })).body as { flavor: NovaFlavor })
          .flavor
        if (Object.keys(extraSpecs).length)
          await request('POST', `/flavors/${created.id}/os-extra_specs`, { body: { extra_specs: extraSpecs } })
        return created
      },
      async delete(id: string): Promise<void> {
        await request('DELETE', `/flavors/${id}`)
      },
    },
    servers: {
      async list(): Promise<NovaServer[]> {
        return ((await request('GET', '/servers/detail')).body as { servers: NovaServer[] }).servers
      },
      async get(id: string): Promise<NovaServer> {
        return ((await request('GET', `/servers/${id}`)).body as { server: NovaServer }).server
      },
      /** The server, or undefined once it is gone. */
      async find(id: string): Promise<NovaServer | undefined> {
        try {
          return await this.get(id)
        } catch (error) {
          if (missing(error)) return undefined
          throw error
        }
      },
      async create(server: Record<string, unknown>): Promise<{ id: string }> {
        return ((await request('POST', '/servers', { body: { server } })).body as { server: { id: string } }).server
      },
      async delete(id: string): Promise<void> {
        await request('DELETE', `/servers/${id}`)
      },
      /** A server action (os-start, os-stop, reboot, pause…); for createImage, the new image's id. */
      async action(id: string, action: string, argument: unknown = null): Promise<string | undefined> {
        const reply = await request('POST', `/servers/${id}/action`, { body: { [action]: argument } })
        const location = reply.headers.location
        const imageId = (reply.body as { image_id?: string } | undefined)?.image_id
        return imageId ?? (typeof location === 'string' ? location.split('/').pop() : undefined)
      },
      /** The last `length` lines of the console log (all of it without a length). */
      async consoleOutput(id: string, length?: number): Promise<string> {
        const reply = await request('POST', `/servers/${id}/action`, {
          body: { 'os-getConsoleOutput': length === undefined ? {} : { length } },
        })
        return (reply.body as { output: string }).output
      },
    },
    async limits(): Promise<ComputeLimits> {
      return ((await request('GET', '/limits')).body as { limits: { absolute: ComputeLimits } }).limits.absolute
    },
  }
}
