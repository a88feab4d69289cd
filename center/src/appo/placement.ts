import { type AppD, Coordinates, type HostMetrics, IpAddress } from '@mecm/protocol'
import { badRequest, type LabelRequirement, matchesLabel, parseLabelSelector } from '@mecm/runtime'
import { z } from 'zod'
import type { StoredHost } from '../inventory/host-store'

/**
 * Placement: which MEC hosts run the instances of an app. Pure: the caller gathers the candidates
 * (hosts with their latest metrics, MEP services and instance counts); this filters them, ranks
 * them and hands out one host per requested instance, saying why for every host.
 */

/** Where instances may go. Every field is optional; the requirements given must all hold. */
export const PlacementSpec = z.strictObject(
  {
    hosts: z
      .array(IpAddress)
      .min(1, 'must name at least one host; leave hosts out to consider every host')
      .max(256, 'must name at most 256 hosts')
      .optional(),
    labelSelector: z.string().max(1024, 'must be at most 1024 characters').optional(),
    city: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters').optional(),
    zone: z.string().min(1, 'must not be empty').max(63, 'must be at most 63 characters').optional(),
    hwCapabilities: z
      .array(z.string().min(1, 'a hwType must not be empty').max(128, 'a hwType must be at most 128 characters'))
      .max(64, 'must list at most 64 hardware types')
      .optional(),
    requireServices: z.boolean({ error: 'must be true or false' }).default(true),
    headroom: z.boolean({ error: 'must be true or false' }).default(true),
    strategy: z.enum(['spread', 'pack'], { error: 'must be "spread" or "pack"' }).default('spread'),
    near: Coordinates.optional(),
    maxPerHost: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .optional(),
    includeOffline: z.boolean({ error: 'must be true or false' }).default(false),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `unknown placement field: ${issue.keys.join(', ')}` : undefined,
  },
)
export type PlacementSpec = z.infer<typeof PlacementSpec>

/** A MEP service as the edge reports it: only what placement reads. */
export interface MepServiceLike {
  serName: string
  version: string
  state: 'ACTIVE' | 'INACTIVE' | 'SUSPENDED'
  appInstanceId: string | null
}

/** A host the caller may place on, with what is known about it. */
export interface Candidate {
  host: StoredHost
  metrics: HostMetrics | null
  mepServices: MepServiceLike[]
  /** Instances of this app already on the host. */
  instancesOfApp: number
}

export interface HostDecision {
  mechostIp: string
  hostName: string
  kept: boolean
  reasons: string[]
  /** Instances placed on this host by this decision. */
  chosen: number
  distanceKm?: number
  /** Free resources before this decision, from the host's latest metrics. */
  free?: { cpuCores: number; memoryMiB: number; diskGiB: number }
}

export interface Placement {
  /** One mechostIp per placed instance, in order. */
  chosen: string[]
  /** Kept hosts in rank order, then dropped hosts by mechostIp. */
  decisions: HostDecision[]
  unplaced: number
  summary: string
}

type Free = NonNullable<HostDecision['free']>
type Need = { cpuCores: number; memoryMiB: number; diskGiB: number | null }
type Coords = z.infer<typeof Coordinates>

const MiB = 2 ** 20
const GiB = 2 ** 30
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits
const byIp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
const memory = (mib: number) => (mib >= 1024 ? `${round(mib / 1024, 1)} GiB` : `${round(mib, 0)} MiB`)

function freeOf(metrics: HostMetrics): Free {
  return {
    cpuCores: round(metrics.cpu.cores * (1 - metrics.cpu.usedPercent / 100)),
    memoryMiB: round((metrics.memory.totalBytes - metrics.memory.usedBytes) / MiB),
    diskGiB: round((metrics.disk.totalBytes - metrics.disk.usedBytes) / GiB),
  }
}

function needOf(appd: Pick<AppD, 'virtualComputeDescriptor'> | null): Need | null {
  const descriptor = appd?.virtualComputeDescriptor
  if (!descriptor) return null
  return {
    cpuCores: descriptor.virtualCpu.numVirtualCpu,
    memoryMiB: descriptor.virtualMemory.virtualMemSize,
    diskGiB: descriptor.virtualLocalStorage?.sizeOfStorage ?? null,
  }
}

