import { readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'

/** What the exec plugin keeps of a process it started, so that a restarted agent can find it again. */
export interface ProcessRecord {
  pid: number
  /** Field 22 of /proc/<pid>/stat: tells the process apart from a later one given the same pid. */
  startTime: string
  startedAt: string
}

export function procStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // the command name (field 2) may hold spaces and parentheses: count fields after the last ")"
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const state = fields[0]
    return state === 'Z' || state === 'X' ? undefined : fields[19]
  } catch {
    return undefined
  }
}

/** The environment variable the exec plugin marks each app process with. */
export const MARKER = 'MEPM_EXEC_INSTANCE'

/**
 * Process group leaders marked as running this instance: what a kill -9 between spawning an app
 * and recording it leaves behind unrecorded.
 */
export function markedLeaders(appInstanceId: string): number[] {
  const leaders: { pid: number; start: number }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // whole entries only: a parameter whose value merely contains the marker text does not count
      const environment = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0')
      if (!environment.includes(`${MARKER}=${appInstanceId}`)) continue
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] !== 'Z' && fields[2] === entry) leaders.push({ pid: Number(entry), start: Number(fields[19]) })
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return leaders.sort((x, y) => x.start - y.start).map((leader) => leader.pid)
}

/** Whether any live process still belongs to the process group `pgid`. */
export function groupAlive(pgid: number): boolean {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) return true
    } catch {
      // gone meanwhile
    }
  }
  return false
}

export function isAlive(record: ProcessRecord): boolean {
  return procStartTime(record.pid) === record.startTime
}

export function readRecord(file: string): ProcessRecord | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProcessRecord
  } catch {
    return undefined
  }
}

/** Written whole or not at all (rename), so a kill -9 never leaves half a record. */
export function writeRecord(file: string, record: ProcessRecord): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(record))
  renameSync(`${file}.tmp`, file)
}
