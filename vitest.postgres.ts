import { execFileSync } from 'node:child_process'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string
  }
}

/**
 * PostgreSQL for the store tests: MECM_TEST_DATABASE_URL when CI gives one, otherwise a
 * throwaway server started here with .ci/postgres.sh and stopped after the run. Each test file
 * makes its own database in it (center/src/testing/stores.ts).
 */
export default function setup(project: TestProject) {
  const given = process.env.MECM_TEST_DATABASE_URL
  if (given) {
    project.provide('databaseUrl', given)
    return
  }
  const exports = execFileSync('bash', ['.ci/postgres.sh', 'start'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = exports.match(/MECM_TEST_DATABASE_URL=(\S+?);/)?.[1]
  const dir = exports.match(/MECM_TEST_PG_DIR=(\S+)/)?.[1]
  if (!url || !dir) throw new Error(`.ci/postgres.sh did not start PostgreSQL: ${exports}`)
  project.provide('databaseUrl', url)
  return () => {
    execFileSync('bash', ['.ci/postgres.sh', 'stop', dir], { stdio: 'inherit' })
  }
}
