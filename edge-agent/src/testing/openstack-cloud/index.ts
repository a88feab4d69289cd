import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cinder } from './cinder'
import { glance } from './glance'
import { heat } from './heat'
import { type CloudRequest, readJson, type Service } from './http'
import { keystone } from './keystone'
import { neutron } from './neutron'
import { nova } from './nova'
import { CloudState, type CloudTimings, type Quota, ServiceError } from './state'

export interface OpenStackCloudOptions {
  /** Which credentials `config` carries: a password (default) or an application credential. */
  auth?: 'password' | 'application-credential'
  quota?: Partial<Quota>
  timings?: Partial<CloudTimings>
  /** How long a token lives (Keystone's default is an hour). */
  tokenTtlMs?: number
  /** What GET /v2/info/import offers; without web-download, images must be uploaded. */
  importMethods?: string[]
}

export type OpenStackCloud = Awaited<ReturnType<typeof openStackCloud>>

function send(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body)
  response.writeHead(status, { ...headers, ...(text ? { 'content-type': 'application/json' } : {}) })
  response.end(text)
}

/**
 * A small OpenStack on 127.0.0.1 for tests: Keystone, Glance, Nova, Neutron, Cinder (limits and
 * volumes) and Heat behind one port, laid out like devstack (/identity, /image, /compute/v2.1,
 * /networking, /volume/v3/{project}, /heat-api/v1/{project}), speaking each API's wire format.
 * Every service but token issue wants a valid X-Auth-Token. Faults: expired and revoked
 * credentials, failing images, servers stuck in BUILD, quotas, the whole API unreachable.
 */
export async function openStackCloud(options: OpenStackCloudOptions = {}) {
  const state = new CloudState(
    { cores: 20, ramMiB: 51200, instances: 10, volumeGigabytes: 1000, ...options.quota },
    { serverMs: 30, importMs: 20, stackStepMs: 5, ...options.timings },
  )
  const credentials = {
    username: 'mecm',
    password: 'secret-password',
    projectName: 'edge',
    domainName: 'Default',
    applicationCredentialId: state.id().replaceAll('-', ''),
    applicationCredentialSecret: 'application-secret',
  }
  const identity = keystone(state, credentials, { tokenTtlMs: options.tokenTtlMs ?? 3600_000 })
  const network = neutron(state)
  const compute = nova(state, network)
  const volumes = cinder(state)
  const services: Service[] = [
    identity.service,
    glance(state, { importMethods: options.importMethods ?? ['glance-direct', 'web-download'] }).service,
    compute.service,
    network.service,
    volumes.service,
    heat(state, { nova: compute, neutron: network, cinder: volumes }).service,
  ]
  let base = ''

  async function handle(message: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(message.url ?? '/', base)
    const service = services.find((s) => url.pathname === s.prefix || url.pathname.startsWith(`${s.prefix}/`))
    if (!service) return send(response, 404, { message: `nothing at ${url.pathname}` })
    const method = message.method ?? 'GET'
    const path = url.pathname.slice(service.prefix.length) || '/'
    const token = message.headers['x-auth-token']
    if (!service.open?.(method, path) && !identity.valid(typeof token === 'string' ? token : undefined)) {
      // keystonemiddleware's answer, the same for every service
      return send(
        response,
        401,
        { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
        { 'www-authenticate': `Keystone uri="${base}/identity"` },
      )
    }
    try {
      for (const candidate of service.routes) {
        const match = candidate.method === method ? path.match(candidate.pattern) : null
        if (!match) continue
        const request: CloudRequest = {
          method,
          path,
          params: Object.fromEntries(
            candidate.keys.map((key, index) => [key, decodeURIComponent(match[index + 1] ?? '')]),
          ),
          query: url.searchParams,
          headers: message.headers,
          base,
          stream: message,
          json: () => readJson(message),
        }
        const reply = await candidate.handler(request)
        return send(response, reply.status, reply.body, reply.headers)
      }
      throw new ServiceError(404, 'NotFound', `The resource could not be found: ${method} ${url.pathname}`)
    } catch (error) {
      const failure = error instanceof ServiceError ? error : new ServiceError(500, 'InternalError', String(error))
      send(response, failure.status, service.errorBody(failure))
    }
  }

  const server = createServer((message, response) => void handle(message, response))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  const { port } = server.address() as AddressInfo
  base = `http://127.0.0.1:${port}`
  const authUrl = `${base}/identity/v3`
  const common = { authUrl, region: 'RegionOne', interface: 'public' }
  const config = JSON.stringify(
    options.auth === 'application-credential'
      ? {
          ...common,
          applicationCredentialId: credentials.applicationCredentialId,
          applicationCredentialSecret: credentials.applicationCredentialSecret,
        }
      : {
          ...common,
          username: credentials.username,
          password: credentials.password,
          userDomainName: credentials.domainName,
          projectName: credentials.projectName,
          projectDomainName: credentials.domainName,
        },
  )
  let reachable = true

  return {
    authUrl,
    /** The JSON credentials the plugin takes. */
    config,
    /** The same password credentials as an OpenStack RC file, as EdgeGallery uploads them. */
    rcFile: [
      `export OS_AUTH_URL=${authUrl}`,
      `export OS_USERNAME="${credentials.username}"`,
      `export OS_PASSWORD="${credentials.password}"`,
      `export OS_PROJECT_NAME="${credentials.projectName}"`,
      `export OS_PROJECT_DOMAIN_NAME="${credentials.domainName}"`,
      `export OS_USER_DOMAIN_NAME="${credentials.domainName}"`,
      'export OS_REGION_NAME=RegionOne',
      '',
    ].join('\n'),
    state,
    faults: state.faults,
    /** Every token issued so far expires now. */
    expireTokens: identity.expireTokens,
    /** The application credential is deleted: its tokens stop working and it cannot sign in again. */
    revokeApplicationCredential: identity.revokeApplicationCredential,
    tokensIssued: identity.tokensIssued,
    setQuota(quota: Partial<Quota>): void {
      Object.assign(state.quota, quota)
    },
    /** Adds a line to a server's console, as the VM would print it. */
    printOnConsole(serverId: string, line: string): void {
      state.servers.get(serverId)?.console.push(line)
    },
    /** Stops listening (connections are refused) or listens again on the same port. */
    async setReachable(on: boolean): Promise<void> {
      if (on === reachable) return
      reachable = on
      if (on) await new Promise<void>((done) => server.listen(port, '127.0.0.1', done))
      else {
        const closed = new Promise((done) => server.close(done))
        server.closeAllConnections()
        await closed
      }
    },
    inventory: () => state.inventory(),
    async close(): Promise<void> {
      state.stopTimers()
      if (!reachable) return
      const closed = new Promise((done) => server.close(done))
      server.closeAllConnections()
      await closed
    },
  }
}
