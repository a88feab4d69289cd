import { z } from 'zod'
import type { AppoStore } from './appo-store'
import type { OperationParams, StoredOperation } from './operation-store'
import { type Step, stepFailed } from './runner'

/** How a batch proceeds: stages, parallelism, when to stop, and whether to undo. */
export const Rollout = z.strictObject({
  /** Children per stage; a stage starts when the one before it has finished. Default: one stage. */
  stageSize: z.number().int().min(1).optional(),
  /** Children in flight at once within a stage. */
  concurrency: z.number().int().min(1).max(1000).default(20),
  /** For terminate and operate: at most this many instances are being changed (so unavailable) at once. */
  maxUnavailable: z.number().int().min(1).optional(),
  /** The share of a stage that must succeed for the rollout to go on (0 to 1). */
  successThreshold: z.number().min(0).max(1).default(1),
  /** Stop at the first stage below the threshold; otherwise run every stage and report the failures. */
  abortOnFailure: z.boolean().default(true),
  /** When the rollout stops, undo what it changed (terminate what it instantiated, and so on). */
  rollback: z.boolean().default(false),
  /** How long each child waits for its edge; an offline edge fails its child, and the rollout moves on. */
  hostTimeoutMs: z.number().int().min(1000).max(86_400_000).optional(),
})
export type Rollout = z.infer<typeof Rollout>

const done = (op: StoredOperation) => op.state === 'COMPLETED' || op.state === 'FAILED'

/** The operation that undoes a completed child, if there is one. */
function undoOf(
  child: StoredOperation,
): { kind: StoredOperation['lcmOperation']; params: OperationParams } | undefined {
  switch (child.lcmOperation) {
    case 'INSTANTIATE':
      return { kind: 'TERMINATE', params: {} }
    case 'OPERATE':
      return {
        kind: 'OPERATE',
        params: { changeStateTo: child.params.changeStateTo === 'STARTED' ? 'STOPPED' : 'STARTED' },
      }
    case 'TERMINATE':
      return child.params.deleteInstance ? undefined : { kind: 'INSTANTIATE', params: {} }
    default:
      return undefined
  }
}

/**
 * The steps of a batch: its children are operations of their own (one per instance), run stage
 * by stage with a concurrency limit. A resumed batch picks up where it was: finished children
 * stay finished, unfinished ones are resumed.
 */
