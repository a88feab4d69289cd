/**
 * Latency of listing a page of 100 hosts out of 10,000 in one tenant, over real HTTP, on each
 * store. Each figure is set against a baseline measured in the same run on the same server:
 * GET /healthz (HTTP only) and GET /auth/v1/me (HTTP, token check and one user lookup).
 *
 *   npm run bench                      SQLite, and PostgreSQL from MECM_BENCH_DATABASE_URL or a throwaway server
 *   MECM_BENCH_REQUESTS=2000 npm run bench
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, loadConfig, startCenter } from '@mecm/center'
import { MecHostInput } from '@mecm/protocol'
import pg from 'pg'
import { withPostgres } from './postgres'
import { percentile } from './stats'

const HOSTS = 10_000
const REQUESTS = Number(process.env.MECM_BENCH_REQUESTS ?? 1000)
const WARMUP = 100

async function measure(name: string, url: () => string, token: string) {
  const times: number[] = []
  for (let i = 0; i < WARMUP + REQUESTS; i++) {
    const started = performance.now()
    const response = await fetch(url(), { headers: { authorization: `Bearer ${token}` } })
    await response.arrayBuffer()
    if (!response.ok) throw new Error(`${name}: ${response.status}`)
    if (i >= WARMUP) times.push(performance.now() - started)
  }
  times.sort((a, b) => a - b)
  return { name, p50: percentile(times, 50), p99: percentile(times, 99) }
}

async function run(dialect: string, databaseUrl?: string) {
  const dataDir = mkdtempSync(join(tmpdir(), 'mecm-bench-'))
  const password = 'Bench-pass1'
  const config = loadConfig([], {
    MECM_LISTEN: '127.0.0.1:0',
    MECM_DATA_DIR: dataDir,
    MECM_ADMIN_PASSWORD: password,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
  })
  const center = await startCenter(config, createLogger('silent'))
  try {
    const tenant = await center.store.tenants.createTenant(`bench-${Date.now()}`)
    const seeded = performance.now()
    for (let chunk = 0; chunk < HOSTS; chunk += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => {
          const h = chunk + k
          return center.store.hosts.create(
            tenant.tenantId,
            MecHostInput.parse({
              mechostIp: `10.${Math.floor(h / 65536)}.${Math.floor(h / 256) % 256}.${h % 256}`,
              mechostName: `edge-${h}`,
              labels: { zone: `z${h % 10}`, rack: `r${h % 100}` },
              location: { city: `city-${h % 50}` },
            }),
          )
        }),
      )
    }
    const seedSeconds = (performance.now() - seeded) / 1000
    if (databaseUrl) {
      // fresh statistics, as autovacuum would have them on a database that has lived a while
      const client = new pg.Client({ connectionString: databaseUrl })
      await client.connect()
      await client.query('ANALYZE')
      await client.end()
    }
    const login = await fetch(`${center.url}/auth/v1/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    })
    const { accessToken } = (await login.json()) as { accessToken: string }
    const hosts = `${center.url}/inventory/v1/tenants/${tenant.tenantId}/mechosts`

    // cursors of every page, so that the page benchmark reads pages all over the list
    const cursors: string[] = ['']
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page = (await (
        await fetch(`${hosts}?limit=100${cursor ? `&cursor=${cursor}` : ''}`, {
          headers: { authorization: `Bearer ${accessToken}` },
        })
      ).json()) as { items: unknown[]; nextCursor: string | null }
      if (page.items.length !== 100) throw new Error(`a page had ${page.items.length} hosts`)
      cursor = page.nextCursor
      if (cursor) cursors.push(cursor)
    }
    let n = 0
    const results = [
      await measure('baseline GET /healthz', () => `${center.url}/healthz`, accessToken),
      await measure('baseline GET /auth/v1/me', () => `${center.url}/auth/v1/me`, accessToken),
      await measure('first page of 100', () => `${hosts}?limit=100`, accessToken),
      await measure(
        'any page of 100 (cursor)',
        () => `${hosts}?limit=100&cursor=${cursors[n++ % cursors.length]}`,
        accessToken,
      ),
      await measure('100 by label zone=z3', () => `${hosts}?limit=100&labelSelector=zone%3Dz3`, accessToken),
      await measure('100 by city', () => `${hosts}?limit=100&city=city-7`, accessToken),
    ]
    const base = results[0]?.p50 ?? 1
    console.log(
      `\n${dialect}: ${HOSTS} hosts seeded in ${seedSeconds.toFixed(1)} s; ${REQUESTS} sequential requests each, ${cursors.length} pages`,
    )
    console.log('  what                          p50 ms   p99 ms   p50 / healthz p50')
    for (const r of results) {
      console.log(
        `  ${r.name.padEnd(28)} ${r.p50.toFixed(2).padStart(7)}  ${r.p99.toFixed(2).padStart(7)}   ${(r.p50 / base).toFixed(1)}x`,
      )
    }
  } finally {
    await center.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await run('SQLite')
await withPostgres((url) => run('PostgreSQL 15', url))
