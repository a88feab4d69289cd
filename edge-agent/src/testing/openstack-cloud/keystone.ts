import { randomBytes } from 'node:crypto'
import { asRecord, route, type Service } from './http'
import { type CloudState, ServiceError } from './state'

export interface Credentials {
  username: string
  password: string
  projectName: string
  domainName: string
  applicationCredentialId: string
  applicationCredentialSecret: string
}

interface Token {
  expiresAt: number
  revoked: boolean
  applicationCredentialId?: string
}

const UNAUTHORIZED = 'The request you have made requires authentication.'

/** The catalog's services: type, name and where each lives below the cloud's base URL. */
function catalogServices(projectId: string) {
  return [
    { type: 'identity', name: 'keystone', path: '/identity' },
    { type: 'image', name: 'glance', path: '/image' },
    { type: 'compute', name: 'nova', path: '/compute/v2.1' },
    { type: 'network', name: 'neutron', path: '/networking' },
    { type: 'volumev3', name: 'cinderv3', path: `/volume/v3/${projectId}` },
    { type: 'orchestration', name: 'heat', path: `/heat-api/v1/${projectId}` },
  ]
}

/**
 * Keystone v3 (Identity API v3, "Password authentication with scoped authorization" and
 * "Authenticating with an Application Credential"): POST /v3/auth/tokens answers 201 with the
 * token in X-Subject-Token and the token body (expires_at, project, catalog) in the response.
 */
export function keystone(state: CloudState, credentials: Credentials, options: { tokenTtlMs: number }) {
  const tokens = new Map<string, Token>()
  const revokedCredentials = new Set<string>()
  let issued = 0

  const unauthorized = () => new ServiceError(401, 'Unauthorized', UNAUTHORIZED)
  const named = (value: unknown) => asRecord(value).name ?? asRecord(value).id

  function authenticate(identity: Record<string, unknown>, scope: Record<string, unknown>): Token {
    const methods = Array.isArray(identity.methods) ? identity.methods : []
    if (methods.includes('application_credential')) {
      const credential = asRecord(identity.application_credential)
      if (
        credential.id !== credentials.applicationCredentialId ||
        credential.secret !== credentials.applicationCredentialSecret ||
        revokedCredentials.has(credentials.applicationCredentialId)
      )
        throw unauthorized()
      return {
        expiresAt: Date.now() + options.tokenTtlMs,
        revoked: false,
        applicationCredentialId: String(credential.id),
      }
    }
    if (!methods.includes('password'))
      throw new ServiceError(400, 'ValidationError', 'Expecting to find identity methods')
    const user = asRecord(asRecord(identity.password).user)
    const project = asRecord(scope.project)
    if (
      user.name !== credentials.username ||
      user.password !== credentials.password ||
      ![credentials.domainName, 'default'].includes(String(named(user.domain)))
    )
      throw unauthorized()
    if (project.name !== credentials.projectName && project.id !== state.projectId) throw unauthorized()
    return { expiresAt: Date.now() + options.tokenTtlMs, revoked: false }
  }

  function tokenBody(token: Token, base: string) {
    return {
      token: {
        methods: [token.applicationCredentialId ? 'application_credential' : 'password'],
        user: { id: state.userId, name: credentials.username, domain: { id: 'default', name: credentials.domainName } },
        project: {
          id: state.projectId,
          name: credentials.projectName,
          domain: { id: 'default', name: credentials.domainName },
        },
        roles: [{ id: 'member', name: 'member' }],
        is_domain: false,
        audit_ids: [randomBytes(16).toString('base64url')],
        issued_at: state.now(),
        expires_at: new Date(token.expiresAt).toISOString().replace('Z', '000Z'),
        catalog: catalogServices(state.projectId).map((service) => ({
          id: service.name,
          type: service.type,
          name: service.name,
          endpoints: ['public', 'internal'].map((face) => ({
            id: `${service.name}-${face}`,
            interface: face,
            region: 'RegionOne',
            region_id: 'RegionOne',
            url: `${base}${service.path}`,
          })),
        })),
      },
    }
  }

  const service: Service = {
    prefix: '/identity',
    open: (method, path) => (method === 'POST' && path === '/v3/auth/tokens') || (method === 'GET' && path === '/v3'),
    errorBody: (error) => ({ error: { code: error.status, message: error.message, title: error.type } }),
    routes: [
      route('POST', '/v3/auth/tokens', async (request) => {
        const auth = asRecord((await request.json()).auth)
        const token = authenticate(asRecord(auth.identity), asRecord(auth.scope))
        const id = randomBytes(24).toString('base64url')
        tokens.set(id, token)
        issued++
        return { status: 201, headers: { 'x-subject-token': id }, body: tokenBody(token, request.base) }
      }),
      route('GET', '/v3', (request) => ({
        status: 200,
        body: {
          version: { id: 'v3.14', status: 'stable', links: [{ rel: 'self', href: `${request.base}/identity/v3/` }] },
        },
      })),
    ],
  }

  return {
    service,
    /** Whether a token may be used now: known, unexpired, not revoked. */
    valid(id: string | undefined): boolean {
      const token = id ? tokens.get(id) : undefined
      return Boolean(token && !token.revoked && token.expiresAt > Date.now())
    },
    /** Every token issued so far expires now: the next call with one gets 401. */
    expireTokens(): void {
      for (const token of tokens.values()) token.expiresAt = Date.now() - 1
    },
    /** The application credential is deleted: its tokens are revoked and it cannot authenticate again. */
    revokeApplicationCredential(): void {
      revokedCredentials.add(credentials.applicationCredentialId)
      for (const token of tokens.values()) if (token.applicationCredentialId) token.revoked = true
    },
    tokensIssued: () => issued,
  }
}
