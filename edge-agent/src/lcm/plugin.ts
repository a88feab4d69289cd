import type { DesiredInstance, ExecDescriptor, HostMetrics, PackageArtifact, VimKind } from '@mecm/protocol'

/** Everything a plugin needs to run one instance. */
export interface RunSpec {
  instance: DesiredInstance
  /** The package's content, unpacked and verified (for exec packages, the folder of the exec descriptor). */
  packageDir: string
  /** The package's root folder, which the artifact paths are relative to. */
  packageRoot: string
  /** What the package deploys: Kubernetes manifests, Helm charts, images (see @mecm/csar). */
  artifacts: PackageArtifact[]
  /** The exec descriptor, for exec packages. */
  exec?: ExecDescriptor
  /** Injected into the app: its instance id, AK/SK and the local MEP address. */
  env: Record<string, string>
}

/** What a plugin sees of an instance right now. */
export interface Observation {
  state: 'absent' | 'running' | 'exited'
  /** False while a health check has not yet passed (or fails). */
  healthy: boolean
  detail: string
  /** What the backend runs for the instance: pods, services, servers, volumes, stacks. */
  resources?: ObservedResource[]
  /** The backend's recent events about the instance, oldest first. */
  events?: BackendEvent[]
}

export interface ObservedResource {
  kind: string
  name: string
  /** The backend's own word for its state: Running, Pending, ACTIVE, CREATE_COMPLETE… */
  status: string
  ready?: boolean
  restarts?: number
  /** Addresses and ports it can be reached on. */
  addresses?: string[]
}

export interface BackendEvent {
  at: string
  /** The object it is about, as kind/name. */
  object: string
  reason: string
  message: string
  type?: 'Normal' | 'Warning'
}

/**
 * One interface for every way of running apps (DESIGN.md "Plugins"). Every method is idempotent
 * by instance id: instantiating a running instance or terminating an absent one changes nothing.
 * Plugins never write state; the reconciler records what they do.
 */
export interface Plugin {
  readonly kind: VimKind
  instantiate(spec: RunSpec): Promise<void>
  start(spec: RunSpec): Promise<void>
  stop(appInstanceId: string): Promise<void>
  terminate(appInstanceId: string): Promise<void>
  observe(appInstanceId: string, spec?: RunSpec): Promise<Observation>
  /** The last `tail` lines, then (with `follow`) new ones until `signal` aborts. */
  logs(appInstanceId: string, options: { tail: number; follow?: boolean; signal?: AbortSignal }): AsyncIterable<string>
  /**
   * The capacity and use of what this plugin runs apps on (a cluster, a cloud project), when it
   * can tell; without it the agent measures its own machine.
   */
  kpi?(instances: number): Promise<HostMetrics>
  /** Lets go of connections and timers when the agent stops. */
  close?(): Promise<void>
}
