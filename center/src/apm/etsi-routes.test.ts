import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Session, type TestCenter, testCenter } from '../testing/center'
import { helloSpec, localServer, packageFile } from '../testing/packages'
import { dialects } from '../testing/stores'

const dir = mkdtempSync(join(tmpdir(), 'mecm-etsi-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const base = '/app_pkgm/v1'
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex')

describe.each(dialects)('/app_pkgm/v1 on %s', (dialect) => {
  let t: TestCenter
  let op: Session
  let good: Buffer
  let callbacks: Awaited<ReturnType<typeof localServer>>
  let failuresLeft = 2

  const put = (appPkgId: string, bytes: Buffer) =>
    fetch(`${t.center.url}${base}/app_packages/${appPkgId}/package_content`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${op.token}`, 'content-type': 'application/zip' },
      body: bytes,
    }).then(async (response) => ({ status: response.status, text: await response.text() }))
  const create = async (bytes: Buffer, name = 'hello') => {
    const reply = await t.call('POST', `${base}/app_packages`, {
      token: op.token,
      body: {
        appPkgName: name,
        appPkgVersion: '1.0',
        checksum: { algorithm: 'SHA-256', hash: sha256(bytes) },
        appPkgPath: '',
      },
    })
    expect(reply.status).toBe(201)
    return reply.body[0].id as string
  }

  beforeAll(async () => {
    t = await testCenter(dialect, { MECM_NOTIFY_RETRY_MS: '20', MECM_CALLBACK_ALLOW_LOOPBACK: 'true' })
    op = await t.user('TENANT')
    good = readFileSync(await packageFile(dir))
    // the subscriber's callback fails twice, then accepts
    callbacks = await localServer(() => (failuresLeft-- > 0 ? { status: 503 } : { status: 204 }))
  })
  afterAll(async () => {
    await callbacks.close()
    await t.close()
  })

  let appPkgId: string

  it('subscribes, creates a package, takes its content, and notifies with retries until delivered', async () => {
    const subscribed = await t.call('POST', `${base}/subscriptions`, {
      token: op.token,
      body: { callbackUri: callbacks.url, subsctiptionType: 'AppPackageOnBoarding' },
    })
    expect(subscribed.status).toBe(201)
    expect(subscribed.headers.get('location')).toBe(subscribed.body._links.self.href)

    appPkgId = await create(good)
    const created = await t.call('GET', `${base}/app_packages/${appPkgId}`, { token: op.token })
    expect(created.body).toMatchObject({ id: appPkgId, onboardingState: 'CREATED', operationalState: 'ENABLED' })

    expect((await put(appPkgId, good)).status).toBe(202)
    const info = await t.call('GET', `${base}/app_packages/${appPkgId}`, { token: op.token })
    expect(info.body).toMatchObject({
      id: appPkgId,
      appDId: 'hello-appd',
      appName: 'hello',
      appProvider: 'Acme',
      appSoftwareVersion: '1.0.0',
      checksum: { algorithm: 'SHA-256', hash: sha256(good) },
      onboardingState: 'ONBOARDED',
      usageState: 'NOT_IN_USE',
      additionalArtifacts: [{ kind: 'exec', path: 'Artifacts/Deployment/Exec/app.yaml' }],
      _links: { self: { href: `${base}/app_packages/${appPkgId}` } },
    })

    await callbacks.received(3)
    expect(callbacks.requests.map((r) => JSON.parse(r.body.toString()).appPkgId)).toEqual([
      appPkgId,
      appPkgId,
      appPkgId,
    ])
    expect(JSON.parse(callbacks.requests[2]?.body.toString() ?? '{}')).toMatchObject({
      notificationType: 'AppPackageOnBoarded',
      subscriptionId: subscribed.body.id,
      appDId: 'hello-appd',
      operationalState: 'ENABLED',
      timeStamp: { seconds: expect.any(Number), nanoSeconds: expect.any(Number) },
    })
  })

  it("keeps one tenant's packages from every other tenant", async () => {
    const other = await t.user('TENANT')
    for (const path of [
      `${base}/app_packages/${appPkgId}`,
      `${base}/app_packages/${appPkgId}/appd`,
      `${base}/app_packages/${appPkgId}/package_content`,
      `${base}/onboarded_app_packages/hello-appd/appd`,
    ]) {
      expect([path, (await t.call('GET', path, { token: other.token })).status]).toEqual([path, 404])
    }
    expect((await t.call('GET', `${base}/app_packages`, { token: other.token })).body).toEqual([])
    const patch = await t.call('PATCH', `${base}/app_packages/${appPkgId}`, {
      token: other.token,
      body: { operationState: 'DISABLED' },
    })
    expect(patch.status).toBe(404)
  })

  it('refuses a second upload to an onboarded package with 409', async () => {
    expect((await put(appPkgId, good)).status).toBe(409)
  })

  it('serves the APPD and the content by package id and by appDId', async () => {
    const appd = await t.call('GET', `${base}/app_packages/${appPkgId}/appd`, { token: op.token })
    expect(appd.body).toMatchObject({ appDId: 'hello-appd', inputs: [{ name: 'port' }] })
    expect((await t.call('GET', `${base}/onboarded_app_packages/hello-appd/appd`, { token: op.token })).body).toEqual(
      appd.body,
    )
    const content = await fetch(`${t.center.url}${base}/onboarded_app_packages/hello-appd/package_content`, {
      headers: { authorization: `Bearer ${op.token}`, range: 'bytes=0-9' },
    })
    expect(content.status).toBe(206)
    expect(Buffer.from(await content.arrayBuffer()).equals(good.subarray(0, 10))).toBe(true)
    expect((await t.call('GET', `${base}/onboarded_app_packages/nothing/appd`, { token: op.token })).status).toBe(404)
  })

  it('filters the package list by attribute, and refuses unknown attributes and parameters', async () => {
    const list = (query: string) => t.call('GET', `${base}/app_packages?${query}`, { token: op.token })
    expect((await list('filter=(eq,appName,hello)')).body.map((p: { id: string }) => p.id)).toEqual([appPkgId])
    expect((await list('filter=(eq,appName,other)')).body).toEqual([])
    expect((await list('filter=(in,onboardingState,ONBOARDED,PROCESSING);(cont,appProvider,cm)')).body).toHaveLength(1)
    expect((await list(`filter=(eq,checksum/hash,${sha256(good)})`)).body).toHaveLength(1)
    expect((await list('exclude_default')).body[0]).not.toHaveProperty('softwareImages')
    expect((await list('fields=userDefinedData')).body[0]).toHaveProperty('userDefinedData')
    const unknownAttribute = await list('filter=(eq,colour,red)')
    expect([unknownAttribute.status, unknownAttribute.body.detail]).toEqual([
      400,
      expect.stringContaining('unknown attribute "colour"'),
    ])
    expect((await list('filter=(like,appName,x)')).status).toBe(400)
    expect((await list('sort=appName')).status).toBe(400)
  })

  it('disables and enables a package, refusing to delete it while enabled', async () => {
    const path = `${base}/app_packages/${appPkgId}`
    expect((await t.call('DELETE', path, { token: op.token })).status).toBe(409)
    const disabled = await t.call('PATCH', path, { token: op.token, body: { operationState: 'DISABLED' } })
    expect(disabled.body).toEqual({ operationState: 'DISABLED' })
    expect((await t.call('GET', path, { token: op.token })).body.operationalState).toBe('DISABLED')
    expect((await t.call('PATCH', path, { token: op.token, body: { operationState: 'PAUSED' } })).status).toBe(400)
    expect((await t.call('DELETE', path, { token: op.token })).status).toBe(204)
    expect((await t.call('GET', path, { token: op.token })).status).toBe(404)
  })

  it('records why content was refused, and takes good content afterwards', async () => {
    const id = await create(good, 'retry')
    const bad = await put(id, Buffer.from('not a zip'))
    expect(bad.status).toBe(422)
    expect(JSON.parse(bad.text).detail).toContain('SHA-256')
    const failed = await t.call('GET', `${base}/app_packages/${id}`, { token: op.token })
    expect(failed.body).toMatchObject({
      onboardingState: 'ERROR',
      onboardingFailure: expect.stringContaining('SHA-256'),
    })
    expect((await put(id, good)).status).toBe(202)
    expect((await t.call('GET', `${base}/app_packages/${id}`, { token: op.token })).body.onboardingState).toBe(
      'ONBOARDED',
    )
  })

  it('records an unsafe package as ERROR with the reason', async () => {
    const traversal = readFileSync(await packageFile(dir, helloSpec({ files: { '../escape.sh': 'x' } })))
    const id = await create(traversal, 'unsafe')
    const reply = await put(id, traversal)
    expect([reply.status, JSON.parse(reply.text).detail]).toEqual([422, expect.stringContaining('unsafe entry name')])
    expect((await t.call('GET', `${base}/app_packages/${id}`, { token: op.token })).body.onboardingState).toBe('ERROR')
  })

  it('lists, shows and deletes subscriptions, within the tenant', async () => {
    const list = await t.call('GET', `${base}/subscriptions`, { token: op.token })
    const [first] = list.body._links.subscriptions
    expect(first).toEqual({
      href: expect.stringMatching(/^\/app_pkgm\/v1\/subscriptions\//),
      subsctiptionType: 'AppPackageOnBoarding',
    })
    const other = await t.user('TENANT')
    expect((await t.call('GET', first.href, { token: other.token })).status).toBe(404)
    expect((await t.call('GET', first.href, { token: op.token })).body.callbackUri).toBe(callbacks.url)
    expect((await t.call('DELETE', first.href, { token: op.token })).status).toBe(204)
    expect((await t.call('GET', first.href, { token: op.token })).status).toBe(404)
    const bad = await t.call('POST', `${base}/subscriptions`, {
      token: op.token,
      body: { callbackUri: 'ftp://x', subsctiptionType: 'AppPackageOnBoarding' },
    })
    expect(bad.status).toBe(400)
    const badFilter = await t.call('POST', `${base}/subscriptions`, {
      token: op.token,
      body: { callbackUri: callbacks.url, subsctiptionType: 'AppPackageDeletion', appPkgFilter: ['(eq,colour,red)'] },
    })
    expect([badFilter.status, badFilter.body.detail]).toEqual([400, expect.stringContaining('unknown attribute')])
  })
})
