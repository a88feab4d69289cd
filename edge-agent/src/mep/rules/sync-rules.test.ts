import { randomBytes, randomUUID } from 'node:crypto'
import { type AppdConfiguration, type CommandBody, AppdConfiguration as Config, DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { createLogger, sealer } from '@mecm/runtime'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Plugin } from '../../lcm/plugin'
import { reconciler } from '../../lcm/reconciler'
import { type AgentStore, openAgentStore } from '../../store/store'
import { applyCommand, applySnapshot } from '../../sync/apply'
import { reportRules, syncRules } from './sync-rules'
import { dns, traffic } from './testing'

const id = examples.appInstanceId
const keys = sealer(randomBytes(32))
/** The package's APPD: one traffic rule and one DNS rule. */
const appd = Config.parse({ appTrafficRule: [traffic('tr1')], appDNSRule: [dns('d1')] })

let store: AgentStore
let seq = 0
beforeEach(() => {
  store = openAgentStore(':memory:')
  store.packages.add({
    digest: examples.digest,
    appPkgId: examples.appPkgId,
    appClass: 'exec',
    size: 1,
    details: { appName: 'hello', appSoftVersion: '1.0', exec: null, artifacts: [], ...appd },
  })
  return () => store.close()
})

const deploy = (targetState: 'STARTED' | 'STOPPED' = 'STARTED') =>
  store.desired.put(DesiredInstance.parse({ ...examples.desiredInstance, targetState }), 'center')
const command = (body: CommandBody) =>
  applyCommand(store, keys, { seq: ++seq, commandId: randomUUID(), issuedAt: examples.at, body })
const setRules = (configuration: unknown, appInstanceId = id) =>
  command({
    kind: 'rules.set',
    rules: { appInstanceId, taskId: randomUUID(), configuration: Config.parse(configuration) },
  })
const mp1 = (kind: 'traffic' | 'dns') => store.mep.rules.list(id, kind)
const reports = () =>
  store.outbox
    .after(0, 1000)
    .map((event) => event.body)
    .filter((body) => body.kind === 'mep.rules')

describe('syncRules', () => {
  it("makes the package's APPD rules, overridden by id by the center's rules.set, the app's Mp1 rules", () => {
    deploy()
    setRules({ appTrafficRule: [traffic('tr1', 7)], appDNSRule: [dns('d2')] })
    expect(mp1('traffic')).toEqual([expect.objectContaining({ trafficRuleId: 'tr1', priority: 7, state: 'ACTIVE' })])
    expect(mp1('dns').map((rule) => [rule.dnsRuleId, rule.state])).toEqual([
      ['d1', 'ACTIVE'],
      ['d2', 'ACTIVE'],
    ])
    const kinds = store.outbox.after(0, 100).map((event) => event.body.kind)
    expect(kinds).toEqual(['mep.rules', 'rules.status'])
    expect(reports()).toEqual([
      {
        kind: 'mep.rules',
        appInstanceId: id,
        trafficRules: [{ trafficRuleId: 'tr1', state: 'ACTIVE' }],
        dnsRules: [
          { dnsRuleId: 'd1', state: 'ACTIVE' },
          { dnsRuleId: 'd2', state: 'ACTIVE' },
        ],
      },
    ])
  })

  it('keeps the state an app set through Mp1 when the same rule comes again, and reports the change', () => {
    deploy()
    setRules({ appDNSRule: [dns('d2')] })
    // the app turns d1 off through Mp1 (PUT dns_rules/d1); the lead wires rulesChanged to reportRules
    store.mep.rules.put(id, 'dns', 'd1', { ...(store.mep.rules.get(id, 'dns', 'd1') ?? {}), state: 'INACTIVE' })
    reportRules(store, id)
    expect(reports().at(-1)?.dnsRules).toContainEqual({ dnsRuleId: 'd1', state: 'INACTIVE' })

    setRules({ appDNSRule: [dns('d1', '10.9.9.9'), dns('d3')] })
    expect(mp1('dns').map((rule) => [rule.dnsRuleId, rule.ipAddress, rule.state])).toEqual([
      ['d1', '10.9.9.9', 'INACTIVE'],
      ['d3', '10.0.0.1', 'ACTIVE'],
    ])
    expect(reports().at(-1)?.dnsRules).toEqual([
      { dnsRuleId: 'd1', state: 'INACTIVE' },
      { dnsRuleId: 'd3', state: 'ACTIVE' },
    ])
  })

  it('reports nothing when the rules came again unchanged', () => {
    deploy()
    setRules({ appDNSRule: [dns('d2')] })
    setRules({ appDNSRule: [dns('d2')] })
    syncRules(store, id)
    expect(reports()).toHaveLength(1)
  })

  it('leaves alone an instance not desired here', () => {
    setRules({ appDNSRule: [dns('d2')] })
    expect(mp1('dns')).toEqual([])
    expect(reports()).toEqual([])
    // its rules wait for it
    deploy()
    syncRules(store, id)
    expect(mp1('dns').map((rule) => rule.dnsRuleId)).toEqual(['d1', 'd2'])
  })

  it('syncs after a snapshot; rules set here stay until the center sends them back', () => {
    const other = randomUUID()
    deploy()
    store.desired.put(DesiredInstance.parse({ ...examples.desiredInstance, appInstanceId: other }), 'center')
    setRules({ appDNSRule: [dns('d2')] })
    store.rules.put(
      { appInstanceId: other, taskId: null, configuration: Config.parse({ appDNSRule: [dns('e1')] }) },
      'edge',
    )
    const snapshot = (rules: { appInstanceId: string; configuration: AppdConfiguration }[]) =>
      applySnapshot(store, keys, ++seq, {
        instances: [
          DesiredInstance.parse(examples.desiredInstance),
          DesiredInstance.parse({ ...examples.desiredInstance, appInstanceId: other }),
        ],
        packages: [],
        rules: rules.map((set) => ({ ...set, taskId: null })),
        plugins: [],
      })

    snapshot([])
    expect(mp1('dns').map((rule) => rule.dnsRuleId)).toEqual(['d1'])
    expect(store.rules.get(other)?.configuration.appDNSRule.map((rule) => rule.dnsRuleId)).toEqual(['e1'])
    expect(store.mep.rules.list(other, 'dns').map((rule) => rule.dnsRuleId)).toEqual(['d1', 'e1'])

    // the center has them now: they are its, and go with its next snapshot
    snapshot([{ appInstanceId: other, configuration: Config.parse({ appDNSRule: [dns('e1')] }) }])
    snapshot([])
    expect(store.rules.get(other)).toBeUndefined()
    expect(store.mep.rules.list(other, 'dns').map((rule) => rule.dnsRuleId)).toEqual(['d1'])
  })

  it('gives an instance its rules when the reconciler instantiates it', async () => {
    setRules({ appTrafficRule: [traffic('tr2')] })
    deploy('STOPPED')
    const plugin: Plugin = {
      kind: 'exec',
      instantiate: async () => {},
      start: async () => {},
      stop: async () => {},
      terminate: async () => {},
      observe: async () => ({ state: 'absent', healthy: false, detail: '' }),
      logs: async function* () {},
    }
    const prepare = () => Promise.reject(new Error('not needed to stop'))
    await reconciler({ store, plugin, prepare, log: createLogger('silent') }).reconcile(id)
    expect(store.observed.get(id)?.status).toBe('STOPPED')
    expect(mp1('traffic').map((rule) => rule.trafficRuleId)).toEqual(['tr1', 'tr2'])
    expect(reports()).toHaveLength(1)
  })
})
