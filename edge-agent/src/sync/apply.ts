import type { Command, DesiredInstance, DesiredState } from '@mecm/protocol'
import type { Sealer } from '@mecm/runtime'
import { syncRules } from '../mep/rules/sync-rules'
import type { AgentStore } from '../store/store'

/**
 * The agent's half of the merge rule (DESIGN.md "Authority"; the center's half is in its
 * event-store.ts): a record from the center replaces one the center sent before (commands come
 * in order), and a change made here when its generation is higher or equal (the center wins ties).
 */
function centerWins(store: AgentStore, instance: DesiredInstance): boolean {
  const local = store.desired.get(instance.appInstanceId)
  if (!local) {
    // terminated here at this generation or later: an older command does not bring it back
    const retired = store.retiredAt(instance.appInstanceId)
    if (retired !== undefined && retired >= instance.generation) return false
    return instance.targetState !== 'NOT_INSTANTIATED' || store.observed.get(instance.appInstanceId) !== undefined
  }
  return local.origin === 'center' || instance.generation >= local.generation
}

function setInstance(store: AgentStore, sealer: Sealer, instance: DesiredInstance): void {
  // a secret key given as a parameter is kept sealed with the instance's credentials, not in its record
  if (centerWins(store, instance)) store.desired.put(store.credentials.adopt(instance, sealer), 'center')
  else if (instance.targetState === 'NOT_INSTANTIATED' && !store.desired.get(instance.appInstanceId)) {
    // gone here already: say so, so that the center can forget it too
    store.outbox.append({
      kind: 'instance.status',
      appInstanceId: instance.appInstanceId,
      status: 'NOT_INSTANTIATED',
      generation: instance.generation,
      operationId: instance.operationId,
      detail: 'not on this edge',
    })
  }
}

/** Applies one command, once: its effect and its log entry commit together. False for a replay. */
export function applyCommand(store: AgentStore, sealer: Sealer, command: Command): boolean {
  return store.commands.apply(command, () => {
    const body = command.body
    switch (body.kind) {
      case 'instance.set':
        return setInstance(store, sealer, body.instance)
      case 'package.distribute':
        return store.wanted.put(body.package)
      case 'package.remove':
        return store.wanted.remove(body.appPkgId)
      case 'rules.set':
        store.rules.put(body.rules)
        syncRules(store, body.rules.appInstanceId)
        store.outbox.append({
          kind: 'rules.status',
          appInstanceId: body.rules.appInstanceId,
          taskId: body.rules.taskId,
          state: 'SUCCESS',
          detail: '',
        })
        return
      case 'plugin.configure':
        if (body.plugin.config === null) store.plugins.remove(body.plugin.vim)
        else store.plugins.put(body.plugin.vim, sealer.seal(body.plugin.config))
        return
    }
  })
}

/**
 * Replaces the center's part of the local desired state with a snapshot, in one transaction.
 * Instances the center no longer lists are terminated (or forgotten when nothing runs); changes
 * made here that the center has not seen yet stay, and are still reported.
 */
export function applySnapshot(store: AgentStore, sealer: Sealer, seq: number, state: DesiredState): void {
  store.transaction(() => {
    const listed = new Set(state.instances.map((instance) => instance.appInstanceId))
    for (const instance of state.instances) setInstance(store, sealer, instance)
    for (const local of store.desired.list()) {
      if (local.origin !== 'center' || listed.has(local.appInstanceId)) continue
      if (store.observed.get(local.appInstanceId)) {
        const { origin: _, ...record } = local
        store.desired.put({ ...record, targetState: 'NOT_INSTANTIATED', generation: local.generation + 1 }, 'center')
      } else store.desired.remove(local.appInstanceId)
    }
    const packages = new Set(state.packages.map((ref) => ref.appPkgId))
    for (const wanted of store.wanted.list()) if (!packages.has(wanted.appPkgId)) store.wanted.remove(wanted.appPkgId)
    for (const ref of state.packages) store.wanted.put(ref)
    store.rules.clear()
    for (const rules of state.rules) store.rules.put(rules)
    for (const instance of store.desired.list()) syncRules(store, instance.appInstanceId)
    store.plugins.clear()
    for (const plugin of state.plugins)
      if (plugin.config !== null) store.plugins.put(plugin.vim, sealer.seal(plugin.config))
    store.resetCommandsTo(seq)
  })
}
