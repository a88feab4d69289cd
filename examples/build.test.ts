import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defaultLimits, readPackage } from '@mecm/csar'
import { afterAll, describe, expect, it } from 'vitest'
import { buildExamples } from './build'

const dir = mkdtempSync(join(tmpdir(), 'mecm-examples-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the example packages', () => {
  it('build, and each passes onboarding checks as the class it claims', async () => {
    const built = await buildExamples(dir)
    const read = async (name: string) => readPackage(built[name] ?? '', { limits: defaultLimits })

    const exec = await read('hello-exec')
    expect(exec.appClass).toBe('exec')
    expect(exec.exec).toMatchObject({
      command: 'node',
      args: ['server.js'],
      healthCheck: { http: { port: '${PORT}' } },
    })
    expect(exec.appd.appServiceProduced).toEqual([
      { serName: 'hello', version: '1.0', dnsRuleIdList: [], trafficRuleIdList: [] },
    ])

    const producer = await read('mep-producer')
    expect(producer.appd.appServiceProduced).toEqual([expect.objectContaining({ serName: 'greeting' })])
    const consumer = await read('mep-consumer')
    expect(consumer.appd.appServiceRequired).toEqual([{ serName: 'greeting', version: '1.0' }])

    const k8s = await read('web-k8s')
    expect(k8s.appClass).toBe('container')
    expect(k8s.artifacts.map((a) => a.kind)).toEqual(['kubernetes', 'kubernetes', 'container-image'])
    expect(k8s.appd.appTrafficRule[0]?.trafficRuleId).toBe('web-in')

    const vm = await read('edge-vm')
    expect(vm.appClass).toBe('vm')
    expect(vm.appd.virtualComputeDescriptor?.virtualCpu.numVirtualCpu).toBe(2)
    expect(vm.swImages[0]).toMatchObject({ diskFormat: 'qcow2', minDisk: 10 })
  })
})
