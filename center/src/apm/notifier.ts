import { randomUUID } from 'node:crypto'
import type { AppPackage } from '@mecm/protocol'
import type { Logger } from '@mecm/runtime'
import { passes } from './etsi-filter'
import type { SubscriptionStore, SubscriptionType } from './subscription-store'

/** ETSI's notification types (with the specification's own spelling) by what happened. */
const events = {
  onboarded: { subscription: 'AppPackageOnBoarding', notification: 'AppPackageOnBoarded' },
  enabled: { subscription: 'AppPacakgeOperationChange', notification: 'AppPacakgeEnabled' },
  disabled: { subscription: 'AppPacakgeOperationChange', notification: 'AppPacakgeDisabled' },
  deleted: { subscription: 'AppPackageDeletion', notification: 'AppPackageDeleted' },
} as const satisfies Record<string, { subscription: SubscriptionType; notification: string }>
export type PackageEvent = keyof typeof events

export interface NotifierOptions {
  /** First retry after this long; each later one waits twice as long, up to 10 minutes. */
  retryBaseMs: number
  maxAttempts: number
  timeoutMs: number
}

/**
 * Delivers package notifications to subscribers' callbacks. Each notification is stored first
 * (the outbox survives a restart), POSTed as JSON, and retried with exponential backoff until a
 * 2xx answer or maxAttempts; then it is dropped with a warning.
 */
export function notifier(store: SubscriptionStore, log: Logger, options: NotifierOptions) {
  let running: Promise<void> | undefined
  let again = false
  let timer: NodeJS.Timeout | undefined

  async function attempt(notification: Awaited<ReturnType<SubscriptionStore['due']>>[number]) {
    // claim it first: of several replicas, only the one that moves its due time delivers it
    const lease = new Date(Date.now() + options.timeoutMs * 2).toISOString()
    if (!(await store.claim(notification.notificationId, notification.dueAt, lease))) return
    let failure: string
    try {
      const response = await fetch(notification.callbackUri, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notification.payload),
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs),
      })
      await response.arrayBuffer().catch(() => undefined)
      if (response.ok) return store.delivered(notification.notificationId)
      failure = `the callback answered ${response.status}`
    } catch (error) {
      failure = `the callback could not be reached: ${(error as Error).message}`
    }
    const attempts = notification.attempts + 1
    if (attempts >= options.maxAttempts) {
      log.warn('dropped a notification after its last attempt', {
        callback: notification.callbackUri,
        attempts,
        failure,
      })
      return store.delivered(notification.notificationId)
    }
    const wait = Math.min(options.retryBaseMs * 2 ** (attempts - 1), 600_000)
    await store.retryLater(notification.notificationId, attempts, new Date(Date.now() + wait).toISOString(), failure)
  }

  async function deliverDue(): Promise<void> {
    if (running) {
      again = true
      return running
    }
    running = (async () => {
      do {
        again = false
        const due = await store.due(50)
        await Promise.all(due.map(attempt))
        if (due.length === 50) again = true
      } while (again)
    })()
      .catch((error: Error) => log.error('notification delivery failed', { error: error.message }))
      .finally(() => {
        running = undefined
      })
    return running
  }

  return {
    /** Queues a notification to every matching subscription of the package's tenant, and starts delivering. */
    async publish(event: PackageEvent, pkg: AppPackage): Promise<void> {
      const { subscription: type, notification: notificationType } = events[event]
      const subscriptions = await store.list(pkg.tenantId, type)
      for (const subscription of subscriptions) {
        if (!passes(subscription.appPkgFilter, pkg)) continue
        const at = Date.now()
        await store.enqueue(subscription, {
          id: randomUUID(),
          notificationType,
          subscriptionId: subscription.subscriptionId,
          timeStamp: { seconds: Math.floor(at / 1000), nanoSeconds: (at % 1000) * 1_000_000 },
          appPkgId: pkg.appPkgId,
          appDId: pkg.appDId,
          operationalState: pkg.operationalState,
          _links: { subscription: { href: `/app_pkgm/v1/subscriptions/${subscription.subscriptionId}` } },
        } as { id: string })
      }
      if (subscriptions.length) void deliverDue()
    },

    /** Starts the retry loop (and delivers what a previous run left due). */
    start(): void {
      timer = setInterval(() => void deliverDue(), Math.min(options.retryBaseMs, 1000))
      timer.unref()
      void deliverDue()
    },

    /** Delivers what is due now (notifications queued by others), rather than at the next tick. */
    deliver(): void {
      void deliverDue()
    },

    async stop(): Promise<void> {
      if (timer) clearInterval(timer)
      await running
    },
  }
}
export type Notifier = ReturnType<typeof notifier>