export function rolloutSteps(deps: {
  appo: AppoStore
  run(operationId: string): Promise<StoredOperation>
  /** Waits a little (for a lease another replica held to run out, or for news). */
  pause(): Promise<void>
  planBatch(op: StoredOperation): Promise<void>
  /** Makes a failed child final, so its instance is free for what comes next (a rollback). */
  fail(op: StoredOperation, detail: string): Promise<void>
}): Record<'planBatch' | 'runRollout', Step> {
  const { appo } = deps

  async function runAll(
    children: StoredOperation[],
    concurrency: number,
    signal: AbortSignal,
  ): Promise<StoredOperation[]> {
    const results: StoredOperation[] = []
    let next = 0
    const worker = async () => {
      while (next < children.length) {
        const child = children[next++] as StoredOperation
        let result = child
        // run (or resume) it here; a child still leased by a center that died is taken once the lease ran out
        while (!done(result) && result.state !== 'FAILED_TEMP') {
          if (signal.aborted)
            throw stepFailed(409, 'Cancelled', 'the rollout was stopped (cancelled, or its center is shutting down)')
          result = await deps.run(child.operationId)
          if (result.state === 'STARTING' || result.state === 'PROCESSING') await deps.pause()
        }
        if (result.state === 'FAILED_TEMP') {
          await deps.fail(result, result.error?.detail ?? 'failed')
          result = (await appo.operations.get(child.operationId)) as StoredOperation
        }
        results.push(result)
      }
    }
    await Promise.all(Array.from({ length: Math.min(concurrency, children.length) }, worker))
    return results
  }

  async function rollback(
    batch: StoredOperation,
    rollout: Rollout,
    children: StoredOperation[],
    signal: AbortSignal,
  ): Promise<number> {
    const existing = new Set(children.map((child) => child.params.rollbackOf).filter(Boolean))
    const undo: StoredOperation[] = children.filter((child) => child.params.rollbackOf)
    for (const child of children) {
      if (child.params.rollbackOf || existing.has(child.operationId) || !child.appInstanceId) continue
      // what reached the edge is undone, whether it finished or failed there
      if (child.state !== 'COMPLETED' && child.issuedAttempt === 0) continue
      const reverse = undoOf(child)
      if (!reverse) continue
      const operationId = crypto.randomUUID()
      const made = await appo.transaction(async (tx) => {
        const instance = await tx.instances.get(child.appInstanceId as string)
        if (!instance || instance.operationId) return undefined
        await tx.instances.hold(instance.appInstanceId, operationId)
        return tx.operations.insert({
          operationId,
          tenantId: batch.tenantId,
          appInstanceId: instance.appInstanceId,
          parentId: batch.operationId,
          position: children.length + undo.length,
          lcmOperation: reverse.kind,
          params: { ...reverse.params, rollbackOf: child.operationId, timeoutMs: rollout.hostTimeoutMs },
        })
      })
      if (made) undo.push(made)
    }
    const results = await runAll(undo, rollout.concurrency, signal)
    return results.filter((result) => result.state === 'COMPLETED').length
  }

  return {
    planBatch: (op) => deps.planBatch(op),

    async runRollout(batch, signal) {
      const rollout = Rollout.parse(batch.params.rollout ?? {})
      const all = await appo.operations.children(batch.operationId)
      const children = all.filter((child) => !child.params.rollbackOf)
      const disruptive = batch.params.batchOf === 'TERMINATE' || batch.params.batchOf === 'OPERATE'
      const concurrency = disruptive
        ? Math.min(rollout.concurrency, rollout.maxUnavailable ?? rollout.concurrency)
        : rollout.concurrency
      const size = rollout.stageSize ?? Math.max(1, children.length)
      const failures: string[] = []
      let belowThreshold = 0
      for (let start = 0, stage = 1; start < children.length; start += size, stage++) {
        const results = await runAll(children.slice(start, start + size), concurrency, signal)
        const failed = results.filter((result) => result.state !== 'COMPLETED')
        failures.push(...failed.map((result) => `${result.appInstanceId}: ${result.error?.detail ?? result.state}`))
        const succeeded = results.length - failed.length
        if (succeeded / results.length >= rollout.successThreshold) continue
        belowThreshold++
        if (!rollout.abortOnFailure) continue
        // the rollout stops: what has not started never will
        for (const rest of children.slice(start + size)) {
          if (!done(rest)) await deps.fail(rest, `not started: the rollout stopped at stage ${stage}`)
        }
        const settled = await appo.operations.children(batch.operationId)
        const undone = rollout.rollback ? await rollback(batch, rollout, settled, signal) : 0
        throw stepFailed(
          409,
          'Rollout Aborted',
          `stage ${stage} had ${succeeded} of ${results.length} succeed, below the threshold of ${rollout.successThreshold}; ` +
            `${children.length - start - results.length} not started${rollout.rollback ? `; rolled back ${undone}` : ''}. First failures: ${failures.slice(0, 3).join('; ')}`,
          true,
        )
      }
      // every stage met its threshold: done, with the failures it tolerated shown per child
      if (belowThreshold)
        throw stepFailed(
          409,
          'Rollout Finished With Failures',
          `${belowThreshold} stage(s) fell below the threshold of ${rollout.successThreshold}; ${failures.length} of ${children.length} failed: ${failures.slice(0, 3).join('; ')}`,
          true,
        )
    },
  }
}
