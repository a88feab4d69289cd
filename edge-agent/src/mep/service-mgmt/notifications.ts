import { setTimeout as sleep } from 'node:timers/promises'
import { isDeepStrictEqual } from 'node:util'
import type { Logger } from '@mecm/runtime'
import type { AgentStore } from '../../store/store'
import type { ServiceChange, StoredSubscription } from '../store'
import { paths, recordOf, selects } from './registry'
import type { FilteringCriteria } from './schemas'

type ChangeType = 'ADDED' | 'REMOVED' | 'STATE_CHANGED' | 'ATTRIBUTES_CHANGED'

/** Tries per notification, the pause before try n+1 (n × this), and how long one try may take. */
const ATTEMPTS = 3
const RETRY_MS = 500
const ATTEMPT_TIMEOUT_MS = 5_000

const plain = (value: unknown) => JSON.parse(JSON.stringify(value))

/** What a change of the registry is, in MEC 011's terms; nothing when a PUT changed nothing. */
function changeTypeOf(change: ServiceChange): ChangeType | undefined {
  if (!change.before) return 'ADDED'
  if (!change.after) return 'REMOVED'
  const { state: stateBefore, ...before } = change.before.record
  const { state: stateAfter, ...after } = change.after.record
  if (!isDeepStrictEqual(plain(before), plain(after))) return 'ATTRIBUTES_CHANGED'
  return stateBefore === stateAfter ? undefined : 'STATE_CHANGED'
}

/**
 * Sends a ServiceAvailabilityNotification to every mec_service_mgmt subscriber whose filteringCriteria
 * select a service that changed. Best effort: a few tries, then a warning; notifications to one
 * callback go out in order, and no request waits for them.
 */
export function serviceNotifications(deps: { store: AgentStore; log: Logger }) {
  const { store, log } = deps
  const stopping = new AbortController()
  /** The last delivery queued for each subscription, so that the next one goes after it. */
  const queues = new Map<string, Promise<void>>()

  async function deliver(subscription: StoredSubscription, body: unknown): Promise<void> {
    const url = subscription.record.callbackReference
    let failure = ''
    for (let attempt = 1; attempt <= ATTEMPTS && !stopping.signal.aborted; attempt++) {
      if (attempt > 1) await sleep(RETRY_MS * (attempt - 1), undefined, { signal: stopping.signal }).catch(() => {})
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(ATTEMPT_TIMEOUT_MS)]),
        })
        await response.body?.cancel()
        if (response.ok) return
        failure = `the callback answered ${response.status}`
      } catch (error) {
        failure = (error as Error).message
      }
    }
    if (!stopping.signal.aborted)
      log.warn('a service availability notification was not delivered', {
        subscriptionId: subscription.subscriptionId,
        callbackReference: url,
        attempts: ATTEMPTS,
        error: failure,
      })
  }

  function enqueue(subscription: StoredSubscription, body: unknown) {
    const id = subscription.subscriptionId
    const next = (queues.get(id) ?? Promise.resolve()).then(() => deliver(subscription, body))
    queues.set(id, next)
    void next.then(() => {
      if (queues.get(id) === next) queues.delete(id)
    })
  }

  const unwatch = store.mep.services.watch((change) => {
    const changeType = changeTypeOf(change)
    const service = change.after ?? change.before
    if (!changeType || !service) return
    const record = recordOf(service)
    try {
      for (const subscription of store.mep.subscriptions.list('mec_service_mgmt')) {
        if (!selects(subscription.record.filteringCriteria as FilteringCriteria | undefined, record)) continue
        enqueue(subscription, {
          notificationType: 'SerAvailabilityNotification',
          serviceReferences: [
            {
              link: { href: paths.service(record.serInstanceId) },
              serName: record.serName,
              serInstanceId: record.serInstanceId,
              state: record.state,
              changeType,
            },
          ],
          _links: {
            subscription: { href: paths.subscription(subscription.appInstanceId, subscription.subscriptionId) },
          },
        })
      }
    } catch (error) {
      log.warn('service availability notifications were not sent', { error: (error as Error).message })
    }
  })

  return {
    /** Stops watching and drops the deliveries still pending. */
    close() {
      unwatch()
      stopping.abort()
    },
  }
}
