import { badRequest, notFound } from '@mecm/runtime'
import { checkCallbackUrl } from '../apm/callback-url'
import type { Store } from '../db/store'
import type { Api } from '../http/route'
import {
  base,
  SubscriptionPath,
  SubscriptionRequest,
  SubscriptionTypeQuery,
  subscriptionHref,
  subscriptionInfo,
  tag,
} from './etsi-views'
import { AppInstCriteria, AppLcmOpOccCriteria } from './lcm-subscriptions'

/**
 * ETSI MEC 010-2 subscriptions to lifecycle notifications under /app_lcm/v1/subscriptions, within
 * the caller's tenant: app instance state changes and lifecycle operation occurrence changes.
 */
export function etsiLcmSubscriptionRoutes(api: Api, deps: { store: Store; callbackAllowLoopback: boolean }) {
  const { store } = deps

  api.add(
    {
      method: 'post',
      path: `${base}/subscriptions`,
      summary: 'Subscribe to app instance state changes or to lifecycle operation occurrence changes',
      tag,
      access: 'write',
      query: SubscriptionTypeQuery,
      body: SubscriptionRequest,
      responses: {
        201: { description: 'AppInstSubscriptionInfo or AppLcmOpOccSubscriptionInfo; Location names it' },
        400: { description: 'bad request, or a callbackUri this center may not call' },
      },
    },
    async ({ c, query, body, principal }) => {
      if (query.subscriptionType && query.subscriptionType !== body.subscriptionType)
        throw badRequest(
          `the subscriptionType query parameter (${query.subscriptionType}) differs from the body's (${body.subscriptionType})`,
        )
      await checkCallbackUrl(body.callbackUri, deps.callbackAllowLoopback)
      const { subscriptionType, callbackUri, ...criteria } = body
      const subscription = await store.lcmSubscriptions.create({
        tenantId: principal.tenantId,
        callbackUri,
        ...(subscriptionType === 'AppInstanceStateChange'
          ? { subscriptionType, criteria: AppInstCriteria.parse(criteria) }
          : { subscriptionType, criteria: AppLcmOpOccCriteria.parse(criteria) }),
      })
      c.header('location', subscriptionHref(subscription.subscriptionId))
      return c.json(subscriptionInfo(subscription), 201)
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/subscriptions`,
      summary: 'List lifecycle subscriptions (optionally of one subscriptionType)',
      tag,
      access: 'read',
      query: SubscriptionTypeQuery,
      responses: { 200: { description: 'SubscriptionLinkList' } },
    },
    async ({ c, query, principal }) => {
      const subscriptions = await store.lcmSubscriptions.list(principal.tenantId, query.subscriptionType)
      return c.json({
        _links: {
          self: { href: `${base}/subscriptions` },
          subscriptions: subscriptions.map((s) => ({
            href: subscriptionHref(s.subscriptionId),
            subscriptionType: s.subscriptionType,
          })),
        },
      })
    },
  )

  api.add(
    {
      method: 'get',
      path: `${base}/subscriptions/:subscriptionId`,
      summary: 'Read a lifecycle subscription',
      tag,
      access: 'read',
      params: SubscriptionPath,
      query: SubscriptionTypeQuery,
      responses: { 200: { description: 'the SubscriptionInfo' }, 404: { description: 'not found' } },
    },
    async ({ c, params, query, principal }) => {
      const subscription = await store.lcmSubscriptions.get(principal.tenantId, params.subscriptionId)
      if (!subscription || (query.subscriptionType && query.subscriptionType !== subscription.subscriptionType))
        throw notFound(`${query.subscriptionType ?? 'lifecycle'} subscription ${params.subscriptionId} not found`)
      return c.json(subscriptionInfo(subscription))
    },
  )

  api.add(
    {
      method: 'delete',
      path: `${base}/subscriptions/:subscriptionId`,
      summary: 'Delete a lifecycle subscription (and the notifications still queued for it)',
      tag,
      access: 'write',
      params: SubscriptionPath,
      responses: { 204: { description: 'deleted' }, 404: { description: 'not found' } },
    },
    async ({ c, params, principal }) => {
      if (!(await store.lcmSubscriptions.delete(principal.tenantId, params.subscriptionId)))
        throw notFound(`lifecycle subscription ${params.subscriptionId} not found`)
      return c.body(null, 204)
    },
  )
}
