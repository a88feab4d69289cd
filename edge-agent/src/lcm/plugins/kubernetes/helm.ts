import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

export interface ChartRelease {
  /** The chart's path in the package, named in errors. */
  chart: string
  /** Where the chart file is on this host. */
  file: string
  /** Unique per instance (never the chart's name alone): two instances of one chart can share a cluster. */
  release: string
  namespace: string
  /** Passed with --set-string; never secrets (they would show in the process list): AK/SK go by Secret. */
  values: Record<string, string>
}

/**
 * Renders a chart with `helm template` into manifests, which the plugin then applies like any
 * other (labelled, injected, server-side applied), so a chart's instance is found, observed and
 * removed the same way. Needs Helm 3 on the host.
 */
export async function renderChart(helm: string, release: ChartRelease): Promise<string> {
  const values = Object.entries(release.values).map(([key, value]) => `${key}=${value.replace(/([,\\])/g, '\\$1')}`)
  const args = [
    'template',
    release.release,
    release.file,
    '--namespace',
    release.namespace,
    ...values.flatMap((value) => ['--set-string', value]),
  ]
  try {
    const { stdout } = await run(helm, args, { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 })
    return stdout
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string }
    if (failure.code === 'ENOENT')
      throw new Error(
        `the package's Helm chart ${release.chart} needs the helm binary, and this host has none ("${helm}" was not found): install Helm 3 on the host, or set MEPM_HELM to the path of its helm binary`,
      )
    throw new Error(`helm template of chart ${release.chart} failed: ${(failure.stderr || failure.message).trim()}`)
  }
}
