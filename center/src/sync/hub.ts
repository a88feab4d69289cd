import type { IncomingMessage, Server } from 'node:http'
import type { Duplex } from 'node:stream'
import type { Command, CommandBody, InstantiationParameters, RpcMethod } from '@mecm/protocol'
import type { Sealer } from '@mecm/runtime'
import { ApiError, type Logger } from '@mecm/runtime'
import { WebSocketServer } from 'ws'
import { verifyEdgeRequest } from '../auth/edge-signature'
import type { Store } from '../db/store'
import { EDGE_CHANNEL } from './outbox-store'
import { sealSecret } from './secret-parameters'
import { CLOSE, type EdgeSession, edgeSession, type SessionSettings } from './session'

export const CONNECT_PATH = '/edge/v1/connect'

/** Frames as large as a plugin configuration (5 MiB) with room to spare. */
const MAX_FRAME_BYTES = 16 * 1024 * 1024

export interface HubSettings extends SessionSettings {
  eventRetentionDays: number
}

function refuse(socket: Duplex, status: number, title: string, detail: string) {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail })
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  )
}

/**
 * The center's end of every edge socket (DESIGN.md "The sync protocol"): it authenticates the
 * upgrade, keeps one session per edge, pings them, and is how the rest of the center reaches an
 * edge: `issue` appends a command to its outbox and wakes its session; `call` asks it something.
 * Hosts whose session died with another replica (or a killed center) are swept OFFLINE. On
 * PostgreSQL, replicas tell each other through NOTIFY about new commands and revoked edges, so
 * the replica holding an edge's socket acts at once.
 */
