/**
 * The sync channel at 100 connected edges (DESIGN.md "The sync protocol"): a real center as its
 * own process (on SQLite, then on PostgreSQL: MECM_BENCH_DATABASE_URL or a throwaway server), and 100 edges in this process, each with its own SQLite store and the
 * agent's real sync client, all on 127.0.0.1. It measures:
 *   - command delivery latency, from the center's API call to the edge having stored and applied
 *     it, p50/p99 over 2,000 commands to random edges, one at a time; the baseline is an
 *     authenticated GET of one host from the same API, measured in the same run;
 *   - events committed per second: every edge queues 1,000 events at once; the rate at which the
 *     center commits all 100,000 (each batch and its sequence in one transaction);
 *   - after the center is killed with SIGKILL and restarted: the time until every edge is
 *     connected again and has applied a command issued while it was away, with the agents'
 *     default backoff (0.5 s doubling to 30 s, with jitter).
 *
 *   npm run bench:sync
 */
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { centerProcess, signedInAdmin } from '@mecm/center/testing'
import { examples } from '@mecm/protocol/examples'
import { createLogger, sealer } from '@mecm/runtime'
import { openAgentStore } from '../edge-agent/src/store/store'
import { syncClient } from '../edge-agent/src/sync/client'
import { freePort } from '../edge-agent/src/testing/apps'
import { withPostgres } from './postgres'
import { percentile } from './stats'

