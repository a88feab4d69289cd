import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { defaultLimits } from '@mecm/csar'
import { createLogger, deriveKey, keyFile, type Logger, sealer } from '@mecm/runtime'
import { blobStore } from './apm/blob-store'
import { notifier } from './apm/notifier'
import { onboarding } from './apm/onboarding'
import { type LcmService, lcmService } from './appo/lcm'
import { notifyLcmSubscribers } from './appo/lcm-subscriptions'
import { ensureAdmin } from './auth/bootstrap'
import type { Config } from './config'
import { openStore, type Store } from './db/store'
import { createApp } from './http/app'
import { type SyncHub, syncHub } from './sync/hub'

export const VERSION = '0.1.0'

/** MECM_MASTER_KEY, or the key kept in <data-dir>/master.key (created owner-only on first start). */
function masterKeyOf(config: Config, log: Logger): Buffer {
  if (config.masterKey) return Buffer.from(config.masterKey, 'base64')
  const file = join(config.dataDir, 'master.key')
  const { key, created } = keyFile(file)
  if (created)
    log.warn('generated a master key; set MECM_MASTER_KEY (the same on every replica) in production', { file })
  return key
}

export interface Center {
  url: string
  store: Store
  hub: SyncHub
  lcm: LcmService
  routes: ReturnType<typeof createApp>['routes']
  close(): Promise<void>
}

/** Opens the store, makes the first admin, and serves the API until close(). */
export async function startCenter(config: Config, log: Logger = createLogger(config.logLevel)): Promise<Center> {
  const masterKey = masterKeyOf(config, log)
  const store = await openStore(config)
  await ensureAdmin(store, log, config.adminPassword)
  const blobs = blobStore(config.dataDir)
  const notifications = notifier(store.packageSubscriptions, log, {
    retryBaseMs: config.notifyRetryMs,
    maxAttempts: 12,
    timeoutMs: 10_000,
  })
  const packages = onboarding({
    store,
    blobs,
    notifier: notifications,
    log,
    limits: { ...defaultLimits, maxEntryBytes: config.uploadLimit, maxTotalBytes: 2 * config.uploadLimit },
    uploadLimit: config.uploadLimit,
    ...(config.trustAnchor ? { trustAnchor: config.trustAnchor } : {}),
  })
  await blobs.sweep()
  await packages.recover()
  const recovery = setInterval(() => void packages.recover().catch(() => undefined), 60_000)
  recovery.unref()
  notifications.start()
  const seal = sealer(masterKey)
  const hub = syncHub({
    store,
    log,
    sealer: seal,
    settings: {
      heartbeatMs: config.edgeHeartbeatMs,
      window: config.edgeWindow,
      eventRetentionDays: config.edgeEventRetentionDays,
    },
  })
  await hub.start()
  const lcm = await lcmService({
    store,
    hub,
    log,
    onChange: notifyLcmSubscribers(store, () => notifications.deliver()),
    settings: {
      edgeTimeoutMs: config.operationTimeoutMs,
      leaseMs: config.operationLeaseMs,
      sweepMs: Math.max(500, Math.round(config.operationLeaseMs / 3)),
      pollMs: 1000,
      ...(config.processDir ? { processDir: config.processDir } : {}),
    },
  })
  const { app, routes } = createApp({
    store,
    log,
    version: VERSION,
    bodyLimit: config.bodyLimit,
    signedBodyLimit: config.bodyLimit,
    tokenKey: deriveKey(masterKey, 'access tokens'),
    sealer: seal,
    tokens: {
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
    },
    packages: { blobs, onboarding: packages, notifier: notifications },
    callbackAllowLoopback: config.callbackAllowLoopback,
    hub,
    lcm,
    enrollmentTtlSeconds: config.enrollmentTtlSeconds,
  })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, () => resolve(started))
  })
  const http = server as Server
  hub.attach(http)
  // idle keep-alive connections outlive the clients' own idle timeout, so a client never sends on
  // a connection the center is closing at that moment (as behind a load balancer: 60 s there)
  http.keepAliveTimeout = 65_000
  http.headersTimeout = 66_000
  await lcm.start()
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  const url = `http://${host}:${address.port}`
  log.info('center listening', { url, store: store.dialect, docs: `${url}/docs` })

  return {
    url,
    store,
    hub,
    lcm,
    routes,
    async close() {
      await lcm.close()
      await hub.close()
      await new Promise<void>((resolve) => {
        server.close(() => resolve())
        // keep-alive sockets would hold close() open
        if ('closeIdleConnections' in server) server.closeIdleConnections()
      })
      clearInterval(recovery)
      await notifications.stop()
      await store.close()
      log.info('center stopped')
    },
  }
}
