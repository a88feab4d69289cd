import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { examples as ex } from './examples'
import * as protocol from './index'

/** Copy of a valid example with one field replaced: the invalid cases break exactly one thing. */
function breaking<T extends object>(valid: T, patch: Record<string, unknown>): unknown {
  return { ...valid, ...patch }
}

const uuidLike = '3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b'
const { frames } = ex
const publicKey = 'MCowBQYDK2VwAyEA59ehxvLMbTnp3H/HZRtIrZmCrJuaPFxeOh0hzZy1eCA='

/** For every schema the package exports: inputs it must accept, and inputs it must refuse. */
const cases: Record<string, { valid: unknown[]; invalid: unknown[] }> = {
  TenantId: { valid: [uuidLike], invalid: [uuidLike.toUpperCase(), 'tenant-1', ''] },
  Uuid: { valid: [uuidLike, uuidLike.toUpperCase()], invalid: ['3f0c2b9e8a1d4e5f9b7a1c2d3e4f5a6b', 'x'] },
  Hex32: { valid: [ex.appPkgId], invalid: [ex.appPkgId.toUpperCase(), `${ex.appPkgId}0`, uuidLike] },
  Sha256: { valid: [ex.digest], invalid: [ex.digest.slice(1), 'sha256:abc'] },
  IpAddress: {
    valid: ['10.0.0.1', '::1', '2001:db8::1'],
    invalid: ['256.0.0.1', '10.0.0', 'host.example', '10.0.0.0/8'],
  },
  IpOrCidr: { valid: ['10.0.0.1', '10.0.0.0/8', '2001:db8::/32'], invalid: ['10.0.0.0/33', 'any'] },
  PortOrRange: { valid: ['80', '1', '65535', '8000-8080'], invalid: ['0', '65536', '9000-8000', 'http', '80-'] },
  ResourceName: {
    valid: ['edge-01', 'a', 'Edge_01.cn', '深圳边缘1'],
    invalid: ['', '-edge', 'edge-', 'edge 01', 'a'.repeat(129), 'x/y'],
  },
  Timestamp: { valid: [ex.at, '2026-11-21T10:00:00+08:00'], invalid: ['2026-11-21', 'yesterday', 1700000000] },
  Labels: {
    valid: [{}, { zone: 'south', 'mecm.io/tier': 'gold', empty: '' }],
    invalid: [{ 'bad key!': 'x' }, { zone: 'x'.repeat(64) }, { zone: 'has space' }, { zone: 1 }],
  },
  Problem: { valid: [ex.problem], invalid: [breaking(ex.problem, { status: 200 }), { title: 'x' }] },
  Role: { valid: ['ADMIN', 'TENANT', 'GUEST'], invalid: ['ROLE_MECM_ADMIN', 'admin'] },
  Username: { valid: ['alice', 'svc.deployer_1'], invalid: ['al', '_alice', 'alice smith', 'a'.repeat(65)] },
  Password: {
    valid: ['Secret-pass1', 'abcdefg1'],
    invalid: ['short1A', 'abcdefgh', 'ABCDEFGHIJ', `${'x'.repeat(129)}1`],
  },
  TenantName: { valid: ['Acme Edge', 'tenant-1'], invalid: ['', ' leading space', 'x'.repeat(129)] },
  Tenant: {
    valid: [ex.tenant],
    invalid: [breaking(ex.tenant, { tenantId: 'acme' }), breaking(ex.tenant, { createdAt: 'now' })],
  },
  User: { valid: [ex.user], invalid: [breaking(ex.user, { role: 'ROOT' }), breaking(ex.user, { username: 'a b' })] },
  NewUser: {
    valid: [ex.newUser, { username: 'bob', password: 'Another1pass' }],
    invalid: [breaking(ex.newUser, { password: 'password' }), { username: 'bob' }],
  },
  VimKind: { valid: ['exec', 'kubernetes', 'openstack'], invalid: ['k8s', 'docker'] },
  HostStatus: { valid: ['NEVER_CONNECTED', 'ONLINE', 'OFFLINE'], invalid: ['UNKNOWN'] },
  Coordinates: {
    valid: [{ latitude: 22.5, longitude: 114 }],
    invalid: [{ latitude: 91, longitude: 0 }, { latitude: 0 }],
  },
  Location: {
    valid: [{}, ex.mecHostInput.location],
    invalid: [{ city: 'Shenzhen<script>' }, { zipCode: '5180#0' }, { address: 'x'.repeat(257) }],
  },
  HwCapability: { valid: [{ hwType: 'GPU' }], invalid: [{ hwType: '' }, { hwVendor: 'NVIDIA' }] },
  MecHostInput: {
    valid: [ex.mecHostInput, { mechostIp: '10.0.0.9', mechostName: 'edge-9' }],
    invalid: [
      breaking(ex.mecHostInput, { mechostIp: '10.0.0.300' }),
      breaking(ex.mecHostInput, { vim: 'k8s' }),
      breaking(ex.mecHostInput, { hwCapabilities: Array.from({ length: 65 }, () => ({ hwType: 'GPU' })) }),
    ],
  },
  MecHost: { valid: [ex.mecHost], invalid: [breaking(ex.mecHost, { status: 'UP' }), ex.mecHostInput] },
  TrafficFilter: { valid: [{}, ex.trafficRule.trafficFilter[0]], invalid: [{ srcAddress: ['nowhere'] }, { dSCP: 64 }] },
  TunnelInfo: { valid: [{ tunnelType: 'GTP_U' }], invalid: [{ tunnelType: 'VXLAN' }] },
  DstInterface: {
    valid: [{ interfaceType: 'MAC', dstMacAddress: '00:1a:2b:3c:4d:5e' }],
    invalid: [{ interfaceType: 'MAC', dstMacAddress: '00:1a:2b' }, { interfaceType: 'ETH' }],
  },
  TrafficRule: {
    valid: [ex.trafficRule],
    invalid: [
      breaking(ex.trafficRule, { priority: 0 }),
      breaking(ex.trafficRule, { action: 'REDIRECT' }),
      breaking(ex.trafficRule, { trafficFilter: [] }),
    ],
  },
  DnsRule: {
    valid: [ex.dnsRule],
    invalid: [breaking(ex.dnsRule, { domainName: 'bad..name' }), breaking(ex.dnsRule, { ipAddress: 'x' })],
  },
  AppdConfiguration: {
    valid: [ex.appdConfiguration, {}, { appDnsRule: [ex.dnsRule] }],
    invalid: [
      { appTrafficRule: [ex.trafficRule, ex.trafficRule] },
      { appDNSRule: [ex.dnsRule, ex.dnsRule] },
      { appTrafficRule: 'all' },
    ],
  },
  RuleTaskState: { valid: ['PROCESSING', 'SUCCESS', 'FAILURE'], invalid: ['DONE'] },
  RuleIds: { valid: [{}, { appTrafficRule: ['tr1'], appDNSRule: ['dns1'] }], invalid: [{ appTrafficRule: [''] }] },
  RuleState: { valid: ['ACTIVE', 'INACTIVE'], invalid: ['SUSPENDED'] },
  VirtualComputeDescriptor: {
    valid: [ex.appD.virtualComputeDescriptor],
    invalid: [{ virtualCpu: { numVirtualCpu: 0 }, virtualMemory: { virtualMemSize: 1 } }],
  },
  SwImageDescriptor: { valid: [ex.swImageDescriptor], invalid: [breaking(ex.swImageDescriptor, { swImage: '' })] },
  AppServiceRequired: { valid: [{ serName: 'location' }], invalid: [{ version: '1.0' }] },
  AppServiceProduced: { valid: [{ serName: 'face' }], invalid: [{ serName: '' }] },
  AppFeatureRequired: { valid: [{ featureName: 'GPU' }], invalid: [{}] },
  InstantiationInput: { valid: [ex.appD.inputs[0]], invalid: [{ name: 'replicas' }, { name: '', type: 'string' }] },
  InstantiationParameters: {
    valid: [{}, { replicas: '2', 'mep.port': '8443' }],
    invalid: [
      { '2fast': 'x' },
      { replicas: 2 },
      { big: 'x'.repeat(4097) },
      Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`p${i}`, 'x'])),
    ],
  },
  AppD: { valid: [ex.appD], invalid: [breaking(ex.appD, { appDId: '' }), breaking(ex.appD, { appTrafficRule: [{}] })] },
  ArtifactKind: { valid: ['kubernetes', 'helm', 'exec', 'vm-image', 'container-image'], invalid: ['docker'] },
  PackageArtifact: {
    valid: [{ kind: 'exec', path: 'Artifacts/Deployment/Exec/app.yaml' }],
    invalid: [
      { kind: 'exec', path: '' },
      { kind: 'zip', path: 'x' },
    ],
  },
  ExecDescriptor: {
    valid: [
      {
        command: 'node',
        args: ['server.js'],
        ports: [{ name: 'http', port: 8080 }],
        healthCheck: { http: { port: 8080 } },
      },
      { command: './run.sh' },
      { command: 'node', healthCheck: { tcp: { port: '${PORT}' } } },
    ],
    invalid: [
      { command: '' },
      { command: 'x', healthCheck: { http: { port: '8080' } } },
      { command: 'x', workingDir: '../outside' },
      { command: 'x', env: { 'BAD-NAME': '1' } },
      { command: 'x', healthCheck: { http: { port: 1 }, tcp: { port: 1 } } },
    ],
  },
  OnboardingState: { valid: ['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED', 'ERROR'], invalid: ['FAILED'] },
  PackageOperationalState: { valid: ['ENABLED', 'DISABLED'], invalid: ['ON'] },
  UsageState: { valid: ['IN_USE', 'NOT_IN_USE'], invalid: ['USED'] },
  AppClass: { valid: ['container', 'vm', 'exec'], invalid: ['helm'] },
  DistributionState: { valid: ['PENDING', 'DISTRIBUTING', 'DISTRIBUTED', 'FAILED'], invalid: ['Distributed'] },
  PackageDistribution: {
    valid: [ex.appPackage.distributions[0]],
    invalid: [breaking(ex.appPackage.distributions[0], { hostIp: 'edge-1' })],
  },
  Checksum: { valid: [ex.appPackage.checksum], invalid: [{ algorithm: 'MD5', hash: ex.digest }] },
  AppPackage: {
    valid: [
      ex.appPackage,
      breaking(ex.appPackage, { onboardingState: 'ERROR', onboardingFailure: 'manifest hash mismatch' }),
    ],
    invalid: [
      breaking(ex.appPackage, { onboardingState: 'ERROR' }),
      breaking(ex.appPackage, { onboardingFailure: 'why?' }),
      breaking(ex.appPackage, { appPkgId: uuidLike }),
    ],
  },
  InstanceStatus: { valid: ['INSTANTIATING', 'STARTED', 'FAILED'], invalid: ['Instantiated', 'RUNNING'] },
  InstantiationState: { valid: ['NOT_INSTANTIATED', 'INSTANTIATED'], invalid: ['STARTED'] },
  InstanceOperationalState: { valid: ['STARTED', 'STOPPED'], invalid: ['RUNNING'] },
  Origin: { valid: ['center', 'edge'], invalid: ['MEPM'] },
  AppInstance: {
    valid: [ex.appInstance, breaking(ex.appInstance, { mechostIp: null, status: 'NOT_INSTANTIATED' })],
    invalid: [breaking(ex.appInstance, { status: 'Instantiated' }), breaking(ex.appInstance, { origin: 'MEO' })],
  },
  OperationState: {
    valid: ['STARTING', 'PROCESSING', 'COMPLETED', 'FAILED_TEMP', 'FAILED'],
    invalid: ['ROLLING_BACK'],
  },
  OperationType: { valid: ['INSTANTIATE', 'OPERATE', 'TERMINATE', 'BATCH'], invalid: ['INSTATIATE'] },
  LcmOpOcc: {
    valid: [ex.lcmOpOcc, breaking(ex.lcmOpOcc, { appInstanceId: null, lcmOperation: 'BATCH' })],
    invalid: [breaking(ex.lcmOpOcc, { operationState: 'DONE' }), breaking(ex.lcmOpOcc, { attempts: -1 })],
  },
  HostMetrics: {
    valid: [ex.metrics],
    invalid: [
      breaking(ex.metrics, { memory: { totalBytes: 1, usedBytes: 2 } }),
      breaking(ex.metrics, { cpu: { cores: 4, usedPercent: 120 } }),
    ],
  },
  DesiredInstance: {
    valid: [ex.desiredInstance],
    invalid: [
      breaking(ex.desiredInstance, { targetState: 'RUNNING' }),
      breaking(ex.desiredInstance, { generation: 0 }),
    ],
  },
  PackageRef: { valid: [ex.packageRef], invalid: [breaking(ex.packageRef, { digest: 'abc' })] },
  InstanceRules: { valid: [ex.instanceRules], invalid: [breaking(ex.instanceRules, { appInstanceId: 'x' })] },
  PluginConfig: {
    valid: [
      { vim: 'kubernetes', config: 'apiVersion: v1' },
      { vim: 'openstack', config: null },
    ],
    invalid: [{ vim: 'exec', config: '' }],
  },
  CommandBody: {
    valid: [
      ex.command.body,
      { kind: 'package.distribute', package: ex.packageRef },
      { kind: 'package.remove', appPkgId: ex.appPkgId },
      { kind: 'rules.set', rules: ex.instanceRules },
      { kind: 'plugin.configure', plugin: { vim: 'kubernetes', config: null } },
    ],
    invalid: [{ kind: 'instance.delete', appInstanceId: ex.appInstanceId }, { kind: 'package.remove' }],
  },
  Command: { valid: [ex.command], invalid: [breaking(ex.command, { seq: 0 }), breaking(ex.command, { body: {} })] },
  DesiredState: {
    valid: [frames.snapshot.state, { instances: [], packages: [], rules: [] }],
    invalid: [{ instances: [] }],
  },
  MepService: {
    valid: [{ serInstanceId: 's1', serName: 'location', state: 'ACTIVE', appInstanceId: null }],
    invalid: [{ serInstanceId: 's1', serName: 'location', state: 'UP', appInstanceId: null }],
  },
  EventBody: {
    valid: [
      ex.event.body,
      {
        kind: 'operation.result',
        operationId: ex.operationId,
        appInstanceId: ex.appInstanceId,
        outcome: 'FAILED',
        error: 'image pull failed',
      },
      { kind: 'instance.local_change', change: 'deployed', instance: ex.desiredInstance },
      { kind: 'package.status', appPkgId: ex.appPkgId, digest: ex.digest, state: 'DISTRIBUTED', error: null },
      { kind: 'rules.status', appInstanceId: ex.appInstanceId, taskId: null, state: 'SUCCESS' },
      { kind: 'mep.services', services: [] },
      {
        kind: 'mep.rules',
        appInstanceId: ex.appInstanceId,
        trafficRules: [{ trafficRuleId: 'tr1', state: 'ACTIVE' }],
        dnsRules: [{ dnsRuleId: 'dns1', state: 'INACTIVE' }],
        configuration: { appDnsRule: [ex.dnsRule] },
      },
      { kind: 'host.metrics', metrics: ex.metrics },
    ],
    invalid: [
      {
        kind: 'mep.rules',
        appInstanceId: ex.appInstanceId,
        trafficRules: [{ trafficRuleId: 'tr1', state: 'ON' }],
        dnsRules: [],
      },
      { kind: 'instance.status', appInstanceId: ex.appInstanceId, status: 'RUNNING', generation: 1, operationId: null },
      { kind: 'host.heartbeat' },
    ],
  },
  EdgeEvent: { valid: [ex.event], invalid: [breaking(ex.event, { eventId: 'e1' })] },
  Hello: {
    valid: [frames.hello],
    invalid: [
      breaking(frames.hello, { protocolVersions: [] }),
      breaking(frames.hello, { lastAppliedCommandSeq: -1 }),
      breaking(frames.hello, { lastEventSeq: undefined }),
    ],
  },
  Welcome: { valid: [frames.welcome], invalid: [breaking(frames.welcome, { window: 0 })] },
  CommandFrame: { valid: [frames.command], invalid: [breaking(frames.command, { command: {} })] },
  Snapshot: { valid: [frames.snapshot], invalid: [breaking(frames.snapshot, { state: null })] },
  Ack: {
    valid: [frames.ack, breaking(frames.ack, { stream: 'events', seq: 0 })],
    invalid: [breaking(frames.ack, { stream: 'rpc' })],
  },
  EventFrame: {
    valid: [frames.event],
    invalid: [
      breaking(frames.event, { events: [] }),
      breaking(frames.event, { events: [ex.event, ex.event] }),
      breaking(frames.event, { events: Array.from({ length: 501 }, (_, i) => ({ ...ex.event, seq: i + 1 })) }),
      breaking(frames.event, { after: 1 }),
    ],
  },
  RpcMethod: { valid: ['instance.logs', 'host.kpi'], invalid: ['shell.exec'] },
  RpcRequest: {
    valid: [frames.rpcRequest],
    invalid: [breaking(frames.rpcRequest, { method: 'shell.exec' }), breaking(frames.rpcRequest, { timeoutMs: 0 })],
  },
  RpcResponse: {
    valid: [
      frames.rpcResponse,
      { v: 1, type: 'rpc_response', id: ex.operationId, error: { code: 'NOT_FOUND', message: 'no instance' } },
    ],
    invalid: [
      { v: 1, type: 'rpc_response', id: ex.operationId },
      { v: 1, type: 'rpc_response', id: ex.operationId, result: 1, error: { code: 'X', message: 'y' } },
    ],
  },
  ErrorCode: { valid: ['BAD_FRAME', 'UNSUPPORTED_VERSION'], invalid: ['OOPS'] },
  ErrorFrame: { valid: [frames.error], invalid: [breaking(frames.error, { code: 'OOPS' })] },
  EdgePublicKey: { valid: [publicKey], invalid: [publicKey.slice(0, -2), `-----BEGIN PUBLIC KEY-----${publicKey}`] },
  EnrollRequest: {
    valid: [{ token: 'a'.repeat(43), publicKey, agentVersion: '0.1.0' }],
    invalid: [
      { token: 'short', publicKey, agentVersion: '0.1.0' },
      { token: 'a'.repeat(43), publicKey: 'x', agentVersion: '1' },
    ],
  },
  EdgeIdentity: {
    valid: [{ hostId: uuidLike, tenantId: uuidLike, mechostIp: '10.0.0.1', mechostName: 'edge-1' }],
    invalid: [{ hostId: uuidLike, tenantId: uuidLike, mechostIp: 'edge-1', mechostName: 'edge-1' }],
  },
  RotateKeyRequest: { valid: [{ publicKey }], invalid: [{}, { publicKey: 'MCowBQYDK2VwAyEA' }] },
  Frame: {
    valid: Object.values(frames),
    invalid: [{ v: 1, type: 'bye' }, { type: 'hello' }, breaking(frames.ack, { v: 0 }), null, 'hello'],
  },
}

