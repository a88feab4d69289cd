import { randomUUID } from 'node:crypto'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openAgentStore } from '../store/store'
import { mp1Client, serveMp1 } from '../testing/mp1'
import { type Mp1Env, ownApp } from './auth'

const store = openAgentStore(':memory:')
const whoami = new Hono<Mp1Env>().get('/applications/:appInstanceId/whoami', (c) => c.json({ me: ownApp(c) }))
let mp1: Awaited<ReturnType<typeof serveMp1>>
let url: string

beforeAll(async () => {
  mp1 = await serveMp1(store, { '/mec_app_support/v1': whoami })
  url = mp1.url
})
afterAll(async () => {
  await mp1.close()
  store.close()
})

const instance = (ak?: string) =>
  DesiredInstance.parse({
    ...examples.desiredInstance,
    appInstanceId: randomUUID(),
    parameters: ak ? { ak, sk: 'a-secret-key-given-at-deploy' } : {},
  })

describe('Mp1 access: a token for a request signed with the AK/SK, then bearer calls', () => {
  it('gives a token for a correctly signed request, and the token lets the app act as itself', async () => {
    const { id, client } = mp1.newApp()
    const answer = await client.requestToken()
    expect(answer).toEqual({
      status: 200,
      body: { access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 },
    })
    const me = await client.call('GET', `/mec_app_support/v1/applications/${id}/whoami`)
    expect(me).toMatchObject({ status: 200, body: { me: id } })
  })

  it('keeps a secret key given at deploy sealed with the credentials, and out of the instance record', () => {
    const given = instance('AK-given-at-deploy')
    const kept = store.credentials.adopt(given, mp1.keys)
    expect(kept.parameters).toEqual({ ak: 'AK-given-at-deploy', sk: '***' })
    expect(store.credentials.forInstance(kept, mp1.keys)).toEqual({
      accessKey: 'AK-given-at-deploy',
      secretKey: 'a-secret-key-given-at-deploy',
    })
    const atRest = store.credentials.byAccessKey('AK-given-at-deploy', { seal: (s) => s, open: (s) => s })
    expect(atRest?.secretKey).toMatch(/^v1\./)
    expect(JSON.stringify(atRest)).not.toContain('a-secret-key-given-at-deploy')
  })

  it('refuses a wrong secret key, an unknown access key, a stale date and an unsigned request, each with a 401 saying why', async () => {
    const { client } = mp1.newApp()
    const wrongKey = await client.requestToken({ sk: 'not-the-secret' })
    expect(wrongKey.status).toBe(401)
    expect(wrongKey.body.detail).toBe('the access key is unknown or the signature does not match')
    const stranger = await mp1Client(url, { ak: 'nobody', sk: 'nothing' }).requestToken()
    expect(stranger.body.detail).toBe(wrongKey.body.detail)
    const stale = await client.requestToken({ date: new Date(Date.now() - 20 * 60_000) })
    expect(stale).toMatchObject({
      status: 401,
      body: { detail: expect.stringContaining('X-Sdk-Date is more than 15') },
    })
    const unsigned = await fetch(`${url}/mep/token`, { method: 'POST' })
    expect(unsigned.status).toBe(401)
    expect(((await unsigned.json()) as { detail: string }).detail).toContain('SDK-HMAC-SHA256')
  })

  it('gives a token for OAuth 2.0 client credentials too (HTTP Basic with the AK/SK), as the transport info offers', async () => {
    const app = instance()
    const pair = store.credentials.forInstance(app, mp1.keys)
    const token = (ak: string, sk: string, grant = 'client_credentials') =>
      fetch(`${url}/mep/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`${ak}:${sk}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: `grant_type=${grant}`,
      })
    const granted = await token(pair.accessKey, pair.secretKey)
    expect(granted.status).toBe(200)
    const { access_token } = (await granted.json()) as { access_token: string }
    const me = await fetch(`${url}/mec_app_support/v1/applications/${app.appInstanceId}/whoami`, {
      headers: { authorization: `Bearer ${access_token}` },
    })
    expect(await me.json()).toEqual({ me: app.appInstanceId })
    expect((await token(pair.accessKey, 'wrong')).status).toBe(401)
    expect((await token(pair.accessKey, pair.secretKey, 'password')).status).toBe(400)
    expect((await token('%E0%A4%A', '%')).status).toBe(401)
  })

  it("refuses calls without a token, with a made-up one, and for another app's resources", async () => {
    const mine = mp1.newApp()
    const theirs = instance()
    const path = (id: string) => `${url}/mec_app_support/v1/applications/${id}/whoami`
    expect((await fetch(path(mine.id))).status).toBe(401)
    const madeUp = await fetch(path(mine.id), { headers: { authorization: 'Bearer made-up' } })
    expect(madeUp.status).toBe(401)
    const other = await mine.client.call('GET', `/mec_app_support/v1/applications/${theirs.appInstanceId}/whoami`)
    expect(other).toMatchObject({ status: 403, body: { title: 'Forbidden' } })
  })

  it("stops a terminated app's token and credentials at once", async () => {
    const { id, client } = mp1.newApp()
    await client.token()
    store.retire(id)
    const after = await client.call('GET', `/mec_app_support/v1/applications/${id}/whoami`)
    expect(after).toMatchObject({ status: 401, body: { detail: expect.stringContaining('gone') } })
    expect((await client.requestToken()).status).toBe(401)
  })
})
