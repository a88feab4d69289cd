import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { VimKind } from '@mecm/protocol'
import { z } from 'zod'

/**
 * The agent's configuration: flags, then environment, then the config file, then defaults.
 *   --config / MEPM_CONFIG             a JSON file with any of the keys below
 *   --listen / MEPM_LISTEN             local API address (127.0.0.1:8090)
 *   --data-dir / MEPM_DATA_DIR         store, packages, app processes and logs (./data/mepm)
 *   --center / MEPM_CENTER_URL         dial this center address instead of the one enrolled with (a proxy)
 *   MEPM_VIM                           exec | kubernetes | openstack (exec)
 *   MEPM_KUBECONFIG                    kubernetes: a kubeconfig file to use instead of the one the center sends
 *   MEPM_HELM                          kubernetes: the helm binary for packages with charts (helm on PATH)
 *   MEPM_OPENSTACK_CONFIG              openstack: an RC file or JSON credentials to use instead of the center's;
 *                                      without it, OS_AUTH_URL and the other OS_* variables when set
 *   MEPM_ADMIN_PASSWORD                the local admin's password (generated and logged once)
 *   MEPM_LOG_LEVEL                     debug | info | warn | error | silent (info)
 *   MEPM_RECONCILE_MS                  reconcile pass interval (2000)
 *   MEPM_METRICS_MS                    host metrics sent to the center every so often (30000)
 *   MEPM_GRACEFUL_TIMEOUT_MS           how long an app that subscribed to its termination may take to confirm (10000)
 *   MEPM_RECONNECT_BASE_MS / _MAX_MS   redial backoff: doubles from base up to max, with jitter (500 / 30000)
 */
export const AgentConfig = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  dataDir: z.string().min(1),
  centerUrl: z.url().optional(),
  vim: VimKind,
  kubeconfig: z.string().min(1).optional(),
  helm: z.string().min(1).optional(),
  openstackConfig: z.string().min(1).optional(),
  /** The OS_* variables of the agent's environment: OpenStack credentials set the usual way. */
  openstackEnv: z.record(z.string(), z.string()).default({}),
  adminPassword: z.string().min(8, 'MEPM_ADMIN_PASSWORD must be at least 8 characters').optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
  reconcileMs: z.coerce.number().int().min(50),
  metricsMs: z.coerce.number().int().min(1000),
  gracefulTimeoutMs: z.coerce.number().int().min(0).max(600_000),
  reconnectBaseMs: z.coerce.number().int().min(10),
  reconnectMaxMs: z.coerce.number().int().min(10),
})
export type AgentConfig = z.infer<typeof AgentConfig>

export function loadAgentConfig(argv: string[], env: NodeJS.ProcessEnv): AgentConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      listen: { type: 'string' },
      'data-dir': { type: 'string' },
      center: { type: 'string' },
    },
    strict: true,
  })
  const path = values.config ?? env.MEPM_CONFIG
  let file: Record<string, string> = {}
  if (path) {
    try {
      file = JSON.parse(readFileSync(path, 'utf8'))
    } catch (error) {
      throw new Error(`cannot read the config file ${path}: ${(error as Error).message}`)
    }
  }
  const listen = values.listen ?? env.MEPM_LISTEN ?? file.listen ?? '127.0.0.1:8090'
  const colon = listen.lastIndexOf(':')
  const parsed = AgentConfig.safeParse({
    host: listen.slice(0, colon).replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: listen.slice(colon + 1),
    dataDir: values['data-dir'] ?? env.MEPM_DATA_DIR ?? file.dataDir ?? './data/mepm',
    centerUrl: values.center ?? env.MEPM_CENTER_URL ?? file.centerUrl,
    vim: env.MEPM_VIM ?? file.vim ?? 'exec',
    kubeconfig: env.MEPM_KUBECONFIG ?? file.kubeconfig,
    helm: env.MEPM_HELM ?? file.helm,
    openstackConfig: env.MEPM_OPENSTACK_CONFIG ?? file.openstackConfig,
    openstackEnv: Object.fromEntries(
      Object.entries(env).filter(
        (entry): entry is [string, string] => entry[0].startsWith('OS_') && entry[1] !== undefined,
      ),
    ),
    adminPassword: env.MEPM_ADMIN_PASSWORD ?? file.adminPassword,
    logLevel: env.MEPM_LOG_LEVEL ?? file.logLevel ?? 'info',
    reconcileMs: env.MEPM_RECONCILE_MS ?? file.reconcileMs ?? 2000,
    metricsMs: env.MEPM_METRICS_MS ?? file.metricsMs ?? 30_000,
    gracefulTimeoutMs: env.MEPM_GRACEFUL_TIMEOUT_MS ?? file.gracefulTimeoutMs ?? 10_000,
    reconnectBaseMs: env.MEPM_RECONNECT_BASE_MS ?? file.reconnectBaseMs ?? 500,
    reconnectMaxMs: env.MEPM_RECONNECT_MAX_MS ?? file.reconnectMaxMs ?? 30_000,
  })
  if (!parsed.success)
    throw new Error(
      `invalid configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    )
  return parsed.data
}