const schemas = Object.entries(protocol as Record<string, unknown>).filter(
  (entry): entry is [string, z.ZodType] => entry[1] instanceof z.ZodType,
)

describe('every exported schema', () => {
  it('has valid and invalid examples in this table', () => {
    const missing = schemas.map(([name]) => name).filter((name) => !(name in cases))
    expect(missing).toEqual([])
    expect(Object.keys(cases).filter((name) => !schemas.some(([exported]) => exported === name))).toEqual([])
  })

  describe.each(schemas)('%s', (name, schema) => {
    const { valid = [], invalid = [] } = cases[name] ?? {}

    it.each(valid.map((value, i) => [i, value] as const))('accepts valid example %i', (_, value) => {
      const result = schema.safeParse(value)
      expect(result.error ? z.prettifyError(result.error) : '').toBe('')
    })

    it.each(invalid.map((value, i) => [i, value] as const))('refuses invalid example %i', (_, value) => {
      expect(schema.safeParse(value).success).toBe(false)
    })
  })
})

describe('IpAddress', () => {
  it('spells each IPv6 address one way, so that one host has one key', () => {
    expect(protocol.IpAddress.parse('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1')
    expect(protocol.IpAddress.parse('10.0.0.1')).toBe('10.0.0.1')
  })
})

describe('AppdConfiguration', () => {
  it("reads EdgeGallery apprulemgr's appDnsRule spelling as appDNSRule", () => {
    const parsed = protocol.AppdConfiguration.parse({ appDnsRule: [ex.dnsRule] })
    expect(parsed.appDNSRule).toHaveLength(1)
    expect(parsed).not.toHaveProperty('appDnsRule')
  })
})

describe('mergeRules', () => {
  const rule = (dnsRuleId: string, ipAddress = '10.0.0.1') =>
    protocol.DnsRule.parse({ ...ex.dnsRule, dnsRuleId, ipAddress })
  const current = protocol.AppdConfiguration.parse({ appDNSRule: [rule('a'), rule('b')] })

  it('replaces rules by id and adds the others', () => {
    const merged = protocol.mergeRules(current, {
      rules: { ...current, appDNSRule: [rule('b', '10.9.9.9'), rule('c')] },
    })
    expect(merged.appDNSRule.map((dns) => [dns.dnsRuleId, dns.ipAddress])).toEqual([
      ['a', '10.0.0.1'],
      ['b', '10.9.9.9'],
      ['c', '10.0.0.1'],
    ])
  })

  it('removes rules by id on DELETE', () => {
    const merged = protocol.mergeRules(current, {
      ruleAction: 'DELETE',
      removeRules: { appTrafficRule: [], appDNSRule: ['a', 'z'] },
    })
    expect(merged.appDNSRule.map((dns) => dns.dnsRuleId)).toEqual(['b'])
  })
})

describe('error messages', () => {
  it('say what was wrong in words a person can act on', () => {
    const result = protocol.MecHostInput.safeParse(breaking(ex.mecHostInput, { mechostName: 'edge 01' }))
    expect(result.success).toBe(false)
    expect(z.prettifyError(result.error as z.ZodError)).toContain('mechostName')
    expect(z.prettifyError(result.error as z.ZodError)).toContain('letters, digits')
  })
})

describe('redacted', () => {
  it('masks the AK/SK parameters and leaves the others and the input alone', () => {
    const record = { appName: 'x', parameters: { ak: 'AK1', sk: 'SK1', PORT: '80' } }
    expect(protocol.redacted(record)).toEqual({ appName: 'x', parameters: { ak: '***', sk: '***', PORT: '80' } })
    expect(record.parameters.sk).toBe('SK1')
  })
})
