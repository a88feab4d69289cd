import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { type TestFleet, testFleet, WAIT } from '../testing/fleet'
import { loadIdentity, type StoredIdentity, signedHeader } from './identity'

const publicKey = 'MCowBQYDK2VwAyEA59ehxvLMbTnp3H/HZRtIrZmCrJuaPFxeOh0hzZy1eCA='

/** A raw socket to the center, signed as `identity`, with the frames it receives. */
async function rawSocket(url: string, identity: StoredIdentity) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/edge/v1/connect`, {
    headers: { authorization: signedHeader(identity, 'GET', '/edge/v1/connect') },
  })
  const frames: Record<string, unknown>[] = []
  ws.on('message', (data) => frames.push(JSON.parse(data.toString())))
  await once(ws, 'open')
  return { ws, frames }
}

describe('sync: trust', () => {
  let fleet: TestFleet
  beforeAll(async () => {
    fleet = await testFleet()
  })
  afterAll(() => fleet.close())

  const enroll = (token: string) =>
    fleet.t.call('POST', '/edge/v1/enroll', { body: { token, publicKey, agentVersion: 'test' } })

  it('spends a token once; a used, expired, revoked or unknown token cannot enroll', async () => {
    const used = await fleet.register()
    expect((await enroll(used.token)).status).toBe(201)
    const again = await enroll(used.token)
    expect(again.status).toBe(401)
    expect(again.body.detail).toContain('unknown, already used, or expired')

    const expired = await fleet.register()
    const host = await fleet.t.store.hosts.get(fleet.operator.tenantId, expired.ip)
    const hash = createHash('sha256').update(expired.token).digest('hex')
    await fleet.t.store.edges.issueEnrollment(host?.hostId as string, hash, new Date(Date.now() - 1000).toISOString())
    expect((await enroll(expired.token)).status).toBe(401)

    const revoked = await fleet.register()
    expect((await fleet.call('DELETE', `${fleet.hostPath(revoked.ip)}/enrollment`)).status).toBe(204)
    expect((await enroll(revoked.token)).status).toBe(401)
    expect((await fleet.call('DELETE', `${fleet.hostPath(revoked.ip)}/enrollment`)).status).toBe(404)

    expect((await enroll('x'.repeat(43))).status).toBe(401)
    expect((await enroll('short')).status).toBe(400)
  })

  it('lets only one of several edges racing with the same token enroll', async () => {
    const host = await fleet.register()
    const replies = await Promise.all(Array.from({ length: 5 }, () => enroll(host.token)))
    expect(replies.map((reply) => reply.status).sort()).toEqual([201, 401, 401, 401, 401])
  })

  it('closes a revoked edge at once and refuses it afterwards', async () => {
    const edge = await fleet.edge()
    expect((await fleet.call('DELETE', `${fleet.hostPath(edge.ip)}/identity`)).status).toBe(204)
    await vi.waitFor(async () => expect(await fleet.statusOf(edge.ip)).toBe('OFFLINE'), WAIT)
    await vi.waitFor(() => expect(edge.agent.sync.status().lastError).toContain('401'), WAIT)
    expect(edge.agent.sync.status().connected).toBe(false)
    const identity = loadIdentity(edge.dataDir) as StoredIdentity
    const refused = await fetch(`${fleet.t.center.url}/edge/v1/identity/rotate`, {
      method: 'POST',
      headers: {
        authorization: signedHeader(identity, 'POST', '/edge/v1/identity/rotate', JSON.stringify({ publicKey })),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ publicKey }),
    })
    expect(refused.status).toBe(401)
    // a new token brings it back
    const token = (await fleet.call('POST', `${fleet.hostPath(edge.ip)}/enrollment`)).body.token
    await edge.agent.sync.enroll(fleet.t.center.url, token)
    await vi.waitFor(async () => expect(await fleet.statusOf(edge.ip)).toBe('ONLINE'), WAIT)
  })

  it('closes the socket of a host removed from the inventory', async () => {
    const edge = await fleet.edge()
    expect((await fleet.call('DELETE', fleet.hostPath(edge.ip))).status).toBe(204)
    await vi.waitFor(() => expect(edge.agent.sync.status().lastError).toContain('401'), WAIT)
    expect(edge.agent.sync.status().connected).toBe(false)
  })

  it('rotates the key: the new one connects, the old one is refused', async () => {
    const edge = await fleet.edge()
    const before = loadIdentity(edge.dataDir) as StoredIdentity
    await edge.agent.sync.rotateKey()
    const after = loadIdentity(edge.dataDir) as StoredIdentity
    expect(after.publicKey).not.toBe(before.publicKey)
    const old = await fetch(`${fleet.t.center.url}/edge/v1/packages/${'0'.repeat(64)}`, {
      headers: { authorization: signedHeader(before, 'GET', `/edge/v1/packages/${'0'.repeat(64)}`) },
    })
    expect(old.status).toBe(401)
    edge.agent.sync.drop()
    await vi.waitFor(() => expect(edge.agent.sync.status().connected).toBe(true), WAIT)
  })

  it("refuses events about another edge's instances, and keeps them in the log with the reason", async () => {
    const a = await fleet.edge()
    const b = await fleet.edge()
    const appPkgId = await fleet.onboardHello()
    const id = randomUUID()
    await fleet.call('PUT', `${fleet.hostPath(a.ip)}/instances/${id}`, { appPkgId, targetState: 'STOPPED' })
    await vi.waitFor(async () => {
      const instances = (await fleet.call('GET', `${fleet.hostPath(a.ip)}/instances`)).body
      expect(instances[0]?.observed?.status).toBe('STOPPED')
    }, WAIT)
    b.agent.store.outbox.append({
      kind: 'instance.status',
      appInstanceId: id,
      status: 'STARTED',
      generation: 9,
      operationId: null,
      detail: 'forged',
    })
    const foreign = { ...(a.agent.store.desired.get(id) as object), generation: 9, targetState: 'NOT_INSTANTIATED' }
    b.agent.store.outbox.append({ kind: 'instance.local_change', change: 'terminated', instance: foreign as never })
    await vi.waitFor(async () => {
      const log = (await fleet.call('GET', `${fleet.hostPath(b.ip)}/events`)).body as { rejected: string | null }[]
      expect(log.filter((event) => event.rejected?.includes('not on this edge'))).toHaveLength(2)
    }, WAIT)
    const instances = (await fleet.call('GET', `${fleet.hostPath(a.ip)}/instances`)).body
    expect(instances).toEqual([
      expect.objectContaining({ appInstanceId: id, desired: expect.objectContaining({ targetState: 'STOPPED' }) }),
    ])
    expect(instances[0].observed.status).toBe('STOPPED')
    expect((await fleet.call('GET', `${fleet.hostPath(b.ip)}/instances`)).body).toEqual([])

    // nor may it download what was sent to another edge
    const digest = a.agent.store.desired.get(id)?.packageDigest as string
    const identity = loadIdentity(b.dataDir) as StoredIdentity
    const download = await fetch(`${fleet.t.center.url}/edge/v1/packages/${digest}`, {
      headers: { authorization: signedHeader(identity, 'GET', `/edge/v1/packages/${digest}`) },
    })
    expect(download.status).toBe(404)
    await fleet.call('PUT', `${fleet.hostPath(a.ip)}/instances/${id}`, { appPkgId, targetState: 'NOT_INSTANTIATED' })
  })

  it('refuses unsigned, forged and replayed connections', async () => {
    const edge = await fleet.edge()
    const identity = loadIdentity(edge.dataDir) as StoredIdentity
    const url = `${fleet.t.center.url.replace('http', 'ws')}/edge/v1/connect`
    const statusOf = async (headers: Record<string, string>) => {
      const ws = new WebSocket(url, { headers })
      ws.on('error', () => undefined)
      const [, response] = (await once(ws, 'unexpected-response')) as [unknown, { statusCode: number }]
      return response.statusCode
    }
    expect(await statusOf({})).toBe(401)
    const signed = signedHeader(identity, 'GET', '/edge/v1/connect')
    expect(await statusOf({ authorization: signed.replace(/Signature=\S+/, `Signature=${'A'.repeat(86)}==`) })).toBe(
      401,
    )
    const first = await rawSocket(fleet.t.center.url, identity)
    first.ws.close()
    const replay = new WebSocket(url, { headers: { authorization: signedHeader(identity, 'GET', '/edge/v1/connect') } })
    await once(replay, 'open')
    replay.close()
    // the same header again: its nonce is spent
    const header = signedHeader(identity, 'GET', '/edge/v1/connect')
    const once1 = new WebSocket(url, { headers: { authorization: header } })
    await once(once1, 'open')
    once1.close()
    expect(await statusOf({ authorization: header })).toBe(401)
  })

  it('tells an agent with no common protocol version why, and survives bad frames', async () => {
    const edge = await fleet.edge()
    const identity = loadIdentity(edge.dataDir) as StoredIdentity
    const bad = await rawSocket(fleet.t.center.url, identity)
    bad.ws.send('not json')
    bad.ws.send(JSON.stringify({ v: 1, type: 'bye' }))
    const hello = {
      v: 1,
      type: 'hello',
      agentVersion: 'future',
      storeId: randomUUID(),
      lastAppliedCommandSeq: 0,
      lastAppliedCommandId: null,
      lastEventSeq: 0,
      vims: ['exec'],
    }
    bad.ws.send(JSON.stringify({ ...hello, protocolVersions: [99] }))
    const [code, reason] = (await once(bad.ws, 'close')) as [number, Buffer]
    expect(code).toBe(4002)
    expect(reason.toString()).toContain('protocol versions 1')
    expect(bad.frames.map((frame) => frame.code)).toEqual(['BAD_FRAME', 'BAD_FRAME', 'UNSUPPORTED_VERSION'])
    expect(bad.frames[2]).toMatchObject({ fatal: true, message: expect.stringContaining('upgrade the agent') })
    // the real agent was taken over by the raw socket; it comes back
    await vi.waitFor(() => expect(edge.agent.sync.status().connected).toBe(true), WAIT)

    const early = await rawSocket(fleet.t.center.url, identity)
    early.ws.send(JSON.stringify({ v: 1, type: 'ack', stream: 'commands', seq: 0 }))
    const [earlyCode] = (await once(early.ws, 'close')) as [number]
    expect(earlyCode).toBe(4003)
    expect(early.frames).toEqual([
      expect.objectContaining({ code: 'BAD_FRAME', message: 'the first frame must be hello' }),
    ])
  })

  it('refuses a batch of events that follows a gap, and the agent resumes from what is committed', async () => {
    const edge = await fleet.edge()
    const identity = loadIdentity(edge.dataDir) as StoredIdentity
    const raw = await rawSocket(fleet.t.center.url, identity)
    const hello = { v: 1, type: 'hello', agentVersion: 'test', protocolVersions: [1], storeId: randomUUID() }
    raw.ws.send(
      JSON.stringify({
        ...hello,
        lastAppliedCommandSeq: 0,
        lastAppliedCommandId: null,
        lastEventSeq: 0,
        vims: ['exec'],
      }),
    )
    const event = {
      seq: 6,
      eventId: randomUUID(),
      at: new Date().toISOString(),
      body: { kind: 'mep.services', services: [] },
    }
    raw.ws.send(JSON.stringify({ v: 1, type: 'event', after: 5, events: [event] }))
    const [code] = (await once(raw.ws, 'close')) as [number]
    expect(code).toBe(4006)
    expect(raw.frames.at(-1)).toMatchObject({ type: 'error', code: 'OUT_OF_ORDER', fatal: true })
    expect((await fleet.t.store.edgeEvents.eventIds(edge.hostId)).includes(event.eventId)).toBe(false)
    await vi.waitFor(() => expect(edge.agent.sync.status().connected).toBe(true), WAIT)
  })

  it('takes up the key of an interrupted rotation once the center refuses the old one', async () => {
    const edge = await fleet.edge()
    const old = loadIdentity(edge.dataDir) as StoredIdentity
    // the rotation reached the center, but the agent died before it moved the new key in place
    const pair = generateKeyPairSync('ed25519')
    const next = {
      ...old,
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    }
    writeFileSync(join(edge.dataDir, 'identity.next.json'), JSON.stringify(next), { mode: 0o600 })
    const body = JSON.stringify({ publicKey: next.publicKey })
    const rotated = await fetch(`${fleet.t.center.url}/edge/v1/identity/rotate`, {
      method: 'POST',
      headers: {
        authorization: signedHeader(old, 'POST', '/edge/v1/identity/rotate', body),
        'content-type': 'application/json',
      },
      body,
    })
    expect(rotated.status).toBe(200)
    // a body that is not the one signed is refused
    const forged = await fetch(`${fleet.t.center.url}/edge/v1/identity/rotate`, {
      method: 'POST',
      headers: {
        authorization: signedHeader(next, 'POST', '/edge/v1/identity/rotate', body),
        'content-type': 'application/json',
      },
      body: JSON.stringify({ publicKey }),
    })
    expect(forged.status).toBe(401)
    edge.agent.sync.drop()
    await vi.waitFor(() => {
      expect(edge.agent.sync.status().connected).toBe(true)
      expect(loadIdentity(edge.dataDir)?.publicKey).toBe(next.publicKey)
    }, WAIT)
    expect(existsSync(join(edge.dataDir, 'identity.next.json'))).toBe(false)
  })
})
