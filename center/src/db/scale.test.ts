import { MecHostInput } from '@mecm/protocol'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseLabelSelector } from '../inventory/label-selector'
import { dialects, type TestDatabase, testDatabase } from '../testing/stores'
import { openStore, type Store } from './store'

const TENANTS = 100
const HOSTS_PER_TENANT = 100

/** EdgeGallery stopped at 20 tenants and 50 hosts per tenant; this store has no cap. */
describe.each(dialects)('scale on %s', (dialect) => {
  let db: TestDatabase
  let store: Store
  const tenants: string[] = []

  beforeAll(async () => {
    db = await testDatabase(dialect)
    store = await openStore(db)
  })
  afterAll(async () => {
    await store.close()
    await db.drop()
  })

  it(`holds ${TENANTS} tenants and ${TENANTS * HOSTS_PER_TENANT} hosts`, async () => {
    for (let t = 0; t < TENANTS; t++) tenants.push((await store.tenants.createTenant(`scale-${t}`)).tenantId)
    await Promise.all(
      tenants.map(async (tenantId, t) => {
        for (let h = 0; h < HOSTS_PER_TENANT; h++) {
          await store.hosts.create(
            tenantId,
            MecHostInput.parse({
              mechostIp: `10.${t}.${Math.floor(h / 250)}.${h % 250}`,
              mechostName: `edge-${t}-${h}`,
              labels: { rack: `r${h % 10}` },
            }),
          )
        }
      }),
    )
    expect(await store.hosts.count()).toBe(TENANTS * HOSTS_PER_TENANT)
    expect((await store.tenants.listTenants(500)).items.length).toBe(TENANTS)
  }, 120_000)

  it('lists one tenant whole and filtered at that size', async () => {
    const tenantId = tenants[TENANTS - 1] ?? ''
    const page = await store.hosts.list(tenantId, { limit: 500 })
    expect(page.items).toHaveLength(HOSTS_PER_TENANT)
    expect(new Set(page.items.map((host) => host.tenantId))).toEqual(new Set([tenantId]))
    const rack = await store.hosts.list(tenantId, { limit: 500, labels: parseLabelSelector('rack=r3') })
    expect(rack.items).toHaveLength(HOSTS_PER_TENANT / 10)
  })
})
