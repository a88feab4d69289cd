import { randomUUID } from 'node:crypto'
import type { AppPackage, InstanceStatus, InstantiationParameters, OperationType, Problem } from '@mecm/protocol'
import { conflict, type Logger, notFound } from '@mecm/runtime'
import type { Store } from '../db/store'
import type { SyncHub } from '../sync/hub'
import type { AppoStore } from './appo-store'
import { decidePlacement } from './candidates'
import { changeFeed } from './change-feed'
import { InstanceBusy, type NewInstance, type StoredInstance } from './instance-store'
import type { OperationParams, StoredOperation } from './operation-store'
import type { PlacementSpec } from './placement'
import { processLibrary } from './process-library'
import type { Rollout } from './rollout'
import { rolloutSteps } from './rollout'
import { operationRunner } from './runner'
import { operationSteps } from './steps'

export interface LcmSettings {
  /** How long an operation waits for its edge by default. */
  edgeTimeoutMs: number
  leaseMs: number
  sweepMs: number
  /** How often a wait looks again when no event woke it (edges on other replicas). */
  pollMs: number
  /** A folder of the operator's own process definitions, replacing the built-in ones by process id. */
  processDir?: string
}

const TRANSITIONAL: InstanceStatus[] = ['INSTANTIATING', 'TERMINATING', 'STARTING', 'STOPPING']

export interface CreateRequest {
  appPkgId: string
  instanceName: string
  description: string
  placement: PlacementSpec
  parameters?: InstantiationParameters
}

export interface BatchItem {
  appInstanceId: string
  status: 'Accepted' | string
  mecHost: string | null
}

/**
 * The orchestrator (APPO): every lifecycle request becomes an operation record, answered at
 * once, then run by its BPMN process. One unfinished operation holds an instance at a time.
 * Both northbound APIs (EdgeGallery's /appo/v1 and ETSI's /app_lcm/v1) come through here.
 */
