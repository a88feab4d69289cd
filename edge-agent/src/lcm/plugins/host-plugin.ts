import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Logger } from '@mecm/runtime'
import type { AgentConfig } from '../../config'
import type { Plugin } from '../plugin'
import { execPlugin } from './exec/exec-plugin'
import { kubernetesPlugin } from './kubernetes/kubernetes-plugin'
import { openStackConfigFromEnv } from './openstack/config'
import { openstackPlugin } from './openstack/openstack-plugin'

/** A config file set on the agent, read at each use so that an edited file takes effect. */
function localFile(path: string | undefined, setting: string): (() => string) | undefined {
  if (!path) return undefined
  return () => {
    try {
      return readFileSync(path, 'utf8')
    } catch (error) {
      throw new Error(`cannot read ${setting} ${path}: ${(error as Error).message}`)
    }
  }
}

/**
 * The plugin this host runs its apps with (MEPM_VIM). Credentials set on the agent (a file, or
 * OS_* variables) win over those the center sends, which arrive sealed with `plugin.configure`.
 */
export function hostPlugin(
  config: AgentConfig,
  deps: { fromCenter: (vim: 'kubernetes' | 'openstack') => string | undefined; log: Logger },
) {
  const log = deps.log.child({ plugin: config.vim })
  switch (config.vim) {
    case 'exec': {
      const exec = execPlugin({ runDir: join(config.dataDir, 'run') })
      return { plugin: exec as Plugin, rotateLogs: (id: string) => exec.rotateLogs(id) }
    }
    case 'kubernetes': {
      const local = localFile(config.kubeconfig, 'MEPM_KUBECONFIG')
      const plugin = kubernetesPlugin({
        kubeconfig: local ?? (() => deps.fromCenter('kubernetes')),
        workDir: join(config.dataDir, 'kubernetes'),
        log,
        ...(config.helm ? { helm: config.helm } : {}),
      })
      return { plugin }
    }
    case 'openstack': {
      const fromEnv = openStackConfigFromEnv(config.openstackEnv)
      const local = localFile(config.openstackConfig, 'MEPM_OPENSTACK_CONFIG') ?? (fromEnv ? () => fromEnv : undefined)
      const plugin = openstackPlugin({ config: local ?? (() => deps.fromCenter('openstack')), log })
      return { plugin, cloud: () => plugin.cloud() }
    }
  }
}
