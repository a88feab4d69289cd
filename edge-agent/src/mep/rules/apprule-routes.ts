import { randomUUID } from 'node:crypto'
import { AppdConfiguration, mergeRules, RuleIds } from '@mecm/protocol'
import { notFound } from '@mecm/runtime'
import { type Context, Hono } from 'hono'
import { readBody } from '../../http/request'
import type { AgentStore } from '../../store/store'
import { syncRules } from './sync-rules'

/** EdgeGallery's AppRuleConfigDto: a rule set of at most 16 traffic and 32 DNS rules. */
const AppRuleConfig = AppdConfiguration.superRefine((config, ctx) => {
  if (config.appTrafficRule.length > 16)
    ctx.addIssue({ code: 'custom', path: ['appTrafficRule'], message: 'at most 16 traffic rules' })
  if (config.appDNSRule.length > 32)
    ctx.addIssue({ code: 'custom', path: ['appDNSRule'], message: 'at most 32 DNS rules' })
})

/**
 * EdgeGallery's rule interface (apprulemgr) on the local API, under
 * /apprule/v1/app_instances/{app_instance_id}/appd_configuration: POST adds rules (replacing
 * those with the same id), PUT replaces the rule set, DELETE removes rules by id (all of them
 * with no body), GET shows the rule set. A change is the instance's rule set with origin edge,
 * as a rules.set from the center would be: the app's Mp1 rules follow, and the center is told.
 */
export function appRuleRoutes(deps: { store: AgentStore }) {
  const { store } = deps
  const app = new Hono()
  const path = '/app_instances/:appInstanceId/appd_configuration'

  const instanceOf = (c: Context) => {
    const id = c.req.param('appInstanceId') ?? ''
    if (!store.desired.get(id)) throw notFound(`no app instance ${id} on this host`)
    return id
  }
  const configured = (id: string): AppdConfiguration =>
    store.rules.get(id)?.configuration ?? { appSupportMp1: true, appTrafficRule: [], appDNSRule: [] }

  /** Sets the instance's rule set here, and answers as EdgeGallery's apprulemgr does. */
  const set = (appInstanceId: string, configuration: AppdConfiguration) => {
    const taskId = randomUUID()
    store.transaction(() => {
      store.rules.put({ appInstanceId, taskId, configuration }, 'edge')
      syncRules(store, appInstanceId, configuration)
    })
    return { taskId, appInstanceId, configResult: 'SUCCESS', configPhase: '0', detailed: '' }
  }

  app.get(path, (c) => c.json(configured(instanceOf(c))))
  app.post(path, async (c) => {
    const id = instanceOf(c)
    return c.json(set(id, mergeRules(configured(id), { rules: await readBody(c, AppRuleConfig) })), 201)
  })
  app.put(path, async (c) => {
    const id = instanceOf(c)
    return c.json(set(id, await readBody(c, AppRuleConfig)))
  })
  app.delete(path, async (c) => {
    const id = instanceOf(c)
    const current = configured(id)
    // no body: all of them
    const removeRules = (await readBody(c, RuleIds, { optional: true })) ?? {
      appTrafficRule: current.appTrafficRule.map((rule) => rule.trafficRuleId),
      appDNSRule: current.appDNSRule.map((rule) => rule.dnsRuleId),
    }
    set(id, mergeRules(current, { ruleAction: 'DELETE', removeRules }))
    return c.body(null, 204)
  })
  return app
}
