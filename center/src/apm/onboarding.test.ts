import { Readable } from 'node:stream'
import { defaultLimits } from '@mecm/csar'
import { createLogger } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openStore, type Store } from '../db/store'
import { dialects, type TestDatabase, testDatabase } from '../testing/stores'
import { blobStore } from './blob-store'
import { notifier } from './notifier'
import { onboarding } from './onboarding'

describe.each(dialects)('onboarding after a crash on %s', (dialect) => {
  let db: TestDatabase
  let store: Store

  beforeAll(async () => {
    db = await testDatabase(dialect)
    store = await openStore(db)
  })
  afterAll(async () => {
    await store.close()
    await db.drop()
  })

  it('leaves packages another replica is still onboarding alone', async () => {
    const log = createLogger('silent')
    const tenant = await store.tenants.createTenant('busy')
    const busy = await store.packages.create(tenant.tenantId, { appPkgName: 'busy', appPkgVersion: '1' })
    await store.packages.startUpload(busy.pkg.appPkgId, 'CREATED')
    await onboarding({
      store,
      blobs: blobStore(db.dataDir),
      log,
      notifier: notifier(store.packageSubscriptions, log, { retryBaseMs: 1000, maxAttempts: 1, timeoutMs: 1000 }),
      limits: defaultLimits,
      uploadLimit: 1024,
    }).recover()
    expect((await store.packages.get(tenant.tenantId, busy.pkg.appPkgId))?.pkg.onboardingState).toBe('UPLOADING')
  })

  it('marks packages a stopped center left UPLOADING or PROCESSING as ERROR, and drops their content', async () => {
    const log = createLogger('silent')
    const blobs = blobStore(db.dataDir)
    const deps = {
      store,
      blobs,
      log,
      notifier: notifier(store.packageSubscriptions, log, { retryBaseMs: 1000, maxAttempts: 1, timeoutMs: 1000 }),
      limits: defaultLimits,
      uploadLimit: 1024 * 1024,
    }
    const tenant = await store.tenants.createTenant('crashed')
    const uploading = await store.packages.create(tenant.tenantId, { appPkgName: 'a', appPkgVersion: '1' })
    await store.packages.startUpload(uploading.pkg.appPkgId, 'CREATED')
    const processing = await store.packages.create(tenant.tenantId, { appPkgName: 'b', appPkgVersion: '1' })
    await store.packages.startUpload(processing.pkg.appPkgId, 'CREATED')
    const blob = await blobs.write(Readable.from([Buffer.from('half a package')]), 1024)
    await store.packages.uploaded(processing.pkg.appPkgId, blob)
    blobs.release(blob.digest) // the process that held it is gone

    // a threshold in the future takes every package in progress as left behind
    await onboarding(deps).recover(-60_000)

    for (const id of [uploading.pkg.appPkgId, processing.pkg.appPkgId]) {
      const found = await store.packages.get(tenant.tenantId, id)
      expect(found?.pkg).toMatchObject({
        onboardingState: 'ERROR',
        onboardingFailure: expect.stringContaining('center restart'),
      })
    }
    expect(await blobs.size(blob.digest)).toBeUndefined()
  })
})
