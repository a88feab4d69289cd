// A small Mp1 client for apps the edge agent runs: it signs in to the local MEP with the app's
// AK/SK (EdgeGallery's SDK-HMAC-SHA256 request signing) and calls the MEC 011 APIs with the
// token it gets. The agent gives every app MECM_MEP_ADDRESS, MECM_AK, MECM_SK and
// MECM_APP_INSTANCE_ID in its environment. Plain Node, no dependencies.
const { createHash, createHmac } = require('node:crypto')

const sha256 = (data) => createHash('sha256').update(data).digest('hex')
const sdkDate = () =>
  new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')

function signedHeaders(method, url, ak, sk) {
  const headers = { host: url.host, 'x-sdk-date': sdkDate() }
  const names = ['host', 'x-sdk-date']
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`
  const canonical = [method, path, '', names.map((n) => `${n}:${headers[n]}\n`).join(''), names.join(';'), sha256('')]
  const toSign = ['SDK-HMAC-SHA256', headers['x-sdk-date'], sha256(canonical.join('\n'))].join('\n')
  const signature = createHmac('sha256', sk).update(toSign).digest('hex')
  return {
    ...headers,
    authorization: `SDK-HMAC-SHA256 Access=${ak}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  }
}

function mp1(env = process.env) {
  const base = env.MECM_MEP_ADDRESS
  const app = env.MECM_APP_INSTANCE_ID
  if (!base || !env.MECM_AK || !env.MECM_SK || !app)
    throw new Error('not run by an MECM edge agent: no MEP address or AK/SK')
  let token

  async function signIn() {
    const url = new URL('/mep/token', base)
    const response = await fetch(url, { method: 'POST', headers: signedHeaders('POST', url, env.MECM_AK, env.MECM_SK) })
    const body = await response.json()
    if (!response.ok) throw new Error(`the MEP refused a token: ${response.status} ${body.detail}`)
    token = body.access_token
  }

  /** An Mp1 call; signs in first, and again once when the token has expired. */
  async function call(method, path, body, again = true) {
    if (!token) await signIn()
    const response = await fetch(new URL(path, base), {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    if (response.status === 401 && again) {
      token = undefined
      return call(method, path, body, false)
    }
    const text = await response.text()
    const answer = text ? JSON.parse(text) : undefined
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${answer?.detail ?? text}`)
    return answer
  }

  const services = `/mec_service_mgmt/v1/applications/${app}/services`
  return {
    app,
    call,
    register: (service) => call('POST', services, service),
    ownServices: () => call('GET', services),
    deregister: (serInstanceId) => call('DELETE', `${services}/${serInstanceId}`),
    discover: (serName) => call('GET', `/mec_service_mgmt/v1/services?ser_name=${encodeURIComponent(serName)}`),
    confirmReady: () => call('POST', `/mec_app_support/v1/applications/${app}/confirm_ready`, { indication: 'READY' }),
  }
}

/** Tries `work` until it succeeds, waiting longer each time (the MEP may not answer yet). */
async function retrying(what, work) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      const wait = Math.min(10_000, 250 * 2 ** attempt)
      console.error(`${what} failed (${error.message}); trying again in ${wait} ms`)
      await new Promise((resolve) => setTimeout(resolve, wait))
    }
  }
}

module.exports = { mp1, retrying }
