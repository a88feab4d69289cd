import type { Logger } from '@mecm/runtime'
import type { MepStore, StoredService } from '../store'
import { recordOf } from './registry'

/** How often the supervisor looks for services that stopped beating. */
const TICK_MS = 500
/** A service that sends no heartbeat for this many of its intervals is SUSPENDED. */
const MISSED_INTERVALS = 2

/**
 * Supervises the liveness of services registered with a livenessInterval (MEC 011 v2.2.1): each
 * heartbeat is remembered here; an ACTIVE service silent for two intervals becomes SUSPENDED, and
 * its next heartbeat makes it ACTIVE again. Registering or updating a service counts as a heartbeat,
 * and so does the supervisor's start (services do not pay for the agent's downtime).
 */
export function livenessSupervisor(deps: { mep: MepStore; log: Logger }) {
  const { mep, log } = deps
  const startedAt = Date.now()
  const beats = new Map<string, number>()
  /** When the service was last heard of: its last heartbeat, or its registration or update. */
  const lastHeard = (service: StoredService) =>
    Math.max(beats.get(service.record.serInstanceId) ?? 0, Date.parse(service.updatedAt))

  const timer = setInterval(() => {
    try {
      const now = Date.now()
      const registered = new Set<string>()
      for (const service of mep.services.list()) {
        const record = recordOf(service)
        registered.add(record.serInstanceId)
        const interval = record.livenessInterval ?? 0
        if (
          interval > 0 &&
          record.state === 'ACTIVE' &&
          now - Math.max(lastHeard(service), startedAt) > MISSED_INTERVALS * interval * 1000
        ) {
          log.warn('a service missed its heartbeats and is suspended', {
            serInstanceId: record.serInstanceId,
            appInstanceId: service.appInstanceId,
            livenessInterval: interval,
          })
          mep.services.put(service.appInstanceId, { ...record, state: 'SUSPENDED' })
        }
      }
      for (const id of beats.keys()) if (!registered.has(id)) beats.delete(id)
    } catch (error) {
      log.error('supervising the liveness of services failed', { error: (error as Error).message })
    }
  }, TICK_MS)
  timer.unref()

  return {
    /**
     * A heartbeat (the caller checked the service has a livenessInterval and is not INACTIVE):
     * a SUSPENDED service becomes ACTIVE again.
     */
    beat(service: StoredService): StoredService {
      const record = recordOf(service)
      beats.set(record.serInstanceId, Date.now())
      return record.state === 'SUSPENDED'
        ? mep.services.put(service.appInstanceId, { ...record, state: 'ACTIVE' })
        : service
    },
    /** ServiceLivenessInfo: the state, when the last heartbeat came (or the registration), the interval. */
    info(service: StoredService) {
      const record = recordOf(service)
      const at = lastHeard(service)
      return {
        state: record.state,
        timeStamp: { seconds: Math.floor(at / 1000), nanoSeconds: (at % 1000) * 1_000_000 },
        interval: record.livenessInterval ?? 0,
      }
    },
    close() {
      clearInterval(timer)
    },
  }
}
