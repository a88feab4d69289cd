import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Reply, type Session, type TestCenter, testCenter } from '../testing/center'
import { helloSpec, localServer, packageFile, uploadForm } from '../testing/packages'
import { dialects } from '../testing/stores'

const dir = mkdtempSync(join(tmpdir(), 'mecm-apm-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function blobFiles(dataDir: string): string[] {
  const root = join(dataDir, 'blobs', 'sha256')
  try {
    return readdirSync(root, { recursive: true })
      .map(String)
      .filter((name) => name.length > 3)
  } catch {
    return []
  }
}

describe.each(dialects)('/apm/v1 on %s', (dialect) => {
  let t: TestCenter
  let op: Session
  let good: string
  const packages = () => `/apm/v1/tenants/${op.tenantId}/packages`
  const upload = (
    file: string,
    fields: Record<string, string> = { appPackageName: 'hello', appPackageVersion: '1.0' },
    token = op.token,
  ) =>
    fetch(`${t.center.url}${packages()}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      body: uploadForm(file, fields),
    }).then(
      async (response): Promise<Reply> => ({
        status: response.status,
        body: await response.json(),
        headers: response.headers,
      }),
    )

  beforeAll(async () => {
    t = await testCenter(dialect, { MECM_UPLOAD_LIMIT: String(2 * 1024 * 1024), MECM_CALLBACK_ALLOW_LOOPBACK: 'true' })
    op = await t.user('TENANT')
    good = await packageFile(dir)
    for (const ip of ['10.0.0.1', '10.0.0.2']) {
      await t.call('POST', `/inventory/v1/tenants/${op.tenantId}/mechosts`, {
        token: op.token,
        body: { mechostIp: ip, mechostName: `edge-${ip.replaceAll('.', '-')}` },
      })
    }
  })
  afterAll(() => t.close())

  let uploaded: { appPkgId: string; appId: string; appPackageId: string; checksum: { hash: string } }

  it('uploads and onboards a package, recording its distribution to the hosts listed', async () => {
    const reply = await upload(good, {
      appPackageName: 'hello',
      appPackageVersion: '1.0',
      hostList: '10.0.0.1, 10.0.0.2',
    })
    expect(reply.status).toBe(201)
    uploaded = reply.body
    expect(reply.body).toMatchObject({
      appPkgName: 'hello',
      appPkgVersion: '1.0',
      appDId: 'hello-appd',
      appName: 'hello',
      appClass: 'exec',
      onboardingState: 'ONBOARDED',
      onboardingFailure: null,
      operationalState: 'ENABLED',
      usageState: 'NOT_IN_USE',
      artifacts: [{ kind: 'exec', path: 'Artifacts/Deployment/Exec/app.yaml' }],
      distributions: [
        { hostIp: '10.0.0.1', state: 'PENDING' },
        { hostIp: '10.0.0.2', state: 'PENDING' },
      ],
    })
    expect(reply.body.appPackageId).toBe(reply.body.appId + reply.body.appPkgId)
    expect(reply.body.checksum.hash).toMatch(/^[0-9a-f]{64}$/)
    expect(blobFiles(t.dataDir)).toEqual([join(reply.body.checksum.hash.slice(0, 2), reply.body.checksum.hash)])
  })

  it('shows the package by either id, lists it, and gives its instantiation inputs', async () => {
    const short = await t.call('GET', `${packages()}/${uploaded.appPkgId}`, { token: op.token })
    const long = await t.call('GET', `${packages()}/${uploaded.appPackageId}`, { token: op.token })
    expect(long.body).toEqual(short.body)
    const list = await t.call('GET', packages(), { token: op.token })
    expect(list.body.items.map((p: { appPkgId: string }) => p.appPkgId)).toEqual([uploaded.appPkgId])
    const template = await t.call('GET', `${packages()}/${uploaded.appPkgId}/apptemplate`, { token: op.token })
    expect(template.body).toEqual({
      inputs: [{ name: 'port', type: 'string', defaultValue: '8080', description: 'listen port' }],
    })
  })

  it('downloads the content whole and by range, and by digest', async () => {
    const bytes = readFileSync(good)
    const url = `${t.center.url}${packages()}/${uploaded.appPkgId}/download`
    const headers = { authorization: `Bearer ${op.token}` }
    const whole = await fetch(url, { headers })
    expect(whole.status).toBe(200)
    expect(whole.headers.get('etag')).toBe(`"${uploaded.checksum.hash}"`)
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true)

    const part = await fetch(url, { headers: { ...headers, range: 'bytes=100-199' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`)
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true)

    const rest = await fetch(url, { headers: { ...headers, range: 'bytes=-10' } })
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(bytes.length - 10))).toBe(true)

    const outside = await fetch(url, { headers: { ...headers, range: `bytes=${bytes.length}-` } })
    expect(outside.status).toBe(416)
    expect(outside.headers.get('content-range')).toBe(`bytes */${bytes.length}`)

    const byDigest = await fetch(`${t.center.url}/apm/v1/tenants/${op.tenantId}/blobs/${uploaded.checksum.hash}`, {
      headers: { ...headers, range: 'bytes=0-3' },
    })
    expect(Buffer.from(await byDigest.arrayBuffer()).toString('latin1')).toBe('PK\u0003\u0004')
  })

  it("hides a tenant's packages from every other tenant", async () => {
    const other = await t.user('TENANT')
    for (const [method, path] of [
      ['GET', `${packages()}/${uploaded.appPkgId}`],
      ['GET', `${packages()}/${uploaded.appPkgId}/download`],
      ['DELETE', `${packages()}/${uploaded.appPkgId}`],
      ['GET', `/apm/v1/tenants/${other.tenantId}/packages/${uploaded.appPkgId}`],
      ['GET', `/apm/v1/tenants/${other.tenantId}/blobs/${uploaded.checksum.hash}`],
    ] as const) {
      expect([method, path, (await t.call(method, path, { token: other.token })).status]).toEqual([method, path, 404])
    }
  })

  it('refuses an invalid package with 422 and keeps nothing of it', async () => {
    const broken = await packageFile(
      dir,
      helloSpec({
        manifestOverrides: { hashes: { 'Artifacts/Deployment/Exec/app.yaml': '0'.repeat(64) } },
      }),
    )
    const reply = await upload(broken)
    expect(reply.status).toBe(422)
    expect(reply.body.detail).toContain('hash mismatch')
    expect((await t.call('GET', packages(), { token: op.token })).body.items).toHaveLength(1)
    expect(blobFiles(t.dataDir)).toHaveLength(1)
  })

  it('refuses a host list naming an unknown host, and a missing name, with 400 and keeps nothing', async () => {
    const unknown = await upload(await packageFile(dir, helloSpec({ appd: { ...helloSpec().appd, version: '2' } })), {
      appPackageName: 'hello',
      appPackageVersion: '2',
      hostList: '10.0.0.99',
    })
    expect([unknown.status, unknown.body.detail]).toEqual([
      400,
      `host 10.0.0.99 is not registered in tenant ${op.tenantId}`,
    ])
    const noVersion = await upload(good, { appPackageName: 'hello' })
    expect(noVersion.body.errors.map((e: { path: string }) => e.path)).toEqual(['body.appPackageVersion'])
    expect(blobFiles(t.dataDir)).toHaveLength(1)
  })

  it('refuses a package over the upload limit with 413 and keeps nothing', async () => {
    const big = await packageFile(
      dir,
      helloSpec({
        files: {
          ...helloSpec().files,
          'Artifacts/Deployment/Exec/data.bin': () =>
            Readable.from(Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i))),
        },
      }),
    )
    const reply = await upload(big)
    expect(reply.status).toBe(413)
    expect(blobFiles(t.dataDir)).toHaveLength(1)
    expect(readdirSync(join(t.dataDir, 'blobs', 'tmp'))).toEqual([])
  })

  it('leaves nothing behind when the client breaks an upload off', async () => {
    const before = blobFiles(t.dataDir)
    const boundary = 'mecm-test-boundary'
    const request = http.request(`${t.center.url}${packages()}/upload`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${op.token}`,
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(Math.floor(2.5 * 1024 * 1024)),
      },
    })
    request.on('error', () => undefined)
    request.write(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="x.csar"\r\n\r\n`)
    request.write(Buffer.alloc(512 * 1024, 1))
    await vi.waitFor(() => expect(readdirSync(join(t.dataDir, 'blobs', 'tmp'))).toHaveLength(1), {
      timeout: 20_000,
      interval: 100,
    })
    request.destroy()
    await vi.waitFor(() => expect(readdirSync(join(t.dataDir, 'blobs', 'tmp'))).toEqual([]), {
      timeout: 20_000,
      interval: 100,
    })
    expect(blobFiles(t.dataDir)).toEqual(before)
  })

  it('removes a package from one host, then everywhere with its content', async () => {
    const host = `${packages()}/${uploaded.appPkgId}/hosts/10.0.0.2`
    expect((await t.call('DELETE', host, { token: op.token })).status).toBe(204)
    expect((await t.call('DELETE', host, { token: op.token })).status).toBe(404)
    const shown = await t.call('GET', `${packages()}/${uploaded.appPkgId}`, { token: op.token })
    expect(shown.body.distributions.map((d: { hostIp: string }) => d.hostIp)).toEqual(['10.0.0.1'])
    expect((await t.call('DELETE', `${packages()}/${uploaded.appPkgId}`, { token: op.token })).status).toBe(204)
    expect((await t.call('GET', `${packages()}/${uploaded.appPkgId}`, { token: op.token })).status).toBe(404)
    expect(blobFiles(t.dataDir)).toEqual([])
  })

  it('onboards from a registered app store URL in the background, and refuses other URLs', async () => {
    const bytes = readFileSync(good)
    const appStore = await localServer(() => ({ status: 200, body: bytes }))
    const notified = await localServer(() => ({ status: 204 }))
    try {
      const refused = await t.call('POST', packages(), {
        token: op.token,
        body: { appPkgName: 'hello', appPkgVersion: '3', appPkgPath: `${appStore.url}/hello.csar` },
      })
      expect([refused.status, refused.body.detail]).toEqual([
        400,
        expect.stringContaining('not a registered app store'),
      ])

      await t.call('POST', '/inventory/v1/appstores', {
        token: t.admin.token,
        body: { appstoreIp: '127.0.0.1', appstorePort: appStore.port, appstoreName: 'local' },
      })
      await t.call('POST', '/app_pkgm/v1/subscriptions', {
        token: op.token,
        body: { callbackUri: notified.url, subscriptionType: 'AppPackageOnBoarding' },
      })
      const accepted = await t.call('POST', packages(), {
        token: op.token,
        body: {
          appPkgName: 'hello',
          appPkgVersion: '3',
          appPkgPath: `${appStore.url}/hello.csar`,
          mecHostInfo: [{ hostIp: '10.0.0.1' }],
        },
      })
      expect(accepted.status).toBe(202)
      await notified.received(1)
      const shown = await t.call('GET', `${packages()}/${accepted.body.appPkgId}`, { token: op.token })
      expect(shown.body).toMatchObject({
        onboardingState: 'ONBOARDED',
        distributions: [{ hostIp: '10.0.0.1', state: 'PENDING' }],
      })
      expect(JSON.parse(notified.requests[0]?.body.toString() ?? '{}')).toMatchObject({
        notificationType: 'AppPackageOnBoarded',
        appPkgId: accepted.body.appPkgId,
        appDId: 'hello-appd',
      })
    } finally {
      await appStore.close()
      await notified.close()
    }
  })

  it('does not follow an app store that redirects elsewhere', async () => {
    const internal = await localServer(() => ({ status: 200, body: 'secret' }))
    const redirecting = await localServer(() => ({ status: 302, headers: { location: `${internal.url}/meta-data` } }))
    try {
      // app stores are keyed by address: the one registered above now answers on this port
      const moved = await t.call('PUT', '/inventory/v1/appstores/127.0.0.1', {
        token: t.admin.token,
        body: { appstoreIp: '127.0.0.1', appstorePort: redirecting.port, appstoreName: 'redirecting' },
      })
      expect(moved.status).toBe(200)
      const accepted = await t.call('POST', packages(), {
        token: op.token,
        body: { appPkgName: 'hello', appPkgVersion: '4', appPkgPath: `${redirecting.url}/hello.csar` },
      })
      expect(accepted.status).toBe(202)
      const path = `${packages()}/${accepted.body.appPkgId}`
      await vi.waitFor(
        async () => expect((await t.call('GET', path, { token: op.token })).body.onboardingState).toBe('ERROR'),
        { timeout: 20_000, interval: 100 },
      )
      expect((await t.call('GET', path, { token: op.token })).body.onboardingFailure).toContain(
        'redirects are not followed',
      )
      expect(internal.requests).toEqual([])
    } finally {
      await internal.close()
      await redirecting.close()
    }
  })
})
