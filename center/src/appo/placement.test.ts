import type { AppD, HostMetrics } from '@mecm/protocol'
import { ApiError } from '@mecm/runtime'
import { describe, expect, it } from 'vitest'
import type { z } from 'zod'
import type { StoredHost } from '../inventory/host-store'
import { type Candidate, type MepServiceLike, PlacementSpec, place } from './placement'

const GiB = 2 ** 30
const MiB = 2 ** 20
const at = '2024-05-01T00:00:00Z'

interface HostShape {
  status?: StoredHost['status']
  labels?: Record<string, string>
  city?: string
  coordinates?: { latitude: number; longitude: number } | null
  hw?: string[]
  /** Free resources; null for a host that has not reported metrics. */
  free?: { cores?: number; memoryMiB?: number; diskGiB?: number } | null
  services?: MepServiceLike[]
  instances?: number
}

/** A candidate on 10.0.0.<n>: ONLINE, 8 free cores, 8 GiB free memory and 100 GiB free disk unless told. */
function candidate(n: number, shape: HostShape = {}): Candidate {
  const free = shape.free === undefined ? {} : shape.free
  const metrics: HostMetrics | null = free && {
    at,
    cpu: { cores: 16, usedPercent: 100 - ((free.cores ?? 8) / 16) * 100 },
    memory: { totalBytes: 64 * GiB, usedBytes: 64 * GiB - (free.memoryMiB ?? 8192) * MiB },
    disk: { totalBytes: 500 * GiB, usedBytes: 500 * GiB - (free.diskGiB ?? 100) * GiB },
    instances: 0,
  }
  return {
    host: {
      hostId: `h${n}`,
      tenantId: '3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b',
      mechostIp: `10.0.0.${n}`,
      mechostName: `edge-${n}`,
      location: {
        city: shape.city ?? 'Paris',
        zipCode: '',
        address: '',
        coordinates: shape.coordinates === undefined ? null : shape.coordinates,
      },
      labels: shape.labels ?? {},
      vim: 'exec',
      hwCapabilities: (shape.hw ?? []).map((hwType) => ({ hwType, hwVendor: '', hwModel: '' })),
      status: shape.status ?? 'ONLINE',
      lastSeenAt: at,
      createdAt: at,
      updatedAt: at,
    },
    metrics,
    mepServices: shape.services ?? [],
    instancesOfApp: shape.instances ?? 0,
  }
}

type Appd = Pick<AppD, 'virtualComputeDescriptor' | 'appServiceRequired'>
const app = (cpu: number, memoryMiB: number, diskGiB?: number): Appd => ({
  virtualComputeDescriptor: {
    virtualCpu: { numVirtualCpu: cpu },
    virtualMemory: { virtualMemSize: memoryMiB },
    ...(diskGiB === undefined ? {} : { virtualLocalStorage: { sizeOfStorage: diskGiB } }),
  },
  appServiceRequired: [],
})
const service = (serName: string, version: string, state: MepServiceLike['state'] = 'ACTIVE'): MepServiceLike => ({
  serName,
  version,
  state,
  appInstanceId: null,
})

const spec = (input: z.input<typeof PlacementSpec> = {}) => PlacementSpec.parse(input)
const decision = (placement: ReturnType<typeof place>, n: number) => {
  const found = placement.decisions.find((d) => d.mechostIp === `10.0.0.${n}`)
  if (!found) throw new Error(`no decision for 10.0.0.${n}`)
  return found
}
const kept = (placement: ReturnType<typeof place>) => placement.decisions.filter((d) => d.kept).map((d) => d.mechostIp)

