import { randomUUID } from 'node:crypto'
import {
  type Command,
  type DesiredInstance,
  type DesiredState,
  decodeFrame,
  type ErrorCode,
  encodeFrame,
  type Frame,
  type Hello,
  negotiateVersion,
  PROTOCOL_VERSIONS,
  type RpcMethod,
} from '@mecm/protocol'
import type { Sealer } from '@mecm/runtime'
import { ApiError, type Logger } from '@mecm/runtime'
import type { WebSocket } from 'ws'
import type { EdgePrincipal } from '../auth/edge-identity-store'
import type { Store } from '../db/store'
import { OutOfOrder } from './event-store'
import { openSecret } from './secret-parameters'

/** Close codes an agent acts on: it re-enrolls after REVOKED and waits for an upgrade after UNSUPPORTED. */
export const CLOSE = { REVOKED: 4001, UNSUPPORTED: 4002, BAD_FRAME: 4003, SUPERSEDED: 4004, RESUME: 4006 } as const

/** Pieces of a streamed answer held for a slow reader before the call is cancelled. */
const MAX_QUEUED_PIECES = 1000

export interface SessionSettings {
  heartbeatMs: number
  window: number
}

interface PendingCall {
  push(result: unknown): void
  end(error?: ApiError): void
}

/** Plugin credentials and instances' secret keys sit sealed in the outbox; they are opened only to go on the wire. */
export function openSecrets(sealer: Sealer) {
  const instance = (record: DesiredInstance): DesiredInstance => ({
    ...record,
    parameters: openSecret(record.parameters, sealer),
  })
  return {
    command: (command: Command): Command => {
      const { body } = command
      if (body.kind === 'instance.set') return { ...command, body: { ...body, instance: instance(body.instance) } }
      if (body.kind === 'plugin.configure' && body.plugin.config !== null)
        return { ...command, body: { ...body, plugin: { ...body.plugin, config: sealer.open(body.plugin.config) } } }
      return command
    },
    state: (state: DesiredState): DesiredState => ({
      ...state,
      instances: state.instances.map(instance),
      plugins: state.plugins.map((plugin) => ({
        ...plugin,
        config: plugin.config === null ? null : sealer.open(plugin.config),
      })),
    }),
  }
}

/**
 * One edge's socket at the center: hello and resume, the command stream (a bounded window of
 * unacknowledged commands, replayed or replaced by a snapshot on resume), event batches (each
 * committed before its ack), calls to the edge, and ping/pong liveness.
 */
