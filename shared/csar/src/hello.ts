import type { PackageSpec } from './build'

/**
 * A small valid exec package, for tests across the workspace
 * (`import { helloSpec } from '@mecm/csar/hello'`): its app answers "hi" on port 8080.
 */
export function helloSpec(overrides: Partial<PackageSpec> = {}): PackageSpec {
  return {
    appClass: 'exec',
    appd: {
      id: 'hello-appd',
      name: 'hello',
      provider: 'Acme',
      version: '1.0.0',
      inputs: { port: { type: 'string', default: '8080', description: 'listen port' } },
    },
    files: {
      'Artifacts/Deployment/Exec/app.yaml': 'command: node\nargs: [server.js]\n',
      'Artifacts/Deployment/Exec/server.js': 'require("http").createServer((q, s) => s.end("hi")).listen(8080)\n',
    },
    ...overrides,
  }
}
