/**
 * Valid example records, one per domain type, for tests across the workspace
 * (`import { examples } from '@mecm/protocol/examples'`). Every one parses; tests derive
 * invalid cases by breaking one field.
 */
const at = '2026-11-21T10:00:00.000Z'
const tenantId = '3f0c2b9e-8a1d-4e5f-9b7a-1c2d3e4f5a6b'
const appInstanceId = '9b2f6a1e-3c4d-4e5f-8a7b-0c1d2e3f4a5b'
const operationId = 'c0ffee00-1234-4abc-9def-0123456789ab'
const appPkgId = '0123456789abcdef0123456789abcdef'
const appId = 'fedcba9876543210fedcba9876543210'
const digest = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'

const trafficRule = {
  trafficRuleId: 'TrafficRule1',
  filterType: 'FLOW',
  priority: 1,
  action: 'FORWARD_DECAPSULATED',
  trafficFilter: [{ srcAddress: ['192.168.1.0/24'], dstPort: ['8080'], protocol: ['TCP'] }],
  dstInterface: [{ interfaceType: 'IP', dstIpAddress: '10.0.0.5' }],
}
const dnsRule = {
  dnsRuleId: 'dnsRule1',
  domainName: 'app.mec.example',
  ipAddressType: 'IP_V4',
  ipAddress: '10.0.0.5',
  ttl: 60,
}
const metrics = {
  at,
  cpu: { cores: 8, usedPercent: 12.5 },
  memory: { totalBytes: 16e9, usedBytes: 4e9 },
  disk: { totalBytes: 500e9, usedBytes: 100e9 },
  instances: 3,
}
const desiredInstance = {
  appInstanceId,
  tenantId,
  appPkgId,
  packageDigest: digest,
  appName: 'face-recognition',
  targetState: 'STARTED',
  parameters: { replicas: '2' },
  operationId,
  generation: 1,
}
const packageRef = { appPkgId, digest, size: 1024, appClass: 'exec' }
const instanceRules = {
  appInstanceId,
  taskId: null,
  configuration: { appTrafficRule: [trafficRule], appDNSRule: [dnsRule] },
}
const command = {
  seq: 1,
  commandId: operationId,
  issuedAt: at,
  body: { kind: 'instance.set', instance: desiredInstance },
}
const event = {
  seq: 1,
  eventId: appInstanceId,
  at,
  body: { kind: 'instance.status', appInstanceId, status: 'STARTED', generation: 1, operationId, detail: '' },
}

