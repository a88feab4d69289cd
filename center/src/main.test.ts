import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'

const main = join(import.meta.dirname, 'main.ts')
const dataDir = mkdtempSync(join(tmpdir(), 'mecm-main-'))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

interface Running {
  child: ChildProcess
  lines: Record<string, unknown>[]
  /** Resolves with the first log line (past or future) that has this message. */
  line(msg: string): Promise<Record<string, unknown>>
}

function start(env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', main], {
    env: { ...process.env, MECM_LISTEN: '127.0.0.1:0', MECM_DATA_DIR: dataDir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: Record<string, unknown>[] = []
  const waiting: [string, (line: Record<string, unknown>) => void][] = []
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream as NodeJS.ReadableStream }).on('line', (text) => {
      let line: Record<string, unknown>
      try {
        line = JSON.parse(text)
      } catch {
        line = { msg: text }
      }
      lines.push(line)
      for (const [msg, resolve] of waiting) if (line.msg === msg) resolve(line)
    })
  }
  return {
    child,
    lines,
    line: (msg) =>
      new Promise((resolve) => {
        const seen = lines.find((line) => line.msg === msg)
        if (seen) resolve(seen)
        else waiting.push([msg, resolve])
      }),
  }
}

async function stop(running: Running): Promise<number | null> {
  const exited = once(running.child, 'close')
  running.child.kill('SIGTERM')
  const [code] = await exited
  return code as number | null
}

async function login(url: string, password: string) {
  return fetch(`${url}/auth/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  })
}

describe('the center process', () => {
  let password = ''

  it('starts on an empty data dir, prints a generated admin password once, and stops cleanly on SIGTERM', async () => {
    const first = start()
    const created = await first.line('created the admin account; its password is shown only this once')
    const { url } = (await first.line('center listening')) as { url: string }
    password = String(created.password)
    expect(password.length).toBeGreaterThanOrEqual(16)
    expect((await fetch(`${url}/readyz`)).status).toBe(200)
    expect((await login(url, password)).status).toBe(200)
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600)
    expect(await stop(first)).toBe(0)
    expect(first.lines.map((line) => line.msg)).toContain('center stopped')
  })

  it('keeps its admin and master key across a restart, and prints no password again', async () => {
    const second = start()
    const { url } = (await second.line('center listening')) as { url: string }
    expect((await login(url, password)).status).toBe(200)
    expect(second.lines.some((line) => 'password' in line)).toBe(false)
    expect(await stop(second)).toBe(0)
  })

  it('refuses a bad setting with exit code 2 and says why', async () => {
    const bad = start({ DATABASE_URL: 'mysql://nowhere' })
    const [code] = await once(bad.child, 'close')
    expect(code).toBe(2)
    expect(bad.lines.map((line) => line.msg).join('\n')).toContain('DATABASE_URL must start with postgres://')
  })
})
