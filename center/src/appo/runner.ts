import { randomUUID } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { Problem } from '@mecm/protocol'
import { ApiError, type Logger } from '@mecm/runtime'
import { Engine } from 'bpmn-engine'
import type { AppoStore } from './appo-store'
import type { StoredOperation } from './operation-store'
import type { ProcessLibrary } from './process-library'

/** A step ended the operation: FAILED_TEMP (retry, fail or cancel), or FAILED when `final`. */
export class StepFailed extends Error {
  constructor(
    readonly problem: Problem,
    readonly final = false,
  ) {
    super(problem.detail)
  }
}

export const stepFailed = (status: number, title: string, detail: string, final = false) =>
  new StepFailed({ type: 'about:blank', title, status, detail }, final)

function problemOf(thrown: unknown): { problem: Problem; final: boolean } {
  // the engine wraps what a step threw
  let error = thrown
  while (error instanceof Error && !(error instanceof StepFailed) && !(error instanceof ApiError) && 'inner' in error)
    error = error.inner
  if (error instanceof StepFailed) return { problem: error.problem, final: error.final }
  if (error instanceof ApiError)
    return {
      problem: { type: 'about:blank', title: error.title, status: error.status, detail: error.message },
      final: false,
    }
  return {
    problem: {
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: String((error as Error)?.message ?? error),
    },
    final: false,
  }
}

/**
 * One step of a process, called with the operation as it is now. A step may run twice (after a
 * crash between doing its work and the save), so each one checks what is done before doing it.
 */
export type Step = (op: StoredOperation, signal: AbortSignal) => Promise<void>

export interface RunnerSettings {
  /** How long a replica's claim on an operation lasts without renewal. */
  leaseMs: number
  /** How often to look for operations nobody runs (a replica died, or this one restarted). */
  sweepMs: number
}

/**
 * Runs operations as BPMN processes (bpmn-engine). The engine state is saved after every step,
 * so an operation whose center died resumes from its last saved step: on this replica's next
 * start, or on another replica once the lease of the dead one ran out.
 */
