import { canTransition, type DesiredInstance, type InstanceStatus, instanceLifecycle } from '@mecm/protocol'
import type { Logger } from '@mecm/runtime'
import { syncRules } from '../mep/rules/sync-rules'
import type { AgentStore } from '../store/store'
import type { Plugin, RunSpec } from './plugin'

export interface ReconcilerDeps {
  store: AgentStore
  /** The plugin that runs this host's apps (one VIM kind per host). */
  plugin: Plugin
  /** The unpacked, verified package and what the plugin needs from it. */
  prepare(instance: DesiredInstance): Promise<Omit<RunSpec, 'instance'>>
  log: Logger
  /** How long an instance may stay up but unhealthy before it counts as failed. */
  healthTimeoutMs?: number
  /** First retry after a failure; doubles up to maxBackoffMs. */
  backoffMs?: number
  maxBackoffMs?: number
  now?: () => number
  /**
   * Before a running instance is stopped or terminated: the plugin acts once this resolves (the
   * MEP tells the app and waits for it to confirm, up to a graceful timeout).
   */
  halting?(appInstanceId: string, action: 'STOPPING' | 'TERMINATING'): Promise<void>
}

type Outcome = 'moved' | 'settled' | 'waiting'

/** The package an instance needs is on its way here: the instance waits for it, nothing failed. */
export class PackageOnItsWay extends Error {}

const NO_RESTART = 'the app exited and its restart policy is never'

/**
 * Level-triggered: compares each instance's desired state with what it observed, and takes one
 * step of the instance lifecycle at a time through the plugin, recording every status first
 * (so a killed agent resumes from it; plugin calls are idempotent). One step at a time per
 * instance; failures are retried with exponential backoff.
 */
