import type { Logger } from '@mecm/runtime'
import type { Plugin, RunSpec } from '../../plugin'
import { packageFile, readSwImages } from '../package-files'
import { applyPlan, checkOwnership, plan } from './apply'
import { clusterFrom } from './cluster'
import { footprints } from './footprint'
import { renderChart } from './helm'
import { SECRET_KEYS } from './inject'
import { credentialsSecret, instanceNamespace, releaseName } from './instance'
import { kpiOf } from './kpi'
import { instanceLogs } from './logs'
import { type Manifest, parseManifests, readManifests } from './manifests'
import { observeInstance } from './observe'
import { waitReady } from './readiness'
import { removeInstance } from './remove'
import { scaleDown, scaleUp, waitScaledDown } from './scale'

export interface KubernetesPluginOptions {
  /** The kubeconfig in use now (from the center, or a local file): read at each use, the clients follow when it changes. */
  kubeconfig: () => string | undefined
  /** Where the plugin records each instance's namespaces and kinds. */
  workDir: string
  log: Logger
  /** How long an instance may take to become ready, or to be gone (300 s). */
  readyTimeoutMs?: number
  /** How often it looks while waiting (1 s). */
  pollMs?: number
  /** The helm binary, for packages with charts (`helm` on PATH). */
  helm?: string
}

/**
 * Runs container packages on a Kubernetes cluster: their manifests (and Helm charts, rendered by
 * the helm binary) applied by server-side apply, each instance in a namespace of its own unless
 * its package names one, every object labelled with the instance id; EdgeGallery's k8splugin
 * named the Helm release after the chart and so ran one instance per chart per cluster.
 */
export function kubernetesPlugin(options: KubernetesPluginOptions): Plugin {
  const cluster = clusterFrom(options.kubeconfig)
  const records = footprints(options.workDir)
  const timing = { timeoutMs: options.readyTimeoutMs ?? 300_000, pollMs: options.pollMs ?? 1000 }
  const helm = options.helm ?? 'helm'
  const { log } = options

  /** The package's manifests, its charts rendered: read before anything is created. */
  async function manifestsOf(spec: RunSpec): Promise<Manifest[]> {
    const id = spec.instance.appInstanceId
    const paths = (kind: string) => spec.artifacts.filter((a) => a.kind === kind).map((a) => a.path)
    const manifests = readManifests(spec.packageRoot, paths('kubernetes'))
    for (const chart of paths('helm')) {
      const rendered = await renderChart(helm, {
        chart,
        file: packageFile(spec.packageRoot, chart),
        release: releaseName(id),
        namespace: instanceNamespace(id),
        values: {
          'mecm.appInstanceId': id,
          'mecm.tenantId': spec.instance.tenantId,
          'mecm.mepAddress': spec.env.MECM_MEP_ADDRESS ?? '',
          'mecm.credentialsSecret': credentialsSecret(id),
        },
      })
      manifests.push(...parseManifests(rendered, chart))
    }
    if (!manifests.length)
      throw new Error(
        `package ${spec.instance.appPkgId} has no Kubernetes manifests or Helm chart for this plugin to apply`,
      )
    return manifests
  }

  async function instantiate(spec: RunSpec): Promise<void> {
    const id = spec.instance.appInstanceId
    const kube = cluster()
    const manifests = await manifestsOf(spec)
    const env = Object.fromEntries(
      Object.entries({ ...spec.instance.parameters, ...spec.env }).filter(([name]) => !SECRET_KEYS.includes(name)),
    )
    const values = { appInstanceId: id, tenantId: spec.instance.tenantId, env, images: readSwImages(spec.packageRoot) }
    const planned = await plan(kube, manifests, values, spec.env)
    await checkOwnership(kube, planned, id)
    // recorded first: whatever happens next, terminate knows where to look
    records.write(id, planned.footprint)
    try {
      await applyPlan(kube, planned, timing)
      log.info('instance applied', {
        appInstanceId: id,
        namespaces: planned.footprint.namespaces,
        objects: planned.objects.length,
      })
      await waitReady(kube, planned.footprint, id, timing)
    } catch (error) {
      log.warn('instantiate failed, removing what it created', { appInstanceId: id, error: (error as Error).message })
      try {
        await terminate(id)
      } catch (cleanup) {
        throw new Error(
          `${(error as Error).message}; removing what was created failed too: ${(cleanup as Error).message} (terminating the instance removes it once the cluster answers)`,
        )
      }
      throw error
    }
  }

  async function terminate(appInstanceId: string): Promise<void> {
    await removeInstance(cluster(), records.read(appInstanceId), appInstanceId, timing)
    records.remove(appInstanceId)
  }

  return {
    kind: 'kubernetes',
    instantiate,
    terminate,

    async start(spec) {
      const id = spec.instance.appInstanceId
      const kube = cluster()
      const footprint = records.read(id)
      if (!(await scaleUp(kube, footprint, id))) return instantiate(spec)
      await waitReady(kube, footprint, id, timing)
    },

    async stop(appInstanceId) {
      const kube = cluster()
      const footprint = records.read(appInstanceId)
      await scaleDown(kube, footprint, appInstanceId)
      await waitScaledDown(kube, footprint, appInstanceId, timing)
    },

    async observe(appInstanceId) {
      return observeInstance(cluster(), records.read(appInstanceId), appInstanceId)
    },

    async *logs(appInstanceId, logOptions) {
      yield* instanceLogs(cluster(), records.read(appInstanceId), appInstanceId, logOptions)
    },

    async kpi(instances) {
      return kpiOf(cluster(), instances)
    },
  }
}
