import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { examples } from '@mecm/protocol/examples'
import { Engine } from 'bpmn-engine'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type Session, type TestCenter, testCenter } from '../testing/center'
import { packageFile, uploadForm } from '../testing/packages'
import { dialects } from '../testing/stores'
import { processLibrary } from './process-library'

const WAIT = { timeout: 20_000, interval: 50 }

/** The engine state of a process saved after its last step, as a center that died right then left it. */
async function savedAtTheEnd(): Promise<string> {
  const library = await processLibrary([
    'place',
    'finish',
    'begin',
    'sendDesired',
    'awaitEdge',
    'sendRules',
    'awaitRules',
    'planBatch',
    'runRollout',
  ])
  const done = (_: unknown, callback: (error: null) => void) => callback(null)
  const engine = new Engine({ source: library.source('CREATE'), services: { place: done, finish: done } })
  const ended = new Promise((resolve) => engine.once('end', resolve))
  await engine.execute()
  await ended
  return JSON.stringify(await engine.getState())
}

describe.each(dialects)('operations survive a center that dies between steps, on %s', (dialect) => {
  let t: TestCenter
  let operator: Session
  let appPkgId: string
  beforeAll(async () => {
    t = await testCenter(dialect, { MECM_OPERATION_LEASE_MS: '1000' })
    operator = await t.user('TENANT')
    await t.call('POST', `/inventory/v1/tenants/${operator.tenantId}/mechosts`, {
      token: operator.token,
      body: { ...examples.mecHostInput, mechostIp: '10.60.0.1', vim: 'exec' },
    })
    const upload = await fetch(`${t.center.url}/apm/v1/tenants/${operator.tenantId}/packages/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${operator.token}` },
      body: uploadForm(await packageFile(mkdtempSync(join(tmpdir(), 'mecm-pkg-'))), {
        appPackageName: 'hello',
        appPackageVersion: '1.0.0',
      }),
    })
    appPkgId = ((await upload.json()) as { appPkgId: string }).appPkgId
  })
  afterAll(() => t.close())

  const appo = (path: string) => `/appo/v1/tenants/${operator.tenantId}${path}`
  const create = async () => {
    const created = await t.call('POST', appo('/app_instances'), {
      token: operator.token,
      body: { appPackageId: appPkgId, appName: 'survivor', mecHost: '10.60.0.1' },
    })
    expect(created.status).toBe(202)
    const { app_instance_id: id, operationId } = created.body.response
    await vi.waitFor(async () => {
      const op = await t.call('GET', appo(`/operations/${operationId}`), { token: operator.token })
      expect(op.body.operationState).toBe('COMPLETED')
    }, WAIT)
    return { id: id as string, operationId: operationId as string }
  }

  it('completes an operation whose process had ended when the center died, and frees its instance', async () => {
    const { appo: records } = t.store
    const found = await t.store.packages.get(operator.tenantId, appPkgId)
    const appInstanceId = crypto.randomUUID()
    const operationId = crypto.randomUUID()
    // as a center that died right after the last step left it: the process saved at its end, the
    // operation PROCESSING under its lease, the instance held. Its placement fits no host: were
    // the process run again from the start, it would fail.
    await records.transaction(async (tx) => {
      await tx.instances.insert({
        appInstanceId,
        tenantId: operator.tenantId,
        appPkgId,
        appId: found?.pkg.appId as string,
        appDId: found?.pkg.appDId as string,
        appName: 'survivor',
        instanceName: 'survivor',
        description: '',
        placement: {
          hosts: ['10.99.99.99'],
          requireServices: true,
          headroom: true,
          strategy: 'spread',
          includeOffline: false,
        },
        parameters: {},
      })
      await tx.operations.insert({
        operationId,
        tenantId: operator.tenantId,
        appInstanceId,
        lcmOperation: 'CREATE',
        params: {},
      })
      await tx.instances.hold(appInstanceId, operationId)
      expect(await tx.operations.claim(operationId, 'the-dead-center', 300)).toBe(true)
      await tx.operations.move(operationId, 'PROCESSING')
      expect(await tx.operations.saveEngine(operationId, 'the-dead-center', await savedAtTheEnd())).toBe(true)
    })
    await vi.waitFor(async () => {
      expect((await records.operations.get(operationId))?.state).toBe('COMPLETED')
      expect((await records.instances.get(appInstanceId))?.operationId).toBeNull()
    }, WAIT)
  })

  it('leaves the end of an operation to the replica that took it over', async () => {
    const { id } = await create()
    const { lcm } = t.center
    // the host never connects: the instantiate waits for it, 1.5 s
    const op = await lcm.instantiate(operator.tenantId, id, { timeoutMs: 1500 })
    await vi.waitFor(
      async () => expect((await t.store.appo.operations.get(op.operationId))?.state).toBe('PROCESSING'),
      WAIT,
    )
    // as if this replica paused past its lease and another claimed the operation
    await t.store.appo.operations.releaseLeases(lcm.runner.owner, op.operationId)
    expect(await t.store.appo.operations.claim(op.operationId, 'the-other-replica', 60_000)).toBe(true)
    const here = await lcm.runner.run(op.operationId)
    expect(here).toMatchObject({ state: 'PROCESSING', leaseOwner: 'the-other-replica' })
    // the other replica dies too: this one resumes the operation and ends it
    await t.store.appo.operations.releaseLeases('the-other-replica')
    await vi.waitFor(async () => {
      const ended = await t.store.appo.operations.get(op.operationId)
      expect(ended).toMatchObject({ state: 'FAILED_TEMP', error: { title: 'Edge Timeout' } })
    }, WAIT)
  })

  it("fails a FAILED_TEMP operation for EdgeGallery's clients when they ask for the next one", async () => {
    const { id } = await create()
    const stuck = await t.center.lcm.instantiate(operator.tenantId, id, { timeoutMs: 1000 })
    await vi.waitFor(
      async () => expect((await t.store.appo.operations.get(stuck.operationId))?.state).toBe('FAILED_TEMP'),
      WAIT,
    )
    // ETSI's clients are told to retry, fail or cancel it first
    const strict = await t.call('POST', `/app_lcm/v1/app_instances/${id}/terminate`, {
      token: operator.token,
      body: { terminationType: 'FORCEFUL' },
    })
    expect(strict.status).toBe(409)
    const deleted = await t.call('DELETE', appo(`/app_instances/${id}`), { token: operator.token })
    expect(deleted.status).toBe(202)
    expect(await t.store.appo.operations.get(stuck.operationId)).toMatchObject({ state: 'FAILED' })
    // the instantiate is queued for the edge, so the terminate must reach it too: it waits for it
    const terminate = deleted.body.response.operationId
    await vi.waitFor(async () => {
      expect(await t.store.appo.instances.get(id)).toMatchObject({ status: 'TERMINATING', operationId: terminate })
    }, WAIT)
  })

  it('lets a new operation take an instance still marked as held by one that has ended', async () => {
    const { id, operationId } = await create()
    await t.store.appo.instances.hold(id, operationId)
    const next = await t.call('POST', appo(`/app_instances/${id}/appd_configuration`), {
      token: operator.token,
      body: { appDNSRule: [] },
    })
    expect(next.status).toBe(202)
  })
})
