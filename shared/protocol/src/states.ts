import { InstanceStatus } from './instance'
import { OperationState } from './operation'
import { DistributionState, OnboardingState, PackageOperationalState, UsageState } from './package'
import { RuleTaskState } from './rules'

/**
 * Every status write in MECM goes through one of these tables: a state may move only to the
 * states listed for it. A transition to the same state is not a transition and is refused too.
 */
export interface StateMachine<S extends string> {
  readonly name: string
  readonly states: readonly S[]
  readonly transitions: { readonly [From in S]: readonly S[] }
}

function machine<S extends string>(
  name: string,
  states: readonly S[],
  transitions: { readonly [From in S]: readonly S[] },
): StateMachine<S> {
  return { name, states, transitions }
}

export const packageOnboarding = machine('package onboarding', OnboardingState.options, {
  CREATED: ['UPLOADING', 'ERROR'],
  UPLOADING: ['PROCESSING', 'ERROR'],
  PROCESSING: ['ONBOARDED', 'ERROR'],
  ONBOARDED: [],
  // the content of a failed package may be uploaded again
  ERROR: ['UPLOADING'],
})

export const packageOperational = machine('package operational state', PackageOperationalState.options, {
  ENABLED: ['DISABLED'],
  DISABLED: ['ENABLED'],
})

export const packageUsage = machine('package usage state', UsageState.options, {
  NOT_IN_USE: ['IN_USE'],
  IN_USE: ['NOT_IN_USE'],
})

export const packageDistribution = machine('package distribution', DistributionState.options, {
  PENDING: ['DISTRIBUTING', 'FAILED'],
  // an interrupted transfer goes back to PENDING and resumes
  DISTRIBUTING: ['DISTRIBUTED', 'FAILED', 'PENDING'],
  // an edge whose store was reset needs the package again
  DISTRIBUTED: ['PENDING'],
  FAILED: ['PENDING'],
})

export const instanceLifecycle = machine('app instance', InstanceStatus.options, {
  NOT_INSTANTIATED: ['INSTANTIATING'],
  // a failed instantiate that cleaned up after itself returns to NOT_INSTANTIATED
  INSTANTIATING: ['STARTED', 'STOPPED', 'NOT_INSTANTIATED', 'FAILED'],
  STARTED: ['STOPPING', 'TERMINATING', 'FAILED'],
  STOPPING: ['STOPPED', 'FAILED'],
  STOPPED: ['STARTING', 'TERMINATING'],
  STARTING: ['STARTED', 'FAILED'],
  TERMINATING: ['NOT_INSTANTIATED', 'FAILED'],
  // retry the instantiate, start again, stop what is left, or clean up
  FAILED: ['INSTANTIATING', 'STARTING', 'STOPPING', 'TERMINATING'],
})

export const lcmOperation = machine('LCM operation', OperationState.options, {
  STARTING: ['PROCESSING', 'FAILED_TEMP'],
  PROCESSING: ['COMPLETED', 'FAILED_TEMP'],
  COMPLETED: [],
  // retry goes back to PROCESSING; fail and cancel end in FAILED
  FAILED_TEMP: ['PROCESSING', 'FAILED'],
  FAILED: [],
})

export const ruleTask = machine('rule task', RuleTaskState.options, {
  PROCESSING: ['SUCCESS', 'FAILURE'],
  SUCCESS: [],
  // the operation that failed it is retried
  FAILURE: ['PROCESSING'],
})

export const stateMachines = [
  packageOnboarding,
  packageOperational,
  packageUsage,
  packageDistribution,
  instanceLifecycle,
  lcmOperation,
  ruleTask,
] as const

export class IllegalTransition extends Error {
  constructor(
    readonly machine: string,
    readonly from: string,
    readonly to: string,
    readonly allowed: readonly string[],
  ) {
    super(
      `${machine} cannot go from ${from} to ${to}; from ${from} it may go to ${allowed.length ? allowed.join(', ') : 'nothing (final state)'}`,
    )
    this.name = 'IllegalTransition'
  }
}

export function canTransition<S extends string>(sm: StateMachine<S>, from: S, to: S): boolean {
  return sm.transitions[from]?.includes(to) ?? false
}

/** Returns `to` when the move is legal, and throws IllegalTransition otherwise. */
export function transition<S extends string>(sm: StateMachine<S>, from: S, to: S): S {
  if (!canTransition(sm, from, to)) {
    throw new IllegalTransition(sm.name, from, to, sm.transitions[from] ?? [])
  }
  return to
}

export function isFinal<S extends string>(sm: StateMachine<S>, state: S): boolean {
  return sm.transitions[state].length === 0
}