export function edgeSession(
  ws: WebSocket,
  edge: EdgePrincipal,
  deps: {
    store: Store
    log: Logger
    sealer: Sealer
    settings: SessionSettings
    onEnd: () => void
    onEvents: () => void
  },
) {
  const { store, settings } = deps
  const log = deps.log.child({ hostId: edge.hostId, host: edge.mechostIp })
  const opened = openSecrets(deps.sealer)
  const sessionId = randomUUID()
  const calls = new Map<string, PendingCall>()
  let storeId: string | null = null
  /** Set once the resume point is known: no command goes out before. */
  let ready = false
  let sentSeq = 0
  let ackedSeq = 0
  let lastPong = Date.now()
  let ended = false
  let pumping = false
  let pumpAgain = false
  let chain = Promise.resolve()
  let markClosed: () => void = () => undefined
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve
  })

  const send = (frame: Frame) => {
    if (ws.readyState === ws.OPEN) ws.send(encodeFrame(frame))
  }
  const fail = (code: ErrorCode, message: string, close?: number) => {
    send({ v: 1, type: 'error', code, message, fatal: close !== undefined })
    if (close !== undefined) ws.close(close, message.slice(0, 120))
  }

  async function pump(): Promise<void> {
    if (!ready || ended) return
    if (pumping) {
      pumpAgain = true
      return
    }
    pumping = true
    try {
      do {
        pumpAgain = false
        while (!ended && sentSeq - ackedSeq < settings.window) {
          const batch = await store.edgeOutbox.after(edge.hostId, sentSeq, settings.window - (sentSeq - ackedSeq))
          if (batch.length === 0) break
          if (batch[0]?.seq !== sentSeq + 1) {
            await sendSnapshot('commands the agent needs have left the outbox')
            continue
          }
          for (const command of batch) send({ v: 1, type: 'command', command: opened.command(command) })
          sentSeq = batch.at(-1)?.seq ?? sentSeq
        }
      } while (pumpAgain)
    } finally {
      pumping = false
    }
  }

  async function sendSnapshot(reason: string) {
    const snapshot = await store.edgeOutbox.snapshot(edge.hostId)
    log.info('sending a desired-state snapshot', { reason, seq: snapshot.seq })
    send({ v: 1, type: 'snapshot', seq: snapshot.seq, state: opened.state(snapshot.state) })
    sentSeq = snapshot.seq
    ackedSeq = Math.min(ackedSeq, snapshot.seq)
  }

  async function hello(frame: Hello) {
    const version = negotiateVersion(frame.protocolVersions)
    if (version === null) {
      const message = `this center speaks protocol versions ${PROTOCOL_VERSIONS.join(', ')}, the agent ${frame.protocolVersions.join(', ')}: upgrade the agent (or the center) so that they share one`
      log.warn('refused an agent with no common protocol version', { agentVersion: frame.agentVersion })
      return fail('UNSUPPORTED_VERSION', message, CLOSE.UNSUPPORTED)
    }
    const resume = await store.edgeSessions.open(edge.hostId, frame, sessionId)
    if (ended) {
      // the socket closed while the session opened: release it, or the host would stay ONLINE
      await store.edgeSessions.close(edge.hostId, sessionId)
      return
    }
    storeId = frame.storeId
    log.info('edge connected', {
      agentVersion: frame.agentVersion,
      resume: resume.mode,
      lastApplied: frame.lastAppliedCommandSeq,
    })
    send({
      v: 1,
      type: 'welcome',
      protocolVersion: version,
      sessionId,
      lastCommittedEventSeq: resume.eventSeq,
      heartbeatMs: settings.heartbeatMs,
      window: settings.window,
    })
    if (resume.mode === 'snapshot') await sendSnapshot(resume.reason)
    else {
      sentSeq = ackedSeq = frame.lastAppliedCommandSeq
      // the agent holds all it applied, whether or not its last ack arrived
      await store.edgeOutbox.ack(edge.hostId, frame.lastAppliedCommandSeq)
    }
    ready = true
    await pump()
  }

  async function handle(frame: Frame) {
    if (storeId === null && frame.type !== 'hello')
      return fail('BAD_FRAME', 'the first frame must be hello', CLOSE.BAD_FRAME)
    switch (frame.type) {
      case 'hello':
        if (storeId !== null) return fail('BAD_FRAME', 'hello was already received on this socket')
        return hello(frame)
      case 'ack':
        if (frame.stream !== 'commands') return fail('BAD_FRAME', 'an agent acknowledges only commands', undefined)
        if (frame.seq > sentSeq)
          return fail('OUT_OF_ORDER', `ack of command ${frame.seq}, but only ${sentSeq} were sent`)
        if (frame.seq > ackedSeq) {
          ackedSeq = frame.seq
          await store.edgeOutbox.ack(edge.hostId, frame.seq)
        }
        return pump()
      case 'event': {
        const ingested = await store.edgeEvents.ingest(edge, storeId as string, frame.after, frame.events)
        send({ v: 1, type: 'ack', stream: 'events', seq: ingested.eventSeq })
        deps.onEvents()
        for (const refused of ingested.rejected) {
          log.warn('refused an event from the edge', refused)
          send({ v: 1, type: 'error', code: 'FORBIDDEN', message: refused.reason, ref: refused.eventId, fatal: false })
        }
        if (ingested.commands.length) await pump()
        return
      }
      case 'rpc_response': {
        const call = calls.get(frame.id)
        if (!call) return
        if (frame.error)
          call.end(new ApiError(502, 'Bad Gateway', `the edge answered: ${frame.error.message} (${frame.error.code})`))
        else {
          call.push(frame.result)
          if (!frame.more) call.end()
        }
        return
      }
      case 'error':
        log.warn('the edge reported a protocol error', { code: frame.code, message: frame.message, ref: frame.ref })
        return
      default:
        return fail('BAD_FRAME', `an edge does not send ${frame.type} frames`)
    }
  }

  ws.on('message', (data, isBinary) => {
    const decoded = isBinary ? { ok: false as const, message: 'frames are JSON text' } : decodeFrame(data.toString())
    if (!decoded.ok) {
      log.warn('bad frame from the edge', { message: decoded.message })
      send({ v: 1, type: 'error', code: 'BAD_FRAME', message: decoded.message, fatal: false })
      return
    }
    chain = chain
      // after a failure nothing more is handled: a later batch would skip the one that failed
      .then(() => (ended ? undefined : handle(decoded.frame)))
      .catch((error: Error) => {
        ended = true
        if (error instanceof OutOfOrder) {
          log.warn('a batch of events out of order; the edge resumes', { error: error.message })
          return fail('OUT_OF_ORDER', `${error.message}: reconnect and resume`, CLOSE.RESUME)
        }
        log.error('handling a frame failed; closing the session so that the edge resumes cleanly', {
          type: decoded.frame.type,
          error: error.message,
        })
        fail('INTERNAL', 'the center failed to handle a frame; reconnect and resume', 1011)
      })
  })
  ws.on('pong', () => {
    lastPong = Date.now()
  })
  ws.on('error', (error) => log.warn('edge socket error', { error: error.message }))
  ws.on('close', (code, reason) => {
    ended = true
    for (const call of calls.values())
      call.end(new ApiError(503, 'Service Unavailable', `edge ${edge.mechostIp} disconnected`))
    calls.clear()
    log.info('edge disconnected', { code, reason: reason.toString() })
    void store.edgeSessions
      .close(edge.hostId, sessionId)
      .catch((error: Error) => log.warn('could not record the disconnect', { error: error.message }))
      .finally(() => {
        deps.onEnd()
        markClosed()
      })
  })

  return {
    edge,
    sessionId,
    /** New commands may be waiting. */
    wake: () => void pump().catch((error: Error) => log.error('sending commands failed', { error: error.message })),
    /** Ping; a session silent for two heartbeats, revoked, or taken over elsewhere is closed. */
    async tick(): Promise<void> {
      if (ended) return
      if (Date.now() - lastPong > 2.5 * settings.heartbeatMs) {
        log.warn('edge stopped answering pings; closing its socket')
        ws.terminate()
        return
      }
      ws.ping()
      if (storeId === null) return
      if (!(await store.edgeSessions.seen(edge.hostId, sessionId))) {
        ended = true
        // taken over by a newer connection (the agent redials at its pace), or revoked (it waits long)
        if (await store.edges.identity(edge.hostId)) ws.close(CLOSE.SUPERSEDED, 'this edge connected again elsewhere')
        else ws.close(CLOSE.REVOKED, 'this edge was revoked or removed')
        setTimeout(() => ws.terminate(), 1000).unref()
        return
      }
      await pump()
    },
    /** Closes now: nothing more is handled, and a peer that does not answer the close is dropped. */
    close(code: number, reason: string) {
      ended = true
      ws.close(code, reason)
      setTimeout(() => ws.terminate(), 1000).unref()
    },
    /** Drops the socket at once and resolves when the disconnect is recorded. */
    terminate(): Promise<void> {
      ws.terminate()
      return closed
    },
    /** Calls the edge; results stream until the last one, an error, the timeout, or a disconnect. */
    call(method: RpcMethod, params: Record<string, unknown>, timeoutMs: number): AsyncIterable<unknown> {
      const id = randomUUID()
      const queue: unknown[] = []
      let done: ApiError | true | undefined
      let wakeReader: (() => void) | undefined
      const cancel = () =>
        send({ v: 1, type: 'rpc_request', id: randomUUID(), method: 'rpc.cancel', params: { id }, timeoutMs: 1000 })
      const finish = (error?: ApiError) => {
        clearTimeout(timer)
        calls.delete(id)
        done ??= error ?? true
        wakeReader?.()
      }
      // the timeout is for the first answer; a stream then lasts until the reader stops
      const timer = setTimeout(() => {
        finish(
          new ApiError(
            504,
            'Gateway Timeout',
            `edge ${edge.mechostIp} did not answer ${method} within ${timeoutMs} ms`,
          ),
        )
        cancel()
      }, timeoutMs)
      calls.set(id, {
        push: (result) => {
          clearTimeout(timer)
          queue.push(result)
          if (queue.length > MAX_QUEUED_PIECES) {
            finish(new ApiError(503, 'Service Unavailable', 'the reader of this stream fell too far behind'))
            cancel()
          }
          wakeReader?.()
        },
        end: finish,
      })
      send({ v: 1, type: 'rpc_request', id, method, params, timeoutMs })
      return {
        async *[Symbol.asyncIterator]() {
          try {
            while (true) {
              if (queue.length) {
                yield queue.shift()
                continue
              }
              if (done === true) return
              if (done) throw done
              await new Promise<void>((resolve) => {
                wakeReader = resolve
              })
              wakeReader = undefined
            }
          } finally {
            // the caller stopped reading (a follow ended): the edge stops sending
            if (calls.has(id)) {
              finish()
              cancel()
            }
          }
        },
      }
    },
  }
}
export type EdgeSession = ReturnType<typeof edgeSession>
