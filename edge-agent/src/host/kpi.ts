import { readFileSync } from 'node:fs'
import { statfs } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import type { HostMetrics } from '@mecm/protocol'

function cpuTimes(): { idle: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  return { idle, total: values.reduce((sum, value) => sum + value, 0) }
}

function memory(): { totalBytes: number; usedBytes: number } {
  const info = Object.fromEntries(
    readFileSync('/proc/meminfo', 'utf8')
      .split('\n')
      .map((line) => line.match(/^(\w+):\s+(\d+) kB/))
      .filter((match): match is RegExpMatchArray => match !== null)
      .map((match) => [match[1], Number(match[2]) * 1024]),
  )
  const total = info.MemTotal ?? 0
  return { totalBytes: total, usedBytes: total - (info.MemAvailable ?? 0) }
}

/** CPU (sampled over `sampleMs`), memory and the data disk, from /proc and statfs. */
export async function hostKpi(dataDir: string, instances: number, sampleMs = 200): Promise<HostMetrics> {
  const before = cpuTimes()
  await delay(sampleMs)
  const after = cpuTimes()
  const total = after.total - before.total
  const disk = await statfs(dataDir)
  return {
    at: new Date().toISOString(),
    cpu: {
      cores: availableParallelism(),
      usedPercent: total > 0 ? Math.round((1000 * (total - (after.idle - before.idle))) / total) / 10 : 0,
    },
    memory: memory(),
    disk: { totalBytes: disk.blocks * disk.bsize, usedBytes: (disk.blocks - disk.bfree) * disk.bsize },
    instances,
  }
}
