import type { Center } from '@mecm/center'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'

describe('sync across two center replicas on one PostgreSQL', () => {
  let fleet: TestFleet
  let replica: Center
  beforeAll(async () => {
    fleet = await testFleet('postgres')
    // the second replica pings rarely: what reaches its edges within the test came by NOTIFY
    replica = await fleet.t.replica({ edgeHeartbeatMs: 60_000 })
  })
  afterAll(async () => {
    await replica.close()
    await fleet.close()
  })

  it('delivers a command issued at one replica to an edge connected to the other at once', async () => {
    const edge = await fleet.edge({ centerUrl: replica.url })
    expect(replica.hub.connected(edge.hostId)).toBe(true)
    expect(fleet.t.center.hub.connected(edge.hostId)).toBe(false)
    const reply = await fleet.call('PUT', `${fleet.hostPath(edge.ip)}/plugins/kubernetes`, { config: 'kubeconfig' })
    expect(reply.status).toBe(204)
    await vi.waitFor(() => expect(edge.agent.sync.pluginConfig('kubernetes')).toBe('kubeconfig'), WAIT)
  })

  it('closes the socket held by the other replica when the edge is revoked', async () => {
    const edge = await fleet.edge({ centerUrl: replica.url })
    expect((await fleet.call('DELETE', `${fleet.hostPath(edge.ip)}/identity`)).status).toBe(204)
    await vi.waitFor(() => {
      expect(replica.hub.connected(edge.hostId)).toBe(false)
      expect(edge.agent.sync.status().connected).toBe(false)
    }, WAIT)
  })
})
