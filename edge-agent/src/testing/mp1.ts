import { authorization, sdkDate } from '../mep/signature'

/** An app's view of the MEP for tests: a token got by signing with its AK/SK, then bearer calls. */
export function mp1Client(agentUrl: string, credentials: { ak: string; sk: string }) {
  let token: string | undefined
  /** Asks for a token with a signed request; resolves to the raw answer. */
  async function requestToken(options: { sk?: string; date?: Date } = {}) {
    const url = new URL('/mep/token', agentUrl)
    const headers = { host: url.host, 'x-sdk-date': sdkDate(options.date) }
    const signed = authorization(credentials.ak, options.sk ?? credentials.sk, {
      method: 'POST',
      url: url.pathname,
      headers,
      body: '',
    })
    const response = await fetch(url, { method: 'POST', headers: { ...headers, authorization: signed } })
    return { status: response.status, body: (await response.json()) as Record<string, unknown> }
  }
  return {
    requestToken,
    /** Signs in once (a token kept for the next calls). */
    async token(): Promise<string> {
      if (token) return token
      const answer = await requestToken()
      if (answer.status !== 200) throw new Error(`no token: ${JSON.stringify(answer.body)}`)
      token = answer.body.access_token as string
      return token
    },
    async call(method: string, path: string, body?: unknown) {
      const response = await fetch(new URL(path, agentUrl), {
        method,
        headers: { authorization: `Bearer ${await this.token()}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await response.text()
      // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field
      return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : undefined) as any }
    },
  }
}
