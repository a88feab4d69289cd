import { now } from './objects'
import { typeOfKind } from './resources'
import type { KubeObject, ObjectStore } from './store'

const events = typeOfKind('Event')

/**
 * Records a core/v1 Event about an object, as a controller or the kubelet does; a repeat of the
 * same reason and message about the same object counts up on the existing event.
 */
export function recordEvent(
  store: ObjectStore,
  about: KubeObject,
  event: { type: 'Normal' | 'Warning'; reason: string; message: string; component: string },
): void {
  const namespace = about.metadata.namespace ?? 'default'
  const same = store
    .list(events, namespace)
    .find(
      (e) => e.involvedObject.uid === about.metadata.uid && e.reason === event.reason && e.message === event.message,
    )
  if (same) {
    store.update(events, { ...same, count: same.count + 1, lastTimestamp: now() })
    return
  }
  const at = now()
  store.create(events, {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: {
      name: `${about.metadata.name}.${(Date.now() * 1000 + Math.floor(Math.random() * 1000)).toString(16)}`,
      namespace,
    },
    involvedObject: {
      apiVersion: about.apiVersion,
      kind: about.kind,
      name: about.metadata.name,
      namespace,
      uid: about.metadata.uid,
      resourceVersion: about.metadata.resourceVersion,
    },
    reason: event.reason,
    message: event.message,
    type: event.type,
    source: { component: event.component },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
    reportingComponent: event.component,
    reportingInstance: '',
  })
}