export function operationRunner(deps: {
  appo: AppoStore
  processes: ProcessLibrary
  steps: Record<string, Step>
  log: Logger
  settings: RunnerSettings
  /** In the transaction that ends an operation: what goes with it (the instance, its rule task). */
  settle(tx: AppoStore, op: StoredOperation, problem: Problem | null): Promise<void>
  /** After an operation changed state (began PROCESSING, or ended): notifications. */
  changed(op: StoredOperation): Promise<void>
}) {
  const { appo, processes, steps, log, settings } = deps
  const owner = randomUUID()
  const running = new Map<string, Promise<StoredOperation>>()
  const engines = new Map<string, { engine: Engine; abort: AbortController }>()
  const events = new EventEmitter()
  let closed = false

  const tell = (op: StoredOperation) =>
    deps
      .changed(op)
      .catch((error) =>
        log.warn('could not tell listeners about an operation', { operationId: op.operationId, error: String(error) }),
      )

  const current = async (operationId: string) => (await appo.operations.get(operationId)) as StoredOperation

  async function execute(operationId: string): Promise<StoredOperation> {
    if (closed || !(await appo.operations.claim(operationId, owner, settings.leaseMs))) return current(operationId)
    try {
      return await runEngine(operationId)
    } finally {
      engines.delete(operationId)
      // left unfinished here (closing, taken over, or its end could not be written): free for the next sweep
      const op = await appo.operations.get(operationId).catch(() => undefined)
      if (op?.state === 'STARTING' || op?.state === 'PROCESSING')
        await appo.operations.releaseLeases(owner, operationId).catch(() => undefined)
    }
  }

  async function runEngine(operationId: string): Promise<StoredOperation> {
    let op = await current(operationId)
    if (op.state === 'STARTING') {
      op = await appo.operations.move(operationId, 'PROCESSING')
      await tell(op)
    }
    const abort = new AbortController()
    const services = Object.fromEntries(
      Object.entries(steps).map(([name, step]) => [
        name,
        (_context: unknown, callback: (error: unknown, result?: unknown) => void) => {
          current(operationId)
            .then((now) => step(now, abort.signal))
            .then(
              () => callback(null),
              (error) => callback(error),
            )
        },
      ]),
    )
    const engine = new Engine({ name: operationId, source: processes.source(op.lcmOperation), services })
    engines.set(operationId, { engine, abort })
    const listener = new EventEmitter()
    let saving = Promise.resolve()
    let lost = false
    listener.on('activity.end', () => {
      saving = saving
        .then(async () => {
          if (lost) return
          const state = JSON.stringify(await engine.getState())
          if (await appo.operations.saveEngine(operationId, owner, state)) return
          // another replica took it over (this one paused past its lease): it goes on there
          lost = true
          abort.abort()
          await engine.stop()
        })
        .catch((error) => log.warn('could not save an operation step', { operationId, error: String(error) }))
    })
    const outcome = new Promise<void>((resolve, reject) => {
      engine.once('end', () => resolve())
      engine.once('error', (error: unknown) => reject(error))
      engine.once('stop', () => reject(new Error('stopped')))
    })
    try {
      const saved = op.engineState ? (JSON.parse(op.engineState) as { state?: string }) : undefined
      // the process had run to its end before the crash: only the record of the end was lost
      if (saved?.state === 'idle') return await end(operationId, null)
      if (saved && saved.state !== 'error') {
        engine.recover(saved)
        await engine.resume({ listener })
      } else {
        // nothing saved, or saved at a failed step: from the first step (they are idempotent)
        await engine.execute({ listener, variables: { operationId } })
      }
      await outcome
      await saving
      return await end(operationId, null)
    } catch (error) {
      await saving
      if (closed || lost) return current(operationId)
      return await end(operationId, error)
    }
  }

  /** Ends an operation and what goes with it in one transaction, then tells the listeners. */
  async function end(operationId: string, error: unknown): Promise<StoredOperation> {
    const failure = error === null ? null : problemOf(error)
    if (failure && failure.problem.status >= 500)
      log.warn('an operation step failed', { operationId, detail: failure.problem.detail })
    const op = await appo.transaction(async (tx) => {
      const now = (await tx.operations.get(operationId)) as StoredOperation
      // another replica took it over while this one was away: the end is theirs to write
      if (now.leaseOwner !== owner) return undefined
      const kind = now.lcmOperation
      let moved = await tx.operations.move(operationId, failure ? 'FAILED_TEMP' : 'COMPLETED', failure?.problem ?? null)
      // a failure no retry can mend, and any failed batch (its children ran: it is not run again), is FAILED at once
      if (failure && (failure.final || kind === 'BATCH'))
        moved = await tx.operations.move(operationId, 'FAILED', failure.problem)
      await deps.settle(tx, moved, failure?.problem ?? null)
      return moved
    })
    if (!op) return current(operationId)
    await tell(op)
    events.emit('ended', op)
    return op
  }

  /** Runs (or resumes) an operation; the same promise for a run in progress here. */
  function run(operationId: string): Promise<StoredOperation> {
    const current = running.get(operationId)
    if (current) return current
    const started = execute(operationId).finally(() => running.delete(operationId))
    running.set(operationId, started)
    return started
  }

  async function sweep() {
    if (closed) return
    await appo.operations.renew(owner, [...running.keys()], settings.leaseMs)
    for (const operationId of await appo.operations.orphaned()) {
      if (!running.has(operationId)) {
        log.info('resuming an unfinished operation', { operationId })
        void run(operationId).catch((error) =>
          log.error('an operation could not run', { operationId, error: String(error) }),
        )
      }
    }
  }
  let timer: NodeJS.Timeout | undefined

  return {
    owner,
    run,
    /** Starts an operation in the background: the request that made it has answered already. */
    start(operationId: string): void {
      void run(operationId).catch((error) =>
        log.error('an operation could not run', { operationId, error: String(error) }),
      )
    },
    /** Stops a running operation's current wait (cancel): its step ends with the reason. */
    interrupt(operationId: string): boolean {
      const run = engines.get(operationId)
      run?.abort.abort()
      return run !== undefined
    },
    /** Resolves when the operation ends in this process (tests and batch children). */
    ended(operationId: string): Promise<StoredOperation> {
      return new Promise((resolve) => {
        const listen = (op: StoredOperation) => {
          if (op.operationId !== operationId) return
          events.off('ended', listen)
          resolve(op)
        }
        events.on('ended', listen)
      })
    },
    /** Resumes what is unfinished now, and keeps looking (and renewing this replica's leases). */
    async resume(): Promise<void> {
      await sweep()
      timer = setInterval(
        () => void sweep().catch((error) => log.warn('operation sweep failed', { error: String(error) })),
        settings.sweepMs,
      )
      timer.unref()
    },
    /** Stops running; unfinished operations keep their saved state and are resumed by the next start. */
    async close(): Promise<void> {
      closed = true
      clearInterval(timer)
      for (const { engine, abort } of engines.values()) {
        abort.abort()
        await engine.stop()
      }
      await Promise.allSettled([...running.values()])
      await appo.operations.releaseLeases(owner)
    },
  }
}
export type OperationRunner = ReturnType<typeof operationRunner>
