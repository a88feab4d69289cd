import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { shown } from './output'
import { StepError } from './service'

/** One quickstart per data dir: a second one would fight over the ports and the state. */
export function takeLock(file: string): void {
  if (existsSync(file)) {
    const pid = Number(readFileSync(file, 'utf8').trim())
    let alive = false
    try {
      if (pid > 0 && pid !== process.pid) {
        process.kill(pid, 0)
        alive = true
      }
    } catch {}
    if (alive) {
      throw new StepError(
        `a quickstart is running already on this data dir (pid ${pid})`,
        `stop it first (Ctrl-C in its terminal, or kill ${pid}), or give this one another --data dir`,
      )
    }
  }
  writeFileSync(file, `${process.pid}\n`)
  process.on('exit', () => rmSync(file, { force: true }))
}

/** The admin password of this data dir: made once (mode 600), then read on every run. */
export function adminPassword(file: string): { password: string; made: boolean } {
  if (existsSync(file)) {
    chmodSync(file, 0o600)
    const password = readFileSync(file, 'utf8').trim()
    if (password.length < 8) throw new StepError(`${shown(file)} holds no password of 8 characters or more`)
    return { password, made: false }
  }
  const password = randomBytes(12).toString('base64url')
  writeFileSync(`${file}.tmp`, `${password}\n`, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
  return { password, made: true }
}