/** What keeps one more instance from fitting once `planned` are already placed here; empty when it fits. */
function shortfalls(free: Free, need: Need, planned: number): string[] {
  const missing: string[] = []
  const cpu = round(free.cpuCores - need.cpuCores * planned)
  if (cpu < need.cpuCores) missing.push(`needs ${need.cpuCores} CPU cores, ${cpu} free`)
  const mem = round(free.memoryMiB - need.memoryMiB * planned)
  if (mem < need.memoryMiB) missing.push(`needs ${need.memoryMiB} MiB memory, ${round(mem, 0)} MiB free`)
  if (need.diskGiB !== null) {
    const disk = round(free.diskGiB - need.diskGiB * planned)
    if (disk < need.diskGiB) missing.push(`needs ${need.diskGiB} GiB disk, ${round(disk, 1)} GiB free`)
  }
  return missing
}

/** Great-circle distance in km (haversine). */
export function distanceKm(from: Coords, to: Coords): number {
  const rad = (degrees: number) => (degrees * Math.PI) / 180
  const dLat = rad(to.latitude - from.latitude)
  const dLon = rad(to.longitude - from.longitude)
  const h =
    Math.sin(dLat / 2) ** 2 + Math.cos(rad(from.latitude)) * Math.cos(rad(to.latitude)) * Math.sin(dLon / 2) ** 2
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(h)))
}

const labelShown = (labels: Record<string, string>, key: string) =>
  Object.hasOwn(labels, key) ? `${key}=${labels[key]}` : `no ${key} label`

function serviceReason(
  required: { serName: string; version?: string | undefined },
  services: MepServiceLike[],
): string | null {
  const same = services.filter((service) => service.serName === required.serName)
  const active = same.some(
    (service) => service.state === 'ACTIVE' && (!required.version || service.version === required.version),
  )
  if (active) return null
  const found = same.length
    ? `found ${same.map((service) => `${service.version ? `v${service.version}` : 'unversioned'} ${service.state}`).join(', ')}`
    : 'not registered'
  return `MEP service "${required.serName}"${required.version ? ` v${required.version}` : ''} not ACTIVE here (${found})`
}

interface Context {
  spec: PlacementSpec
  selector: LabelRequirement[]
  named: Set<string> | null
  need: Need | null
  checkHeadroom: boolean
  required: { serName: string; version?: string | undefined }[]
}

/** Why a candidate cannot take any instance (empty when kept), and notes worth keeping when it can. */
function screen(candidate: Candidate, free: Free | null, distance: number | undefined, context: Context) {
  const { host } = candidate
  const { spec } = context
  const failed: string[] = []
  const notes: string[] = []
  const named = context.named?.has(host.mechostIp) ?? false
  if (context.named && !named) return { failed: ['not among the named hosts'], notes }

  if (host.status !== 'ONLINE') {
    if (named) notes.push(`${host.status}, considered because it is named in hosts`)
    else if (spec.includeOffline) notes.push(`${host.status}, considered because includeOffline is set`)
    else failed.push(`${host.status}: not connected${host.status === 'NEVER_CONNECTED' ? ' yet' : ''}`)
  }
  const unmet = context.selector.filter((requirement) => !matchesLabel(requirement, host.labels))
  if (unmet.length) {
    const actual = [...new Set(unmet.map((requirement) => requirement.key))].map((key) => labelShown(host.labels, key))
    failed.push(`label selector "${spec.labelSelector}" does not match (${actual.join(', ')})`)
  }
  if (spec.city !== undefined && host.location.city.toLowerCase() !== spec.city.toLowerCase()) {
    failed.push(`city "${spec.city}" wanted, host is in ${host.location.city ? `"${host.location.city}"` : 'no city'}`)
  }
  if (spec.zone !== undefined && host.labels.zone !== spec.zone) {
    failed.push(`zone "${spec.zone}" wanted, host has ${labelShown(host.labels, 'zone')}`)
  }
  const hwTypes = host.hwCapabilities.map((capability) => capability.hwType)
  for (const hwType of spec.hwCapabilities ?? []) {
    if (!hwTypes.some((have) => have.toLowerCase() === hwType.toLowerCase())) {
      failed.push(`needs hardware "${hwType}", host has ${hwTypes.length ? hwTypes.join(', ') : 'none'}`)
    }
  }
  for (const required of context.required) {
    const reason = serviceReason(required, candidate.mepServices)
    if (reason) failed.push(reason)
  }
  if (spec.near && distance === undefined) failed.push('has no coordinates, needed to rank by distance (near)')
  if (spec.maxPerHost !== undefined && candidate.instancesOfApp >= spec.maxPerHost) {
    failed.push(
      `already runs ${plural(candidate.instancesOfApp, 'instance')} of this app, maxPerHost is ${spec.maxPerHost}`,
    )
  }
  if (context.checkHeadroom && context.need) {
    if (free) failed.push(...shortfalls(free, context.need, 0))
    else notes.push('headroom not checked: no metrics reported yet')
  }
  return { failed, notes }
}

