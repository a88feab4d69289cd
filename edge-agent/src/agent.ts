import { randomBytes } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { createLogger, hashPassword, type Logger } from '@mecm/runtime'
import type { AgentConfig } from './config'
import { hostKpi } from './host/kpi'
import { localApi } from './http/app'
import { rescontrollerRoutes } from './http/rescontroller-routes'
import { hostPlugin } from './lcm/plugins/host-plugin'
import { reconciler } from './lcm/reconciler'
import { appTermination } from './mep/app-support/termination'
import { mp1Api } from './mep/mp1'
import { packageManager } from './packages/package-manager'
import { openAgentStore } from './store/store'
import { syncClient } from './sync/client'
import { localSealer } from './sync/local-key'
import { packageFetcher } from './sync/package-fetch'
import { rpcHandlers } from './sync/rpc'

export const AGENT_VERSION = '0.1.0'

/**
 * The edge agent: its store, the plugin for this host, the reconciler loop, and the local API.
 * It needs no center: with none configured it runs what people deploy here.
 */
export async function startAgent(
  config: AgentConfig,
  log: Logger = createLogger(config.logLevel, { component: 'mepm' }),
) {
  const store = openAgentStore(join(config.dataDir, 'agent.db'))
  if (!store.local.adminPasswordHash()) {
    const password = config.adminPassword ?? randomBytes(12).toString('base64url')
    store.local.setAdminPasswordHash(await hashPassword(password))
    if (config.adminPassword) log.info('created the local admin account with the password from MEPM_ADMIN_PASSWORD')
    else
      log.info('created the local admin account; its password is shown only this once', { username: 'admin', password })
  }
  const chosen = hostPlugin(config, { fromCenter: (vim) => sync.pluginConfig(vim), log })
  const { plugin } = chosen
  let url = ''
  const sealer = localSealer(config.dataDir)
  const resealed = store.credentials.sealPlain(sealer)
  if (resealed) log.info('sealed the secret keys an older agent kept in the clear', { count: resealed })
  const packages = packageManager({ dataDir: config.dataDir, store, mepAddress: () => url, sealer })
  const mepLog = log.child({ component: 'mep' })
  // an app that subscribed is told before it is stopped or terminated, and may finish first
  const termination = appTermination({
    store,
    log: mepLog,
    gracefulTimeoutMs: config.gracefulTimeoutMs,
  })
  const reconcile = reconciler({
    store,
    plugin,
    prepare: (instance) => packages.prepare(instance),
    halting: termination.halting,
    log,
  })
  const fetcher = packageFetcher({
    store,
    packages,
    dataDir: config.dataDir,
    log,
    ...(config.centerUrl ? { centerUrl: config.centerUrl } : {}),
    arrived: () => void kick(),
  })

  // level-triggered: a pass on every change, and one every reconcileMs whatever happens; each
  // instance runs on its own (one slow instance does not hold the others), one run at a time
  const inFlight = new Set<Promise<void>>()
  const kick = (): Promise<void> => {
    const pass = reconcile
      .reconcileAll()
      .catch((error: Error) => log.error('reconcile pass failed', { error: error.message }))
    inFlight.add(pass)
    void pass.finally(() => inFlight.delete(pass))
    return pass
  }
  const fetchPackages = () =>
    void fetcher.run().catch((error: Error) => log.error('package fetch pass failed', { error: error.message }))
  const loop = setInterval(() => {
    void kick()
    fetchPackages()
  }, config.reconcileMs)
  // what the plugin runs apps on, when it can tell (a cluster, a cloud project), else this machine
  const kpi = () => {
    const instances = store.observed.list().length
    return plugin.kpi ? plugin.kpi(instances) : hostKpi(config.dataDir, instances)
  }
  // host metrics for the center's placement: only the latest waits in the outbox
  const metrics = setInterval(() => {
    void kpi()
      .then((kpi) => store.outbox.append({ kind: 'host.metrics', metrics: kpi }))
      .catch((error: Error) => log.warn('measuring the host failed', { error: error.message }))
  }, config.metricsMs)
  metrics.unref()
  const rotation = setInterval(() => {
    for (const observed of store.observed.list()) chosen.rotateLogs?.(observed.appInstanceId)
  }, 30_000)
  rotation.unref()

  const sync = syncClient({
    store,
    sealer,
    log,
    dataDir: config.dataDir,
    agentVersion: AGENT_VERSION,
    vims: [config.vim],
    ...(config.centerUrl ? { centerUrl: config.centerUrl } : {}),
    rpc: rpcHandlers({ store, plugin, kpi }),
    changed: () => {
      void kick()
      fetchPackages()
    },
    backoff: { baseMs: config.reconnectBaseMs, maxMs: config.reconnectMaxMs },
  })
  const mep = mp1Api({ store, log: mepLog, sealer, termination })
  const api = localApi({
    store,
    packages,
    plugin,
    kpi,
    sealer,
    version: AGENT_VERSION,
    log,
    changed: () => void kick(),
    sync,
    ...(chosen.cloud ? { resources: rescontrollerRoutes({ cloud: chosen.cloud }) } : {}),
    mep,
  })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: api.app.fetch, hostname: config.host, port: config.port }, () => resolve(started))
  })
  const address = server.address() as AddressInfo
  url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
  sync.start()
  const enrolled = sync.status()
  log.info('agent listening', {
    url,
    dataDir: config.dataDir,
    center: enrolled.centerUrl,
    ...(enrolled.enrolled ? { hostId: enrolled.hostId } : { enrolled: false }),
  })
  void kick()
  fetchPackages()

  return {
    url,
    store,
    sync,
    /** Runs one reconcile pass now and resolves when it is done. */
    reconcile: kick,
    async close() {
      await sync.stop()
      clearInterval(metrics)
      clearInterval(loop)
      clearInterval(rotation)
      api.close()
      mep.close()
      termination.close()
      await Promise.all([...inFlight, fetcher.idle()])
      await plugin.close?.()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      })
      store.close()
      log.info('agent stopped')
    },
  }
}
export type Agent = Awaited<ReturnType<typeof startAgent>>
