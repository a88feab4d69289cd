import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { writePackage } from '@mecm/csar'
import { examples } from '@mecm/protocol/examples'

/** Rules for the tests: the examples' with another id. */
export const dns = (dnsRuleId: string, ipAddress = '10.0.0.1') => ({ ...examples.dnsRule, dnsRuleId, ipAddress })
export const traffic = (trafficRuleId: string, priority = 1) => ({ ...examples.trafficRule, trafficRuleId, priority })

/** An exec package whose APPD has one traffic rule (tr1) and one DNS rule (d1). */
export async function rulesPackage(dir: string): Promise<Buffer> {
  const file = join(dir, 'rules.csar')
  await writePackage(file, {
    appClass: 'exec',
    appd: {
      id: 'ruled',
      name: 'ruled',
      provider: 'Acme',
      version: '1.0.0',
      configuration: { appTrafficRule: [traffic('tr1')], appDNSRule: [dns('d1')] },
    },
    files: {
      'Artifacts/Deployment/Exec/app.yaml': 'command: node\nargs: [server.js]\n',
      'Artifacts/Deployment/Exec/server.js': 'setInterval(() => {}, 1000)\n',
    },
  })
  return readFileSync(file)
}
