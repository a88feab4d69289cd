import { type AppdConfiguration, mergeRules } from '@mecm/protocol'
import type { Store } from '../db/store'
import type { SyncHub } from '../sync/hub'
import { setInstanceOnEdge } from '../sync/instance-on-edge'
import { decidePlacement } from './candidates'
import type { ChangeFeed } from './change-feed'
import type { StoredInstance } from './instance-store'
import type { StoredOperation } from './operation-store'
import { type Step, stepFailed } from './runner'
import { edgeGalleryStatus } from './views'

const VERB = { INSTANTIATE: 'instantiate', TERMINATE: 'terminate', OPERATE: 'start or stop' } as const

/**
 * The steps the process definitions name. Each reads the operation and the records as they are
 * now and does only what is not done yet, so running one twice (after a crash) is harmless.
 */
export function operationSteps(deps: {
  store: Store
  hub: SyncHub
  feed: ChangeFeed
  /** How long a step waits for an edge unless the operation says otherwise. */
  edgeTimeoutMs: number
}): Record<'place' | 'begin' | 'sendDesired' | 'awaitEdge' | 'sendRules' | 'awaitRules' | 'finish', Step> {
  const { store, hub, feed } = deps
  const { instances, operations, ruleTasks } = store.appo

  /** EdgeGallery's record of the app on its host (/inventory/v1/.../mechosts/{ip}/apps), kept in step. */
  async function mirrorOnHost(instance: StoredInstance, gone = false) {
    if (!instance.hostId) return
    if (gone) {
      await store.hostApps.delete(instance.hostId, instance.appInstanceId)
      return
    }
    const record = {
      appInstanceId: instance.appInstanceId,
      appName: instance.instanceName,
      packageId: instance.appPkgId,
      capabilities: instance.placement.hwCapabilities ?? [],
      status: edgeGalleryStatus(instance.status),
    }
    if (!(await store.hostApps.update(instance.hostId, record))) await store.hostApps.create(instance.hostId, record)
  }

  async function instanceOf(op: StoredOperation): Promise<StoredInstance> {
    const instance = op.appInstanceId ? await instances.get(op.appInstanceId) : undefined
    if (!instance) throw stepFailed(404, 'Not Found', `app instance ${op.appInstanceId} no longer exists`, true)
    return instance
  }

  async function hostOf(instance: StoredInstance) {
    const host = instance.mechostIp ? await store.hosts.get(instance.tenantId, instance.mechostIp) : undefined
    if (!host)
      throw stepFailed(409, 'Conflict', `app instance ${instance.appInstanceId} has no host (its host was removed?)`)
    return host
  }

  /** Waits until `settled` says the wait is over, the operation is cancelled, or its time is up. */
  async function waitFor(
    op: StoredOperation,
    instance: StoredInstance,
    what: string,
    signal: AbortSignal,
    settled: (now: StoredOperation) => Promise<boolean>,
  ) {
    const limit = op.params.timeoutMs ?? deps.edgeTimeoutMs
    const deadline = Date.parse(op.stateEnteredTime) + limit
    for (;;) {
      const now = (await operations.get(op.operationId)) as StoredOperation
      if (now.cancelPending || signal.aborted)
        throw stepFailed(409, 'Cancelled', `the operation was cancelled while waiting for ${what}`)
      if (await settled(now)) return
      if (Date.now() > deadline) {
        const host = await store.hosts.get(instance.tenantId, instance.mechostIp ?? '')
        throw stepFailed(
          504,
          'Edge Timeout',
          `edge ${instance.mechostIp} (${host?.status ?? 'removed'}) did not report ${what} within ${Math.round(limit / 1000)} s; ` +
            'what was sent stays queued for the edge',
        )
      }
      await feed.next(signal)
    }
  }

  return {
    async place(op) {
      const instance = await instanceOf(op)
      if (instance.hostId) return
      const decision = await decidePlacement(store, instance.tenantId, instance.appPkgId, instance.placement, 1)
      const ip = decision.chosen[0]
      if (!ip)
        throw stepFailed(
          409,
          'No Host Fits',
          `no host fits app instance ${instance.appInstanceId}: ${decision.summary}`,
        )
      await instances.place(instance.appInstanceId, decision.hostOf(ip))
    },

    async begin(op) {
      const instance = await instanceOf(op)
      if (op.lcmOperation === 'INSTANTIATE') await instances.move(instance.appInstanceId, 'INSTANTIATING')
      else if (op.lcmOperation === 'TERMINATE') {
        if (instance.status !== 'NOT_INSTANTIATED') await instances.move(instance.appInstanceId, 'TERMINATING')
      } else if (op.lcmOperation === 'OPERATE')
        await instances.move(instance.appInstanceId, op.params.changeStateTo === 'STOPPED' ? 'STOPPING' : 'STARTING')
    },

    async sendDesired(op) {
      if (op.issuedAttempt === op.attempts) return
      const instance = await instanceOf(op)
      if (!instance.hostId) return
      const host = await hostOf(instance)
      const onEdge = await store.edgeOutbox.desired(host.hostId, 'instance', instance.appInstanceId)
      if (op.lcmOperation === 'TERMINATE' && !onEdge) return
      const parameters =
        op.lcmOperation === 'INSTANTIATE' && op.params.parameters ? op.params.parameters : instance.parameters
      if (op.lcmOperation === 'INSTANTIATE') await instances.setParameters(instance.appInstanceId, parameters)
      await setInstanceOnEdge(deps, host, {
        appInstanceId: instance.appInstanceId,
        tenantId: instance.tenantId,
        appPkgId: instance.appPkgId,
        targetState:
          op.lcmOperation === 'TERMINATE'
            ? 'NOT_INSTANTIATED'
            : op.lcmOperation === 'OPERATE'
              ? (op.params.changeStateTo ?? 'STARTED')
              : 'STARTED',
        parameters,
        operationId: op.operationId,
      })
      await operations.markIssued(op.operationId, op.attempts)
    },

    async awaitEdge(op, signal) {
      const instance = await instanceOf(op)
      if (!instance.hostId || op.issuedAttempt !== op.attempts) return
      const verb = VERB[op.lcmOperation as keyof typeof VERB] ?? 'change'
      await waitFor(op, instance, `the outcome of ${verb}`, signal, async (now) => {
        if (now.edgeOutcome === 'FAILED')
          throw stepFailed(
            502,
            'Edge Failed',
            `edge ${instance.mechostIp} could not ${verb} app instance ${instance.appInstanceId}: ${now.edgeError ?? 'no reason given'}`,
          )
        if (now.edgeOutcome === 'COMPLETED') return true
        // a terminated instance the edge has forgotten is done, even if its report was lost
        return (
          op.lcmOperation === 'TERMINATE' &&
          !(await store.edgeOutbox.desired(instance.hostId as string, 'instance', instance.appInstanceId))
        )
      })
    },

    async sendRules(op) {
      const instance = await instanceOf(op)
      const onEdge = instance.hostId !== null && instance.status !== 'NOT_INSTANTIATED'
      let taskId: string
      let configuration: AppdConfiguration
      if (op.lcmOperation === 'CONFIGURE_RULES') {
        taskId = op.params.ruleTaskId as string
        configuration = mergeRules(
          await store.appdConfigurations.get(instance.tenantId, instance.appInstanceId),
          op.params,
        )
        await store.appdConfigurations.put(instance.tenantId, instance.appInstanceId, configuration)
        if (!onEdge) {
          await ruleTasks.settle(
            taskId,
            instance.appInstanceId,
            'SUCCESS',
            'recorded; the rules apply when the instance is instantiated',
          )
          return
        }
      } else {
        // at instantiate: the APPD's rules, with the operator's configuration over them
        const found = await store.packages.get(instance.tenantId, instance.appPkgId)
        const appd = found?.details.appd
        configuration = mergeRules(
          { appSupportMp1: true, appTrafficRule: appd?.appTrafficRule ?? [], appDNSRule: appd?.appDNSRule ?? [] },
          { rules: await store.appdConfigurations.get(instance.tenantId, instance.appInstanceId) },
        )
        if (!configuration.appTrafficRule.length && !configuration.appDNSRule.length) return
        taskId = op.operationId
        await ruleTasks.open({
          taskId,
          tenantId: instance.tenantId,
          appInstanceId: instance.appInstanceId,
          operationId: op.operationId,
        })
      }
      const task = await ruleTasks.get(taskId)
      if (task?.state !== 'PROCESSING') return
      const host = await hostOf(instance)
      await hub.issue(host.hostId, {
        kind: 'rules.set',
        rules: { appInstanceId: instance.appInstanceId, taskId, configuration },
      })
    },

    async awaitRules(op, signal) {
      const instance = await instanceOf(op)
      const taskId = op.lcmOperation === 'CONFIGURE_RULES' ? (op.params.ruleTaskId as string) : op.operationId
      if (!(await ruleTasks.get(taskId))) return
      await waitFor(op, instance, 'the result of applying the rules', signal, async () => {
        const task = await ruleTasks.get(taskId)
        if (task?.state === 'FAILURE')
          throw stepFailed(502, 'Rules Failed', `edge ${instance.mechostIp} could not apply the rules: ${task.detail}`)
        return task?.state === 'SUCCESS'
      })
    },

    async finish(op) {
      if (!op.appInstanceId) return
      const instance = await instances.get(op.appInstanceId)
      if (!instance) return
      switch (op.lcmOperation) {
        case 'CREATE':
          return mirrorOnHost(instance)
        case 'INSTANTIATE':
          return mirrorOnHost(await instances.move(instance.appInstanceId, 'STARTED'))
        case 'OPERATE':
          return mirrorOnHost(await instances.move(instance.appInstanceId, op.params.changeStateTo ?? 'STARTED'))
        case 'TERMINATE': {
          const terminated = await instances.move(instance.appInstanceId, 'NOT_INSTANTIATED')
          if (op.params.deleteInstance) {
            await store.appdConfigurations.delete(instance.tenantId, instance.appInstanceId)
            await instances.remove(instance.appInstanceId)
          }
          return mirrorOnHost(terminated, op.params.deleteInstance)
        }
        default:
          return
      }
    },
  }
}
