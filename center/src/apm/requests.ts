import type { IncomingMessage } from 'node:http'
import { Readable } from 'node:stream'
import { ApiError, badRequest, notFound } from '@mecm/runtime'
import type { Context } from 'hono'
import type { Store } from '../db/store'
import type { StoredPackage } from './package-store'

/** The request body as a Node stream: the raw socket stream on the Node server, else the web body. */
export function requestStream(c: Context): Readable {
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming
  if (incoming) return incoming
  if (!c.req.raw.body) throw badRequest('the request has no body')
  return Readable.fromWeb(c.req.raw.body as import('node:stream/web').ReadableStream)
}

/** Refuses a body whose declared length is over `limit` before reading any of it. */
export function refuseOversized(c: Context, limit: number): void {
  if (Number(c.req.header('content-length') ?? 0) > limit) {
    throw new ApiError(413, 'Content Too Large', `the upload is larger than the ${limit}-byte limit`, undefined, {
      connection: 'close',
    })
  }
}

/** A package of the tenant by our 32-hex id or EdgeGallery's 64-hex appId+packageId; 404 otherwise. */
export async function packageIn(store: Store, tenantId: string, id: string): Promise<StoredPackage> {
  const appPkgId = id.length === 64 ? id.slice(32) : id
  const found = await store.packages.get(tenantId, appPkgId)
  if (!found || (id.length === 64 && found.pkg.appId !== id.slice(0, 32))) {
    throw notFound(`package ${id} not found in tenant ${tenantId}`)
  }
  return found
}

/**
 * Content may be fetched only from a registered app store (EdgeGallery's rule), which keeps the
 * center from being pointed at arbitrary internal addresses.
 */
export async function checkPackageUrl(store: Store, url: string): Promise<void> {
  const parsed = URL.canParse(url) ? new URL(url) : undefined
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw badRequest(`appPkgPath must be an http(s) URL, not ${url}`)
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, '')
  const stores = await store.appStores.list()
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80))
  if (!stores.some((s) => s.appstoreIp === host && Number(s.appstorePort) === port)) {
    throw badRequest(`${parsed.host} is not a registered app store: register it under /inventory/v1/appstores first`)
  }
}
