import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createWriteStream, mkdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'

/** A failed step: what went wrong, and what to do about it. */
export class StepError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** Resolves when `port` can be bound on `host`; otherwise a StepError saying who to blame and what to change. */
export async function ensurePortFree(host: string, port: number, what: string, change: string): Promise<void> {
  const server = createServer()
  const failure = await new Promise<NodeJS.ErrnoException | undefined>((done) => {
    server.once('error', done)
    server.listen(port, host, () => done(undefined))
  })
  if (!failure) {
    await new Promise((done) => server.close(done))
    return
  }
  if (failure.code === 'EADDRINUSE') {
    throw new StepError(
      `port ${port} on ${host} is in use, so ${what} cannot listen there`,
      `another program holds it (or a quickstart is running already: see the data dir's quickstart.pid); ${change}`,
    )
  }
  throw new StepError(`${what} cannot listen on ${host}:${port}: ${failure.message}`, change)
}

/** What a structured log line (one JSON object) says, in one line for people. */
export function describeLogLine(line: string): string {
  try {
    const { time: _t, level: _l, msg, component: _c, ...fields } = JSON.parse(line) as Record<string, unknown>
    const extra = Object.entries(fields)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ')
    return extra ? `${msg} (${extra})` : String(msg)
  } catch {
    return line
  }
}

export interface Service {
  name: string
  logFile: string
  child: ChildProcess
  /** The last error the service logged, for people. */
  lastError(): string | undefined
  /** The last lines it wrote to stderr, whatever they were (what a crash leaves). */
  stderrTail(): string[]
  /** Settles when the process has exited and its log is flushed. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGINT (as Ctrl-C), then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs?: number): Promise<void>
}

/**
 * Runs `node --import tsx <script>` with its stdout and stderr appended to `logFile`; the errors it
 * logs (JSON lines on stderr) are passed to `onError` as well. Resolves once it logs `readyMessage`
 * (its "listening" line); rejects when it exits first, with the last error it logged.
 */
export async function startService(options: {
  name: string
  script: string
  env: NodeJS.ProcessEnv
  logFile: string
  readyMessage: string
  onError(line: string): void
  timeoutMs?: number
}): Promise<Service> {
  mkdirSync(dirname(options.logFile), { recursive: true })
  const log = createWriteStream(options.logFile, { flags: 'a' })
  await once(log, 'open')
  const child = spawn(process.execPath, ['--import', 'tsx', options.script], {
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let lastError: string | undefined
  const stdout = child.stdout as NodeJS.ReadableStream
  const stderr = child.stderr as NodeJS.ReadableStream
  stdout.pipe(log, { end: false })
  stderr.pipe(log, { end: false })
  const tail: string[] = []
  createInterface({ input: stderr }).on('line', (line) => {
    if (!line.trim()) return
    tail.push(line)
    if (tail.length > 20) tail.shift()
    // its own error lines are passed on; anything else on stderr (a stack a library printed) stays in the log
    if (line.startsWith('{"')) {
      lastError = describeLogLine(line)
      options.onError(lastError)
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => {
    child.once('close', (code, signal) => {
      log.end(() => done({ code, signal }))
    })
  })

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new StepError(`${options.name} did not say it was listening within ${(options.timeoutMs ?? 60_000) / 1000} s`),
      )
    }, options.timeoutMs ?? 60_000)
    createInterface({ input: stdout }).on('line', (line) => {
      if (line.includes(`"msg":"${options.readyMessage}"`)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new StepError(`cannot run ${options.name}: ${error.message}`))
    })
    exited.then(({ code, signal }) => {
      clearTimeout(timer)
      const said = lastError ?? (tail.length ? tail.slice(-5).join('\n    ') : 'no error logged')
      reject(new StepError(`${options.name} exited (${signal ?? `code ${code}`}): ${said}`))
    })
  }).catch(async (error) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
    throw error
  })

  return {
    name: options.name,
    logFile: options.logFile,
    child,
    exited,
    lastError: () => lastError,
    stderrTail: () => [...tail],
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      await exited
    },
  }
}
