import { isDeepStrictEqual } from 'node:util'
import { badRequest, type Logger, notFound } from '@mecm/runtime'
import { type Context, Hono } from 'hono'
import type { z } from 'zod'
import { readBody } from '../../http/request'
import type { AgentStore } from '../../store/store'
import { type Mp1Env, ownApp } from '../auth'
import { etag, ifMatch } from '../etag'
import { Mp1DnsRule, Mp1TrafficRule } from '../rules/mp1-rules'
import type { RuleKind, StoredSubscription } from '../store'
import { subscriptionHref, subscriptionsHref } from './links'
import {
  AppReadyConfirmation,
  AppTerminationConfirmation,
  AppTerminationNotificationSubscription,
  SUBSCRIPTION_TYPE,
} from './schemas'
import { type AppTermination, appTermination } from './termination'

export interface AppSupportDeps {
  store: AgentStore
  log: Logger
  /** Called after an app changed one of its rules, so that their state reaches the center. */
  rulesChanged?(appInstanceId: string): void
  /** Shared with the reconciler (its `halting` hook); one of its own otherwise. */
  termination?: AppTermination
}

/** The two kinds of rules answer alike; only their path, id field and schema differ. */
const RULES: { kind: RuleKind; path: string; id: string; schema: z.ZodType<Record<string, unknown>> }[] = [
  { kind: 'traffic', path: 'traffic_rules', id: 'trafficRuleId', schema: Mp1TrafficRule },
  { kind: 'dns', path: 'dns_rules', id: 'dnsRuleId', schema: Mp1DnsRule },
]

/** The host clock is all the MEP has: it offers apps no NTP server or PTP master, and cannot vouch that the clock is locked to UTC. */
function now() {
  const ms = Date.now()
  return { seconds: Math.floor(ms / 1000), nanoSeconds: (ms % 1000) * 1_000_000 }
}

/**
 * `/mec_app_support/v1` (MEC 011 v2.1.1): an app's traffic and DNS rules (it may switch them
 * ACTIVE/INACTIVE), its subscription to its own termination, its ready and termination
 * confirmations, and the platform's time. Mounted behind `appAuth`.
 */
export function appSupport(deps: AppSupportDeps) {
  const { store } = deps
  const termination = deps.termination ?? appTermination(deps)
  const routes = new Hono<Mp1Env>()

  for (const rule of RULES) {
    const existing = (c: Context<Mp1Env>) => {
      const app = ownApp(c)
      const ruleId = c.req.param('ruleId') as string
      const record = store.mep.rules.get(app, rule.kind, ruleId)
      if (!record) throw notFound(`app instance ${app} has no ${rule.kind} rule ${ruleId}`)
      return { app, ruleId, record }
    }
    routes.get(`/applications/:appInstanceId/${rule.path}`, (c) => c.json(store.mep.rules.list(ownApp(c), rule.kind)))
    routes.get(`/applications/:appInstanceId/${rule.path}/:ruleId`, (c) => {
      const { record } = existing(c)
      c.header('ETag', etag(record))
      return c.json(record)
    })
    routes.put(`/applications/:appInstanceId/${rule.path}/:ruleId`, async (c) => {
      const updated = await readBody(c, rule.schema)
      const { app, ruleId, record } = existing(c)
      ifMatch(c, etag(record), `${rule.kind} rule ${ruleId}`)
      if (updated[rule.id] !== ruleId)
        throw badRequest(`${rule.id} in the body must be the one in the path, ${ruleId}`, [
          { path: `body.${rule.id}`, message: `must be ${ruleId}` },
        ])
      // the APPD and the operator set what a rule does; the app switches it on and off
      const { state: _, ...asked } = updated
      const { state: __, ...current } = record
      if (!isDeepStrictEqual(asked, current))
        throw badRequest(
          `only the state of ${rule.kind} rule ${ruleId} can change through Mp1; the rest is set by the package and the operator`,
        )
      store.mep.rules.put(app, rule.kind, ruleId, updated)
      if (!isDeepStrictEqual(record, updated)) deps.rulesChanged?.(app)
      c.header('ETag', etag(updated))
      return c.json(updated)
    })
  }

  const subscription = ({ appInstanceId, subscriptionId, record }: StoredSubscription) => ({
    ...record,
    _links: { self: { href: subscriptionHref(appInstanceId, subscriptionId) } },
  })
  const ownSubscription = (c: Context<Mp1Env>) => {
    const app = ownApp(c)
    const id = c.req.param('subscriptionId') as string
    const found = store.mep.subscriptions.get(id)
    if (found?.api !== 'mec_app_support' || found.appInstanceId !== app)
      throw notFound(`app instance ${app} has no app support subscription ${id}`)
    return found
  }
  routes.get('/applications/:appInstanceId/subscriptions', (c) => {
    const app = ownApp(c)
    const subscriptions = store.mep.subscriptions
      .list('mec_app_support', app)
      .map((s) => ({ href: subscriptionHref(app, s.subscriptionId), rel: SUBSCRIPTION_TYPE }))
    return c.json({ _links: { self: { href: subscriptionsHref(app) }, subscriptions } })
  })
  routes.post('/applications/:appInstanceId/subscriptions', async (c) => {
    const app = ownApp(c)
    const body = await readBody(c, AppTerminationNotificationSubscription)
    if (body.appInstanceId !== app)
      throw badRequest('an app subscribes only to its own termination', [
        { path: 'body.appInstanceId', message: `must be ${app}` },
      ])
    const created = subscription(store.mep.subscriptions.add(app, 'mec_app_support', body))
    c.header('location', created._links.self.href)
    return c.json(created, 201)
  })
  routes.get('/applications/:appInstanceId/subscriptions/:subscriptionId', (c) =>
    c.json(subscription(ownSubscription(c))),
  )
  routes.delete('/applications/:appInstanceId/subscriptions/:subscriptionId', (c) => {
    store.mep.subscriptions.remove(ownSubscription(c).subscriptionId)
    return c.body(null, 204)
  })

  routes.post('/applications/:appInstanceId/confirm_ready', async (c) => {
    const app = ownApp(c)
    await readBody(c, AppReadyConfirmation, { optional: true })
    store.mep.apps.confirm(app, { readyAt: new Date().toISOString() })
    return c.body(null, 204)
  })
  routes.post('/applications/:appInstanceId/confirm_termination', async (c) => {
    const app = ownApp(c)
    termination.confirm(app, (await readBody(c, AppTerminationConfirmation, { optional: true }))?.operationAction)
    return c.body(null, 204)
  })

  routes.get('/timing/timing_caps', (c) => c.json({ timeStamp: now(), ntpServers: [], ptpMasters: [] }))
  routes.get('/timing/current_time', (c) => c.json({ ...now(), timeSourceStatus: 'NONTRACEABLE' }))

  // a termination shared with the reconciler is its owner's to close
  return {
    routes,
    termination,
    close() {
      if (!deps.termination) termination.close()
    },
  }
}
