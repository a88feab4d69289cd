import { type HostMetrics, redacted } from '@mecm/protocol'
import type { Plugin } from '../lcm/plugin'
import { capability } from '../mep/store'
import type { AgentStore } from '../store/store'
import type { RpcHandler } from './client'

/** Lines of a log go up in pieces: at most this many, or what came in this long. */
const PIECE_LINES = 200
const PIECE_MS = 100

class RpcError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

function instanceIdOf(params: Record<string, unknown>, store: AgentStore): string {
  const id = params.appInstanceId
  if (typeof id !== 'string') throw new RpcError('BAD_PARAMS', 'appInstanceId is required')
  if (!store.desired.get(id) && !store.observed.get(id))
    throw new RpcError('NOT_FOUND', `no app instance ${id} on this edge`)
  return id
}

/** What the center may ask this edge over the socket (DESIGN.md "Request/response"). */
export function rpcHandlers(deps: {
  store: AgentStore
  plugin: Plugin
  /** The host's KPI: its plugin's backend's, or this machine's. */
  kpi(): Promise<HostMetrics>
}): Record<'instance.logs' | 'instance.status' | 'host.kpi' | 'mep.capabilities', RpcHandler> {
  const { store, plugin } = deps
  return {
    async 'instance.logs'(params, emit, signal) {
      const id = instanceIdOf(params, store)
      const tail = typeof params.tail === 'number' ? params.tail : 100
      // the first piece says the call is good, so that the caller can answer 200 and stream
      if (params.follow === true) emit([])
      let piece: string[] = []
      const flush = () => {
        if (piece.length) emit(piece)
        piece = []
      }
      // a followed log that goes quiet still sends what it has
      const timer = setInterval(flush, PIECE_MS)
      try {
        for await (const line of plugin.logs(id, { tail, follow: params.follow === true, signal })) {
          piece.push(line)
          if (piece.length >= PIECE_LINES) flush()
        }
      } finally {
        clearInterval(timer)
      }
      return piece
    },
    async 'instance.status'(params) {
      const id = instanceIdOf(params, store)
      const desired = store.desired.get(id)
      return {
        appInstanceId: id,
        desired: desired ? redacted(desired) : null,
        observed: store.observed.get(id) ?? null,
        live: await plugin.observe(id),
      }
    },
    'host.kpi': () => deps.kpi(),
    'mep.capabilities': async () => store.mep.services.list().map(capability),
  }
}
