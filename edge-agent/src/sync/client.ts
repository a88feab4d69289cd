import {
  decodeFrame,
  encodeFrame,
  type Frame,
  MAX_BATCH,
  PROTOCOL_VERSIONS,
  type RpcMethod,
  type VimKind,
} from '@mecm/protocol'
import type { Logger, Sealer } from '@mecm/runtime'
import WebSocket from 'ws'
import type { AgentStore } from '../store/store'
import { applyCommand, applySnapshot } from './apply'
import {
  enroll,
  loadIdentity,
  pendingKey,
  problemDetail,
  rotateKey,
  type StoredIdentity,
  settlePendingKey,
  signedHeader,
} from './identity'

const CONNECT_PATH = '/edge/v1/connect'
/** Close codes from the center (its sync/session.ts). */
const REVOKED = 4001
const UNSUPPORTED = 4002

/** Answers one call from the center; `emit` sends a piece of a streamed answer. */
export type RpcHandler = (
  params: Record<string, unknown>,
  emit: (result: unknown) => void,
  signal: AbortSignal,
) => Promise<unknown>

export interface SyncClientOptions {
  store: AgentStore
  sealer: Sealer
  log: Logger
  dataDir: string
  agentVersion: string
  vims: VimKind[]
  /** Dial this instead of the URL enrolled with (a proxy, or a center that moved). */
  centerUrl?: string
  rpc: Partial<Record<RpcMethod, RpcHandler>>
  /** Desired state changed: reconcile, fetch packages. */
  changed: () => void
  backoff?: { baseMs: number; maxMs: number }
  /** How often an agent that is not enrolled looks for its identity file. */
  enrollmentPollMs?: number
}

export interface SyncStatus {
  enrolled: boolean
  connected: boolean
  hostId: string | null
  tenantId: string | null
  centerUrl: string | null
  lastError: string | null
  lastConnectedAt: string | null
  /** Sessions opened since the agent started. */
  connections: number
  pendingEvents: number
}

/**
 * The edge's end of the sync channel (DESIGN.md "The sync protocol"): it dials the center,
 * resumes both streams, applies and acknowledges commands, sends its outbox in bounded batches,
 * answers calls, watches the center's pings, and redials with exponential backoff and jitter.
 * Everything it receives is stored before it is acknowledged; everything it sends stays in the
 * outbox until the center acknowledges it.
 */
