import type { Readable } from 'node:stream'
import { AppPackage, IpAddress, Sha256, TenantId } from '@mecm/protocol'
import { badRequest, conflict, invalid, notFound } from '@mecm/runtime'
import busboy from 'busboy'
import { z } from 'zod'
import type { Store } from '../db/store'
import { Page, PageQuery } from '../http/paging'
import type { Api } from '../http/route'
import type { BlobStore } from './blob-store'
import { blobResponse, contentResponses } from './download'
import type { Onboarding } from './onboarding'
import type { StoredPackage } from './package-store'
import { checkPackageUrl, packageIn, refuseOversized, requestStream } from './requests'

const tag = 'apm: packages (EdgeGallery)'
const base = '/apm/v1/tenants/:tenantId/packages'
const Tenant = z.object({ tenantId: TenantId })
const PackagePath = Tenant.extend({
  packageId: z
    .string()
    .regex(/^[0-9a-f]{32}([0-9a-f]{32})?$/, 'must be a 32-hex packageId or a 64-hex appId+packageId'),
})
const Name = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\p{L}\d][\p{L}\d_.-]*$/u, 'must be letters, digits, "_", "-", "."')
const Version = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\w.+-]+$/, 'must be letters, digits, "_", ".", "+", "-"')

/** EdgeGallery's answer carries its 64-hex key and both halves beside our record. */
const withKeys = (pkg: AppPackage) => ({ ...pkg, appPackageId: pkg.appId + pkg.appPkgId, packageId: pkg.appPkgId })
const PackageView = z.object({ appPackageId: z.string(), packageId: z.string() }).and(AppPackage)

const UploadFields = z.object({
  appPackageName: Name,
  appPackageVersion: Version,
  hostList: z
    .string()
    .max(64 * 1024)
    .default('')
    .transform((list) =>
      list
        .split(',')
        .map((ip) => ip.trim())
        .filter(Boolean),
    )
    .pipe(z.array(IpAddress)),
})

async function hostsOf(store: Store, tenantId: string, ips: string[]): Promise<string[]> {
  for (const ip of ips) {
    if (!(await store.hosts.get(tenantId, ip))) throw badRequest(`host ${ip} is not registered in tenant ${tenantId}`)
  }
  return [...new Set(ips)]
}

/**
 * Reads a multipart upload: the `file` part streams into the blob store, the other parts are
 * fields. A client that goes away, or a body that breaks off, leaves nothing behind.
 */
function readUpload(c: Parameters<Parameters<Api['add']>[1]>[0]['c'], onboarding: Onboarding) {
  type Upload = {
    fields: Record<string, string>
    blob: { digest: string; size: number } | undefined
    filename?: string
  }
  return new Promise<Upload>((resolve, reject) => {
    let parser: busboy.Busboy
    try {
      parser = busboy({
        headers: Object.fromEntries(c.req.raw.headers),
        limits: { fields: 20, fieldSize: 64 * 1024, files: 1 },
      })
    } catch {
      reject(badRequest('the upload must be multipart/form-data with a "file" part'))
      return
    }
    const request = requestStream(c)
    const fields: Record<string, string> = {}
    let received: Promise<{ digest: string; size: number }> | undefined
    let file: Readable | undefined
    let filename: string | undefined
    const fail = (error: Error) => {
      // answer now; what is left of the body is read and thrown away so the client sees the answer
      request.unpipe(parser)
      request.resume()
      file?.destroy(error)
      received?.then((blob) => onboarding.discard(blob)).catch(() => undefined)
      reject(error)
    }
    request.on('close', () => {
      if (!request.readableEnded) fail(badRequest('the upload was interrupted'))
    })
    parser.on('field', (name, value) => {
      fields[name] = value
    })
    parser.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume()
        return
      }
      file = stream
      filename = info.filename
      received = onboarding.receive(stream)
      received.catch(fail)
    })
    parser.on('error', (error: Error) => fail(badRequest(`the multipart body is malformed: ${error.message}`)))
    parser.on('close', () => {
      if (!received) return resolve({ fields, blob: undefined })
      received.then((blob) => resolve({ fields, blob, ...(filename ? { filename } : {}) }), reject)
    })
    request.pipe(parser)
  })
}

