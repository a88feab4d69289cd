import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

/** A package folder holding a small HTTP app (server.js) that logs its start and each request. */
export function helloApp(dir: string): string {
  mkdirSync(dir, { recursive: true })
  writeFileSync(
    join(dir, 'server.js'),
    `const http = require('node:http')
console.log('started as ' + process.env.MECM_APP_INSTANCE_ID + ' with ' + process.env.GREETING)
if (process.env.IGNORE_TERM) process.on('SIGTERM', () => console.log('ignoring SIGTERM'))
http.createServer((q, s) => { console.log('request ' + q.url); s.end('ok') }).listen(Number(process.env.PORT), '127.0.0.1')
`,
  )
  return dir
}

/** A package unpacked at `dir` with no artifacts of note: what a test's prepare() returns. */
export const packageAt = (dir: string) => ({ packageDir: dir, packageRoot: dir, artifacts: [] })

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}
