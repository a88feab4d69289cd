/**
 * Test helper run as a child process: cycles an instance through its lifecycle in the store given
 * as argv[2], printing each transition after it committed, until it is killed.
 */
import type { InstanceStatus } from '@mecm/protocol'
import { openAgentStore } from '../store/store'

const store = openAgentStore(process.argv[2] ?? '')
const cycle: InstanceStatus[] = ['INSTANTIATING', 'STARTED', 'STOPPING', 'STOPPED', 'TERMINATING', 'NOT_INSTANTIATED']
const id = '9b2f6a1e-3c4d-4e5f-8a7b-0c1d2e3f4a5b'
let generation = 1
const current = store.observed.get(id)?.status ?? 'NOT_INSTANTIATED'
let next = (cycle.indexOf(current) + 1) % cycle.length
for (;;) {
  const status = cycle[next] as InstanceStatus
  store.observed.record(id, status, { generation, operationId: null, detail: `step ${generation}` })
  process.stdout.write(`${generation} ${status}\n`)
  generation++
  next = (next + 1) % cycle.length
}
