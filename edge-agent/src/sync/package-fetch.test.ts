import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { localServer } from '@mecm/center/testing'
import type { PackageRef } from '@mecm/protocol'
import { createLogger } from '@mecm/runtime'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { packageManager } from '../packages/package-manager'
import { type AgentStore, openAgentStore } from '../store/store'
import { helloPackage } from '../testing/agent'
import { localSealer } from './local-key'
import { packageFetcher } from './package-fetch'

describe('package fetch', () => {
  let dataDir: string
  let store: AgentStore
  let content: Buffer
  let ref: PackageRef

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'mecm-fetch-'))
    store = openAgentStore(join(dataDir, 'agent.db'))
    content = readFileSync(await helloPackage(join(dataDir, 'hello.csar')))
    const digest = createHash('sha256').update(content).digest('hex')
    ref = { appPkgId: digest.slice(0, 32), digest, size: content.length, appClass: 'exec' }
  })
  afterEach(() => {
    store.close()
    rmSync(dataDir, { recursive: true, force: true })
  })

  /** An enrolled identity pointing at `url`, and a fetcher over this store. */
  function fetcherFor(url: string) {
    const pair = generateKeyPairSync('ed25519')
    writeFileSync(
      join(dataDir, 'identity.json'),
      JSON.stringify({
        hostId: '3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b',
        tenantId: '3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b',
        mechostIp: '10.0.0.1',
        mechostName: 'edge',
        centerUrl: url,
        privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        publicKey: pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
      }),
    )
    const packages = packageManager({ dataDir, store, sealer: localSealer(dataDir) })
    return packageFetcher({ store, packages, dataDir, log: createLogger('silent') })
  }

  const reported = () =>
    store.outbox.after(0, 100).flatMap((event) => (event.body.kind === 'package.status' ? [event.body.state] : []))

  it('resumes a partial download where it stopped, checks the digest, and reports each step', async () => {
    const server = await localServer((request) => {
      const start = Number(/bytes=(\d+)-/.exec(request.headers.range ?? '')?.[1] ?? 0)
      // only the rest is offered: a download that started over would fail
      return start > 0
        ? {
            status: 206,
            body: content.subarray(start),
            headers: { 'content-range': `bytes ${start}-${content.length - 1}/${content.length}` },
          }
        : { status: 400 }
    })
    try {
      const half = Math.floor(content.length / 2)
      mkdirSync(join(dataDir, 'packages', '.partial'), { recursive: true })
      writeFileSync(join(dataDir, 'packages', '.partial', ref.digest), content.subarray(0, half))
      store.wanted.put(ref)
      await fetcherFor(server.url).run()
      expect(server.requests).toHaveLength(1)
      expect(server.requests[0]?.url).toBe(`/edge/v1/packages/${ref.digest}`)
      expect(store.wanted.list()).toEqual([expect.objectContaining({ state: 'DISTRIBUTED' })])
      expect(store.packages.get(ref.digest)).toMatchObject({ appPkgId: ref.appPkgId, size: content.length })
      expect(reported()).toEqual(['PENDING', 'DISTRIBUTING', 'DISTRIBUTED'])
    } finally {
      await server.close()
    }
  })

  it('fails a package whose content does not match its digest, or that the center does not offer', async () => {
    const server = await localServer((request) =>
      request.url?.includes(ref.digest) ? { status: 200, body: Buffer.from('not the package') } : { status: 404 },
    )
    try {
      const fetcher = fetcherFor(server.url)
      store.wanted.put({ ...ref, size: 15 })
      const other = { ...ref, appPkgId: 'f'.repeat(32), digest: 'f'.repeat(64) }
      store.wanted.put(other)
      await fetcher.run()
      expect(store.wanted.list()).toEqual([
        expect.objectContaining({ appPkgId: ref.appPkgId, state: 'FAILED', error: expect.stringContaining('SHA-256') }),
        expect.objectContaining({
          appPkgId: other.appPkgId,
          state: 'FAILED',
          error: expect.stringContaining('does not offer'),
        }),
      ])
    } finally {
      await server.close()
    }
  })

  it('keeps a download that broke off for the next pass', async () => {
    const server = await localServer(() => ({ status: 503 }))
    const fetcher = fetcherFor(server.url)
    store.wanted.put(ref)
    await fetcher.run()
    expect(store.wanted.list()).toEqual([expect.objectContaining({ state: 'DISTRIBUTING' })])
    await server.close()
    await fetcher.run()
    expect(store.wanted.list()).toEqual([expect.objectContaining({ state: 'DISTRIBUTING' })])
  })
})
