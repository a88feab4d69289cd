import { spawn } from 'node:child_process'
import { once } from 'node:events'
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
} from 'node:fs'
import { connect } from 'node:net'
import { join, resolve } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import type { ExecDescriptor } from '@mecm/protocol'
import type { Observation, Plugin, RunSpec } from '../../plugin'
import { groupAlive, isAlive, MARKER, markedLeaders, procStartTime, readRecord, writeRecord } from './process-file'

export interface ExecPluginOptions {
  /** Where each instance gets a folder with its process record and logs. */
  runDir: string
  /** How long a stop waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number
  /** A log file is rotated past this size, keeping `keepLogs` old ones. */
  maxLogBytes?: number
  keepLogs?: number
}

/** The variables an app runs with: its descriptor's, then its parameters, then what the agent injects. */
function appEnv(spec: RunSpec): Record<string, string> {
  return { ...spec.exec?.env, ...spec.instance.parameters, ...spec.env }
}

/** A health check's port: a number, or `${NAME}` read from the app's variables. */
function portOf(port: number | string, env: Record<string, string>): number {
  return typeof port === 'number' ? port : Number(env[port.slice(2, -1)] ?? 0)
}

async function healthy(
  check: NonNullable<ExecDescriptor['healthCheck']>,
  env: Record<string, string>,
): Promise<boolean> {
  const timeout = check.timeoutSeconds * 1000
  if (check.http) {
    try {
      const response = await fetch(`http://127.0.0.1:${portOf(check.http.port, env)}${check.http.path}`, {
        signal: AbortSignal.timeout(timeout),
      })
      await response.arrayBuffer()
      return response.ok
    } catch {
      return false
    }
  }
  const port = portOf(check.tcp?.port ?? 0, env)
  return new Promise((done) => {
    const socket = connect({ host: '127.0.0.1', port, timeout })
    socket.once('connect', () => {
      socket.destroy()
      done(true)
    })
    socket.once('error', () => done(false))
    socket.once('timeout', () => {
      socket.destroy()
      done(false)
    })
  })
}

/** The last `count` lines of a file, reading at most its last 1 MiB. */
function lastLines(file: string, count: number): string[] {
  if (!existsSync(file) || count <= 0) return []
  const size = statSync(file).size
  const length = Math.min(size, 1024 * 1024)
  const buffer = Buffer.alloc(length)
  const fd = openSync(file, 'r')
  try {
    readSync(fd, buffer, 0, length, size - length)
  } finally {
    closeSync(fd)
  }
  const lines = buffer.toString('utf8').split('\n')
  if (lines.at(-1) === '') lines.pop()
  return lines.slice(-count)
}

/**
 * Runs apps as local processes from their exec descriptor: each in its own process group,
 * detached, so it outlives an agent restart; stdout and stderr go to a log file rotated by size.
 * A restarted agent finds its processes again by pid and start time (a reused pid is not taken
 * for the app).
 */
