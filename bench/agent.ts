/**
 * The edge agent's footprint and recovery, with the agent as its own process (exec plugin):
 * its RSS idle with 0 and with 20 running instances (goal under 50 MB with 20), and the time
 * from agent start to all 20 instances answering after a simulated host reboot (every process
 * killed; goal under 5 s). The baseline is a bare `node -e` process measured in the same run.
 *
 *   npm run bench:agent
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { agentProcess, answers, deployHellos, processesOf } from '../edge-agent/src/testing/agent-process'
import { freePort } from '../edge-agent/src/testing/apps'

const COUNT = 20
// measured as it would run on a host: the bundle `npm run build -w @mecm/edge-agent` makes
const root = join(import.meta.dirname, '..')
execFileSync('npm', ['run', 'build', '-w', '@mecm/edge-agent'], { cwd: root, stdio: 'ignore' })
const bundle = join(root, 'edge-agent/dist/agent.mjs')
const dataDir = mkdtempSync(join(tmpdir(), 'mecm-bench-agent-'))
const rss = (pid: number) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/)?.[1]) / 1024
async function until(check: () => Promise<boolean>) {
  while (!(await check())) await delay(20)
}

const ids: string[] = []
try {
  const bare =
    Number(
      execFileSync(process.execPath, [
        '-e',
        "console.log(require('fs').readFileSync('/proc/self/status','utf8').match(/VmRSS:\\s+(\\d+)/)[1])",
      ]).toString(),
    ) / 1024
  const port = await freePort()
  let agent = await agentProcess(dataDir, port, { bundle })
  await delay(2000)
  const idle = rss(agent.child.pid ?? 0)

  const deployed = await deployHellos(agent, dataDir, COUNT)
  ids.push(...deployed.map((d) => d.appInstanceId))
  const ports = deployed.map((d) => d.port)
  await until(async () => (await Promise.all(ports.map(answers))).every(Boolean))
  await delay(3000)
  const busy = rss(agent.child.pid ?? 0)

  await agent.kill()
  for (const id of ids) for (const pid of processesOf(id)) process.kill(pid, 'SIGKILL')
  await until(async () => ids.flatMap(processesOf).length === 0)
  const started = performance.now()
  agent = await agentProcess(dataDir, port, { bundle })
  const listening = (performance.now() - started) / 1000
  await until(async () => (await Promise.all(ports.map(answers))).every(Boolean))
  const back = (performance.now() - started) / 1000
  await agent.kill()

  console.log(
    `\nedge agent (exec plugin), bundled, one process; baseline: a bare node process at ${bare.toFixed(1)} MB RSS`,
  )
  console.log(`  RSS idle, 0 instances            ${idle.toFixed(1)} MB  (${(idle / bare).toFixed(1)}x bare node)`)
  console.log(`  RSS with ${COUNT} running instances     ${busy.toFixed(1)} MB  (goal under 50 MB)`)
  console.log(`  reboot: agent listening after    ${listening.toFixed(2)} s`)
  console.log(`  reboot: all ${COUNT} answering after    ${back.toFixed(2)} s  (goal under 5 s)`)
} finally {
  for (const id of ids) for (const pid of processesOf(id)) process.kill(pid, 'SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
}
