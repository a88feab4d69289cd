import { type DesiredInstance, type InstantiationParameters, redacted } from '@mecm/protocol'
import { conflict, notFound } from '@mecm/runtime'
import type { Store } from '../db/store'
import type { StoredHost } from '../inventory/host-store'
import type { SyncHub } from './hub'

export interface InstanceChange {
  appInstanceId: string
  tenantId: string
  appPkgId: string
  targetState: DesiredInstance['targetState']
  parameters: InstantiationParameters
  operationId: string | null
}

/**
 * Sets what an edge should run for one instance: the package goes to the edge first if it has
 * not yet, then the desired record with the next generation. Both are commands in the edge's
 * outbox, so an edge that is offline gets them when it reconnects.
 */
export async function setInstanceOnEdge(
  deps: { store: Store; hub: SyncHub },
  host: StoredHost,
  change: InstanceChange,
): Promise<DesiredInstance> {
  const { store, hub } = deps
  const found = await store.packages.get(change.tenantId, change.appPkgId)
  if (!found) throw notFound(`package ${change.appPkgId} not found in tenant ${change.tenantId}`)
  if (found.pkg.onboardingState !== 'ONBOARDED' || !found.digest || !found.pkg.appClass) {
    throw conflict(`package ${change.appPkgId} is ${found.pkg.onboardingState}, not ONBOARDED`)
  }
  const elsewhere = await store.edgeOutbox.hostOfInstance(change.appInstanceId)
  if (elsewhere && elsewhere !== host.hostId) {
    throw conflict(`app instance ${change.appInstanceId} is on another host`)
  }
  const current = await store.edgeOutbox.desired<DesiredInstance>(host.hostId, 'instance', change.appInstanceId)
  if (!current && change.targetState === 'NOT_INSTANTIATED') {
    throw notFound(`app instance ${change.appInstanceId} is not on host ${host.mechostIp}`)
  }
  if (
    change.targetState !== 'NOT_INSTANTIATED' &&
    !(await store.edgeOutbox.desired(host.hostId, 'package', change.appPkgId))
  ) {
    await store.packages.distribute(change.appPkgId, host.mechostIp).catch(() => undefined)
    await hub.issue(host.hostId, {
      kind: 'package.distribute',
      package: { appPkgId: change.appPkgId, digest: found.digest, size: found.pkg.size, appClass: found.pkg.appClass },
    })
  }
  const instance: DesiredInstance = {
    appInstanceId: change.appInstanceId,
    tenantId: change.tenantId,
    appPkgId: change.appPkgId,
    packageDigest: found.digest,
    appName: found.pkg.appName,
    targetState: change.targetState,
    parameters: change.parameters,
    operationId: change.operationId,
    generation: (current?.record.generation ?? 0) + 1,
  }
  const command = await hub.issue(host.hostId, { kind: 'instance.set', instance })
  return redacted(command.body.kind === 'instance.set' ? command.body.instance : instance)
}
