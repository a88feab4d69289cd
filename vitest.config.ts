import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{shared,center,edge-agent,portals,bench}/**/src/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
  },
})
