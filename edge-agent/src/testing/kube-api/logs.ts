import type { ServerResponse } from 'node:http'
import { typeOfKind } from './resources'
import { badRequest, notFound } from './status'
import type { KubeObject, ObjectStore } from './store'

const pods = typeOfKind('Pod')

interface ContainerStatus {
  name: string
  state?: { waiting?: { reason?: string } }
}

/**
 * What the containers write: lines kept per pod and container, served by
 * GET /api/v1/namespaces/{ns}/pods/{name}/log (container, tailLines, follow).
 */
export function podLogs(store: ObjectStore) {
  const lines = new Map<string, string[]>()
  const followers = new Map<string, Set<(line: string) => void>>()
  const key = (uid: string, container: string) => `${uid}/${container}`

  // a deleted pod's logs go with it, and its followers' streams end
  const unsubscribe = store.subscribe((change) => {
    if (change.type !== 'DELETED' || change.resource !== pods) return
    for (const k of [...lines.keys()].filter((k) => k.startsWith(`${change.object.metadata.uid}/`))) {
      lines.delete(k)
      for (const end of followers.get(k) ?? []) end('')
      followers.delete(k)
    }
  })

  function write(pod: KubeObject, container: string, line: string) {
    const k = key(pod.metadata.uid, container)
    lines.set(k, [...(lines.get(k) ?? []), line])
    for (const follower of followers.get(k) ?? []) follower(`${line}\n`)
  }

  /** The container a request means: named, or the pod's only one. */
  function containerOf(pod: KubeObject, named: string | null): string {
    const names = (pod.spec.containers as Array<{ name: string }>).map((c) => c.name)
    if (named) {
      if (!names.includes(named)) throw badRequest(`container ${named} is not valid for pod ${pod.metadata.name}`)
      return named
    }
    if (names.length !== 1)
      throw badRequest(
        `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
      )
    return names[0] as string
  }

  return {
    write,

    /** A container's first lines, written when it starts. */
    started(pod: KubeObject, container: string) {
      write(pod, container, `${container} started in pod ${pod.metadata.name}`)
    },

    serve(namespace: string, name: string, query: URLSearchParams, response: ServerResponse) {
      const pod = store.get(pods, namespace, name)
      if (!pod) throw notFound(pods, name)
      const container = containerOf(pod, query.get('container'))
      const statuses = pod.status?.containerStatuses as ContainerStatus[] | undefined
      const status = statuses?.find((s) => s.name === container)
      if (!status || status.state?.waiting) {
        const reason = status?.state?.waiting?.reason
        throw badRequest(
          `container "${container}" in pod "${name}" is waiting to start: ${reason === 'ErrImagePull' || reason === 'ImagePullBackOff' ? 'trying and failing to pull image' : 'ContainerCreating'}`,
        )
      }
      const k = key(pod.metadata.uid, container)
      const tail = query.get('tailLines')
      const all = lines.get(k) ?? []
      const shown = tail === null ? all : all.slice(Math.max(all.length - Number(tail), 0))
      response.writeHead(200, { 'content-type': 'text/plain' })
      response.flushHeaders()
      response.write(shown.map((line) => `${line}\n`).join(''))
      if (query.get('follow') !== 'true') {
        response.end()
        return
      }
      const follower = (chunk: string) => (chunk ? response.write(chunk) : response.end())
      const set = followers.get(k) ?? new Set()
      followers.set(k, set)
      set.add(follower)
      response.on('close', () => set.delete(follower))
    },

    close: unsubscribe,
  }
}
