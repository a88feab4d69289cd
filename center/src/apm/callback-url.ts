import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { badRequest } from '@mecm/runtime'

/** Loopback, link-local (cloud metadata lives there), unspecified and multicast addresses. */
function isInternal(address: string): boolean {
  if (isIP(address) === 4) {
    const [a = 0, b = 0] = address.split('.').map(Number)
    return a === 127 || a === 0 || (a === 169 && b === 254) || a >= 224
  }
  const v6 = address.toLowerCase()
  if (v6.startsWith('::ffff:')) return isInternal(v6.slice(7))
  return v6 === '::1' || v6 === '::' || v6.startsWith('fe80:') || v6.startsWith('ff')
}

/**
 * A subscriber's callback must be an http(s) URL whose host does not resolve to this machine, a
 * link-local or metadata address: a tenant must not make the center call its own internals.
 * Private networks stay allowed (subscribers usually live there). Tests and single-machine setups
 * set MECM_CALLBACK_ALLOW_LOOPBACK=true.
 */
export async function checkCallbackUrl(url: string, allowLoopback: boolean): Promise<void> {
  const parsed = new URL(url)
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw badRequest('callbackUri must be an http(s) URL')
  if (allowLoopback) return
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  const addresses = isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address)
  if (!addresses.length) throw badRequest(`callbackUri: ${host} does not resolve`)
  const internal = addresses.find(isInternal)
  if (internal) throw badRequest(`callbackUri: ${host} resolves to ${internal}, a loopback or link-local address`)
}
