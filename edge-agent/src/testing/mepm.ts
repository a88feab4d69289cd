import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const bin = join(import.meta.dirname, '../../bin/mepm')

/** Runs the real `mepm` command with its session kept in `home`, against the agent at `url()`; never throws. */
export function mepmRunner(home: string, url: () => string) {
  return async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(bin, args, { env: { ...process.env, MEPM_HOME: home, MEPM_URL: url() } })
      return { code: 0, stdout, stderr }
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string }
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr }
    }
  }
}
