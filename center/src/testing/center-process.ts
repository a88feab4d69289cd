import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { ADMIN_PASSWORD } from './center'

const main = join(import.meta.dirname, '../main.ts')

/**
 * The center as its own process on a fixed port and data dir (SQLite), so that a test can kill it
 * with SIGKILL and start it again where it was.
 */
export async function centerProcess(dataDir: string, port: number, env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      MECM_LISTEN: `127.0.0.1:${port}`,
      MECM_DATA_DIR: dataDir,
      MECM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      MECM_LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      if (line.includes('"center listening"')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`the center exited with ${code}`)))
  })
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return
      const exited = once(child, 'exit')
      child.kill(signal)
      await exited
    },
  }
}
