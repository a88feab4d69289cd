/**
 * Onboarding a large package: a generated exec package with one big file (1 GiB by default) is
 * uploaded with curl to a center running as its own process (SQLite), and onboarded (streamed to
 * the blob store, every manifest hash checked) before the answer. Reported next to `sha256sum`
 * of the same file in the same run, with the center's peak RSS growth (VmHWM) over its idle peak.
 *
 *   npm run bench:package                          1 GiB
 *   MECM_BENCH_PACKAGE_MIB=256 npm run bench:package
 */
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { writePackage } from '@mecm/csar'

const MIB = Number(process.env.MECM_BENCH_PACKAGE_MIB ?? 1024)
const root = join(import.meta.dirname, '..')
const work = mkdtempSync(join(tmpdir(), 'mecm-bench-package-'))
const password = 'Bench-pass1'

const peakRss = (pid: number) =>
  Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/)?.[1]) * 1024
const seconds = (started: number) => (performance.now() - started) / 1000
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1)

async function main() {
  const file = join(work, 'big.csar')
  const block = randomBytes(1024 * 1024)
  await writePackage(file, {
    appClass: 'exec',
    appd: { id: 'big', name: 'big', provider: 'bench', version: '1.0.0' },
    files: {
      'Artifacts/Deployment/Exec/app.yaml': 'command: ./run.sh\n',
      'Artifacts/Deployment/Exec/data.bin': () =>
        Readable.from(
          (function* () {
            for (let i = 0; i < MIB; i++) yield block
          })(),
        ),
    },
  })
  const size = statSync(file).size
  execFileSync('sha256sum', [file]) // warm the page cache, as the upload will find it

  let started = performance.now()
  execFileSync('sha256sum', [file])
  const sha256sum = seconds(started)

  const center = spawn(process.execPath, ['--import', 'tsx', join(root, 'center/src/main.ts')], {
    env: {
      ...process.env,
      MECM_LISTEN: '127.0.0.1:0',
      MECM_DATA_DIR: join(work, 'data'),
      MECM_ADMIN_PASSWORD: password,
      MECM_UPLOAD_LIMIT: String(8 * 1024 ** 3),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  try {
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: center.stdout }).on('line', (line) => {
        const entry = JSON.parse(line) as { msg: string; url?: string }
        if (entry.msg === 'center listening' && entry.url) resolve(entry.url)
      })
      center.on('exit', (code) => reject(new Error(`the center exited with ${code}`)))
    })
    const login = (await (
      await fetch(`${url}/auth/v1/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      })
    ).json()) as { accessToken: string; user: { tenantId: string } }
    // one small request first, so that the idle peak includes a served request
    await fetch(`${url}/auth/v1/me`, { headers: { authorization: `Bearer ${login.accessToken}` } })
    const idlePeak = peakRss(center.pid ?? 0)

    started = performance.now()
    const answer = execFileSync('curl', [
      '-sS',
      '-H',
      `Authorization: Bearer ${login.accessToken}`,
      '-F',
      `file=@${file}`,
      '-F',
      'appPackageName=big',
      '-F',
      'appPackageVersion=1.0.0',
      `${url}/apm/v1/tenants/${login.user.tenantId}/packages/upload`,
    ]).toString()
    const onboard = seconds(started)
    const state = JSON.parse(answer) as { onboardingState?: string; detail?: string }
    if (state.onboardingState !== 'ONBOARDED') throw new Error(`onboarding failed: ${answer}`)
    const growth = peakRss(center.pid ?? 0) - idlePeak

    console.log(`\npackage of ${mib(size)} MiB (one ${MIB} MiB file, stored), onboarded over HTTP with curl -F`)
    console.log(`  sha256sum of the file          ${sha256sum.toFixed(2)} s`)
    console.log(
      `  upload + onboarding            ${onboard.toFixed(2)} s   (${(onboard / sha256sum).toFixed(2)}x sha256sum; goal within 2x)`,
    )
    console.log(
      `  center peak RSS growth         ${mib(growth)} MiB  (idle peak ${mib(idlePeak)} MiB; goal under 64 MiB)`,
    )
  } finally {
    center.kill('SIGTERM')
    rmSync(work, { recursive: true, force: true })
  }
}

await main()