export function syncClient(options: SyncClientOptions) {
  const { store, log } = options
  const backoff = options.backoff ?? { baseMs: 500, maxMs: 30_000 }
  let identity = loadIdentity(options.dataDir)
  let socket: WebSocket | undefined
  let open = false
  let stopped = false
  let attempt = 0
  let retry: NodeJS.Timeout | undefined
  let liveness: NodeJS.Timeout | undefined
  let lastPing = 0
  let heartbeatMs = 5000
  let window = MAX_BATCH
  let eventsSent = 0
  let eventsAcked = 0
  let ackPending = false
  let lastError: string | null = null
  /** The key of an interrupted rotation, tried once after the current key was refused. */
  let trying: StoredIdentity | undefined
  let lastConnectedAt: string | null = null
  let connections = 0
  const calls = new Map<string, AbortController>()

  const send = (frame: Frame) => {
    if (socket?.readyState === WebSocket.OPEN) socket.send(encodeFrame(frame))
  }

  function pumpEvents() {
    while (open && eventsSent - eventsAcked < window) {
      const batch = store.outbox.after(eventsSent, Math.min(MAX_BATCH, window - (eventsSent - eventsAcked)))
      if (batch.length === 0) return
      send({ v: 1, type: 'event', after: eventsSent, events: batch })
      eventsSent = batch.at(-1)?.seq ?? eventsSent
    }
  }
  const unsubscribe = store.outbox.onAppend(pumpEvents)

  /** One ack for every command applied in this turn of the event loop. */
  function ackCommands() {
    if (ackPending) return
    ackPending = true
    setImmediate(() => {
      ackPending = false
      send({ v: 1, type: 'ack', stream: 'commands', seq: store.commands.lastApplied() })
    })
  }

  async function answer(id: string, method: RpcMethod, params: Record<string, unknown>) {
    if (method === 'rpc.cancel') {
      calls.get(String(params.id))?.abort()
      return
    }
    const handler = options.rpc[method]
    if (!handler) {
      send({
        v: 1,
        type: 'rpc_response',
        id,
        error: { code: 'UNSUPPORTED', message: `this agent does not answer ${method}` },
        more: false,
      })
      return
    }
    const controller = new AbortController()
    calls.set(id, controller)
    try {
      const result = await handler(
        params,
        (piece) => send({ v: 1, type: 'rpc_response', id, result: piece, more: true }),
        controller.signal,
      )
      send({ v: 1, type: 'rpc_response', id, result: result ?? null, more: false })
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'FAILED'
      send({ v: 1, type: 'rpc_response', id, error: { code, message: (error as Error).message }, more: false })
    } finally {
      calls.delete(id)
    }
  }

  function handle(frame: Frame) {
    switch (frame.type) {
      case 'welcome': {
        heartbeatMs = frame.heartbeatMs
        window = frame.window
        // what waits at or below the center's sequence goes out again above it: events whose ack
        // was lost (the center skips them by id), or new ones of a store restored from a backup
        store.outbox.renumberAfter(frame.lastCommittedEventSeq)
        eventsSent = eventsAcked = frame.lastCommittedEventSeq
        open = true
        attempt = 0
        if (trying) {
          settlePendingKey(options.dataDir, true)
          trying = undefined
          log.info("the key of the interrupted rotation is now this edge's key")
        }
        lastError = null
        lastConnectedAt = new Date().toISOString()
        connections += 1
        lastPing = Date.now()
        log.info('connected to the center', { sessionId: frame.sessionId, protocolVersion: frame.protocolVersion })
        pumpEvents()
        return
      }
      case 'command':
        applyCommand(store, options.sealer, frame.command)
        ackCommands()
        options.changed()
        return
      case 'snapshot':
        log.info('applying a desired-state snapshot from the center', { seq: frame.seq })
        applySnapshot(store, options.sealer, frame.seq, frame.state)
        ackCommands()
        options.changed()
        return
      case 'ack':
        if (frame.stream !== 'events') return
        if (frame.seq > eventsAcked) {
          eventsAcked = frame.seq
          store.outbox.ack(frame.seq)
        }
        pumpEvents()
        return
      case 'rpc_request':
        void answer(frame.id, frame.method, frame.params)
        return
      case 'error':
        lastError = `${frame.code}: ${frame.message}`
        ;(frame.fatal ? log.error : log.warn)('the center reported an error', {
          code: frame.code,
          message: frame.message,
          ref: frame.ref,
        })
        return
      default:
        log.warn('unexpected frame from the center', { type: frame.type })
    }
  }

  function scheduleReconnect(slow = false) {
    if (stopped || retry) return
    // exponential, with equal jitter: thousands of edges coming back do not arrive together
    const ceiling = slow ? backoff.maxMs : Math.min(backoff.maxMs, backoff.baseMs * 2 ** attempt)
    const delay = ceiling / 2 + Math.random() * (ceiling / 2)
    attempt += 1
    retry = setTimeout(() => {
      retry = undefined
      connect()
    }, delay)
  }

  function connect() {
    if (stopped) return
    identity = trying ?? loadIdentity(options.dataDir)
    if (!identity) {
      retry = setTimeout(() => {
        retry = undefined
        connect()
      }, options.enrollmentPollMs ?? 2000)
      return
    }
    const current: StoredIdentity = identity
    const base = new URL(options.centerUrl ?? current.centerUrl)
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:'
    base.pathname = CONNECT_PATH
    let slow = false
    let refused = false
    const ws = new WebSocket(base, {
      headers: { authorization: signedHeader(current, 'GET', CONNECT_PATH) },
      handshakeTimeout: 10_000,
      maxPayload: 16 * 1024 * 1024,
    })
    socket = ws
    ws.on('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString()
      })
      response.on('end', () => {
        const detail = problemDetail(body)
        refused = true
        lastError = `the center refused the connection (${response.statusCode}): ${detail}`
        log.warn('the center refused the connection', { status: response.statusCode, detail })
        if (response.statusCode === 401 && trying) {
          // only a key the center says it does not know is dropped; a clock or nonce problem is not that
          if (detail.includes('does not match')) settlePendingKey(options.dataDir, false)
          trying = undefined
          slow = true
        } else if (response.statusCode === 401) {
          trying = pendingKey(options.dataDir)
          if (trying) {
            log.info('the key was refused; trying the key of an interrupted rotation')
            attempt = 0
          } else slow = true
        }
        ws.terminate()
      })
    })
    ws.on('open', () => {
      send({
        v: 1,
        type: 'hello',
        agentVersion: options.agentVersion,
        protocolVersions: [...PROTOCOL_VERSIONS],
        storeId: store.storeId,
        lastAppliedCommandSeq: store.commands.lastApplied(),
        lastAppliedCommandId: store.commands.lastAppliedId(),
        lastEventSeq: store.outbox.lastSeq(),
        vims: options.vims,
      })
      const openedAt = Date.now()
      liveness = setInterval(() => {
        // no welcome in 10 s, or no ping for three heartbeats: the path is dead
        const silent = open ? Date.now() - lastPing > 3 * heartbeatMs : Date.now() - openedAt > 10_000
        if (silent) ws.terminate()
      }, 250)
      lastPing = Date.now()
    })
    ws.on('ping', () => {
      lastPing = Date.now()
    })
    ws.on('message', (data, isBinary) => {
      const decoded = isBinary ? { ok: false as const, message: 'binary frame' } : decodeFrame(data.toString())
      if (!decoded.ok) {
        log.warn('bad frame from the center', { message: decoded.message })
        return
      }
      try {
        handle(decoded.frame)
      } catch (error) {
        // nothing was acknowledged for it: the center sends it again after the reconnect
        log.error('handling a frame failed; reconnecting', {
          type: decoded.frame.type,
          error: (error as Error).message,
        })
        ws.terminate()
      }
    })
    ws.on('error', (error) => {
      // the refusal's reason, if the center gave one, says more than the socket's error
      if (!refused) lastError = error.message
      log.debug('center socket error', { error: error.message })
    })
    ws.on('close', (code, reason) => {
      clearInterval(liveness)
      for (const call of calls.values()) call.abort()
      calls.clear()
      if (open) log.warn('disconnected from the center', { code, reason: reason.toString() })
      open = false
      if (code === REVOKED) lastError = `the center closed the connection: ${reason.toString()}`
      // a socket that was replaced already leaves the redialling to its successor
      if (socket !== ws) return
      socket = undefined
      scheduleReconnect(slow || code === REVOKED || code === UNSUPPORTED)
    })
  }

  /** Connects now, as a new identity: no backoff from earlier failures. */
  function redial() {
    clearTimeout(retry)
    retry = undefined
    attempt = 0
    const ws = socket
    if (ws) {
      // its close handler schedules the next dial; make that one immediate
      ws.once('close', () => {
        clearTimeout(retry)
        retry = undefined
        connect()
      })
      ws.terminate()
    } else connect()
  }

  return {
    start(): void {
      connect()
    },
    status(): SyncStatus {
      return {
        enrolled: identity !== undefined,
        connected: open,
        hostId: identity?.hostId ?? null,
        tenantId: identity?.tenantId ?? null,
        centerUrl: options.centerUrl ?? identity?.centerUrl ?? null,
        lastError,
        lastConnectedAt,
        connections,
        pendingEvents: store.outbox.count(),
      }
    },
    /** The plugin credentials the center sent, opened. */
    pluginConfig(vim: string): string | undefined {
      const sealed = store.plugins.get(vim)
      return sealed === undefined ? undefined : options.sealer.open(sealed)
    },
    /** Drops the connection now; it is redialled as after any other drop. */
    drop(): void {
      socket?.terminate()
    },
    /** Spends an enrollment token for this edge's identity and connects with it at once. */
    async enroll(centerUrl: string, token: string): Promise<StoredIdentity> {
      const enrolled = await enroll({ dataDir: options.dataDir, centerUrl, token, agentVersion: options.agentVersion })
      identity = enrolled
      redial()
      return enrolled
    },
    /** Replaces this edge's key pair; the session goes on with the new key from the next connection. */
    async rotateKey(): Promise<StoredIdentity> {
      identity = await rotateKey(options.dataDir)
      return identity
    },
    async stop(): Promise<void> {
      stopped = true
      clearTimeout(retry)
      unsubscribe()
      const ws = socket
      if (!ws) return
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve())
        ws.terminate()
      })
    },
  }
}
export type SyncClient = ReturnType<typeof syncClient>