export function execPlugin(options: ExecPluginOptions): Plugin & { rotateLogs(appInstanceId: string): void } {
  const stopTimeout = options.stopTimeoutMs ?? 10_000
  const maxLogBytes = options.maxLogBytes ?? 10 * 1024 * 1024
  const keepLogs = options.keepLogs ?? 3
  const dirOf = (id: string) => join(options.runDir, id)
  const recordFile = (id: string) => join(dirOf(id), 'process.json')
  const logFile = (id: string) => join(dirOf(id), 'app.log')

  /**
   * An agent killed between spawning an app and recording it left the app running unrecorded:
   * take it back (the oldest, if there are several, and stop the others) instead of starting a twin.
   */
  function adoptUnrecorded(id: string): boolean {
    const [oldest, ...twins] = markedLeaders(id)
    for (const pid of twins) {
      try {
        process.kill(-pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }
    const startTime = oldest === undefined ? undefined : procStartTime(oldest)
    if (oldest === undefined || !startTime) return false
    mkdirSync(dirOf(id), { recursive: true })
    writeRecord(recordFile(id), { pid: oldest, startTime, startedAt: new Date().toISOString() })
    return true
  }

  async function start(spec: RunSpec): Promise<void> {
    const id = spec.instance.appInstanceId
    const existing = readRecord(recordFile(id))
    if (existing && isAlive(existing)) return
    // the app exited but left children behind: they go before it starts again
    if (existing) await stop(id)
    if (adoptUnrecorded(id)) return
    const exec = spec.exec
    if (!exec)
      throw new Error(`package ${spec.instance.appPkgId} has no exec descriptor: the exec plugin cannot run it`)
    mkdirSync(dirOf(id), { recursive: true })
    const cwd = resolve(spec.packageDir, exec.workingDir)
    if (!cwd.startsWith(resolve(spec.packageDir))) throw new Error(`workingDir ${exec.workingDir} leaves the package`)
    const log = openSync(logFile(id), 'a')
    try {
      const child = spawn(exec.command, exec.args, {
        cwd,
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          ...appEnv(spec),
          [MARKER]: id,
        },
        detached: true,
        stdio: ['ignore', log, log],
      })
      // events.once rejects when 'error' comes first: a failed spawn arrives as the rejection
      const spawned = await once(child, 'spawn').then(
        () => undefined,
        (error: Error) => error,
      )
      if (spawned) throw new Error(`could not start ${exec.command}: ${spawned.message}`)
      child.unref()
      const pid = child.pid as number
      const startTime = procStartTime(pid)
      if (!startTime) throw new Error(`${exec.command} exited at once; see its log`)
      writeRecord(recordFile(id), { pid, startTime, startedAt: new Date().toISOString() })
    } finally {
      closeSync(log)
    }
  }

  /**
   * Stops the app's whole process group (children a wrapper left behind included): SIGTERM, then
   * SIGKILL after the stop timeout. While any member lives, the group id cannot be handed out
   * again, so signalling it never hits a stranger.
   */
  async function stop(appInstanceId: string): Promise<void> {
    const record =
      readRecord(recordFile(appInstanceId)) ??
      (adoptUnrecorded(appInstanceId) ? readRecord(recordFile(appInstanceId)) : undefined)
    if (!record) return
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-record.pid, name)
      } catch {
        // the group is gone already
      }
    }
    if (groupAlive(record.pid)) {
      signal('SIGTERM')
      const deadline = Date.now() + stopTimeout
      while (groupAlive(record.pid) && Date.now() < deadline) await delay(50)
      if (groupAlive(record.pid)) signal('SIGKILL')
      const killDeadline = Date.now() + 5000
      while (groupAlive(record.pid) && Date.now() < killDeadline) await delay(20)
      if (groupAlive(record.pid)) throw new Error(`process group ${record.pid} did not die after SIGKILL`)
    }
    rmSync(recordFile(appInstanceId), { force: true })
  }

  return {
    kind: 'exec',
    instantiate: start,
    start,
    stop,

    async terminate(appInstanceId) {
      await stop(appInstanceId)
      rmSync(dirOf(appInstanceId), { recursive: true, force: true })
    },

    async observe(appInstanceId, spec): Promise<Observation> {
      const record =
        readRecord(recordFile(appInstanceId)) ??
        (adoptUnrecorded(appInstanceId) ? readRecord(recordFile(appInstanceId)) : undefined)
      if (!record) return { state: 'absent', healthy: false, detail: 'not running' }
      if (!isAlive(record))
        return { state: 'exited', healthy: false, detail: `process ${record.pid} has exited; see its log` }
      const check = spec?.exec?.healthCheck
      const ok = check && spec ? await healthy(check, appEnv(spec)) : true
      return { state: 'running', healthy: ok, detail: `pid ${record.pid}${ok ? '' : ', health check failing'}` }
    },

    async *logs(appInstanceId, { tail, follow, signal }) {
      const file = logFile(appInstanceId)
      for (const line of lastLines(file, tail)) yield line
      if (!follow) return
      let offset = existsSync(file) ? statSync(file).size : 0
      let partial = ''
      // ends when the caller aborts or the instance is terminated (its folder goes)
      while (!signal?.aborted && existsSync(dirOf(appInstanceId))) {
        await delay(200, undefined, { signal }).catch(() => undefined)
        if (!existsSync(file)) continue
        const size = statSync(file).size
        if (size < offset) offset = 0 // rotated
        if (size === offset) continue
        const buffer = Buffer.alloc(size - offset)
        const fd = openSync(file, 'r')
        try {
          readSync(fd, buffer, 0, buffer.length, offset)
        } finally {
          closeSync(fd)
        }
        offset = size
        const lines = (partial + buffer.toString('utf8')).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) yield line
      }
    },

    /** Copy-and-truncate past the size limit: the app keeps writing to the same open file. */
    rotateLogs(appInstanceId) {
      const file = logFile(appInstanceId)
      if (!existsSync(file) || statSync(file).size <= maxLogBytes) return
      for (let n = keepLogs - 1; n >= 1; n--) {
        if (existsSync(`${file}.${n}`)) renameSync(`${file}.${n}`, `${file}.${n + 1}`)
      }
      copyFileSync(file, `${file}.1`)
      truncateSync(file, 0)
      rmSync(`${file}.${keepLogs + 1}`, { force: true })
    },
  }
}
