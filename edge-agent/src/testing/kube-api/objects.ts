import { createHash } from 'node:crypto'
import type { KubeObject, OwnerReference } from './store'

export const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** The reference a controller puts on what it creates: garbage collected with its owner. */
export const controllerRef = (owner: KubeObject): OwnerReference => ({
  apiVersion: owner.apiVersion,
  kind: owner.kind,
  name: owner.metadata.name,
  uid: owner.metadata.uid,
  controller: true,
  blockOwnerDeletion: true,
})

export const ownedBy = (object: KubeObject, owner: KubeObject) =>
  (object.metadata.ownerReferences ?? []).some((ref) => ref.uid === owner.metadata.uid)

const alphabet = 'bcdfghjklmnpqrstvwxz2456789'
/** The random suffix of generated names (`web-7d9c8f6b5-x2kqz`), from the same alphabet Kubernetes uses. */
export const suffix = (length = 5) =>
  Array.from({ length }, () => alphabet[Math.floor(Math.random() * alphabet.length)]).join('')

/** A stable short hash of a pod template, like the `pod-template-hash` label. */
export const templateHash = (template: unknown) =>
  [...createHash('sha256').update(JSON.stringify(template)).digest()]
    .slice(0, 10)
    .map((byte) => alphabet[byte % alphabet.length])
    .join('')

export interface Condition {
  type: string
  status: 'True' | 'False'
  reason?: string
  message?: string
  lastTransitionTime?: string
  lastUpdateTime?: string
  lastProbeTime?: string | null
}

/**
 * Sets a condition keeping its timestamps when nothing changed, so that a status written again
 * with the same content is a no-op (and does not wake every watcher).
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Condition,
  withUpdateTime = false,
): Condition[] {
  const list = conditions ?? []
  const previous = list.find((c) => c.type === next.type)
  const same = previous?.status === next.status && previous.reason === next.reason && previous.message === next.message
  const at = now()
  const condition: Condition = {
    ...next,
    ...(withUpdateTime ? { lastUpdateTime: same ? (previous?.lastUpdateTime ?? at) : at } : {}),
    lastTransitionTime: previous?.status === next.status ? (previous.lastTransitionTime ?? at) : at,
  }
  return previous ? list.map((c) => (c === previous ? condition : c)) : [...list, condition]
}

export const withoutCondition = (conditions: Condition[] | undefined, type: string) =>
  (conditions ?? []).filter((c) => c.type !== type)

export const isReady = (pod: KubeObject) =>
  (pod.status?.conditions as Condition[] | undefined)?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false

export const isActive = (pod: KubeObject) =>
  !pod.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(pod.status?.phase)
