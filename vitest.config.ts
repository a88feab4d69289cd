import { defineConfig } from 'vitest/config'
import SummaryReporter from './vitest.summary.ts'

export default defineConfig({
  test: {
    include: [
      '{shared,center,edge-agent,portals,bench}/**/src/**/*.test.ts',
      'examples/*.test.ts',
      'quickstart/*.test.ts',
    ],
    exclude: ['**/node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    reporters: ['default', new SummaryReporter()],
    globalSetup: ['./vitest.postgres.ts'],
  },
})
