import { parseArgs } from 'node:util'
import { z } from 'zod'

/**
 * Configuration from flags, then environment, then defaults:
 *   --listen / MECM_LISTEN            host:port to serve on            (127.0.0.1:8080)
 *   --data-dir / MECM_DATA_DIR        SQLite file, master key, blobs   (./data)
 *   --database-url / DATABASE_URL     postgres://... for PostgreSQL    (SQLite when unset)
 *   MECM_MASTER_KEY                   32 bytes, base64: seals secrets and signs tokens; replicas share it
 *                                     (generated into <data-dir>/master.key when unset)
 *   MECM_ADMIN_PASSWORD               the first admin's password       (generated and logged once)
 *   MECM_LOG_LEVEL                    debug | info | warn | error | silent  (info)
 *   MECM_BODY_LIMIT                   largest JSON body in bytes       (1 MiB)
 *   MECM_UPLOAD_LIMIT                 largest package upload in bytes  (4 GiB)
 *   MECM_PACKAGE_TRUST_ANCHOR         PEM CA file: only packages with a manifest signature it verifies are onboarded
 *   MECM_NOTIFY_RETRY_MS              first retry of a failed notification (1000; doubles up to 10 min, 12 attempts)
 *   MECM_CALLBACK_ALLOW_LOOPBACK      true: subscribers' callbacks may point at loopback and link-local addresses (false)
 *   MECM_EDGE_HEARTBEAT_MS            ping interval of edge sockets; silent for two means OFFLINE (5000)
 *   MECM_EDGE_WINDOW                  commands unacknowledged at once per edge, and events per batch (500)
 *   MECM_ENROLLMENT_TTL               seconds an edge enrollment token stays valid (3600)
 *   MECM_EDGE_EVENT_RETENTION_DAYS    days an edge's event log is kept (7)
 *   MECM_OPERATION_TIMEOUT_MS         how long an operation waits for its edge before FAILED_TEMP (600000)
 *   MECM_OPERATION_LEASE_MS           how long a replica's claim on a running operation lasts unrenewed (15000)
 *   MECM_PROCESS_DIR                  a folder of BPMN files replacing the built-in processes by process id
 */
export const Config = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  dataDir: z.string().min(1),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres://')
    .optional(),
  masterKey: z
    .string()
    .refine((key) => Buffer.from(key, 'base64').length === 32, 'MECM_MASTER_KEY must be 32 bytes in base64')
    .optional(),
  adminPassword: z.string().min(8, 'MECM_ADMIN_PASSWORD must be at least 8 characters').optional(),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']),
  bodyLimit: z.coerce.number().int().min(1024),
  uploadLimit: z.coerce.number().int().min(1024),
  trustAnchor: z.string().min(1).optional(),
  notifyRetryMs: z.coerce.number().int().min(1),
  callbackAllowLoopback: z.enum(['true', 'false']).transform((flag) => flag === 'true'),
  accessTokenTtlSeconds: z.coerce.number().int().min(60),
  refreshTokenTtlSeconds: z.coerce.number().int().min(60),
  edgeHeartbeatMs: z.coerce.number().int().min(100).max(60_000),
  edgeWindow: z.coerce.number().int().min(1).max(500),
  enrollmentTtlSeconds: z.coerce.number().int().min(1),
  edgeEventRetentionDays: z.coerce.number().min(0),
  operationTimeoutMs: z.coerce.number().int().min(1000),
  operationLeaseMs: z.coerce.number().int().min(1000),
  processDir: z.string().min(1).optional(),
})
export type Config = z.infer<typeof Config>

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string' },
      'data-dir': { type: 'string' },
      'database-url': { type: 'string' },
    },
    strict: true,
  })
  const listen = values.listen ?? env.MECM_LISTEN ?? '127.0.0.1:8080'
  const colon = listen.lastIndexOf(':')
  const parsed = Config.safeParse({
    host: listen.slice(0, colon).replace(/^\[|\]$/g, '') || '127.0.0.1',
    port: listen.slice(colon + 1),
    dataDir: values['data-dir'] ?? env.MECM_DATA_DIR ?? './data',
    databaseUrl: values['database-url'] ?? env.DATABASE_URL,
    masterKey: env.MECM_MASTER_KEY,
    adminPassword: env.MECM_ADMIN_PASSWORD,
    logLevel: env.MECM_LOG_LEVEL ?? 'info',
    bodyLimit: env.MECM_BODY_LIMIT ?? 1024 * 1024,
    uploadLimit: env.MECM_UPLOAD_LIMIT ?? 4 * 1024 ** 3,
    trustAnchor: env.MECM_PACKAGE_TRUST_ANCHOR,
    notifyRetryMs: env.MECM_NOTIFY_RETRY_MS ?? 1000,
    callbackAllowLoopback: env.MECM_CALLBACK_ALLOW_LOOPBACK ?? 'false',
    accessTokenTtlSeconds: env.MECM_ACCESS_TOKEN_TTL ?? 15 * 60,
    refreshTokenTtlSeconds: env.MECM_REFRESH_TOKEN_TTL ?? 7 * 24 * 3600,
    edgeHeartbeatMs: env.MECM_EDGE_HEARTBEAT_MS ?? 5000,
    edgeWindow: env.MECM_EDGE_WINDOW ?? 500,
    enrollmentTtlSeconds: env.MECM_ENROLLMENT_TTL ?? 3600,
    edgeEventRetentionDays: env.MECM_EDGE_EVENT_RETENTION_DAYS ?? 7,
    operationTimeoutMs: env.MECM_OPERATION_TIMEOUT_MS ?? 600_000,
    operationLeaseMs: env.MECM_OPERATION_LEASE_MS ?? 15_000,
    processDir: env.MECM_PROCESS_DIR || undefined,
  })
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${parsed.error.issues.map((i) => i.message).join('; ')}`)
  }
  return parsed.data
}