/** EdgeGallery's APM package API under /apm/v1. */
export function edgeGalleryPackageRoutes(api: Api, deps: { store: Store; blobs: BlobStore; onboarding: Onboarding }) {
  const { store, blobs, onboarding } = deps

  api.add(
    {
      method: 'post',
      path: `${base}/upload`,
      summary: 'Upload and onboard a package (multipart: file, appPackageName, appPackageVersion, hostList)',
      tag,
      access: 'write',
      params: Tenant,
      upload: 'multipart/form-data',
      responses: {
        201: { description: 'onboarded', schema: PackageView },
        413: { description: 'over the upload limit' },
        422: { description: 'the package is invalid or unsafe; nothing of it was kept' },
      },
    },
    async ({ c, params }) => {
      refuseOversized(c, onboarding.uploadLimit + 1024 * 1024)
      const { fields, blob, filename } = await readUpload(c, onboarding)
      if (!blob) throw badRequest('the upload has no "file" part')
      let handedOver = false
      try {
        const parsed = UploadFields.safeParse({
          appPackageName: fields.appPackageName ?? filename?.replace(/\.(csar|zip)$/i, ''),
          appPackageVersion: fields.appPackageVersion,
          hostList: fields.hostList,
        })
        if (!parsed.success) throw invalid('body', parsed.error)
        const hosts = await hostsOf(store, params.tenantId, parsed.data.hostList)
        handedOver = true
        const onboarded = await onboarding.create(
          params.tenantId,
          { appPkgName: parsed.data.appPackageName, appPkgVersion: parsed.data.appPackageVersion },
          blob,
        )
        for (const ip of hosts) await store.packages.distribute(onboarded.pkg.appPkgId, ip)
        const shown = (await store.packages.get(params.tenantId, onboarded.pkg.appPkgId)) as StoredPackage
        c.header('location', `/apm/v1/tenants/${params.tenantId}/packages/${shown.pkg.appPkgId}`)
        return c.json(withKeys(shown.pkg), 201)
      } finally {
        if (!handedOver) await onboarding.discard(blob)
      }
    },
  )

  api.add(
    {
      method: 'post',
      path: base,
      summary: 'Onboard a package from a registered app store URL (asynchronous)',
      tag,
      access: 'write',
      params: Tenant,
      body: z.object({
        appPkgName: Name,
        appPkgVersion: Version,
        appPkgPath: z.string().min(1).max(2048),
        appProvider: z.string().max(128).optional(),
        appPkgDesc: z.string().max(1024).optional(),
        appId: z
          .string()
          .regex(/^[0-9a-f]{32}$/)
          .optional(),
        checksum: Sha256.optional(),
        mecHostInfo: z
          .array(z.object({ hostIp: IpAddress }))
          .max(10_000)
          .default([]),
      }),
      responses: { 202: { description: 'accepted; follow onboardingState', schema: PackageView } },
    },
    async ({ c, params, body }) => {
      await checkPackageUrl(store, body.appPkgPath)
      const hosts = await hostsOf(
        store,
        params.tenantId,
        body.mecHostInfo.map((h) => h.hostIp),
      )
      const created = await store.packages.create(params.tenantId, {
        appPkgName: body.appPkgName,
        appPkgVersion: body.appPkgVersion,
        ...(body.appProvider ? { appProvider: body.appProvider } : {}),
        ...(body.appId ? { appId: body.appId } : {}),
        userDefinedData: body.appPkgDesc ? { description: body.appPkgDesc } : {},
        source: { url: body.appPkgPath, sha256: body.checksum ?? null },
      })
      for (const ip of hosts) await store.packages.distribute(created.pkg.appPkgId, ip)
      void onboarding.fromUrl(created, body.appPkgPath, body.checksum ?? null)
      c.header('location', `/apm/v1/tenants/${params.tenantId}/packages/${created.pkg.appPkgId}`)
      return c.json(withKeys(created.pkg), 202)
    },
  )

  api.add(
    {
      method: 'get',
      path: base,
      summary: 'List packages with their distribution to hosts',
      tag,
      access: 'read',
      params: Tenant,
      query: PageQuery,
      responses: { 200: { description: 'a page of packages', schema: Page(PackageView) } },
    },
    async ({ c, params, query }) => {
      const page = await store.packages.list(params.tenantId, query.limit, query.cursor)
      return c.json({ items: page.items.map((found) => withKeys(found.pkg)), nextCursor: page.nextCursor })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/:packageId`,
      summary: 'Show a package',
      tag,
      access: 'read',
      params: PackagePath,
      responses: { 200: { description: 'the package', schema: PackageView }, 404: { description: 'no such package' } },
    },
    async ({ c, params }) => c.json(withKeys((await packageIn(store, params.tenantId, params.packageId)).pkg)),
  )

  api.add(
    {
      method: 'get',
      path: `${base}/:packageId/apptemplate`,
      summary: "List a package's instantiation inputs",
      tag,
      access: 'read',
      params: PackagePath,
      responses: { 200: { description: 'the inputs, by name', schema: z.object({ inputs: z.array(z.unknown()) }) } },
    },
    async ({ c, params }) => {
      const found = await packageIn(store, params.tenantId, params.packageId)
      if (!found.details.appd)
        throw conflict(`package ${params.packageId} is ${found.pkg.onboardingState}, not ONBOARDED`)
      return c.json({ inputs: found.details.appd.inputs })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/:packageId/download`,
      summary: 'Download the package content (HTTP Range supported)',
      tag,
      access: 'read',
      params: PackagePath,
      responses: contentResponses,
    },
    async ({ c, params }) => {
      const found = await packageIn(store, params.tenantId, params.packageId)
      if (!found.digest || found.pkg.onboardingState !== 'ONBOARDED') {
        throw conflict(`package ${params.packageId} is ${found.pkg.onboardingState}: it has no content to download`)
      }
      return blobResponse(c, blobs, found.digest, `${found.pkg.appPkgName}-${found.pkg.appPkgVersion}.csar`)
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/:packageId`,
      summary: 'Delete a package everywhere',
      tag,
      access: 'write',
      params: PackagePath,
      responses: { 204: { description: 'deleted' }, 409: { description: 'instances use it' } },
    },
    async ({ c, params }) => {
      const found = await packageIn(store, params.tenantId, params.packageId)
      if (found.pkg.usageState === 'IN_USE') throw conflict(`package ${params.packageId} is in use by app instances`)
      await onboarding.remove(found)
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/:packageId/hosts/:hostIp`,
      summary: 'Delete a package from one host',
      tag,
      access: 'write',
      params: PackagePath.extend({ hostIp: IpAddress }),
      responses: { 204: { description: 'deleted' }, 404: { description: 'not on that host' } },
    },
    async ({ c, params }) => {
      const found = await packageIn(store, params.tenantId, params.packageId)
      if (!(await store.packages.undistribute(found.pkg.appPkgId, params.hostIp))) {
        throw notFound(`package ${params.packageId} is not distributed to host ${params.hostIp}`)
      }
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'get',
      path: '/apm/v1/tenants/:tenantId/blobs/:digest',
      summary: 'Download package content by SHA-256 digest (HTTP Range supported)',
      tag,
      access: 'read',
      params: Tenant.extend({ digest: Sha256 }),
      responses: { ...contentResponses, 404: { description: 'no package of the tenant has this content' } },
    },
    async ({ c, params }) => {
      if (!(await store.packages.tenantHasDigest(params.tenantId, params.digest))) {
        throw notFound(`no package of tenant ${params.tenantId} has content ${params.digest}`)
      }
      return blobResponse(c, blobs, params.digest, `${params.digest}.csar`)
    },
  )
}
