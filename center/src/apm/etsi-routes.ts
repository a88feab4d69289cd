import type { AppPackage, PackageArtifact, SwImageDescriptor } from '@mecm/protocol'
import { badRequest, conflict, notFound } from '@mecm/runtime'
import { z } from 'zod'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import type { BlobStore } from './blob-store'
import { checkCallbackUrl } from './callback-url'
import { blobResponse, contentResponses } from './download'
import { filterable, filterView, ListQuery, parseFilter, selectFrom } from './etsi-filter'
import type { Notifier } from './notifier'
import type { Onboarding } from './onboarding'
import type { StoredPackage } from './package-store'
import { checkPackageUrl, refuseOversized, requestStream } from './requests'

const tag = 'app_pkgm: ETSI MEC 010-2 package management'
const base = '/app_pkgm/v1'
const PkgPath = z.object({
  appPkgId: z.string().regex(/^[0-9a-f]{32}$/, 'must be an appPkgId: 32 lowercase hex characters'),
})
const AppDPath = z.object({ appDId: z.string().min(1).max(128) })

/** ETSI AppPkgInfo of a package. */
function appPkgInfo(found: StoredPackage) {
  const pkg: AppPackage = found.pkg
  const self = `${base}/app_packages/${pkg.appPkgId}`
  return {
    ...filterView(pkg),
    checksum: pkg.checksum ?? { algorithm: 'SHA-256', hash: found.details.source?.sha256 ?? '' },
    softwareImages: found.details.swImages satisfies SwImageDescriptor[],
    additionalArtifacts: pkg.artifacts satisfies PackageArtifact[],
    ...(pkg.onboardingFailure ? { onboardingFailure: pkg.onboardingFailure } : {}),
    userDefinedData: pkg.userDefinedData,
    _links: {
      self: { href: self },
      appD: { href: `${self}/appd` },
      appPkgContent: { href: `${self}/package_content` },
    },
  }
}

const complex = ['softwareImages', 'additionalArtifacts', 'userDefinedData', 'checksum'] as const
const SubscriptionType = z.enum(['AppPackageOnBoarding', 'AppPacakgeOperationChange', 'AppPackageDeletion'])
const SubscriptionRequest = z.preprocess(
  // the specification spells it subsctiptionType; the corrected spelling is accepted too
  (body) =>
    body && typeof body === 'object' && 'subscriptionType' in body && !('subsctiptionType' in body)
      ? { ...body, subsctiptionType: (body as { subscriptionType: unknown }).subscriptionType }
      : body,
  z.object({
    callbackUri: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
    subsctiptionType: SubscriptionType,
    /** Attribute-based filters such as (eq,appName,face), all of which a package must pass. */
    appPkgFilter: z.array(z.string().min(1).max(1024)).max(100).default([]),
  }),
)