export function reconciler(deps: ReconcilerDeps) {
  const { store, log } = deps
  const now = deps.now ?? Date.now
  /** The run in progress for each instance: one at a time; a second caller waits for it. */
  const busy = new Map<string, Promise<void>>()
  const failures = new Map<string, { attempts: number; retryAt: number }>()
  const reported = new Set<string>()
  const waitingSince = new Map<string, number>()

  function failed(id: string): number {
    const previous = failures.get(id)?.attempts ?? 0
    const wait = Math.min((deps.backoffMs ?? 1000) * 2 ** previous, deps.maxBackoffMs ?? 60_000)
    failures.set(id, { attempts: previous + 1, retryAt: now() + wait })
    return wait
  }

  function report(instance: DesiredInstance | undefined, outcome: 'COMPLETED' | 'FAILED', error: string | null) {
    if (!instance?.operationId) return
    const key = `${instance.operationId}:${instance.generation}:${outcome}`
    if (reported.has(key)) return
    reported.add(key)
    store.outbox.append({
      kind: 'operation.result',
      operationId: instance.operationId,
      appInstanceId: instance.appInstanceId,
      outcome,
      error,
    })
  }

  /** One step for one instance. */
  async function step(id: string): Promise<Outcome> {
    const desired = store.desired.get(id)
    const observed = store.observed.get(id)
    const target = desired?.targetState ?? 'NOT_INSTANTIATED'
    const status: InstanceStatus = observed?.status ?? 'NOT_INSTANTIATED'
    const info = {
      generation: desired?.generation ?? observed?.generation ?? 1,
      operationId: desired?.operationId ?? null,
    }
    const move = (to: InstanceStatus, detail = '') => {
      store.observed.record(id, to, { ...info, detail })
      return 'moved' as const
    }
    const retryAt = failures.get(id)?.retryAt ?? 0

    if (status === 'NOT_INSTANTIATED') {
      if (target !== 'NOT_INSTANTIATED') return move('INSTANTIATING')
      // the records go, and the operation's result is queued, in one transaction
      store.retire(id, desired?.operationId ? { operationId: desired.operationId, appInstanceId: id } : undefined)
      return 'settled'
    }
    if (status === 'FAILED') {
      if (now() < retryAt) return 'waiting'
      if (target === 'NOT_INSTANTIATED') return move('TERMINATING')
      // an app that may not restart stays down until someone asks again (a newer generation)
      if (observed?.detail === NO_RESTART && (desired?.generation ?? 0) <= (observed?.generation ?? 0)) return 'settled'
      return move('INSTANTIATING', 'retrying')
    }
    const { plugin } = deps
    if (status === 'TERMINATING') {
      await deps.halting?.(id, 'TERMINATING')
      await plugin.terminate(id)
      failures.delete(id)
      return move('NOT_INSTANTIATED')
    }
    // an instance nobody wants any more (its desired record was removed) is terminated
    if (!desired) {
      return move(canTransition(instanceLifecycle, status, 'TERMINATING') ? 'TERMINATING' : 'FAILED', 'not desired')
    }
    // the package is needed to run or check an instance, not to stop or remove it
    const spec = async (): Promise<RunSpec> => ({ instance: desired, ...(await deps.prepare(desired)) })

    switch (status) {
      case 'INSTANTIATING':
      case 'STARTING': {
        // the app finds its traffic and DNS rules (its package's, and those set for it) in the MEP
        if (status === 'INSTANTIATING') syncRules(store, id)
        if (status === 'INSTANTIATING' && target === 'NOT_INSTANTIATED') {
          // called off before it was up: clean up and go back
          await plugin.terminate(id)
          return move('NOT_INSTANTIATED', 'instantiation called off')
        }
        if (status === 'INSTANTIATING' && target === 'STOPPED') {
          // wanted instantiated but not running: make sure nothing runs
          await plugin.stop(id)
          return move('STOPPED')
        }
        let run: RunSpec
        try {
          run = await spec()
        } catch (error) {
          // worth waiting for only while the instance is still wanted running
          if (error instanceof PackageOnItsWay && target === 'STARTED') return 'waiting'
          throw error
        }
        await (status === 'INSTANTIATING' ? plugin.instantiate(run) : plugin.start(run))
        const seen = await plugin.observe(id, run)
        if (seen.state !== 'running') throw new Error(seen.detail)
        if (!seen.healthy) {
          const since = waitingSince.get(id) ?? now()
          waitingSince.set(id, since)
          if (now() - since > (deps.healthTimeoutMs ?? 60_000)) {
            waitingSince.delete(id)
            throw new Error(
              `not healthy within ${Math.round((deps.healthTimeoutMs ?? 60_000) / 1000)} s: ${seen.detail}`,
            )
          }
          return 'waiting'
        }
        waitingSince.delete(id)
        failures.delete(id)
        return move('STARTED', seen.detail)
      }
      case 'STARTED': {
        if (target === 'NOT_INSTANTIATED') return move('TERMINATING')
        if (target === 'STOPPED') return move('STOPPING')
        const run = await spec().catch(() => undefined)
        const seen = await plugin.observe(id, run)
        if (seen.state !== 'running') {
          const restart = run?.exec?.restart ?? 'on-failure'
          return move('FAILED', restart === 'never' ? NO_RESTART : seen.detail)
        }
        report(desired, 'COMPLETED', null)
        return 'settled'
      }
      case 'STOPPING':
        await deps.halting?.(id, 'STOPPING')
        await plugin.stop(id)
        return move('STOPPED')
      case 'STOPPED':
        if (target === 'NOT_INSTANTIATED') return move('TERMINATING')
        if (target === 'STARTED') return move('STARTING')
        report(desired, 'COMPLETED', null)
        return 'settled'
    }
    return 'settled'
  }

  /** Steps one instance until it settles or has to wait; never two at once for one instance. */
  function reconcile(id: string): Promise<void> {
    const running = busy.get(id)
    if (running) return running
    const done = steps(id).finally(() => busy.delete(id))
    busy.set(id, done)
    return done
  }

  async function steps(id: string): Promise<void> {
    for (let n = 0; n < 16; n++) {
      let outcome: Outcome
      try {
        outcome = await step(id)
      } catch (error) {
        const message = (error as Error).message
        waitingSince.delete(id)
        const wait = failed(id)
        log.warn('instance step failed', { appInstanceId: id, error: message, retryInMs: wait })
        const current = store.observed.get(id)?.status
        if (current && canTransition(instanceLifecycle, current, 'FAILED')) {
          store.observed.record(id, 'FAILED', {
            generation: store.desired.get(id)?.generation ?? 1,
            operationId: store.desired.get(id)?.operationId ?? null,
            detail: message,
          })
        }
        report(store.desired.get(id), 'FAILED', message)
        return
      }
      if (outcome !== 'moved') return
    }
  }

  return {
    reconcile,

    /** One pass over every instance the store knows, desired or observed. */
    async reconcileAll(): Promise<void> {
      const ids = new Set([
        ...store.desired.list().map((d) => d.appInstanceId),
        ...store.observed.list().map((o) => o.appInstanceId),
      ])
      await Promise.all([...ids].map(reconcile))
    },
  }
}
export type Reconciler = ReturnType<typeof reconciler>