export async function lcmService(deps: {
  store: Store
  hub: SyncHub
  log: Logger
  settings: LcmSettings
  /** Told about every operation as it begins PROCESSING and as it ends (subscriptions, portals). */
  onChange?: (op: StoredOperation, instance: StoredInstance | undefined) => Promise<void>
}) {
  const { store, hub, log, settings } = deps
  /** Operation parameters as they are kept: an instance's secret key sealed. */
  const sealed = (params: OperationParams): OperationParams =>
    params.parameters ? { ...params, parameters: hub.sealParameters(params.parameters) } : params
  const appo: AppoStore = store.appo
  const feed = changeFeed(settings.pollMs)
  hub.onEvents(() => feed.notify())

  const ruleTaskOf = (op: StoredOperation) =>
    op.lcmOperation === 'CONFIGURE_RULES' ? op.params.ruleTaskId : op.operationId

  /** What goes with an operation's end, in its transaction: the instance's status and hold, the rule task, a batch's children. */
  async function settle(tx: AppoStore, op: StoredOperation, problem: Problem | null) {
    const instance = op.appInstanceId ? await tx.instances.get(op.appInstanceId) : undefined
    if (instance && problem) {
      if (TRANSITIONAL.includes(instance.status))
        await tx.instances.move(instance.appInstanceId, 'FAILED', problem.detail)
      const taskId = ruleTaskOf(op)
      if (taskId) await tx.ruleTasks.settle(taskId, instance.appInstanceId, 'FAILURE', problem.detail)
    }
    if (instance && (op.state === 'COMPLETED' || op.state === 'FAILED'))
      await tx.instances.release(instance.appInstanceId, op.operationId)
    if (op.lcmOperation === 'BATCH' && problem) {
      // children that never ran, or wait for a decision, end with their batch
      for (const child of await tx.operations.children(op.operationId)) {
        if (child.state === 'STARTING' || child.state === 'FAILED_TEMP')
          await failIn(tx, child, `its batch ended: ${problem.detail}`)
      }
    }
  }

  async function notify(op: StoredOperation) {
    const instance = op.appInstanceId ? await appo.instances.get(op.appInstanceId) : undefined
    await deps.onChange?.(op, instance)
  }

  async function failIn(tx: AppoStore, op: StoredOperation, detail: string): Promise<StoredOperation> {
    let now = op
    if (now.state === 'STARTING' || now.state === 'PROCESSING') {
      const problem = { type: 'about:blank', title: 'Not Run', status: 409, detail }
      now = await tx.operations.move(op.operationId, 'FAILED_TEMP', problem)
    }
    const failed = await tx.operations.move(op.operationId, 'FAILED', now.error)
    await settle(tx, failed, failed.error)
    return failed
  }

  /** FAILED_TEMP (or never started) → FAILED, with what goes with it: the instance is free again. */
  async function fail(op: StoredOperation, detail = 'stopped before it ran'): Promise<StoredOperation> {
    const failed = await appo.transaction((tx) => failIn(tx, op, detail))
    await notify(failed).catch((error) =>
      log.warn('could not tell subscribers about an operation', { operationId: op.operationId, error: String(error) }),
    )
    return failed
  }

  async function planBatch(batch: StoredOperation) {
    const children = await appo.operations.children(batch.operationId)
    const unplaced: StoredInstance[] = []
    for (const child of children) {
      if (child.state !== 'STARTING' || !child.appInstanceId) continue
      const instance = await appo.instances.get(child.appInstanceId)
      if (instance && !instance.hostId) unplaced.push(instance)
    }
    // instances asking for the same placement are placed together (spread and pack see them all)
    const groups = new Map<string, StoredInstance[]>()
    for (const instance of unplaced) {
      const key = `${instance.appPkgId} ${JSON.stringify(instance.placement)}`
      groups.set(key, [...(groups.get(key) ?? []), instance])
    }
    for (const group of groups.values()) {
      const first = group[0] as StoredInstance
      const decision = await decidePlacement(store, batch.tenantId, first.appPkgId, first.placement, group.length)
      for (const [index, ip] of decision.chosen.entries()) {
        await appo.instances.place((group[index] as StoredInstance).appInstanceId, decision.hostOf(ip))
      }
    }
  }

  let runner: ReturnType<typeof operationRunner>
  const steps = {
    ...operationSteps({ store, hub, feed, edgeTimeoutMs: settings.edgeTimeoutMs }),
    ...rolloutSteps({
      appo,
      run: (operationId) => runner.run(operationId),
      pause: () => feed.next(),
      planBatch,
      fail: async (op, detail) => void (await fail(op, detail)),
    }),
  }
  const processes = await processLibrary(Object.keys(steps), settings.processDir)
  runner = operationRunner({ appo, processes, steps, log, settings, settle, changed: notify })

  /** Records an operation on an instance and holds the instance for it; 409 when another holds it. */
  async function operate(
    tenantId: string,
    appInstanceId: string,
    kind: Exclude<OperationType, 'BATCH'>,
    params: OperationParams,
    options: {
      supersede?: boolean
      precondition?: (instance: StoredInstance) => void
      /** More records made with the operation, in its transaction. */
      alongside?: (tx: AppoStore, operationId: string) => Promise<void>
    } = {},
  ): Promise<StoredOperation> {
    const operationId = randomUUID()
    let superseded: StoredOperation | undefined
    const op = await appo.transaction(async (tx) => {
      const instance = await tx.instances.get(appInstanceId, tenantId)
      if (!instance) throw notFound(`app instance ${appInstanceId} not found in tenant ${tenantId}`)
      if (instance.operationId && options.supersede) {
        const holder = await tx.operations.get(instance.operationId)
        // EdgeGallery's clients know no FAILED_TEMP: their next request fails it for them
        if (holder?.state === 'FAILED_TEMP') superseded = await failIn(tx, holder, 'superseded')
      }
      options.precondition?.(instance)
      try {
        await tx.instances.hold(appInstanceId, operationId)
      } catch (error) {
        if (error instanceof InstanceBusy) throw conflict(error.message)
        throw error
      }
      const op = await tx.operations.insert({
        operationId,
        tenantId,
        appInstanceId,
        lcmOperation: kind,
        params: sealed(params),
      })
      await options.alongside?.(tx, operationId)
      return op
    })
    if (superseded) await notify(superseded).catch(() => undefined)
    runner.start(op.operationId)
    return op
  }

  /** The package instances are made of, if it can be used now. */
  async function usablePackage(tenantId: string, appPkgId: string) {
    const found = await store.packages.get(tenantId, appPkgId)
    if (!found) throw notFound(`package ${appPkgId} not found in tenant ${tenantId}`)
    const { pkg } = found
    if (pkg.onboardingState !== 'ONBOARDED')
      throw conflict(`package ${pkg.appPkgId} is ${pkg.onboardingState}, not ONBOARDED`)
    if (pkg.operationalState !== 'ENABLED') throw conflict(`package ${pkg.appPkgId} is DISABLED: enable it first`)
    return pkg
  }

  /** New instance records for `requests`, each package read once. */
  async function newInstances(tenantId: string, requests: CreateRequest[]): Promise<NewInstance[]> {
    const packages = new Map<string, Awaited<ReturnType<typeof usablePackage>>>()
    for (const appPkgId of new Set(requests.map((request) => request.appPkgId)))
      packages.set(appPkgId, await usablePackage(tenantId, appPkgId))
    return requests.map((request) => newInstance(tenantId, packages.get(request.appPkgId) as AppPackage, request))
  }

  function newInstance(tenantId: string, pkg: AppPackage, request: CreateRequest): NewInstance {
    return {
      appInstanceId: randomUUID(),
      tenantId,
      appPkgId: pkg.appPkgId,
      appId: pkg.appId,
      appDId: pkg.appDId,
      appName: pkg.appName,
      instanceName: request.instanceName,
      description: request.description,
      placement: request.placement,
      parameters: hub.sealParameters(request.parameters ?? {}),
    }
  }

  const statusIs =
    (allowed: InstanceStatus[], what: string) =>
    (instance: StoredInstance): void => {
      if (!allowed.includes(instance.status))
        throw conflict(
          `app instance ${instance.appInstanceId} is ${instance.status}: ${what} needs ${allowed.join(' or ')}`,
        )
    }

  return {
    runner,
    processes,
    feed,

    /** Records the instance, and a CREATE operation that places it. */
    async create(tenantId: string, request: CreateRequest) {
      const [instance] = (await newInstances(tenantId, [request])) as [NewInstance]
      const operationId = randomUUID()
      const op = await appo.transaction(async (tx) => {
        await tx.instances.insert(instance)
        await tx.instances.hold(instance.appInstanceId, operationId)
        return tx.operations.insert({
          operationId,
          tenantId,
          appInstanceId: instance.appInstanceId,
          lcmOperation: 'CREATE',
          params: { placement: request.placement },
        })
      })
      runner.start(op.operationId)
      return { instance: (await appo.instances.get(instance.appInstanceId)) as StoredInstance, operation: op }
    },

    /** `host`: move a NOT_INSTANTIATED instance there first, in the transaction that holds it. */
    instantiate(
      tenantId: string,
      appInstanceId: string,
      params: OperationParams,
      options: { supersede?: boolean; host?: { hostId: string; mechostIp: string } } = {},
    ) {
      const { host } = options
      return operate(tenantId, appInstanceId, 'INSTANTIATE', params, {
        supersede: options.supersede ?? false,
        precondition: (instance) => {
          statusIs(['NOT_INSTANTIATED', 'FAILED'], 'instantiate')(instance)
          if (host && instance.status !== 'NOT_INSTANTIATED' && instance.hostId !== host.hostId)
            throw conflict(`app instance ${appInstanceId} is ${instance.status} on another host: terminate it first`)
        },
        ...(host ? { alongside: (tx) => tx.instances.place(appInstanceId, host) } : {}),
      })
    },

    terminate(tenantId: string, appInstanceId: string, params: OperationParams, supersede = false) {
      return operate(tenantId, appInstanceId, 'TERMINATE', params, { supersede })
    },

    changeState(tenantId: string, appInstanceId: string, changeStateTo: 'STARTED' | 'STOPPED', timeoutMs?: number) {
      return operate(
        tenantId,
        appInstanceId,
        'OPERATE',
        { changeStateTo, ...(timeoutMs ? { timeoutMs } : {}) },
        {
          precondition: statusIs(
            [changeStateTo === 'STARTED' ? 'STOPPED' : 'STARTED'],
            `changing the state to ${changeStateTo}`,
          ),
        },
      )
    },

    /** A change of the rules, with its rule task (EdgeGallery's apprule task). */
    async configureRules(tenantId: string, appInstanceId: string, params: OperationParams) {
      const ruleTaskId = randomUUID()
      const op = await operate(
        tenantId,
        appInstanceId,
        'CONFIGURE_RULES',
        { ...params, ruleTaskId },
        {
          precondition: statusIs(['NOT_INSTANTIATED', 'STARTED', 'STOPPED'], 'configuring rules'),
          alongside: (tx, operationId) =>
            tx.ruleTasks.open({ taskId: ruleTaskId, tenantId, appInstanceId, operationId }),
        },
      )
      return { operation: op, ruleTaskId }
    },

    /**
     * One BATCH operation over many instances: a child operation per instance, run as a staged
     * rollout. `create` makes the instances first (placed by the batch's first step); an instance
     * that is busy or missing is reported per item and left out.
     */
    async batch(
      tenantId: string,
      kind: Exclude<OperationType, 'BATCH'>,
      entries: { appInstanceId: string; params: OperationParams }[],
      rollout: Rollout,
      create: CreateRequest[] = [],
    ): Promise<{ operation: StoredOperation; items: BatchItem[] }> {
      const made = await newInstances(tenantId, create)
      const all = [...made.map((instance) => ({ appInstanceId: instance.appInstanceId, params: {} })), ...entries]
      const batchId = randomUUID()
      const result = await appo.transaction(async (tx) => {
        for (const instance of made) await tx.instances.insert(instance)
        const operation = await tx.operations.insert({
          operationId: batchId,
          tenantId,
          appInstanceId: null,
          lcmOperation: 'BATCH',
          params: { batchOf: kind, rollout },
        })
        const items: BatchItem[] = []
        for (const [position, entry] of all.entries()) {
          const instance = await tx.instances.get(entry.appInstanceId, tenantId)
          if (!instance) {
            items.push({ appInstanceId: entry.appInstanceId, status: 'not found in this tenant', mecHost: null })
            continue
          }
          const operationId = randomUUID()
          try {
            if (kind === 'INSTANTIATE') statusIs(['NOT_INSTANTIATED', 'FAILED'], 'instantiate')(instance)
            await tx.instances.hold(instance.appInstanceId, operationId)
          } catch (error) {
            items.push({
              appInstanceId: instance.appInstanceId,
              status: (error as Error).message,
              mecHost: instance.mechostIp,
            })
            continue
          }
          await tx.operations.insert({
            operationId,
            tenantId,
            appInstanceId: instance.appInstanceId,
            parentId: batchId,
            position,
            lcmOperation: kind,
            params: sealed({ ...entry.params, ...(rollout.hostTimeoutMs ? { timeoutMs: rollout.hostTimeoutMs } : {}) }),
          })
          items.push({ appInstanceId: instance.appInstanceId, status: 'Accepted', mecHost: instance.mechostIp })
        }
        if (!items.some((item) => item.status === 'Accepted'))
          throw conflict(
            `no instance of the batch can be run: ${items.map((item) => `${item.appInstanceId}: ${item.status}`).join('; ')}`,
          )
        return { operation, items }
      })
      runner.start(batchId)
      return result
    },

    /** How many hosts a placement would use, one instance each (a batch without a count). */
    async everyFittingHost(tenantId: string, appPkgId: string, spec: PlacementSpec): Promise<number> {
      const wide = await decidePlacement(store, tenantId, appPkgId, { ...spec, maxPerHost: 1 }, 100_000)
      return wide.chosen.length
    },

    explain: (tenantId: string, appPkgId: string, spec: PlacementSpec, count: number) =>
      decidePlacement(store, tenantId, appPkgId, spec, count),

    async retry(op: StoredOperation): Promise<StoredOperation> {
      if (op.state !== 'FAILED_TEMP')
        throw conflict(`operation ${op.operationId} is ${op.state}; only FAILED_TEMP can be retried`)
      const retried = await appo.transaction(async (tx) => {
        const taskId = ruleTaskOf(op)
        if (taskId) await tx.ruleTasks.reopen(taskId)
        return tx.operations.retry(op.operationId)
      })
      await notify(retried).catch(() => undefined)
      runner.start(op.operationId)
      return retried
    },

    async fail(op: StoredOperation): Promise<StoredOperation> {
      if (op.state !== 'FAILED_TEMP')
        throw conflict(`operation ${op.operationId} is ${op.state}; only FAILED_TEMP can be failed`)
      return fail(op)
    },

    /** A running operation stops at its next wait (FAILED_TEMP); a FAILED_TEMP one becomes FAILED. */
    async cancel(op: StoredOperation): Promise<StoredOperation> {
      if (op.state === 'COMPLETED' || op.state === 'FAILED')
        throw conflict(`operation ${op.operationId} is ${op.state} already`)
      if (op.state === 'FAILED_TEMP') return fail(op)
      await appo.operations.requestCancel(op.operationId)
      runner.interrupt(op.operationId)
      return (await appo.operations.get(op.operationId)) as StoredOperation
    },

    start: () => runner.resume(),
    close: () => runner.close(),
  }
}
export type LcmService = Awaited<ReturnType<typeof lcmService>>
