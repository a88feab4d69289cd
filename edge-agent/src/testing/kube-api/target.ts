import { readFileSync } from 'node:fs'
import { type KubeApiServer, type KubeApiServerOptions, kubeApiServer } from './index'

/** Where the Kubernetes tests run: the real cluster KUBECONFIG names, or a test API server of their own. */
export interface ClusterTarget {
  /** True on a real cluster: the tests that inject faults through `server` are skipped there. */
  real: boolean
  /** The kubeconfig to use now (the test server's changes when its token is rotated). */
  kubeconfig(): string
  /** The test API server, with its fault controls; undefined on a real cluster. */
  server: KubeApiServer | undefined
  close(): Promise<void>
}

export const realCluster = Boolean(process.env.KUBECONFIG)

export async function clusterTarget(options: KubeApiServerOptions = {}): Promise<ClusterTarget> {
  const file = process.env.KUBECONFIG?.split(':')[0]
  if (file) {
    const text = readFileSync(file, 'utf8')
    return { real: true, kubeconfig: () => text, server: undefined, close: async () => undefined }
  }
  const server = await kubeApiServer(options)
  return { real: false, kubeconfig: () => server.kubeconfig, server, close: () => server.close() }
}
