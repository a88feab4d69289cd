import { z } from 'zod'

/** MEC 011 v2.1.1 data types of the application support API; its rules are ../rules/mp1-rules. */

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
