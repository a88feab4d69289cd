import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node'
import { unlessAbsent } from './errors'

/** The generic object API, its discovery open to the plugin. */
export class ObjectApi extends KubernetesObjectApi {
  /** A kind's API resource (its name, whether it is namespaced) from the cluster's discovery, cached; undefined when not served. */
  discover(apiVersion: string, kind: string) {
    return this.resource(apiVersion, kind)
  }
}

/** The API clients for one kubeconfig. */
export interface Cluster {
  /** The API server's address, named in every error. */
  server: string
  config: KubeConfig
  objects: ObjectApi
  core: CoreV1Api
  apps: AppsV1Api
}

/** A kind's API resource as the cluster's discovery serves it; undefined when it does not serve the kind. */
export const discover = (cluster: Cluster, apiVersion: string, kind: string) =>
  unlessAbsent(cluster, `looking up ${kind} (${apiVersion}) in API discovery`, () =>
    cluster.objects.discover(apiVersion, kind),
  )

export const NO_KUBECONFIG =
  'this host has no kubeconfig: upload one at the center (POST /inventory/v1/tenants/{tenantId}/mechosts/{hostIp}/k8sconfig) or set MEPM_KUBECONFIG on the agent to a kubeconfig file'

/**
 * The clients for the kubeconfig in use now, built on first use and again whenever its text
 * changes (the center may send a new one while the agent runs).
 */
export function clusterFrom(kubeconfig: () => string | undefined): () => Cluster {
  let current: { text: string; cluster: Cluster } | undefined
  return () => {
    const text = kubeconfig()
    if (!text?.trim()) throw new Error(NO_KUBECONFIG)
    if (current?.text === text) return current.cluster
    const config = new KubeConfig()
    try {
      config.loadFromString(text)
    } catch (error) {
      throw new Error(`the kubeconfig is not valid YAML: ${(error as Error).message}`)
    }
    const server = config.getCurrentCluster()?.server
    if (!server) throw new Error('the kubeconfig names no current cluster (current-context, clusters[].cluster.server)')
    const cluster = {
      server,
      config,
      objects: config.makeApiClient(ObjectApi),
      core: config.makeApiClient(CoreV1Api),
      apps: config.makeApiClient(AppsV1Api),
    }
    current = { text, cluster }
    return cluster
  }
}
