import { z } from 'zod'
import { Uuid } from '../common'
import { VimKind } from '../host'
import { Command, DesiredState } from './commands'
import { EdgeEvent } from './events'

/** Protocol versions this build speaks, newest last. */
export const PROTOCOL_VERSIONS = [1] as const

/** Most events in one frame, and most commands or events unacknowledged at once. */
export const MAX_BATCH = 500

const base = { v: z.number().int().min(1) }

/** Edge → center, first frame on a new socket. */
export const Hello = z.object({
  ...base,
  type: z.literal('hello'),
  agentVersion: z.string().min(1).max(64),
  protocolVersions: z.array(z.number().int().min(1)).min(1),
  /** Identifies the agent's store: a new id means the store was reset and needs a snapshot. */
  storeId: Uuid,
  lastAppliedCommandSeq: z.number().int().min(0),
  /** The id of that command (null after a snapshot): another id there means the center was restored from a backup. */
  lastAppliedCommandId: Uuid.nullable(),
  /** The highest event sequence this store has numbered: below the center's, the store was restored from a backup. */
  lastEventSeq: z.number().int().min(0),
  vims: z.array(VimKind).min(1),
})

/** Center → edge: the session is open. */
export const Welcome = z.object({
  ...base,
  type: z.literal('welcome'),
  protocolVersion: z.number().int().min(1),
  sessionId: Uuid,
  /** The last event sequence the center committed: the agent resends everything after it. */
  lastCommittedEventSeq: z.number().int().min(0),
  heartbeatMs: z.number().int().min(100),
  window: z.number().int().min(1).max(MAX_BATCH),
})

export const CommandFrame = z.object({ ...base, type: z.literal('command'), command: Command })

/** The full desired state as of outbox sequence `seq`; replay continues after it. */
export const Snapshot = z.object({
  ...base,
  type: z.literal('snapshot'),
  seq: z.number().int().min(0),
  state: DesiredState,
})

/** Cumulative acknowledgement: everything up to and including `seq` of that stream is durable. */
export const Ack = z.object({
  ...base,
  type: z.literal('ack'),
  stream: z.enum(['commands', 'events']),
  seq: z.number().int().min(0),
})

export const EventFrame = z
  .object({
    ...base,
    type: z.literal('event'),
    /** The last sequence of the batch sent before this one: the center refuses a batch after a gap. */
    after: z.number().int().min(0),
    events: z
      .array(EdgeEvent)
      .min(1)
      .max(MAX_BATCH)
      .refine(
        (events) => events.every((event, i) => i === 0 || event.seq > (events[i - 1]?.seq ?? 0)),
        'event sequence numbers must increase within a batch',
      ),
  })
  .refine((frame) => (frame.events[0]?.seq ?? 0) > frame.after, 'the events must come after `after`')

/** Calls the center makes on an edge; `rpc.cancel` (params.id) stops a streaming one. */
export const RpcMethod = z.enum(['instance.logs', 'instance.status', 'host.kpi', 'mep.capabilities', 'rpc.cancel'])

export const RpcRequest = z.object({
  ...base,
  type: z.literal('rpc_request'),
  id: Uuid,
  method: RpcMethod,
  params: z.record(z.string(), z.unknown()).default({}),
  timeoutMs: z.number().int().min(1).max(300_000),
})

/** One answer, or one piece of a streamed answer (`more: true` until the last one). */
export const RpcResponse = z
  .object({
    ...base,
    type: z.literal('rpc_response'),
    id: Uuid,
    result: z.unknown().optional(),
    error: z.object({ code: z.string().min(1), message: z.string() }).optional(),
    more: z.boolean().default(false),
  })
  .refine(
    (frame) => (frame.result === undefined) !== (frame.error === undefined),
    'carries exactly one of result or error',
  )

export const ErrorCode = z.enum([
  'BAD_FRAME',
  'UNSUPPORTED_VERSION',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'OUT_OF_ORDER',
  'INTERNAL',
])

export const ErrorFrame = z.object({
  ...base,
  type: z.literal('error'),
  code: ErrorCode,
  message: z.string(),
  /** The frame type or id the error is about. */
  ref: z.string().optional(),
  /** The sender closes the socket after a fatal error. */
  fatal: z.boolean().default(false),
})

export const Frame = z.discriminatedUnion('type', [
  Hello,
  Welcome,
  CommandFrame,
  Snapshot,
  Ack,
  EventFrame,
  RpcRequest,
  RpcResponse,
  ErrorFrame,
])
export type Frame = z.infer<typeof Frame>
export type Hello = z.infer<typeof Hello>
export type RpcMethod = z.infer<typeof RpcMethod>
export type ErrorCode = z.infer<typeof ErrorCode>
export type EventFrame = z.infer<typeof EventFrame>
export type FrameType = Frame['type']
