import { openStackConfigFromEnv } from '../../lcm/plugins/openstack/config'
import { type OpenStackCloud, type OpenStackCloudOptions, openStackCloud } from './index'

export interface OpenStackTarget {
  /** The credentials text the plugin takes. */
  config: string
  /** The test cloud, unless the tests run against a real one (OS_AUTH_URL set). */
  cloud?: OpenStackCloud
  close(): Promise<void>
}

/** Whether the tests run against a real cloud: OS_AUTH_URL and the other OS_* variables are set. */
export const realCloud = Boolean(process.env.OS_AUTH_URL)

/** The cloud the tests use: the real one the OS_* variables name, else a test cloud started here. */
export async function openStackTarget(options: OpenStackCloudOptions = {}): Promise<OpenStackTarget> {
  const real = openStackConfigFromEnv(process.env)
  if (real) return { config: real, close: async () => {} }
  const cloud = await openStackCloud(options)
  return { config: cloud.config, cloud, close: () => cloud.close() }
}
