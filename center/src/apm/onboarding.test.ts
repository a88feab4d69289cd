import { Readable } from 'node:stream'
import { defaultLimits } from '@mecm/csar'
import { createLogger } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import { dialects, storeFor } from '../testing/stores'
import { blobStore } from './blob-store'
import { notifier } from './notifier'
import { onboarding } from './onboarding'

describe.each(dialects)('onboarding after a crash on %s', (dialect) => {
  const t = storeFor(dialect)
  const setup = () => {
    const log = createLogger('silent')
    const blobs = blobStore(t.db.dataDir)
    const notifications = notifier(t.store.packageSubscriptions, log, {
      retryBaseMs: 1000,
      maxAttempts: 1,
      timeoutMs: 1000,
    })
    const deps = {
      store: t.store,
      blobs,
      log,
      notifier: notifications,
      limits: defaultLimits,
      uploadLimit: 1024 * 1024,
    }
    return { blobs, recover: (staleMs?: number) => onboarding(deps).recover(staleMs) }
  }

  it('leaves packages another replica is still onboarding alone', async () => {
    const store = t.store
    const tenant = await store.tenants.createTenant('busy')
    const busy = await store.packages.create(tenant.tenantId, { appPkgName: 'busy', appPkgVersion: '1' })
    await store.packages.startUpload(busy.pkg.appPkgId, 'CREATED')
    await setup().recover()
    expect((await store.packages.get(tenant.tenantId, busy.pkg.appPkgId))?.pkg.onboardingState).toBe('UPLOADING')
  })

  it('marks packages a stopped center left UPLOADING or PROCESSING as ERROR, and drops their content', async () => {
    const store = t.store
    const { blobs, recover } = setup()
    const tenant = await store.tenants.createTenant('crashed')
    const uploading = await store.packages.create(tenant.tenantId, { appPkgName: 'a', appPkgVersion: '1' })
    await store.packages.startUpload(uploading.pkg.appPkgId, 'CREATED')
    const processing = await store.packages.create(tenant.tenantId, { appPkgName: 'b', appPkgVersion: '1' })
    await store.packages.startUpload(processing.pkg.appPkgId, 'CREATED')
    const blob = await blobs.write(Readable.from([Buffer.from('half a package')]), 1024)
    await store.packages.uploaded(processing.pkg.appPkgId, blob)
    blobs.release(blob.digest) // the process that held it is gone

    // a threshold in the future takes every package in progress as left behind
    await recover(-60_000)

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
