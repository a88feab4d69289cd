import type { EventBody } from '@mecm/protocol'

/** An app instance no edge has: reports about it are refused by the center, and kept in the edge's log. */
const NOBODY = '00000000-0000-4000-8000-0000000fee0d'

/** For tests: an event the agent never coalesces, carrying `label`, that changes nothing at the center. */
export const probeEvent = (label: string): EventBody => ({
  kind: 'rules.status',
  appInstanceId: NOBODY,
  taskId: null,
  state: 'SUCCESS',
  detail: `probe ${label}`,
})

/** The labels of the probes in an edge's event log, in its order. */
export const probeLabels = (log: readonly { body: EventBody }[]) =>
  log.flatMap((e) =>
    e.body.kind === 'rules.status' && e.body.detail.startsWith('probe ') ? [e.body.detail.slice(6)] : [],
  )
