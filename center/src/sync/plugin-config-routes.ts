import { PluginConfig } from '@mecm/protocol'
import { ApiError, badRequest, conflict } from '@mecm/runtime'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import { HostPath, hostIn } from '../inventory/host-routes'
import type { SyncHub } from './hub'

const tag = 'edges: plugin credentials'
const base = '/inventory/v1/tenants/:tenantId/mechosts/:mechostIp'
/** EdgeGallery's limit for an uploaded config file. */
const MAX_CONFIG = 5 * 1024 * 1024

/** Reads a body of at most `max` bytes, whatever Content-Length claims. */
async function bodyOf(request: Request, max: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError(413, 'Content Too Large', `the config file is larger than ${max} bytes`)
  if (Number(request.headers.get('content-length') ?? 0) > max + 64 * 1024) throw tooLarge()
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of request.body ?? []) {
    size += chunk.length
    if (size > max + 64 * 1024) throw tooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks)
}

/** What is wrong with a kubeconfig, or undefined: it must name a cluster, a user and a current context. */
function kubeconfigProblem(text: string): string | undefined {
  let document: unknown
  try {
    document = parseYaml(text)
  } catch (error) {
    return `it is not valid YAML: ${(error as Error).message.split('\n')[0]}`
  }
  const config = (document ?? {}) as { kind?: unknown; clusters?: unknown; users?: unknown; contexts?: unknown }
  const names = (list: unknown) => (Array.isArray(list) ? list.map((entry) => entry?.name) : [])
  if (config.kind !== 'Config') return 'it is not a kubeconfig (kind: Config)'
  if (!names(config.clusters).length) return 'it names no cluster'
  if (!names(config.users).length) return 'it names no user'
  const current = (document as { 'current-context'?: unknown })['current-context']
  if (!names(config.contexts).includes(current))
    return `its current-context ${JSON.stringify(current ?? null)} is not one of its contexts`
  return undefined
}

/** An OpenStack RC file (export OS_AUTH_URL=…) or our JSON credentials must say where Keystone is. */
function openStackProblem(text: string): string | undefined {
  if (/^\s*(export\s+)?OS_AUTH_URL=\S/m.test(text)) return undefined
  try {
    if (typeof JSON.parse(text)?.authUrl === 'string') return undefined
  } catch {}
  return 'it is neither an OpenStack RC file with OS_AUTH_URL nor JSON credentials with authUrl'
}

/**
 * The credentials an edge's plugin uses: a kubeconfig, or OpenStack auth. Sealed at rest, sent to
 * the edge as a command, and kept there sealed with the edge's own key. Ours take the text as JSON;
 * EdgeGallery's config upload (`k8sconfig`, multipart `file`) takes a file for the host's own VIM.
 */
export function pluginConfigRoutes(api: Api, deps: { store: Store; hub: SyncHub }) {
  const { store, hub } = deps
  const configure = async (tenantId: string, ip: string, plugin: PluginConfig) => {
    const host = await hostIn(store, tenantId, ip)
    await hub.issue(host.hostId, { kind: 'plugin.configure', plugin })
  }

  api.add(
    {
      method: 'put',
      path: `${base}/plugins/:vim`,
      summary: "Set the credentials of an edge's plugin (kubeconfig, or OpenStack auth as JSON)",
      tag,
      access: 'write',
      params: HostPath.extend({ vim: PluginConfig.shape.vim }),
      body: z.object({ config: z.string().min(1).max(MAX_CONFIG) }),
      responses: { 204: { description: 'sealed, recorded and sent' } },
    },
    async ({ c, params, body }) => {
      await configure(params.tenantId, params.mechostIp, { vim: params.vim, config: body.config })
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/plugins/:vim`,
      summary: "Remove the credentials of an edge's plugin",
      tag,
      access: 'write',
      params: HostPath.extend({ vim: PluginConfig.shape.vim }),
      responses: { 204: { description: 'removed at the center and sent' } },
    },
    async ({ c, params }) => {
      await configure(params.tenantId, params.mechostIp, { vim: params.vim, config: null })
      return c.body(null, 204)
    },
  )

  /** The plugin of the host's own VIM; an exec host has no credentials to take. */
  const pluginOf = async (tenantId: string, ip: string) => {
    const host = await hostIn(store, tenantId, ip)
    if (host.vim === 'exec') throw conflict(`host ${ip} runs apps with the exec plugin, which takes no config file`)
    return host.vim
  }

  api.add(
    {
      method: 'post',
      path: `${base}/k8sconfig`,
      summary: "Upload the host's kubeconfig, or its OpenStack RC file (EdgeGallery; multipart: file)",
      tag,
      access: 'write',
      params: HostPath,
      upload: 'multipart/form-data',
      responses: {
        200: { description: 'sealed, recorded and sent' },
        400: { description: 'no file, or not a config for the host' },
        409: { description: 'the host takes no config' },
        413: { description: 'larger than 5 MiB' },
      },
    },
    async ({ c, params }) => {
      const vim = await pluginOf(params.tenantId, params.mechostIp)
      const type = c.req.header('content-type') ?? ''
      if (!type.startsWith('multipart/form-data'))
        throw badRequest('send the config as multipart/form-data, part "file"')
      const raw = await bodyOf(c.req.raw, MAX_CONFIG)
      let file: ReturnType<FormData['get']>
      try {
        file = (await new Response(raw, { headers: { 'content-type': type } }).formData()).get('file')
      } catch (error) {
        throw badRequest(`the multipart body is malformed: ${(error as Error).message}`)
      }
      if (!file || typeof file === 'string') throw badRequest('the upload has no "file" part')
      if (file.size > MAX_CONFIG)
        throw new ApiError(413, 'Content Too Large', `the config file is larger than ${MAX_CONFIG} bytes`)
      const config = await file.text()
      const problem = vim === 'kubernetes' ? kubeconfigProblem(config) : openStackProblem(config)
      if (problem)
        throw badRequest(`${file.name || 'the file'} is not usable for ${vim} host ${params.mechostIp}: ${problem}`)
      await configure(params.tenantId, params.mechostIp, { vim, config })
      return c.json({ hostIp: params.mechostIp, vim, configUploadStatus: 'Uploaded' })
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/k8sconfig`,
      summary: "Remove the host's uploaded config (EdgeGallery)",
      tag,
      access: 'write',
      params: HostPath,
      responses: { 200: { description: 'removed at the center and sent' } },
    },
    async ({ c, params }) => {
      const vim = await pluginOf(params.tenantId, params.mechostIp)
      await configure(params.tenantId, params.mechostIp, { vim, config: null })
      return c.json({ hostIp: params.mechostIp, vim, configUploadStatus: 'Deleted' })
    },
  )
}