/** ETSI MEC 010-2 application package management under /app_pkgm/v1, within the caller's tenant. */
export function etsiPackageRoutes(
  api: Api,
  deps: { store: Store; blobs: BlobStore; onboarding: Onboarding; notifier: Notifier; callbackAllowLoopback: boolean },
) {
  const { store, blobs, onboarding, notifier } = deps
  const byId = async (tenantId: string, appPkgId: string) => {
    const found = await store.packages.get(tenantId, appPkgId)
    if (!found) throw notFound(`app package ${appPkgId} not found`)
    return found
  }
  const byAppD = async (tenantId: string, appDId: string) => {
    const found = await store.packages.byAppDId(tenantId, appDId)
    if (!found) throw notFound(`no onboarded app package has appDId ${appDId}`)
    return found
  }
  const onboarded = (found: StoredPackage) => {
    if (found.pkg.onboardingState !== 'ONBOARDED' || !found.digest || !found.details.appd) {
      throw conflict(`app package ${found.pkg.appPkgId} is ${found.pkg.onboardingState}, not ONBOARDED`)
    }
    return { digest: found.digest, appd: found.details.appd }
  }

  api.add(
    {
      method: 'post',
      path: `${base}/app_packages`,
      summary: 'Create an app package resource, fetching its content from appPkgPath when given',
      tag,
      access: 'write',
      body: z.object({
        appPkgName: z.string().min(1).max(128),
        appPkgVersion: z.string().min(1).max(64),
        appProvider: z.string().max(128).optional(),
        checksum: z.object({
          algorithm: z.string().regex(/^SHA[-_]?256$/i, 'only SHA-256 is supported'),
          hash: z.string(),
        }),
        appPkgPath: z.string().max(2048).default(''),
        userDefinedData: z.record(z.string(), z.unknown()).optional(),
      }),
      responses: { 201: { description: 'the resource, in a one-element array as the specification has it' } },
    },
    async ({ c, body, principal }) => {
      const sha256 = body.checksum.hash.toLowerCase()
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw badRequest('checksum.hash must be a SHA-256 in hex')
      if (body.appPkgPath) await checkPackageUrl(store, body.appPkgPath)
      const created = await store.packages.create(principal.tenantId, {
        appPkgName: body.appPkgName,
        appPkgVersion: body.appPkgVersion,
        ...(body.appProvider ? { appProvider: body.appProvider } : {}),
        ...(body.userDefinedData ? { userDefinedData: body.userDefinedData } : {}),
        source: body.appPkgPath ? { url: body.appPkgPath, sha256 } : { url: '', sha256 },
      })
      if (body.appPkgPath) void onboarding.fromUrl(created, body.appPkgPath, sha256)
      c.header('location', `${base}/app_packages/${created.pkg.appPkgId}`)
      return c.json([appPkgInfo(created)], 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_packages`,
      summary: 'Query app packages (filter, all_fields, fields, exclude_fields, exclude_default)',
      tag,
      access: 'read',
      query: ListQuery,
      responses: {
        200: { description: 'the matching packages' },
        400: { description: 'unknown filter attribute or parameter' },
      },
    },
    async ({ c, query, principal }) => {
      const infos = (await store.packages.all(principal.tenantId)).map(appPkgInfo)
      return c.json(selectFrom(infos, query, filterable, complex))
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/app_packages/:appPkgId`,
      summary: 'Read an app package',
      tag,
      access: 'read',
      params: PkgPath,
      responses: { 200: { description: 'AppPkgInfo' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) => c.json(appPkgInfo(await byId(principal.tenantId, params.appPkgId))),
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/app_packages/:appPkgId`,
      summary: 'Delete an app package (disable it first)',
      tag,
      access: 'write',
      params: PkgPath,
      responses: { 204: { description: 'deleted' }, 409: { description: 'enabled or in use' } },
    },
    async ({ c, params, principal }) => {
      const found = await byId(principal.tenantId, params.appPkgId)
      if (found.pkg.usageState === 'IN_USE') throw conflict(`app package ${params.appPkgId} is in use`)
      if (found.pkg.onboardingState === 'ONBOARDED' && found.pkg.operationalState === 'ENABLED') {
        throw conflict(`app package ${params.appPkgId} is ENABLED: PATCH it to DISABLED before deleting it`)
      }
      await onboarding.remove(found)
      return c.body(null, 204)
    },
  )

  api.add(
    {
      method: 'patch',
      path: `${base}/app_packages/:appPkgId`,
      summary: 'Enable or disable an app package',
      tag,
      access: 'write',
      params: PkgPath,
      body: z.object({ operationState: z.enum(['ENABLED', 'DISABLED']) }),
      responses: { 200: { description: 'AppPkgInfoModifications' }, 409: { description: 'not onboarded' } },
    },
    async ({ c, params, body, principal }) => {
      const found = await byId(principal.tenantId, params.appPkgId)
      onboarded(found)
      const changed = found.pkg.operationalState !== body.operationState
      await store.packages.setOperationalState(principal.tenantId, params.appPkgId, body.operationState)
      if (changed) {
        const updated = await byId(principal.tenantId, params.appPkgId)
        await notifier.publish(body.operationState === 'ENABLED' ? 'enabled' : 'disabled', updated.pkg)
      }
      return c.json({ operationState: body.operationState })
    },
  )

  for (const [path, Params, find] of [
    [`${base}/app_packages/:appPkgId`, PkgPath, (t: string, p: Record<string, string>) => byId(t, p.appPkgId ?? '')],
    [
      `${base}/onboarded_app_packages/:appDId`,
      AppDPath,
      (t: string, p: Record<string, string>) => byAppD(t, p.appDId ?? ''),
    ],
  ] as const) {
    api.add(
      {
        method: 'get',
        path: `${path}/appd`,
        summary: 'Read the application descriptor of an onboarded package',
        tag,
        access: 'read',
        params: Params,
        responses: { 200: { description: 'the APPD' }, 409: { description: 'not onboarded' } },
      },
      async ({ c, params, principal }) => c.json(onboarded(await find(principal.tenantId, params)).appd),
    )

    api.add(
      {
        method: 'get',
        path: `${path}/package_content`,
        summary: 'Fetch the package content (HTTP Range supported)',
        tag,
        access: 'read',
        params: Params,
        responses: contentResponses,
      },
      async ({ c, params, principal }) => {
        const found = await find(principal.tenantId, params)
        return blobResponse(
          c,
          blobs,
          onboarded(found).digest,
          `${found.pkg.appPkgName}-${found.pkg.appPkgVersion}.csar`,
        )
      },
    )

    api.add(
      {
        method: 'put',
        path: `${path}/package_content`,
        summary: 'Upload the package content (application/zip); checked and onboarded before the answer',
        tag,
        access: 'write',
        params: Params,
        upload: 'application/zip',
        responses: {
          202: { description: 'accepted and onboarded' },
          409: { description: 'not CREATED or ERROR' },
          422: { description: 'invalid or unsafe package: onboardingState is ERROR with the reason' },
        },
      },
      async ({ c, params, principal }) => {
        refuseOversized(c, onboarding.uploadLimit)
        const found = await find(principal.tenantId, params)
        await onboarding.upload(found, requestStream(c), found.details.source?.sha256 ?? null)
        return c.body(null, 202)
      },
    )
  }

  api.add(
    {
      method: 'post',
      path: `${base}/subscriptions`,
      summary: 'Subscribe to package notifications',
      tag,
      access: 'write',
      body: SubscriptionRequest,
      responses: { 201: { description: 'AppPkgSubscriptionInfo' } },
    },
    async ({ c, body, principal }) => {
      for (const filter of body.appPkgFilter) parseFilter(filter, filterable)
      await checkCallbackUrl(body.callbackUri, deps.callbackAllowLoopback)
      const subscription = await store.packageSubscriptions.create({
        tenantId: principal.tenantId,
        subscriptionType: body.subsctiptionType,
        callbackUri: body.callbackUri,
        appPkgFilter: body.appPkgFilter,
      })
      const href = `${base}/subscriptions/${subscription.subscriptionId}`
      c.header('location', href)
      return c.json(
        {
          id: subscription.subscriptionId,
          subscriptionType: subscription.subscriptionType,
          callbackUri: subscription.callbackUri,
          _links: { self: { href } },
        },
        201,
      )
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/subscriptions`,
      summary: 'List package subscriptions',
      tag,
      access: 'read',
      responses: { 200: { description: 'AppPkgSubscriptionLinkList' } },
    },
    async ({ c, principal }) => {
      const subscriptions = await store.packageSubscriptions.list(principal.tenantId)
      return c.json({
        _links: {
          self: { href: `${base}/subscriptions` },
          // Subscriptions.AppPkgSubscription spells it subsctiptionType
          subscriptions: subscriptions.map((s) => ({
            href: `${base}/subscriptions/${s.subscriptionId}`,
            subsctiptionType: s.subscriptionType,
          })),
        },
      })
    },
  )

  const SubscriptionPath = z.object({ subscriptionId: z.uuid() })
  api.add(
    {
      method: 'get',
      path: `${base}/subscriptions/:subscriptionId`,
      summary: 'Read a package subscription',
      tag,
      access: 'read',
      params: SubscriptionPath,
      responses: { 200: { description: 'AppPkgSubscriptionInfo' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) => {
      const s = await store.packageSubscriptions.get(principal.tenantId, params.subscriptionId)
      if (!s) throw notFound(`subscription ${params.subscriptionId} not found`)
      const href = `${base}/subscriptions/${s.subscriptionId}`
      return c.json({
        id: s.subscriptionId,
        subscriptionType: s.subscriptionType,
        callbackUri: s.callbackUri,
        _links: { self: { href } },
      })
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/subscriptions/:subscriptionId`,
      summary: 'Delete a package subscription',
      tag,
      access: 'write',
      params: SubscriptionPath,
      responses: { 204: { description: 'deleted' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) => {
      if (!(await store.packageSubscriptions.delete(principal.tenantId, params.subscriptionId))) {
        throw notFound(`subscription ${params.subscriptionId} not found`)
      }
      return c.body(null, 204)
    },
  )
}
