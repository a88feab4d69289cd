import { ApiException } from '@kubernetes/client-node'
import type { Cluster } from './cluster'

interface Status {
  message?: string
  reason?: string
}

const NETWORK = ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN']

function statusOf(error: ApiException<unknown>): Status {
  const body = error.body
  if (typeof body === 'object' && body !== null) return body as Status
  try {
    return JSON.parse(String(body)) as Status
  } catch {
    return { message: String(body ?? '') }
  }
}

/** The HTTP status code of a failed API call, if the API answered. */
export const codeOf = (error: unknown) => (error instanceof ApiException ? error.code : undefined)

const networkCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown }).code ?? (error as { cause?: { code?: unknown } }).cause?.code
  return typeof code === 'string' && NETWORK.includes(code) ? code : undefined
}

/** `deployments.apps`: the resource of a kind, guessed as Kubernetes' own UnsafeGuessKindToResource does. */
export function resourceOf(apiVersion: string, kind: string): string {
  const lower = kind.toLowerCase()
  const plural = lower.endsWith('s') ? `${lower}es` : lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : ''
  return group ? `${plural}.${group}` : plural
}

/** `deployments.apps "web" in namespace mecm-…`: an object as error messages name it. */
export function describeObject(object: {
  apiVersion?: string
  kind?: string
  metadata?: { name?: string; namespace?: string }
}) {
  const where = object.metadata?.namespace ? ` in namespace ${object.metadata.namespace}` : ''
  return `${resourceOf(object.apiVersion ?? 'v1', object.kind ?? '')} "${object.metadata?.name ?? ''}"${where}`
}

/**
 * A backend failure as an operation error that says what happened and where: which API server,
 * what the plugin was doing, and what the API answered (or that it did not answer at all).
 */
export function clusterError(cluster: Pick<Cluster, 'server'>, doing: string, error: unknown): Error {
  const where = `Kubernetes API at ${cluster.server}`
  if (error instanceof ApiException) {
    const status = statusOf(error)
    const message = status.message || error.message
    if (error.code === 401)
      return new Error(
        `${where}: 401 Unauthorized while ${doing}: the kubeconfig's credentials were rejected (expired or revoked token); upload a fresh kubeconfig at the center or set MEPM_KUBECONFIG`,
      )
    if (error.code === 403 && /exceeded quota/.test(message))
      return new Error(
        `${where}: 403 Forbidden while ${doing}: ${message} (a ResourceQuota of the namespace is used up)`,
      )
    return new Error(`${where}: ${error.code}${status.reason ? ` ${status.reason}` : ''} while ${doing}: ${message}`)
  }
  const network = networkCode(error)
  if (network) return new Error(`${where} is unreachable (${network}) while ${doing}`)
  return new Error(`${where}: ${doing} failed: ${(error as Error).message}`)
}

/** Runs one API call, turning its failure into an error that names the cluster and the step. */
export async function calling<T>(cluster: Pick<Cluster, 'server'>, doing: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw clusterError(cluster, doing, error)
  }
}

/** The same, where a 404 means "not there" rather than a failure. */
export async function unlessAbsent<T>(cluster: Pick<Cluster, 'server'>, doing: string, call: () => Promise<T>) {
  try {
    return await call()
  } catch (error) {
    if (codeOf(error) === 404) return undefined
    throw clusterError(cluster, doing, error)
  }
}
