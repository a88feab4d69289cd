import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')

/** Runs `work` against MECM_BENCH_DATABASE_URL, or a throwaway PostgreSQL 15 started for it (.ci/postgres.sh). */
export async function withPostgres(work: (url: string) => Promise<void>): Promise<void> {
  const given = process.env.MECM_BENCH_DATABASE_URL
  if (given) return work(given)
  const exports = execFileSync('bash', [join(root, '.ci/postgres.sh'), 'start'], { encoding: 'utf8' })
  const url = exports.match(/MECM_TEST_DATABASE_URL=(\S+?);/)?.[1]
  const dir = exports.match(/MECM_TEST_PG_DIR=(\S+)/)?.[1] ?? ''
  if (!url) throw new Error(`.ci/postgres.sh gave no database URL: ${exports}`)
  try {
    await work(url)
  } finally {
    execFileSync('bash', [join(root, '.ci/postgres.sh'), 'stop', dir], { stdio: 'ignore' })
  }
}
