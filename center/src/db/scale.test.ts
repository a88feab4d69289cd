import { MecHostInput } from '@mecm/protocol'
import { parseLabelSelector } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import { dialects, storeFor } from '../testing/stores'

const TENANTS = 100
const HOSTS_PER_TENANT = 100

/** EdgeGallery stopped at 20 tenants and 50 hosts per tenant; this store has no cap. */
describe.each(dialects)('scale on %s', (dialect) => {
  const s = storeFor(dialect)
  const tenants: string[] = []

  it(`holds ${TENANTS} tenants and ${TENANTS * HOSTS_PER_TENANT} hosts`, async () => {
    for (let t = 0; t < TENANTS; t++) tenants.push((await s.store.tenants.createTenant(`scale-${t}`)).tenantId)
    await Promise.all(
      tenants.map(async (tenantId, t) => {
        for (let h = 0; h < HOSTS_PER_TENANT; h++) {
          await s.store.hosts.create(
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
    expect(await s.store.hosts.count()).toBe(TENANTS * HOSTS_PER_TENANT)
    expect((await s.store.tenants.listTenants(500)).items.length).toBe(TENANTS)
  }, 120_000)

  it('lists one tenant whole and filtered at that size', async () => {
    const tenantId = tenants[TENANTS - 1] ?? ''
    const page = await s.store.hosts.list(tenantId, { limit: 500 })
    expect(page.items).toHaveLength(HOSTS_PER_TENANT)
    expect(new Set(page.items.map((host) => host.tenantId))).toEqual(new Set([tenantId]))
    const rack = await s.store.hosts.list(tenantId, { limit: 500, labels: parseLabelSelector('rack=r3') })
    expect(rack.items).toHaveLength(HOSTS_PER_TENANT / 10)
  })
})
