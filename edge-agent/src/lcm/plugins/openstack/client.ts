import { Agent } from 'undici'
import type { OpenStackConfig } from './config'
import { glanceApi } from './glance'
import { heatApi } from './heat'
import { keystoneSession } from './keystone'
import { neutronApi } from './neutron'
import { novaApi } from './nova'

/** Cinder's absolute limits: the project's volume gigabytes quota and use. */
export interface VolumeLimits {
  maxTotalVolumeGigabytes: number
  totalGigabytesUsed: number
}

/**
 * The plugin's own small OpenStack client on undici: one Keystone session (token and catalog)
 * shared by Glance, Nova, Neutron, Heat and Cinder, over one connection pool.
 */
export function openStackClient(config: OpenStackConfig) {
  const dispatcher = new Agent({ connect: { timeout: 10_000 }, headersTimeout: 120_000, bodyTimeout: 300_000 })
  const session = keystoneSession(config, dispatcher)
  return {
    config,
    glance: glanceApi(session),
    nova: novaApi(session),
    neutron: neutronApi(session),
    heat: heatApi(session),
    /** Cinder's limits, when the catalog has Cinder. */
    async volumeLimits(): Promise<VolumeLimits | undefined> {
      if (!(await session.has('volumev3'))) return undefined
      const reply = await session.request('volumev3', 'GET', '/limits')
      return (reply.body as { limits: { absolute: VolumeLimits } }).limits.absolute
    },
    close: () => dispatcher.close(),
  }
}
export type OpenStackClient = ReturnType<typeof openStackClient>
