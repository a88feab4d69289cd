import { DnsRule, DstInterface, TrafficRule } from '@mecm/protocol'
import { z } from 'zod'

/** MEC 011 v2.1.1 data types of the application support API. */

const RuleState = z.enum(['ACTIVE', 'INACTIVE'])

/**
 * A TrafficRule as an app PUTs it back: the APPD model the rules are filled from (@mecm/protocol),
 * with its state. Mp1's own action names and its single destination interface are accepted too,
 * so that a rule read from either side can be written back.
 */
export const Mp1TrafficRule = TrafficRule.extend({
  action: z.enum([
    ...TrafficRule.shape.action.options,
    'FORWARD_ENCAPSULATED',
    'DUPLICATE_DECAPSULATED',
    'DUPLICATE_ENCAPSULATED',
  ]),
  dstInterface: z.union([DstInterface, z.array(DstInterface).max(2, 'at most 2 destination interfaces')]).optional(),
  state: RuleState,
})

export const Mp1DnsRule = DnsRule.extend({ state: RuleState })

export const OperationAction = z.enum(['STOPPING', 'TERMINATING'])
export type OperationAction = z.infer<typeof OperationAction>

export const SUBSCRIPTION_TYPE = 'AppTerminationNotificationSubscription'

/** The request body of a subscription; `_links` is the platform's to set. */
export const AppTerminationNotificationSubscription = z.object({
  subscriptionType: z.literal(SUBSCRIPTION_TYPE),
  callbackReference: z.url({ protocol: /^https?$/ }),
  appInstanceId: z.string(),
})

/** The body is optional (spec: `required: false`); without one the app confirms whatever is asked of it. */
export const AppReadyConfirmation = z.object({ indication: z.literal('READY') })
export const AppTerminationConfirmation = z.object({ operationAction: OperationAction })
