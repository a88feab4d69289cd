import { DesiredInstance, InstanceStatus, InstantiationParameters, redacted, Uuid } from '@mecm/protocol'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import { HostPath, hostIn } from '../inventory/host-routes'
import type { SyncHub } from './hub'
import { setInstanceOnEdge } from './instance-on-edge'

const tag = 'edges: sync and live state'
const base = '/inventory/v1/tenants/:tenantId/mechosts/:mechostIp'
const InstancePath = HostPath.extend({ appInstanceId: Uuid })

const InstanceView = z.object({
  appInstanceId: Uuid,
  desired: DesiredInstance.nullable(),
  origin: z.enum(['center', 'edge']).nullable(),
  observed: z
    .object({ status: InstanceStatus, generation: z.number(), detail: z.string(), updatedAt: z.string() })
    .nullable(),
})

const LiveQuery = z.object({ timeoutMs: z.coerce.number().int().min(100).max(60_000).default(10_000) })

/**
 * What the center knows of one edge: its sync state, the instances it should run and what it
 * reports, conflicts from offline edits, its event log; the desired state operators set on it
 * directly; and live calls answered by the edge itself (503 at once when it is not connected).
 */
export function hostSyncRoutes(api: Api, deps: { store: Store; hub: SyncHub }) {
  const { store, hub } = deps

  api.add(
    {
      method: 'get',
      path: `${base}/sync`,
      summary: 'Show the sync state of an edge',
      tag,
      access: 'read',
      params: HostPath,
      responses: { 200: { description: 'connection, sequences, identity, latest metrics and MEP services' } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const [state, identity, enrollment] = await Promise.all([
        store.edgeOutbox.state(host.hostId),
        store.edges.enrolledAt(host.hostId),
        store.edges.pendingEnrollment(host.hostId),
      ])
      return c.json({
        status: host.status,
        connectedHere: hub.connected(host.hostId),
        enrolled: identity ?? null,
        pendingEnrollment: enrollment ?? null,
        agentVersion: state?.agentVersion ?? null,
        lastSeenAt: state?.seenAt ?? null,
        commands: { issued: state?.commandSeq ?? 0, acknowledged: state?.ackedCommandSeq ?? 0 },
        events: { committed: state?.eventSeq ?? 0 },
        metrics: state?.metrics ?? null,
        mepServices: state?.mepServices ?? [],
      })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/instances`,
      summary: 'List the app instances of an edge: desired and reported',
      tag,
      access: 'read',
      params: HostPath,
      responses: { 200: { description: 'each instance', schema: z.array(InstanceView) } },
    },
    async ({ c, params }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const [desired, observed] = await Promise.all([
        store.edgeOutbox.desiredList<DesiredInstance>(host.hostId, 'instance'),
        store.edgeEvents.observed(host.hostId),
      ])
      const ids = [
        ...new Set([...desired.map((d) => d.record.appInstanceId), ...observed.map((o) => o.appInstanceId)]),
      ].sort()
      return c.json(
        ids.map((appInstanceId) => {
          const want = desired.find((d) => d.record.appInstanceId === appInstanceId)
          const seen = observed.find((o) => o.appInstanceId === appInstanceId)
          return {
            appInstanceId,
            desired: want ? redacted(want.record) : null,
            origin: want?.origin ?? null,
            observed: seen
              ? { status: seen.status, generation: seen.generation, detail: seen.detail, updatedAt: seen.updatedAt }
              : null,
          }
        }),
      )
    },
  )

  api.add(
    {
      method: 'put',
      path: `${base}/instances/:appInstanceId`,
      summary: 'Set the desired state of an app instance on an edge',
      tag,
      access: 'write',
      params: InstancePath,
      body: z.object({
        appPkgId: z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters'),
        targetState: DesiredInstance.shape.targetState,
        parameters: InstantiationParameters.default({}),
      }),
      responses: {
        202: { description: 'recorded and sent (or queued for the edge)', schema: DesiredInstance },
        409: { description: 'the instance is on another host, or the package is not onboarded' },
      },
    },
    async ({ c, params, body }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const instance = await setInstanceOnEdge(deps, host, {
        appInstanceId: params.appInstanceId,
        tenantId: params.tenantId,
        appPkgId: body.appPkgId,
        targetState: body.targetState,
        parameters: deps.hub.sealParameters(body.parameters),
        operationId: null,
      })
      return c.json(instance, 202)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/conflicts`,
      summary: 'List conflicts between offline edits at an edge and the center',
      tag,
      access: 'read',
      params: HostPath,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: { 200: { description: 'newest first' } },
    },
    async ({ c, params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const conflicts = await store.edgeEvents.conflicts(host.hostId, query.limit)
      return c.json(
        conflicts.map((one) => ({
          ...one,
          centerRecord: redacted(one.centerRecord),
          edgeRecord: redacted(one.edgeRecord),
        })),
      )
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/events`,
      summary: 'Read the event log of an edge',
      tag,
      access: 'read',
      params: HostPath,
      query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
      responses: { 200: { description: 'newest first; refused events carry the reason' } },
    },
    async ({ c, params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(await store.edgeEvents.log(host.hostId, query.limit))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/live/kpi`,
      summary: 'Ask an edge for its host KPI now',
      tag,
      access: 'read',
      params: HostPath,
      query: LiveQuery,
      responses: {
        200: { description: 'the KPI' },
        503: { description: 'the edge is not connected' },
        504: { description: 'no answer in time' },
      },
    },
    async ({ c, params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(await hub.ask(host.hostId, 'host.kpi', {}, query.timeoutMs))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/live/mep_capabilities`,
      summary: 'Ask an edge for the MEP services registered on it now',
      tag,
      access: 'read',
      params: HostPath,
      query: LiveQuery,
      responses: { 200: { description: 'the services' }, 503: { description: 'the edge is not connected' } },
    },
    async ({ c, params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(await hub.ask(host.hostId, 'mep.capabilities', {}, query.timeoutMs))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/live/instances/:appInstanceId`,
      summary: 'Ask an edge for the live status of an app instance',
      tag,
      access: 'read',
      params: InstancePath,
      query: LiveQuery,
      responses: {
        200: { description: 'what the plugin sees now' },
        503: { description: 'the edge is not connected' },
      },
    },
    async ({ c, params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      return c.json(
        await hub.ask(host.hostId, 'instance.status', { appInstanceId: params.appInstanceId }, query.timeoutMs),
      )
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/live/instances/:appInstanceId/logs`,
      summary: 'Stream the logs of an app instance from its edge',
      tag,
      access: 'read',
      params: InstancePath,
      query: LiveQuery.extend({
        tail: z.coerce.number().int().min(0).max(10_000).default(100),
        follow: z
          .enum(['true', 'false'])
          .default('false')
          .transform((flag) => flag === 'true'),
      }),
      responses: {
        200: { description: 'text/plain, one line per log line' },
        503: { description: 'the edge is not connected' },
      },
    },
    async ({ params, query }) => {
      const host = await hostIn(store, params.tenantId, params.mechostIp)
      const lines = hub
        .call(
          host.hostId,
          'instance.logs',
          { appInstanceId: params.appInstanceId, tail: query.tail, follow: query.follow },
          query.timeoutMs,
        )
        [Symbol.asyncIterator]()
      // the first answer decides the status: an error is a problem response, not a broken stream
      const first = await lines.next()
      const encoder = new TextEncoder()
      const chunk = (value: unknown) => encoder.encode(`${(value as string[]).join('\n')}\n`)
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          if (first.done) controller.close()
          else if ((first.value as string[]).length) controller.enqueue(chunk(first.value))
        },
        async pull(controller) {
          const next = await lines.next().catch(() => ({ done: true as const, value: undefined }))
          if (next.done) controller.close()
          else if ((next.value as string[]).length) controller.enqueue(chunk(next.value))
        },
        async cancel() {
          await lines.return?.()
        },
      })
      return new Response(first.done ? '' : body, { headers: { 'content-type': 'text/plain; charset=utf-8' } })
    },
  )
}