export function syncHub(deps: { store: Store; log: Logger; sealer: Sealer; settings: HubSettings }) {
  const { store, log, settings } = deps
  const sessions = new Map<string, EdgeSession>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })
  const eventListeners = new Set<() => void>()

  async function upgrade(request: IncomingMessage, socket: Duplex, head: Buffer) {
    socket.on('error', () => undefined)
    const url = new URL(request.url ?? '/', 'http://center')
    if (url.pathname !== CONNECT_PATH)
      return refuse(socket, 404, 'Not Found', `no WebSocket endpoint at ${url.pathname}`)
    let edge: Awaited<ReturnType<typeof verifyEdgeRequest>>
    try {
      edge = await verifyEdgeRequest(
        { edges: store.edges, credentials: store.credentials },
        {
          authorization: request.headers.authorization ?? '',
          method: request.method ?? 'GET',
          pathWithQuery: url.pathname + url.search,
        },
      )
    } catch (error) {
      if (!(error instanceof ApiError)) {
        log.error('edge authentication failed', { error: String(error) })
        return refuse(socket, 503, 'Service Unavailable', 'the center could not check this edge now; retry')
      }
      log.warn('refused an edge connection', { reason: error.message })
      return refuse(socket, error.status, error.title, error.message)
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      sessions.get(edge.hostId)?.close(CLOSE.SUPERSEDED, 'a newer connection of this edge took over')
      const session = edgeSession(ws, edge, {
        store,
        log,
        sealer: deps.sealer,
        settings,
        onEnd: () => {
          if (sessions.get(edge.hostId) === session) sessions.delete(edge.hostId)
        },
        onEvents: () => {
          for (const listener of eventListeners) listener()
        },
      })
      sessions.set(edge.hostId, session)
    })
  }

  /**
   * Level-triggered: distributions recorded for onboarded packages go out as commands, and
   * packages whose distribution record is gone (undistributed, deleted) are taken back.
   */
  let distributing = false
  async function distributePackages() {
    if (distributing) return
    distributing = true
    try {
      for (const item of await store.edgeOutbox.undelivered()) {
        await issue(item.hostId, { kind: 'package.distribute', package: item.package })
      }
      for (const item of await store.edgeOutbox.unwanted()) {
        await issue(item.hostId, { kind: 'package.remove', appPkgId: item.appPkgId })
      }
    } finally {
      distributing = false
    }
  }

  async function issue(hostId: string, body: CommandBody): Promise<Command> {
    const sealed =
      body.kind === 'plugin.configure' && body.plugin.config !== null
        ? { ...body, plugin: { ...body.plugin, config: deps.sealer.seal(body.plugin.config) } }
        : body
    const command = await store.edgeOutbox.append(hostId, sealed)
    sessions.get(hostId)?.wake()
    return command
  }

  const ticker = setInterval(() => {
    void distributePackages().catch((error: Error) =>
      log.warn('distributing packages failed', { error: error.message }),
    )
    for (const session of sessions.values()) {
      void session.tick().catch((error: Error) => log.warn('edge liveness check failed', { error: error.message }))
    }
    const before = new Date(Date.now() - 3 * settings.heartbeatMs).toISOString()
    void store.edgeSessions
      .sweep(before, [...sessions.keys()])
      .catch((error: Error) => log.warn('sweeping silent edges failed', { error: error.message }))
  }, settings.heartbeatMs)
  const pruner = setInterval(
    () => {
      const before = new Date(Date.now() - settings.eventRetentionDays * 86_400_000).toISOString()
      void store.edgeEvents.prune(before).catch(() => undefined)
    },
    60 * 60 * 1000,
  )
  pruner.unref()

  let stopListening: (() => Promise<void>) | undefined

  return {
    /** Instantiation parameters as the center keeps them: the secret key sealed (secret-parameters.ts). */
    sealParameters: (parameters: InstantiationParameters) => sealSecret(parameters, deps.sealer),

    /** Hears the other replicas (PostgreSQL): commands they appended, edges they revoked. */
    async start(): Promise<void> {
      stopListening = await store.listen?.(EDGE_CHANNEL, (payload) => {
        const [what, hostId = ''] = payload.split(' ')
        if (what === 'command') sessions.get(hostId)?.wake()
        if (what === 'disconnect') sessions.get(hostId)?.close(CLOSE.REVOKED, 'this edge was revoked or removed')
      })
    },

    /** Calls `listener` after each batch of events an edge connected here has committed. */
    onEvents(listener: () => void): void {
      eventListeners.add(listener)
    },

    attach(server: Server) {
      server.on(
        'upgrade',
        (request: IncomingMessage, socket: Duplex, head: Buffer) => void upgrade(request, socket, head),
      )
    },

    connected: (hostId: string): boolean => sessions.has(hostId),

    /** Appends a command to the edge's outbox (plugin credentials sealed) and sends it if the edge is here. */
    issue,

    distributePackages,

    /** Tells a session its outbox grew (after a transaction of the caller's committed). */
    wake(hostId: string): void {
      sessions.get(hostId)?.wake()
    },

    /** Closes the edge's socket now (revoked or removed); it is refused from then on. */
    disconnect(hostId: string, reason: string): void {
      sessions.get(hostId)?.close(CLOSE.REVOKED, reason)
      void store.edgeSessions
        .announceDisconnect(hostId)
        .catch((error: Error) => log.warn('could not tell the other replicas', { error: error.message }))
    },

    /** Asks a connected edge; an edge that is not connected gives 503 at once. */
    call(
      hostId: string,
      method: RpcMethod,
      params: Record<string, unknown>,
      timeoutMs: number,
    ): AsyncIterable<unknown> {
      const session = sessions.get(hostId)
      if (!session) {
        throw new ApiError(503, 'Service Unavailable', 'the edge is not connected: it cannot answer live queries now')
      }
      return session.call(method, params, timeoutMs)
    },

    /** Asks a connected edge one question: its first answer (null when it had none). */
    async ask(hostId: string, method: RpcMethod, params: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
      for await (const answer of this.call(hostId, method, params, timeoutMs)) return answer
      return null
    },

    async close(): Promise<void> {
      await stopListening?.()
      clearInterval(ticker)
      clearInterval(pruner)
      await Promise.all([...sessions.values()].map((session) => session.terminate()))
      sessions.clear()
      for (const client of wss.clients) client.terminate()
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
  }
}
export type SyncHub = ReturnType<typeof syncHub>