interface Slot {
  candidate: Candidate
  decision: HostDecision
  free: Free | null
  distance: number | undefined
  placed: number
  /** Why the host stopped taking instances during this decision. */
  full: string | null
}

/** Negative when `a` should take the next instance before `b`. */
function compare(a: Slot, b: Slot, context: Context): number {
  if (a.distance !== undefined && b.distance !== undefined && a.distance !== b.distance) {
    return a.distance - b.distance
  }
  if (context.checkHeadroom && (a.free === null) !== (b.free === null)) return a.free === null ? 1 : -1
  const spread = context.spec.strategy === 'spread'
  const instances = a.candidate.instancesOfApp + a.placed - (b.candidate.instancesOfApp + b.placed)
  if (instances !== 0) return spread ? instances : -instances
  const memoryA = memoryLeft(a, context.need)
  const memoryB = memoryLeft(b, context.need)
  if (memoryA === null || memoryB === null) {
    if (memoryA !== memoryB) return memoryA === null ? 1 : -1
  } else if (memoryA !== memoryB) return spread ? memoryB - memoryA : memoryA - memoryB
  return byIp(a.decision.mechostIp, b.decision.mechostIp)
}

function memoryLeft(slot: Slot, need: Need | null): number | null {
  if (!slot.free) return null
  return slot.free.memoryMiB - (need?.memoryMiB ?? 0) * slot.placed
}

/** Why a kept host cannot take one more instance now, or null when it can. */
function blocker(slot: Slot, context: Context): string | null {
  const { maxPerHost } = context.spec
  const existing = slot.candidate.instancesOfApp
  if (maxPerHost !== undefined && existing + slot.placed >= maxPerHost) {
    return `reached maxPerHost ${maxPerHost} (${existing} existing + ${slot.placed} placed here)`
  }
  if (context.checkHeadroom && context.need && slot.free) {
    const missing = shortfalls(slot.free, context.need, slot.placed)
    if (missing.length) return `full after ${plural(slot.placed, 'instance')} placed here: ${missing.join('; ')}`
  }
  return null
}

function rankReason(rank: number, slot: Slot): string {
  const parts = [
    ...(slot.distance === undefined ? [] : [`${round(slot.distance, 1)} km away`]),
    `${plural(slot.candidate.instancesOfApp, 'instance')} of this app`,
    slot.free ? `${memory(slot.free.memoryMiB)} memory free` : 'free memory unknown',
  ]
  return `rank ${rank}: ${parts.join(', ')}`
}

