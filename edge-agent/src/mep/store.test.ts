import { randomBytes, randomUUID } from 'node:crypto'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { sealer } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import { openAgentStore } from '../store/store'
import { MAX_SERVICES_PER_APP, type ServiceChange } from './store'

const service = (name: string) => ({ serInstanceId: randomUUID(), serName: name, state: 'ACTIVE', version: '1.0' })

function withApp() {
  const store = openAgentStore(':memory:')
  const instance = DesiredInstance.parse({ ...examples.desiredInstance, appInstanceId: randomUUID() })
  store.credentials.forInstance(instance, sealer(randomBytes(32)))
  const changes: ServiceChange[] = []
  store.mep.services.watch((change) => changes.push(change))
  return { store, id: instance.appInstanceId, changes }
}
const registry = (store: ReturnType<typeof openAgentStore>) =>
  store.outbox
    .after(0, 100)
    .flatMap((event) => (event.body.kind === 'mep.services' ? [event.body.services.map((s) => s.state)] : []))

describe('the MEP registry in the store', () => {
  it("marks a stopped or failed app's services INACTIVE, tells the watchers and the center", async () => {
    const { store, id, changes } = withApp()
    store.mep.services.put(id, service('greeting'))
    for (const status of ['INSTANTIATING', 'STARTED', 'STOPPING', 'STOPPED'] as const)
      store.observed.record(id, status, { generation: 1, operationId: null })
    await Promise.resolve()
    expect(store.mep.services.ofApp(id).map((s) => s.record.state)).toEqual(['INACTIVE'])
    expect(changes.at(-1)).toMatchObject({
      before: { record: { state: 'ACTIVE' } },
      after: { record: { state: 'INACTIVE' } },
    })
    expect(registry(store)).toEqual([['INACTIVE']])
  })

  it('writes nothing for an app instance that is gone, and caps how many services one app registers', () => {
    const { store, id } = withApp()
    expect(() => store.mep.services.put(randomUUID(), service('ghost'))).toThrow('is gone')
    expect(() => store.mep.subscriptions.add(randomUUID(), 'mec_service_mgmt', {} as never)).toThrow('is gone')
    for (let n = 0; n < MAX_SERVICES_PER_APP; n++) store.mep.services.put(id, service(`s${n}`))
    expect(() => store.mep.services.put(id, service('one-too-many'))).toThrow(`at most ${MAX_SERVICES_PER_APP}`)
    expect(store.mep.services.list()).toHaveLength(MAX_SERVICES_PER_APP)
    // only the latest registry waits for the center
    expect(registry(store)).toHaveLength(1)
  })
})
