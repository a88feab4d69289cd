import { notFound } from '@mecm/runtime'
import type { Store } from '../db/store'
import type { StoredHost } from '../inventory/host-store'
import { type Candidate, type MepServiceLike, type Placement, type PlacementSpec, place } from './placement'

/** Every host of a tenant. */
export async function hostsOf(store: Store, tenantId: string): Promise<StoredHost[]> {
  const hosts: StoredHost[] = []
  let cursor: string | undefined
  do {
    const page = await store.hosts.list(tenantId, { limit: 1000, ...(cursor ? { cursor } : {}) })
    hosts.push(...page.items)
    cursor = page.nextCursor ?? undefined
  } while (cursor)
  return hosts
}

/** Every host of a tenant with what placement reads: latest metrics, MEP services, instances of the app. */
async function candidatesOf(store: Store, tenantId: string, appId: string): Promise<Candidate[]> {
  const hosts = await hostsOf(store, tenantId)
  const [counts, states] = await Promise.all([
    store.appo.instances.countsByHost(appId),
    store.edgeOutbox.statesOf(tenantId),
  ])
  return hosts.map((host) => {
    const sync = states.get(host.hostId)
    return {
      host,
      metrics: (sync?.metrics as Candidate['metrics']) ?? null,
      mepServices: (sync?.mepServices as MepServiceLike[]) ?? [],
      instancesOfApp: counts.get(host.hostId) ?? 0,
    }
  })
}

/** Decides where `count` instances of a package go in a tenant, with the reasons for every host. */
export async function decidePlacement(
  store: Store,
  tenantId: string,
  appPkgId: string,
  spec: PlacementSpec,
  count: number,
): Promise<Placement & { hostOf(ip: string): StoredHost }> {
  const found = await store.packages.get(tenantId, appPkgId)
  if (!found) throw notFound(`package ${appPkgId} not found in tenant ${tenantId}`)
  const candidates = await candidatesOf(store, tenantId, found.pkg.appId)
  const placement = place(spec, found.details.appd, candidates, count)
  return {
    ...placement,
    hostOf: (ip) => (candidates.find((candidate) => candidate.host.mechostIp === ip) as Candidate).host,
  }
}