function summarize(chosen: string[], count: number, slots: Slot[], dropped: number, missing: string[]): string {
  const parts: string[] = []
  if (count === 0) parts.push('nothing to place: 0 instances requested')
  else {
    const perHost = new Map<string, number>()
    for (const ip of chosen) perHost.set(ip, (perHost.get(ip) ?? 0) + 1)
    const where = [...perHost].map(([ip, n]) => (n === 1 ? ip : `${ip} ×${n}`)).join(', ')
    parts.push(
      `placed ${chosen.length} of ${plural(count, 'instance')}${chosen.length ? ` on ${plural(perHost.size, 'host')} (${where})` : ''}`,
    )
  }
  const total = slots.length + dropped
  if (dropped) parts.push(`${dropped} of ${plural(total, 'candidate host')} dropped`)
  const unplaced = count - chosen.length
  if (unplaced > 0) {
    const why =
      total === 0
        ? 'there are no candidate hosts'
        : slots.length === 0
          ? 'no candidate host meets the requirements'
          : `the ${plural(slots.length, 'eligible host')} ${slots.length === 1 ? 'is' : 'are'} full (headroom or maxPerHost)`
    parts.push(`${unplaced} unplaced: ${why}`)
  }
  if (missing.length) parts.push(`named hosts not found: ${missing.join(', ')}`)
  return parts.join('; ')
}

/**
 * Chooses a host for each of `count` instances. Throws a 400 ApiError for a bad label selector
 * or count; everything else is explained in the decisions.
 */
export function place(
  spec: PlacementSpec,
  appd: Pick<AppD, 'virtualComputeDescriptor' | 'appServiceRequired'> | null,
  candidates: Candidate[],
  count: number,
): Placement {
  if (!Number.isInteger(count) || count < 0)
    throw badRequest(`count must be a whole number of at least 0, got ${count}`)
  const need = needOf(appd)
  const context: Context = {
    spec,
    selector: spec.labelSelector === undefined ? [] : parseLabelSelector(spec.labelSelector),
    named: spec.hosts ? new Set(spec.hosts) : null,
    need,
    checkHeadroom: spec.headroom && need !== null,
    required: spec.requireServices ? (appd?.appServiceRequired ?? []) : [],
  }

  const slots: Slot[] = []
  const dropped: HostDecision[] = []
  for (const candidate of [...candidates].sort((a, b) => byIp(a.host.mechostIp, b.host.mechostIp))) {
    const free = candidate.metrics ? freeOf(candidate.metrics) : null
    const coordinates = candidate.host.location.coordinates
    const distance = spec.near && coordinates ? distanceKm(spec.near, coordinates) : undefined
    const decision: HostDecision = {
      mechostIp: candidate.host.mechostIp,
      hostName: candidate.host.mechostName,
      kept: false,
      reasons: [],
      chosen: 0,
      ...(distance === undefined ? {} : { distanceKm: round(distance, 1) }),
      ...(free ? { free } : {}),
    }
    const { failed, notes } = screen(candidate, free, distance, context)
    if (failed.length) {
      decision.reasons.push(...failed)
      dropped.push(decision)
    } else {
      decision.kept = true
      decision.reasons.push(...notes)
      slots.push({ candidate, decision, free, distance, placed: 0, full: null })
    }
  }

  slots.sort((a, b) => compare(a, b, context))
  slots.forEach((slot, index) => {
    slot.decision.reasons.unshift(rankReason(index + 1, slot))
  })

  const chosen: string[] = []
  while (chosen.length < count) {
    let best: Slot | undefined
    for (const slot of slots) {
      if (slot.full === null) slot.full = blocker(slot, context)
      if (slot.full === null && (!best || compare(slot, best, context) < 0)) best = slot
    }
    if (!best) break
    best.placed++
    chosen.push(best.decision.mechostIp)
  }

  for (const slot of slots) {
    slot.decision.chosen = slot.placed
    if (slot.placed) slot.decision.reasons.push(`chosen for ${plural(slot.placed, 'instance')}`)
    if (slot.full) slot.decision.reasons.push(slot.full)
    else if (!slot.placed) {
      slot.decision.reasons.push(
        count === 0
          ? 'not chosen: no instances requested'
          : `not chosen: higher-ranked hosts took all ${plural(count, 'instance')}`,
      )
    }
  }

  const known = new Set(candidates.map((candidate) => candidate.host.mechostIp))
  const missing = [...(context.named ?? [])].filter((ip) => !known.has(ip)).sort(byIp)
  return {
    chosen,
    decisions: [...slots.map((slot) => slot.decision), ...dropped],
    unplaced: count - chosen.length,
    summary: summarize(chosen, count, slots, dropped.length, missing),
  }
}