describe('PlacementSpec', () => {
  it('fills defaults and refuses bad values with clear messages', () => {
    expect(spec()).toEqual({ requireServices: true, headroom: true, strategy: 'spread', includeOffline: false })
    const bad = PlacementSpec.safeParse({ strategy: 'random', maxPerHost: 0, hosts: ['nope'], labelselector: 'x' })
    expect(bad.success).toBe(false)
    const messages = bad.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? []
    expect(messages).toEqual(
      expect.arrayContaining([
        'strategy: must be "spread" or "pack"',
        'maxPerHost: must be at least 1',
        ': unknown placement field: labelselector',
      ]),
    )
    expect(messages.some((message) => message.startsWith('hosts.0: '))).toBe(true)
  })
})

describe('place: filters', () => {
  it('considers only the named hosts, accepting a named host that is offline', () => {
    const candidates = [candidate(1), candidate(2, { status: 'OFFLINE' }), candidate(3)]
    const placement = place(spec({ hosts: ['10.0.0.2', '10.0.0.9'] }), null, candidates, 1)
    expect(placement.chosen).toEqual(['10.0.0.2'])
    expect(decision(placement, 2).reasons).toContain('OFFLINE, considered because it is named in hosts')
    expect(decision(placement, 1)).toMatchObject({ kept: false, reasons: ['not among the named hosts'] })
    expect(placement.summary).toContain('named hosts not found: 10.0.0.9')
  })

  it('drops hosts that are not ONLINE unless includeOffline is set', () => {
    const candidates = [candidate(1, { status: 'OFFLINE' }), candidate(2, { status: 'NEVER_CONNECTED' }), candidate(3)]
    const placement = place(spec(), null, candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.3'])
    expect(decision(placement, 1).reasons).toEqual(['OFFLINE: not connected'])
    expect(decision(placement, 2).reasons).toEqual(['NEVER_CONNECTED: not connected yet'])
    expect(kept(place(spec({ includeOffline: true }), null, candidates, 1))).toHaveLength(3)
  })

  it('matches the label selector and names the actual labels of hosts it drops', () => {
    const candidates = [
      candidate(1, { labels: { zone: 'north', tier: 'gold' } }),
      candidate(2, { labels: { zone: 'south', tier: 'gold' } }),
      candidate(3, { labels: { zone: 'south', tier: 'gold', legacy: 'yes' } }),
    ]
    const placement = place(spec({ labelSelector: 'zone=south, tier in (gold,silver), !legacy' }), null, candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.2'])
    expect(decision(placement, 1).reasons).toEqual([
      'label selector "zone=south, tier in (gold,silver), !legacy" does not match (zone=north)',
    ])
    expect(decision(placement, 3).reasons[0]).toContain('(legacy=yes)')
  })

  it('refuses a bad label selector with the selector 400', () => {
    const thrown = (() => {
      try {
        place(spec({ labelSelector: 'zone=(south' }), null, [candidate(1)], 1)
      } catch (error) {
        return error
      }
    })()
    expect(thrown).toBeInstanceOf(ApiError)
    expect(thrown).toMatchObject({
      status: 400,
      message: expect.stringContaining('labelSelector: cannot read "zone=(south"'),
    })
  })

  it('matches the city without regard to case', () => {
    const candidates = [candidate(1, { city: 'Lyon' }), candidate(2, { city: 'PARIS' }), candidate(3, { city: '' })]
    const placement = place(spec({ city: 'paris' }), null, candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.2'])
    expect(decision(placement, 1).reasons).toEqual(['city "paris" wanted, host is in "Lyon"'])
    expect(decision(placement, 3).reasons).toEqual(['city "paris" wanted, host is in no city'])
  })

  it('matches the zone label', () => {
    const candidates = [
      candidate(1, { labels: { zone: 'north' } }),
      candidate(2, { labels: { zone: 'south' } }),
      candidate(3),
    ]
    const placement = place(spec({ zone: 'south' }), null, candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.2'])
    expect(decision(placement, 1).reasons).toEqual(['zone "south" wanted, host has zone=north'])
    expect(decision(placement, 3).reasons).toEqual(['zone "south" wanted, host has no zone label'])
  })

  it('requires every hardware type asked for', () => {
    const candidates = [candidate(1, { hw: ['GPU'] }), candidate(2, { hw: ['GPU', 'FPGA'] }), candidate(3)]
    const placement = place(spec({ hwCapabilities: ['GPU', 'FPGA'] }), null, candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.2'])
    expect(decision(placement, 1).reasons).toEqual(['needs hardware "FPGA", host has GPU'])
    expect(decision(placement, 3).reasons).toEqual([
      'needs hardware "GPU", host has none',
      'needs hardware "FPGA", host has none',
    ])
  })

  it('requires the MEP services the APPD needs to be ACTIVE, in the version asked for', () => {
    const appd: Appd = { appServiceRequired: [{ serName: 'location', version: '2' }, { serName: 'rni' }] }
    const candidates = [
      candidate(1, { services: [service('location', '2'), service('rni', '1')] }),
      candidate(2, { services: [service('location', '1'), service('rni', '1')] }),
      candidate(3, { services: [service('location', '2', 'INACTIVE'), service('rni', '1', 'SUSPENDED')] }),
      candidate(4),
    ]
    const placement = place(spec(), appd, candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.1'])
    expect(decision(placement, 2).reasons).toEqual(['MEP service "location" v2 not ACTIVE here (found v1 ACTIVE)'])
    expect(decision(placement, 3).reasons).toEqual([
      'MEP service "location" v2 not ACTIVE here (found v2 INACTIVE)',
      'MEP service "rni" not ACTIVE here (found v1 SUSPENDED)',
    ])
    expect(decision(placement, 4).reasons).toContain('MEP service "rni" not ACTIVE here (not registered)')
    expect(kept(place(spec({ requireServices: false }), appd, candidates, 1))).toHaveLength(4)
  })

  it('caps instances per host with maxPerHost, counting existing ones', () => {
    const candidates = [candidate(1, { instances: 2 }), candidate(2, { instances: 1 })]
    const placement = place(spec({ maxPerHost: 2 }), null, candidates, 3)
    expect(placement.chosen).toEqual(['10.0.0.2'])
    expect(placement.unplaced).toBe(2)
    expect(decision(placement, 1).reasons).toEqual(['already runs 2 instances of this app, maxPerHost is 2'])
    expect(decision(placement, 2).reasons).toContain('reached maxPerHost 2 (1 existing + 1 placed here)')
  })

  it('combines requirements with AND, giving every failed one', () => {
    const candidates = [candidate(1, { status: 'OFFLINE', city: 'Lyon', labels: { zone: 'north' } })]
    const placement = place(spec({ city: 'Paris', zone: 'south' }), null, candidates, 1)
    expect(decision(placement, 1).reasons).toEqual([
      'OFFLINE: not connected',
      'city "Paris" wanted, host is in "Lyon"',
      'zone "south" wanted, host has zone=north',
    ])
  })
})

describe('place: headroom', () => {
  it('drops hosts short of CPU, memory or disk, naming need and free', () => {
    const candidates = [
      candidate(1, { free: { cores: 1.5 } }),
      candidate(2, { free: { memoryMiB: 512 } }),
      candidate(3, { free: { diskGiB: 5 } }),
      candidate(4),
    ]
    const placement = place(spec(), app(2, 2048, 20), candidates, 1)
    expect(kept(placement)).toEqual(['10.0.0.4'])
    expect(decision(placement, 1).reasons).toEqual(['needs 2 CPU cores, 1.5 free'])
    expect(decision(placement, 2).reasons).toEqual(['needs 2048 MiB memory, 512 MiB free'])
    expect(decision(placement, 3).reasons).toEqual(['needs 20 GiB disk, 5 GiB free'])
    expect(decision(placement, 4).free).toEqual({ cpuCores: 8, memoryMiB: 8192, diskGiB: 100 })
  })

  it('checks disk only when the APPD asks for local storage, and nothing when headroom is off', () => {
    const candidates = [candidate(1, { free: { diskGiB: 0, memoryMiB: 100 } })]
    expect(decision(place(spec(), app(1, 64), candidates, 1), 1).kept).toBe(true)
    expect(decision(place(spec(), app(1, 1024), candidates, 1), 1).kept).toBe(false)
    expect(decision(place(spec({ headroom: false }), app(1, 1024), candidates, 1), 1).kept).toBe(true)
  })

  it('counts what this decision already placed on a host', () => {
    const candidates = [candidate(1, { free: { cores: 5, memoryMiB: 8192 } })]
    const placement = place(spec(), app(2, 1024), candidates, 4)
    expect(placement.chosen).toEqual(['10.0.0.1', '10.0.0.1'])
    expect(placement.unplaced).toBe(2)
    expect(decision(placement, 1).reasons).toContain('full after 2 instances placed here: needs 2 CPU cores, 1 free')
  })

  it('keeps a host without metrics but ranks it after hosts with known headroom', () => {
    const candidates = [candidate(1, { free: null }), candidate(2, { instances: 3 })]
    const placement = place(spec(), app(1, 1024), candidates, 1)
    expect(placement.chosen).toEqual(['10.0.0.2'])
    expect(decision(placement, 1)).toMatchObject({ kept: true, chosen: 0 })
    expect(decision(placement, 1).reasons).toContain('headroom not checked: no metrics reported yet')
    expect(placement.decisions.map((d) => d.mechostIp)).toEqual(['10.0.0.2', '10.0.0.1'])
  })
})

describe('place: strategies', () => {
  const candidates = () => [
    candidate(1, { free: { memoryMiB: 4096 } }),
    candidate(2, { free: { memoryMiB: 8192 }, instances: 1 }),
    candidate(3, { free: { memoryMiB: 6144 } }),
  ]

  it('spread puts each instance on the host with fewest instances of the app, then most free memory', () => {
    const placement = place(spec(), app(1, 1024), candidates(), 5)
    expect(placement.chosen).toEqual(['10.0.0.3', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1'])
    expect(decision(placement, 3).reasons[0]).toBe('rank 1: 0 instances of this app, 6 GiB memory free')
    expect(placement.decisions.map((d) => [d.mechostIp, d.chosen])).toEqual([
      ['10.0.0.3', 2],
      ['10.0.0.1', 2],
      ['10.0.0.2', 1],
    ])
  })

  it('pack fills the fullest host while headroom allows, then the one with least free memory', () => {
    const placement = place(spec({ strategy: 'pack' }), app(1, 2048), candidates(), 8)
    expect(placement.chosen).toEqual([
      ...Array(4).fill('10.0.0.2'),
      ...Array(2).fill('10.0.0.1'),
      ...Array(2).fill('10.0.0.3'),
    ])
    expect(placement.unplaced).toBe(0)
  })

  it('breaks full ties by mechostIp, whatever the order of candidates', () => {
    const same = [candidate(3), candidate(1), candidate(2)]
    expect(place(spec(), null, same, 4).chosen).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1'])
    expect(place(spec({ strategy: 'pack' }), null, same, 2).chosen).toEqual(['10.0.0.1', '10.0.0.1'])
  })
})

describe('place: near', () => {
  const paris = { latitude: 48.8566, longitude: 2.3522 }
  const candidates = () => [
    candidate(1, { coordinates: { latitude: 45.764, longitude: 4.8357 } }), // Lyon, ~392 km
    candidate(2, { coordinates: { latitude: 49.0097, longitude: 2.5479 } }), // Roissy, ~22 km
    candidate(3, { coordinates: null }),
    candidate(4, { coordinates: { latitude: 43.2965, longitude: 5.3698 } }), // Marseille, ~661 km
  ]

  it('ranks by great-circle distance and drops hosts without coordinates', () => {
    const placement = place(spec({ near: paris, maxPerHost: 1 }), null, candidates(), 3)
    expect(placement.chosen).toEqual(['10.0.0.2', '10.0.0.1', '10.0.0.4'])
    expect(decision(placement, 3).reasons).toEqual(['has no coordinates, needed to rank by distance (near)'])
    expect(decision(placement, 2).distanceKm).toBeCloseTo(22.2, 0)
    expect(decision(placement, 1).distanceKm).toBeGreaterThan(380)
    expect(decision(placement, 1).distanceKm).toBeLessThan(400)
    expect(decision(placement, 2).reasons[0]).toMatch(/^rank 1: 22\.\d km away, /)
  })

  it('breaks distance ties by the strategy', () => {
    const here = { latitude: 10, longitude: 10 }
    const tied = [candidate(1, { coordinates: here, instances: 2 }), candidate(2, { coordinates: here, instances: 1 })]
    expect(place(spec({ near: here }), null, tied, 1).chosen).toEqual(['10.0.0.2'])
    expect(place(spec({ near: here, strategy: 'pack' }), null, tied, 1).chosen).toEqual(['10.0.0.1'])
  })
})

describe('place: outcome', () => {
  it('reports instances it cannot place, with a one-line summary', () => {
    const candidates = [candidate(1, { free: { cores: 2 } }), candidate(2, { status: 'OFFLINE' })]
    const placement = place(spec(), app(1, 1024), candidates, 4)
    expect(placement.chosen).toEqual(['10.0.0.1', '10.0.0.1'])
    expect(placement.unplaced).toBe(2)
    expect(placement.summary).toBe(
      'placed 2 of 4 instances on 1 host (10.0.0.1 ×2); 1 of 2 candidate hosts dropped; 2 unplaced: the 1 eligible host is full (headroom or maxPerHost)',
    )
    expect(placement.summary).not.toContain('\n')
  })

  it('says when no host meets the requirements', () => {
    const placement = place(spec({ zone: 'mars' }), null, [candidate(1)], 2)
    expect(placement).toMatchObject({ chosen: [], unplaced: 2 })
    expect(placement.summary).toBe(
      'placed 0 of 2 instances; 1 of 1 candidate host dropped; 2 unplaced: no candidate host meets the requirements',
    )
  })

  it('gives every host a decision with at least one reason', () => {
    const candidates = [
      candidate(1),
      candidate(2, { status: 'OFFLINE' }),
      candidate(3, { free: null }),
      candidate(4, { labels: { zone: 'north' } }),
      candidate(5, { instances: 4 }),
    ]
    const placement = place(spec({ labelSelector: '!zone' }), app(1, 512), candidates, 1)
    expect(placement.decisions.map((d) => d.mechostIp).sort()).toEqual(candidates.map((c) => c.host.mechostIp))
    for (const d of placement.decisions) expect(d.reasons.length).toBeGreaterThan(0)
    expect(decision(placement, 1).reasons).toEqual([
      'rank 1: 0 instances of this app, 8 GiB memory free',
      'chosen for 1 instance',
    ])
    expect(decision(placement, 5).reasons).toEqual([
      'rank 2: 4 instances of this app, 8 GiB memory free',
      'not chosen: higher-ranked hosts took all 1 instance',
    ])
    expect(placement.decisions.filter((d) => d.kept).map((d) => d.mechostIp)).toEqual([
      '10.0.0.1',
      '10.0.0.5',
      '10.0.0.3',
    ])
  })

  it('refuses a count that is not a whole number of at least 0', () => {
    expect(() => place(spec(), null, [candidate(1)], -1)).toThrow(ApiError)
    expect(() => place(spec(), null, [candidate(1)], 1.5)).toThrow(/count must be a whole number/)
    expect(place(spec(), null, [candidate(1)], 0)).toMatchObject({ chosen: [], unplaced: 0 })
  })
})
