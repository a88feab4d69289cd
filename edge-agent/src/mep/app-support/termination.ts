import { conflict, type Logger } from '@mecm/runtime'
import type { AgentStore } from '../../store/store'
import type { StoredSubscription } from '../store'
import { confirmTerminationHref, subscriptionHref } from './links'
import type { OperationAction } from './schemas'

/** How long an app may take to finish before it is stopped or terminated anyway (maxGracefulTimeout). */
export const GRACEFUL_TIMEOUT_MS = 10_000

export interface AppTerminationDeps {
  store: AgentStore
  log: Logger
  gracefulTimeoutMs?: number
}

/**
 * Graceful stop and termination (MEC 011 "application instance termination"): before the
 * reconciler stops or terminates a running app that subscribed, the app gets an
 * AppTerminationNotification and, once told, may finish its work until it confirms
 * (`confirm_termination`) or the graceful timeout passes.
 */
export function appTermination(deps: AppTerminationDeps) {
  const { store, log } = deps
  const timeoutMs = deps.gracefulTimeoutMs ?? GRACEFUL_TIMEOUT_MS
  /** The apps told to finish, and how to end their wait. */
  const underWay = new Map<string, { action: OperationAction; confirmed(): void }>()
  const closing = new AbortController()

  /** Tells one subscriber; true when its callback took the notification. */
  async function notify(subscription: StoredSubscription, action: OperationAction, signal: AbortSignal) {
    const { appInstanceId, subscriptionId } = subscription
    const notification = {
      notificationType: 'AppTerminationNotification',
      operationAction: action,
      maxGracefulTimeout: Math.ceil(timeoutMs / 1000),
      _links: {
        subscription: { href: subscriptionHref(appInstanceId, subscriptionId) },
        confirmTermination: { href: confirmTerminationHref(appInstanceId) },
      },
    }
    try {
      const response = await fetch(subscription.record.callbackReference, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(notification),
        signal,
      })
      await response.body?.cancel()
      if (!response.ok) log.warn('app termination notification refused', { appInstanceId, status: response.status })
      return response.ok
    } catch (error) {
      log.warn('app termination notification failed', { appInstanceId, error: (error as Error).message })
      return false
    }
  }

  return {
    /**
     * The reconciler's hook before it stops or terminates an instance: resolves when the app
     * confirmed or the graceful timeout passed, at once when the app did not subscribe or could
     * not be told.
     */
    async halting(appInstanceId: string, action: OperationAction): Promise<void> {
      const subscriptions = store.mep.subscriptions.list('mec_app_support', appInstanceId)
      if (subscriptions.length === 0 || closing.signal.aborted) return
      const deadline = AbortSignal.any([closing.signal, AbortSignal.timeout(timeoutMs)])
      const confirmed = new Promise<void>((resolve) => underWay.set(appInstanceId, { action, confirmed: resolve }))
      store.mep.apps.confirm(appInstanceId, { terminationAction: action, terminationConfirmedAt: null })
      log.info('telling the app it is about to end', { appInstanceId, action, timeoutMs })
      try {
        const told = await Promise.all(subscriptions.map((subscription) => notify(subscription, action, deadline)))
        if (!told.some(Boolean)) return
        const timedOut = new Promise<void>((resolve) => {
          if (deadline.aborted) resolve()
          else deadline.addEventListener('abort', () => resolve(), { once: true })
        })
        await Promise.race([confirmed, timedOut])
      } finally {
        underWay.delete(appInstanceId)
      }
    },

    /** `confirm_termination`: ends the app's wait; 409 when no stop or termination of it is under way. */
    confirm(appInstanceId: string, action?: OperationAction): void {
      const current = underWay.get(appInstanceId)
      if (!current) throw conflict(`no termination or stop of app instance ${appInstanceId} is under way`)
      if (action && action !== current.action)
        throw conflict(`app instance ${appInstanceId} is ${current.action}, not ${action}`)
      store.mep.apps.confirm(appInstanceId, { terminationConfirmedAt: new Date().toISOString() })
      current.confirmed()
    },

    /** Ends every wait and notification in progress (the agent is stopping). */
    close(): void {
      closing.abort()
    },
  }
}
export type AppTermination = ReturnType<typeof appTermination>
