import { randomUUID } from 'node:crypto'

/** An OpenStack API failure, formatted by each service in its own error body. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    /** The exception's class name, as Neutron and Heat report it (NetworkInUse, StackExists…). */
    readonly type: string,
    message: string,
  ) {
    super(message)
  }
}

export interface Quota {
  cores: number
  ramMiB: number
  instances: number
  volumeGigabytes: number
}

export interface Image {
  id: string
  name: string
  status: 'queued' | 'saving' | 'uploading' | 'importing' | 'active' | 'killed' | 'deleted'
  disk_format: string | null
  container_format: string | null
  min_disk: number
  min_ram: number
  size: number | null
  checksum: string | null
  os_hash_algo: string | null
  os_hash_value: string | null
  visibility: string
  protected: boolean
  created_at: string
  updated_at: string
  /** Custom properties, shown beside the core ones. */
  properties: Record<string, string>
}

export interface Flavor {
  id: string
  name: string
  vcpus: number
  ram: number
  disk: number
  swap: number
  extraSpecs: Record<string, string>
}

export interface Server {
  id: string
  name: string
  status: 'BUILD' | 'ACTIVE' | 'SHUTOFF' | 'PAUSED' | 'SUSPENDED' | 'REBOOT' | 'ERROR'
  taskState: string | null
  flavorId: string
  imageId: string
  portIds: string[]
  securityGroups: string[]
  userData: string | null
  console: string[]
  created: string
  updated: string
}

export interface Network {
  id: string
  name: string
  subnets: string[]
}

export interface Subnet {
  id: string
  name: string
  networkId: string
  cidr: string
  gatewayIp: string
  /** The last host number handed out. */
  allocated: number
}

export interface Port {
  id: string
  name: string
  networkId: string
  fixedIps: { subnet_id: string; ip_address: string }[]
  macAddress: string
  securityGroups: string[]
  deviceId: string
}

export interface SecurityGroupRule {
  id: string
  security_group_id: string
  direction: 'ingress' | 'egress'
  ethertype: 'IPv4' | 'IPv6'
  protocol: string | null
  port_range_min: number | null
  port_range_max: number | null
  remote_ip_prefix: string | null
  remote_group_id: string | null
}

export interface SecurityGroup {
  id: string
  name: string
  description: string
}

export interface Volume {
  id: string
  name: string
  size: number
  status: 'available' | 'in-use'
  attachedTo: string | null
}

export type StackStatus =
  | 'CREATE_IN_PROGRESS'
  | 'CREATE_COMPLETE'
  | 'CREATE_FAILED'
  | 'DELETE_IN_PROGRESS'
  | 'DELETE_COMPLETE'
  | 'DELETE_FAILED'

export interface StackResource {
  name: string
  type: string
  status: StackStatus | 'INIT_COMPLETE'
  reason: string
  physicalId: string | null
}

export interface StackEvent {
  id: string
  event_time: string
  resource_name: string
  logical_resource_id: string
  physical_resource_id: string | null
  resource_status: string
  resource_status_reason: string
}

export interface Stack {
  id: string
  name: string
  status: StackStatus
  reason: string
  template: Record<string, unknown>
  parameters: Record<string, string>
  resources: StackResource[]
  events: StackEvent[]
  outputs: { output_key: string; output_value: unknown; description: string }[]
  created: string
  updated: string | null
  /** Set when a delete arrives while the create still runs: the create stops at its next step. */
  cancelled: boolean
}

export interface CloudTimings {
  /** How long a server stays in BUILD, and a power action takes. */
  serverMs: number
  /** How long a web-download import takes once the data is fetched. */
  importMs: number
  /** The pause between two resources of a stack. */
  stackStepMs: number
}

export interface Faults {
  /** Images fail: `killed` (upload or import ends in status killed), `import-failed` (web-download fails as Glance reports it). */
  images: false | 'killed' | 'import-failed'
  /** Servers never leave BUILD, so stacks never complete. */
  serversStuckInBuild: boolean
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z')

/** Everything the cloud holds: one project, shared by every service, so Heat's servers show in Nova. */
export class CloudState {
  readonly projectId = randomUUID().replaceAll('-', '')
  readonly userId = randomUUID().replaceAll('-', '')
  readonly images = new Map<string, Image>()
  readonly flavors = new Map<string, Flavor>()
  readonly servers = new Map<string, Server>()
  readonly networks = new Map<string, Network>()
  readonly subnets = new Map<string, Subnet>()
  readonly ports = new Map<string, Port>()
  readonly securityGroups = new Map<string, SecurityGroup>()
  readonly rules = new Map<string, SecurityGroupRule>()
  readonly volumes = new Map<string, Volume>()
  readonly stacks = new Map<string, Stack>()
  readonly faults: Faults = { images: false, serversStuckInBuild: false }
  private readonly timers = new Set<NodeJS.Timeout>()

  constructor(
    readonly quota: Quota,
    readonly timings: CloudTimings,
  ) {}

  id(): string {
    return randomUUID()
  }

  now(): string {
    return now()
  }

  /** Runs `step` later, unless the cloud closes first. */
  later(ms: number, step: () => void | Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      void step()
    }, ms)
    this.timers.add(timer)
  }

  sleep(ms: number): Promise<void> {
    return new Promise((done) => this.later(ms, done))
  }

  stopTimers(): void {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
  }

  /** Cores, RAM (MiB) and instances the project's servers use. */
  computeUsage(): { cores: number; ramMiB: number; instances: number } {
    let cores = 0
    let ramMiB = 0
    for (const server of this.servers.values()) {
      const flavor = this.flavors.get(server.flavorId)
      cores += flavor?.vcpus ?? 0
      ramMiB += flavor?.ram ?? 0
    }
    return { cores, ramMiB, instances: this.servers.size }
  }

  volumeGigabytesUsed(): number {
    return [...this.volumes.values()].reduce((sum, volume) => sum + volume.size, 0)
  }

  /** Everything still allocated: what a test checks is gone after a failed instantiate. */
  inventory() {
    return {
      stacks: [...this.stacks.values()].map((stack) => ({ name: stack.name, status: stack.status })),
      servers: [...this.servers.values()].map((server) => server.name),
      networks: [...this.networks.values()].map((network) => network.name),
      ports: this.ports.size,
      securityGroups: [...this.securityGroups.values()].map((group) => group.name),
      volumes: this.volumes.size,
      flavors: [...this.flavors.values()].map((flavor) => flavor.name),
      images: [...this.images.values()].map((image) => ({ name: image.name, status: image.status })),
    }
  }
}
