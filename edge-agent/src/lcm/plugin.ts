import type { DesiredInstance, ExecDescriptor, VimKind } from '@mecm/protocol'

/** Everything a plugin needs to run one instance. */
export interface RunSpec {
  instance: DesiredInstance
  /** The package's content, unpacked and verified. */
  packageDir: string
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
}
