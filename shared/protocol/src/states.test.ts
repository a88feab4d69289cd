import { describe, expect, it } from 'vitest'
import { etsiInstanceState } from './instance'
import {
  canTransition,
  IllegalTransition,
  instanceLifecycle,
  isFinal,
  lcmOperation,
  packageDistribution,
  packageOnboarding,
  packageOperational,
  packageUsage,
  ruleTask,
  type StateMachine,
  stateMachines,
  transition,
} from './states'

/**
 * The legal moves, written out independently of the tables in states.ts (DESIGN.md "Domain
 * states"). Every pair of states is checked: listed pairs must pass, every other pair must be refused.
 */
const expected: [StateMachine<string>, string[]][] = [
  [
    packageOnboarding,
    [
      'CREATED>UPLOADING',
      'CREATED>ERROR',
      'UPLOADING>PROCESSING',
      'UPLOADING>ERROR',
      'PROCESSING>ONBOARDED',
      'PROCESSING>ERROR',
      'ERROR>UPLOADING',
    ],
  ],
  [packageOperational, ['ENABLED>DISABLED', 'DISABLED>ENABLED']],
  [packageUsage, ['IN_USE>NOT_IN_USE', 'NOT_IN_USE>IN_USE']],
  [
    packageDistribution,
    [
      'PENDING>DISTRIBUTING',
      'PENDING>FAILED',
      'DISTRIBUTING>DISTRIBUTED',
      'DISTRIBUTING>FAILED',
      'DISTRIBUTING>PENDING',
      'DISTRIBUTED>PENDING',
      'FAILED>PENDING',
    ],
  ],
  [
    instanceLifecycle,
    [
      'NOT_INSTANTIATED>INSTANTIATING',
      'INSTANTIATING>STARTED',
      'INSTANTIATING>STOPPED',
      'INSTANTIATING>NOT_INSTANTIATED',
      'INSTANTIATING>FAILED',
      'STARTED>STOPPING',
      'STARTED>TERMINATING',
      'STARTED>FAILED',
      'STOPPING>STOPPED',
      'STOPPING>FAILED',
      'STOPPED>STARTING',
      'STOPPED>TERMINATING',
      'STARTING>STARTED',
      'STARTING>FAILED',
      'TERMINATING>NOT_INSTANTIATED',
      'TERMINATING>FAILED',
      'FAILED>INSTANTIATING',
      'FAILED>STARTING',
      'FAILED>STOPPING',
      'FAILED>TERMINATING',
    ],
  ],
  [
    lcmOperation,
    [
      'STARTING>PROCESSING',
      'STARTING>FAILED_TEMP',
      'PROCESSING>COMPLETED',
      'PROCESSING>FAILED_TEMP',
      'FAILED_TEMP>PROCESSING',
      'FAILED_TEMP>FAILED',
    ],
  ],
  [ruleTask, ['PROCESSING>SUCCESS', 'PROCESSING>FAILURE', 'FAILURE>PROCESSING']],
]

it('every state machine is covered by this test', () => {
  expect(expected.map(([sm]) => sm.name).sort()).toEqual(stateMachines.map((sm) => sm.name).sort())
})

describe.each(expected)('$name', (sm, legal) => {
  const pairs = sm.states.flatMap((from) => sm.states.map((to) => [from, to] as const))
  const legalPairs = pairs.filter(([from, to]) => legal.includes(`${from}>${to}`))
  const illegalPairs = pairs.filter(([from, to]) => !legal.includes(`${from}>${to}`))

  it('names only its own states', () => {
    expect(legal.flatMap((move) => move.split('>')).filter((state) => !sm.states.includes(state))).toEqual([])
    expect(legalPairs).toHaveLength(legal.length)
  })

  it.each(legalPairs)('allows %s -> %s', (from, to) => {
    expect(canTransition(sm, from, to)).toBe(true)
    expect(transition(sm, from, to)).toBe(to)
  })

  it.each(illegalPairs)('refuses %s -> %s', (from, to) => {
    expect(canTransition(sm, from, to)).toBe(false)
    expect(() => transition(sm, from, to)).toThrow(IllegalTransition)
  })
})

describe('transition errors', () => {
  it('name the machine, both states and what is allowed', () => {
    expect(() => transition(instanceLifecycle, 'STOPPED', 'STOPPING')).toThrow(
      'app instance cannot go from STOPPED to STOPPING; from STOPPED it may go to STARTING, TERMINATING',
    )
  })

  it('call a final state final', () => {
    expect(isFinal(lcmOperation, 'COMPLETED')).toBe(true)
    expect(isFinal(lcmOperation, 'FAILED_TEMP')).toBe(false)
    expect(() => transition(lcmOperation, 'COMPLETED', 'PROCESSING')).toThrow('nothing (final state)')
  })

  it('refuse a state the machine does not have', () => {
    expect(canTransition(lcmOperation, 'ROLLED_BACK' as 'FAILED', 'FAILED')).toBe(false)
  })
})

describe('etsiInstanceState', () => {
  it.each([
    ['NOT_INSTANTIATED', 'NOT_INSTANTIATED', undefined],
    ['INSTANTIATING', 'NOT_INSTANTIATED', undefined],
    ['STARTED', 'INSTANTIATED', 'STARTED'],
    ['STOPPING', 'INSTANTIATED', 'STARTED'],
    ['STOPPED', 'INSTANTIATED', 'STOPPED'],
    ['STARTING', 'INSTANTIATED', 'STOPPED'],
    ['TERMINATING', 'INSTANTIATED', 'STARTED'],
    ['FAILED', 'INSTANTIATED', 'STOPPED'],
  ] as const)('%s is %s/%s', (status, instantiationState, operationalState) => {
    expect(etsiInstanceState(status)).toEqual(
      operationalState ? { instantiationState, operationalState } : { instantiationState },
    )
  })
})
