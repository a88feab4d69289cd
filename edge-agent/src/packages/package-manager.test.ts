import { createReadStream, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DesiredInstance } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { afterAll, describe, expect, it } from 'vitest'
import { openAgentStore } from '../store/store'
import { localSealer } from '../sync/local-key'
import { helloPackage } from '../testing/agent'
import { packageManager } from './package-manager'

const dir = mkdtempSync(join(tmpdir(), 'mecm-agent-packages-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the package manager', () => {
  it('holds a package once by digest, and runs exec apps from their descriptor folder with the injected variables', async () => {
    const store = openAgentStore(join(dir, 'agent.db'))
    const packages = packageManager({
      dataDir: dir,
      store,
      mepAddress: () => 'http://127.0.0.1:8090',
      sealer: localSealer(dir),
    })
    const file = await helloPackage(join(dir, 'hello.csar'))
    const first = await packages.add(createReadStream(file))
    const again = await packages.add(createReadStream(file))
    expect(again).toEqual(first)
    expect(store.packages.list()).toHaveLength(1)
    expect(existsSync(join(dir, 'packages', first.digest, 'Artifacts/Deployment/Exec/server.js'))).toBe(true)

    const instance = DesiredInstance.parse({ ...examples.desiredInstance, packageDigest: first.digest })
    const spec = await packages.prepare(instance)
    expect(spec.packageDir).toBe(join(dir, 'packages', first.digest, 'Artifacts/Deployment/Exec'))
    expect(spec.exec?.command).toBe('node')
    expect(spec.env).toEqual({
      MECM_AK: expect.stringMatching(/^[\w-]{19}$/),
      MECM_SK: expect.stringMatching(/^[\w-]{48}$/),
      MECM_APP_INSTANCE_ID: instance.appInstanceId,
      MECM_TENANT_ID: instance.tenantId,
      MECM_MEP_ADDRESS: 'http://127.0.0.1:8090',
    })
    expect((await packages.prepare(instance)).env.MECM_SK).toBe(spec.env.MECM_SK)
    const given = await packages.prepare({
      ...instance,
      appInstanceId: examples.operationId,
      parameters: { ak: 'AK1', sk: 'SK1' },
    })
    expect([given.env.MECM_AK, given.env.MECM_SK]).toEqual(['AK1', 'SK1'])
    await expect(packages.prepare({ ...instance, packageDigest: 'f'.repeat(64) })).rejects.toThrow(
      'is not on this host',
    )
    store.close()
  })
})
