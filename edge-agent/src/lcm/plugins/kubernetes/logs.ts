import { createInterface } from 'node:readline'
import { PassThrough } from 'node:stream'
import { Log, type V1Pod } from '@kubernetes/client-node'
import type { Cluster } from './cluster'
import { clusterError, codeOf } from './errors'
import type { Footprint } from './footprint'
import { workloadsOf } from './lookup'

interface Source {
  namespace: string
  pod: string
  container: string
  /** `[pod/container] `, when the instance has more than one. */
  prefix: string
}

function sourcesOf(pods: V1Pod[]): Source[] {
  const pairs = pods.flatMap((pod) =>
    (pod.spec?.containers ?? []).map((c) => ({
      namespace: pod.metadata?.namespace ?? '',
      pod: pod.metadata?.name ?? '',
      container: c.name,
    })),
  )
  return pairs.map((pair) => ({ ...pair, prefix: pairs.length > 1 ? `[${pair.pod}/${pair.container}] ` : '' }))
}

const lines = (text: string) => text.split('\n').filter((line, at, all) => line !== '' || at < all.length - 1)

/**
 * The log lines of the instance's containers: the last `tail` of each, then with `follow` the
 * new ones as they come, until `signal` aborts or every stream ends (its pod is gone). A
 * container that has not started has no log yet and is left out.
 */
export async function* instanceLogs(
  cluster: Cluster,
  footprint: Footprint,
  appInstanceId: string,
  options: { tail: number; follow?: boolean; signal?: AbortSignal },
): AsyncIterable<string> {
  const { pods } = await workloadsOf(cluster, footprint, appInstanceId)
  const sources = sourcesOf(pods)
  if (!options.follow) {
    for (const s of sources) {
      const text = await cluster.core
        .readNamespacedPodLog({ name: s.pod, namespace: s.namespace, container: s.container, tailLines: options.tail })
        .catch((error: unknown) => {
          if (codeOf(error) === 400) return '' // not started yet
          throw clusterError(cluster, `reading the log of ${s.pod}/${s.container} in namespace ${s.namespace}`, error)
        })
      for (const line of lines(text)) yield `${s.prefix}${line}`
    }
    return
  }
  // every stream feeds one, which ends when they all have or the caller aborts
  const merged = new PassThrough({ objectMode: true })
  const aborts: AbortController[] = []
  let open = sources.length
  const ended = () => {
    if (--open <= 0) merged.end()
  }
  const stop = () => {
    for (const abort of aborts) abort.abort()
    merged.end()
  }
  options.signal?.addEventListener('abort', stop, { once: true })
  const log = new Log(cluster.config)
  for (const s of sources) {
    const stream = new PassThrough()
    createInterface({ input: stream })
      .on('line', (line) => merged.write(`${s.prefix}${line}`))
      .on('close', ended)
    try {
      aborts.push(await log.log(s.namespace, s.pod, s.container, stream, { follow: true, tailLines: options.tail }))
    } catch (error) {
      stream.end()
      if (codeOf(error) !== 400) {
        stop()
        throw new Error(
          `Kubernetes API at ${cluster.server}: following the log of ${s.pod}/${s.container} failed: ${(error as Error).message}`,
        )
      }
    }
  }
  if (!sources.length || options.signal?.aborted) stop()
  try {
    for await (const line of merged) yield line as string
  } finally {
    options.signal?.removeEventListener('abort', stop)
    for (const abort of aborts) abort.abort()
  }
}