export const examples = {
  at,
  tenantId,
  appInstanceId,
  operationId,
  appPkgId,
  appId,
  digest,
  tenant: { tenantId, name: 'Acme Edge', createdAt: at },
  user: { userId: operationId, username: 'alice', tenantId, role: 'TENANT', createdAt: at },
  newUser: { username: 'alice', password: 'Secret-pass1', role: 'TENANT' },
  problem: { type: 'about:blank', title: 'Not Found', status: 404, detail: 'no host 10.0.0.1 in this tenant' },
  mecHostInput: {
    mechostIp: '10.1.2.3',
    mechostName: 'edge-shenzhen-01',
    location: {
      city: 'Shenzhen',
      zipCode: '518000',
      address: '1 Example Road',
      coordinates: { latitude: 22.54, longitude: 114.06 },
    },
    labels: { zone: 'south', 'mecm.io/tier': 'gold' },
    vim: 'kubernetes',
    hwCapabilities: [{ hwType: 'GPU', hwVendor: 'NVIDIA', hwModel: 'T4' }],
  },
  get mecHost() {
    return { ...this.mecHostInput, tenantId, status: 'NEVER_CONNECTED', lastSeenAt: null, createdAt: at, updatedAt: at }
  },
  trafficRule,
  dnsRule,
  appdConfiguration: {
    appName: 'face-recognition',
    appSupportMp1: true,
    appTrafficRule: [trafficRule],
    appDNSRule: [dnsRule],
  },
  swImageDescriptor: {
    id: 'img-1',
    name: 'face-recognition',
    version: '1.0',
    checksum: digest,
    containerFormat: 'bare',
    diskFormat: 'qcow2',
    minDisk: 10,
    minRam: 2048,
    size: 1024,
    swImage: 'Image/face.zip/face.qcow2',
  },
  appD: {
    appDId: 'face-recognition-appd',
    appName: 'face-recognition',
    appProvider: 'Acme',
    appSoftVersion: '1.0.0',
    appDVersion: '2.0',
    virtualComputeDescriptor: {
      virtualCpu: { numVirtualCpu: 2 },
      virtualMemory: { virtualMemSize: 4096 },
      virtualLocalStorage: { sizeOfStorage: 20 },
    },
    appServiceRequired: [{ serName: 'location', version: '1.0' }],
    appServiceProduced: [{ serName: 'face', version: '1.0', dnsRuleIdList: ['dnsRule1'] }],
    appFeatureRequired: [{ featureName: 'GPU' }],
    appTrafficRule: [trafficRule],
    appDNSRule: [dnsRule],
    inputs: [{ name: 'replicas', type: 'string', defaultValue: '1', description: 'how many copies' }],
  },
  appPackage: {
    tenantId,
    appPkgId,
    appId,
    appPkgName: 'face-recognition',
    appPkgVersion: '1.0.0',
    signed: false,
    artifacts: [{ kind: 'kubernetes', path: 'Artifacts/Deployment/Kubernetes/face.yaml' }],
    appDId: 'face-recognition-appd',
    appName: 'face-recognition',
    appProvider: 'Acme',
    appSoftVersion: '1.0.0',
    appDVersion: '2.0',
    appClass: 'container',
    checksum: { algorithm: 'SHA-256', hash: digest },
    size: 1024,
    onboardingState: 'ONBOARDED',
    onboardingFailure: null,
    operationalState: 'ENABLED',
    usageState: 'NOT_IN_USE',
    distributions: [{ hostIp: '10.1.2.3', state: 'DISTRIBUTED', error: null, updatedAt: at }],
    createdAt: at,
    updatedAt: at,
  },
  appInstance: {
    appInstanceId,
    tenantId,
    appInstanceName: 'face-1',
    appPkgId,
    appId,
    appDId: 'face-recognition-appd',
    appName: 'face-recognition',
    appProvider: 'Acme',
    appSoftVersion: '1.0.0',
    appDVersion: '2.0',
    mechostIp: '10.1.2.3',
    status: 'STARTED',
    parameters: {},
    origin: 'center',
    lastError: null,
    createdAt: at,
    updatedAt: at,
  },
  lcmOpOcc: {
    id: operationId,
    tenantId,
    appInstanceId,
    lcmOperation: 'INSTANTIATE',
    operationState: 'PROCESSING',
    stateEnteredTime: at,
    startTime: at,
    attempts: 1,
    error: null,
  },
  metrics,
  desiredInstance,
  packageRef,
  instanceRules,
  command,
  event,
  frames: {
    hello: {
      v: 1,
      type: 'hello',
      agentVersion: '0.1.0',
      protocolVersions: [1],
      storeId: operationId,
      lastAppliedCommandSeq: 0,
      lastAppliedCommandId: null,
      lastEventSeq: 0,
      vims: ['exec'],
    },
    welcome: {
      v: 1,
      type: 'welcome',
      protocolVersion: 1,
      sessionId: operationId,
      lastCommittedEventSeq: 0,
      heartbeatMs: 5000,
      window: 100,
    },
    command: { v: 1, type: 'command', command },
    snapshot: {
      v: 1,
      type: 'snapshot',
      seq: 7,
      state: { instances: [desiredInstance], packages: [packageRef], rules: [instanceRules] },
    },
    ack: { v: 1, type: 'ack', stream: 'commands', seq: 1 },
    event: {
      v: 1,
      type: 'event',
      after: 0,
      events: [event, { ...event, seq: 2, body: { kind: 'host.metrics', metrics } }],
    },
    rpcRequest: {
      v: 1,
      type: 'rpc_request',
      id: operationId,
      method: 'instance.logs',
      params: { appInstanceId },
      timeoutMs: 5000,
    },
    rpcResponse: { v: 1, type: 'rpc_response', id: operationId, result: { lines: ['started'] }, more: true },
    error: { v: 1, type: 'error', code: 'BAD_FRAME', message: 'frame is not JSON', fatal: false },
  },
} as const
