import type { Dispatcher } from 'undici'
import type { OpenStackConfig } from './config'
import { type CallOptions, call, type Endpoint, OpenStackError, type Reply } from './request'

/** The catalog's service types this client talks to, and their names for people. */
const SERVICES = {
  compute: 'Nova',
  image: 'Glance',
  network: 'Neutron',
  orchestration: 'Heat',
  volumev3: 'Cinder',
} as const
export type ServiceType = keyof typeof SERVICES

interface CatalogEntry {
  type: string
  endpoints: { interface: string; region?: string; region_id?: string; url: string }[]
}

interface Token {
  id: string
  expiresAt: number
  catalog: CatalogEntry[]
}

/** Re-authenticate this long before a token expires, so no call starts with a dying token. */
const MARGIN_MS = 60_000

function identity(config: OpenStackConfig) {
  if ('applicationCredentialId' in config) {
    return {
      identity: {
        methods: ['application_credential'],
        application_credential: { id: config.applicationCredentialId, secret: config.applicationCredentialSecret },
      },
    }
  }
  const domain = (name?: string, id?: string) => (name ? { name } : { id: id ?? 'default' })
  return {
    identity: {
      methods: ['password'],
      password: {
        user: {
          name: config.username,
          password: config.password,
          domain: domain(config.userDomainName, config.userDomainId),
        },
      },
    },
    scope: {
      project: config.projectId
        ? { id: config.projectId }
        : { name: config.projectName, domain: domain(config.projectDomainName, config.projectDomainId) },
    },
  }
}

/**
 * A Keystone v3 session: a project-scoped token with its service catalog, taken with a password
 * or an application credential, cached until shortly before it expires, and taken again once when
 * a service answers 401 (a token revoked or expired early).
 */
export function keystoneSession(config: OpenStackConfig, dispatcher: Dispatcher) {
  const keystone: Endpoint = { service: 'Keystone', url: config.authUrl.replace(/\/+$/, '').replace(/\/v3$/, '') }
  let cached: Token | undefined
  /** The authentication under way: concurrent callers share it. */
  let pending: Promise<Token> | undefined

  async function authenticate(): Promise<Token> {
    let reply: Reply
    try {
      reply = await call(dispatcher, keystone, 'POST', '/v3/auth/tokens', { body: { auth: identity(config) } })
    } catch (error) {
      if (error instanceof OpenStackError && error.status === 401) {
        const who =
          'applicationCredentialId' in config
            ? `application credential ${config.applicationCredentialId} (expired, revoked or deleted?)`
            : `user ${config.username} in project ${config.projectName ?? config.projectId}`
        throw new OpenStackError(`${error.message}: Keystone refused ${who}`, 401)
      }
      throw error
    }
    const id = reply.headers['x-subject-token']
    const token = (reply.body as { token?: { expires_at?: string; catalog?: CatalogEntry[] } }).token
    if (typeof id !== 'string' || !token?.expires_at)
      throw new OpenStackError(`Keystone at ${keystone.url}: answered without a token (POST /v3/auth/tokens)`)
    if (!token.catalog?.length)
      throw new OpenStackError(
        `Keystone at ${keystone.url}: the token has no service catalog; is it scoped to a project?`,
      )
    return { id, expiresAt: Date.parse(token.expires_at), catalog: token.catalog }
  }

  async function token(): Promise<Token> {
    if (cached && cached.expiresAt - MARGIN_MS > Date.now()) return cached
    pending ??= authenticate()
      .then((taken) => {
        cached = taken
        return taken
      })
      .finally(() => {
        pending = undefined
      })
    return pending
  }

  function endpoint(catalog: CatalogEntry[], type: ServiceType): Endpoint {
    const entry = catalog.find((item) => item.type === type || (type === 'volumev3' && item.type === 'block-storage'))
    const found = entry?.endpoints.find(
      (candidate) =>
        candidate.interface === config.interface &&
        (!config.region || candidate.region === config.region || candidate.region_id === config.region),
    )
    if (!found)
      throw new OpenStackError(
        `the service catalog from Keystone at ${keystone.url} has no ${type} endpoint (interface ${config.interface}${config.region ? `, region ${config.region}` : ''})`,
        404,
      )
    // Glance and Neutron paths carry their version (/v2/images, /v2.0/networks); some catalogs do too
    const url = type === 'image' || type === 'network' ? found.url.replace(/\/v2(\.\d+)?\/?$/, '') : found.url
    return { service: SERVICES[type], url }
  }

  return {
    /** Whether the catalog has the service (Cinder is optional). */
    async has(type: ServiceType): Promise<boolean> {
      const { catalog } = await token()
      return catalog.some((item) => item.type === type)
    },

    /** A call to a service of the catalog with the session's token; a 401 takes a new token and tries once more. */
    async request(type: ServiceType, method: Dispatcher.HttpMethod, path: string, options: CallOptions = {}) {
      const attempt = async () => {
        const { id, catalog } = await token()
        return call(dispatcher, endpoint(catalog, type), method, path, { ...options, token: id })
      }
      try {
        return await attempt()
      } catch (error) {
        // a stream is read once: an upload cannot be replayed
        if (!(error instanceof OpenStackError) || error.status !== 401 || options.stream) throw error
        cached = undefined
        return attempt()
      }
    },
  }
}
export type KeystoneSession = ReturnType<typeof keystoneSession>