const EDGES = Number(process.env.EDGES ?? 100)
const COMMANDS = 2000
const EVENTS_PER_EDGE = 1000
/** One run against a center on SQLite, or on PostgreSQL at `databaseUrl`. */
async function run(label: string, databaseUrl?: string) {
  console.log(`--- ${label}`)
  const root = mkdtempSync(join(tmpdir(), 'mecm-bench-sync-'))
  const port = await freePort()
  const env = { MECM_EDGE_HEARTBEAT_MS: '2000', ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }
  let center = await centerProcess(join(root, 'center'), port, env)
  const log = createLogger(process.env.EDGES ? 'info' : 'silent')

  interface Edge {
    ip: string
    dataDir: string
    store: ReturnType<typeof openAgentStore>
    client: ReturnType<typeof syncClient>
    applied: number[]
  }
  const edges: Edge[] = []

  /** The agent's own sync client over the edge's store; `applied` records when each command was. */
  const connect = (edge: Edge) =>
    syncClient({
      store: edge.store,
      sealer: sealer(Buffer.alloc(32, 7)),
      log,
      dataDir: edge.dataDir,
      agentVersion: 'bench',
      vims: ['exec'],
      rpc: {},
      changed: () => edge.applied.push(performance.now()),
    })
  try {
    const { as, hosts } = await signedInAdmin(() => center)

    const enrolling = performance.now()
    for (let i = 0; i < EDGES; i++) {
      const ip = `10.40.${Math.floor(i / 250)}.${(i % 250) + 1}`
      const host = await as('POST', hosts, { ...examples.mecHostInput, mechostIp: ip, vim: 'exec' })
      const dataDir = join(root, `edge-${i}`)
      const store = openAgentStore(join(dataDir, 'agent.db'))
      const edge = { ip, dataDir, store, applied: [] as number[] } as unknown as Edge
      edge.client = connect(edge)
      await edge.client.enroll(center.url, host.enrollment.token)
      edges.push(edge)
    }
    const connected = async () => edges.every((edge) => edge.client.status().connected)
    while (!(await connected())) await delay(20)
    console.log(`enrolled and connected ${EDGES} edges in ${((performance.now() - enrolling) / 1000).toFixed(1)} s`)

    // command latency: one command at a time, each to a random edge
    const latencies: number[] = []
    for (let n = 0; n < COMMANDS; n++) {
      const edge = edges[Math.floor(Math.random() * EDGES)] as Edge
      const before = edge.applied.length
      const started = performance.now()
      await as('PUT', `${hosts}/${edge.ip}/plugins/kubernetes`, { config: `config ${n}` })
      while (edge.applied.length === before) await delay(0)
      latencies.push((edge.applied[before] as number) - started)
    }
    latencies.sort((a, b) => a - b)
    const reads: number[] = []
    for (let n = 0; n < COMMANDS; n++) {
      const edge = edges[Math.floor(Math.random() * EDGES)] as Edge
      const started = performance.now()
      await as('GET', `${hosts}/${edge.ip}`)
      reads.push(performance.now() - started)
    }
    reads.sort((a, b) => a - b)
    const ping = await pingRoundTrip()
    const p50 = percentile(latencies, 50)
    const p99 = percentile(latencies, 99)
    console.log(
      `command delivery (API call → applied at the edge): p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms; ` +
        `baseline, an authenticated GET of one host: p50 ${percentile(reads, 50).toFixed(2)} ms, p99 ${percentile(reads, 99).toFixed(2)} ms ` +
        `(delivery p50 is ${(p50 / percentile(reads, 50)).toFixed(1)}× that); WebSocket ping round trip p50 ${ping.toFixed(3)} ms`,
    )

    // events: queued while the edges are away, then committed as fast as the center takes them
    const seqBefore = await Promise.all(
      edges.map(async (edge) => (await as('GET', `${hosts}/${edge.ip}/sync`)).events.committed),
    )
    for (const edge of edges) {
      await edge.client.stop()
      // one transaction per edge, so that the edges' own disk writes do not pace the center
      edge.store.transaction(() => {
        for (let e = 0; e < EVENTS_PER_EDGE; e++) {
          edge.store.outbox.append({
            kind: 'rules.status',
            appInstanceId: examples.appInstanceId,
            taskId: randomUUID(),
            state: 'SUCCESS',
            detail: '',
          })
        }
      })
    }
    const queued = performance.now()
    for (const edge of edges) {
      edge.client = connect(edge)
      edge.client.start()
    }
    while (edges.some((edge) => edge.store.outbox.count() > 0)) await delay(10)
    const elapsed = (performance.now() - queued) / 1000
    const seqAfter = await Promise.all(
      edges.map(async (edge) => (await as('GET', `${hosts}/${edge.ip}/sync`)).events.committed),
    )
    const committed = seqAfter.reduce((sum, seq, i) => sum + seq - (seqBefore[i] ?? 0), 0)
    console.log(
      `events: ${committed} committed in ${elapsed.toFixed(2)} s = ${Math.round(committed / elapsed)} events/s ` +
        '(from the edges reconnecting with 1,000 events each queued to the last acknowledgement)',
    )

    // the center dies and comes back: every edge must reconnect and catch up
    await center.kill('SIGKILL')
    const killed = performance.now()
    const marks = edges.map((edge) => edge.client.status().connections)
    center = await centerProcess(join(root, 'center'), port, env)
    const restarted = performance.now()
    const catchUp = edges.map((edge) => edge.applied.length)
    for (const edge of edges) await as('PUT', `${hosts}/${edge.ip}/plugins/openstack`, { config: 'after the restart' })
    while (
      edges.some(
        (edge, i) =>
          !edge.client.status().connected ||
          edge.client.status().connections <= (marks[i] ?? 0) ||
          edge.applied.length <= (catchUp[i] ?? 0),
      )
    ) {
      await delay(20)
    }
    const back = performance.now()
    const online = (await as('GET', `${hosts}?status=ONLINE&limit=500`)).items.length
    console.log(
      `center SIGKILL → all ${EDGES} edges connected and in sync: ${((back - killed) / 1000).toFixed(2)} s ` +
        `(the center took ${((restarted - killed) / 1000).toFixed(2)} s to start; ${online} hosts ONLINE in inventory)`,
    )
    console.log(
      `memory of this process with ${EDGES} edges: ${Math.round(process.memoryUsage().rss / 1024 ** 2)} MB RSS`,
    )
  } finally {
    for (const edge of edges) {
      await edge.client.stop()
      edge.store.close()
    }
    await center.kill()
    rmSync(root, { recursive: true, force: true })
  }
}

await run('SQLite')
await withPostgres((url) => run('PostgreSQL 15', url))

/** The loopback WebSocket round trip a command cannot beat, through the same library. */
async function pingRoundTrip(): Promise<number> {
  const { WebSocketServer, default: WebSocket } = await import('ws')
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' })
  await new Promise((resolve) => server.once('listening', resolve))
  const address = server.address() as { port: number }
  const client = new WebSocket(`ws://127.0.0.1:${address.port}`)
  await new Promise((resolve) => client.once('open', resolve))
  const times: number[] = []
  for (let n = 0; n < 500; n++) {
    const started = performance.now()
    client.ping()
    await new Promise((resolve) => client.once('pong', resolve))
    times.push(performance.now() - started)
  }
  client.close()
  server.close()
  return percentile(
    times.sort((a, b) => a - b),
    50,
  )
}
