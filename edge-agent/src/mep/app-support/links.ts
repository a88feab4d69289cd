/**
 * Where the app support resources are, as the links in answers and notifications give them:
 * absolute paths on the MEP (MEC 011 LinkType.href), which the app reaches at the address it was given.
 */
export const API_ROOT = '/mec_app_support/v1'

const application = (appInstanceId: string) => `${API_ROOT}/applications/${encodeURIComponent(appInstanceId)}`

export const subscriptionsHref = (appInstanceId: string) => `${application(appInstanceId)}/subscriptions`

export const subscriptionHref = (appInstanceId: string, subscriptionId: string) =>
  `${subscriptionsHref(appInstanceId)}/${encodeURIComponent(subscriptionId)}`

export const confirmTerminationHref = (appInstanceId: string) => `${application(appInstanceId)}/confirm_termination`
