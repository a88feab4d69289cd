/** Every object of an instance carries this label, pod templates included: it is how the plugin finds them. */
export const INSTANCE_LABEL = 'mecm.io/app-instance-id'
export const TENANT_LABEL = 'mecm.io/tenant-id'
export const MANAGED_BY = { 'app.kubernetes.io/managed-by': 'mecm' }
/** The field manager of server-side apply. */
export const FIELD_MANAGER = 'mecm'

export const instanceSelector = (appInstanceId: string) => `${INSTANCE_LABEL}=${appInstanceId}`

/** The namespace an instance gets when its package names none: unique by instance id. */
export const instanceNamespace = (appInstanceId: string) => `mecm-${appInstanceId.toLowerCase()}`

/** The Secret holding the instance's AK/SK, referenced by every container (secretKeyRef). */
export const credentialsSecret = (appInstanceId: string) => `mecm-credentials-${appInstanceId.toLowerCase()}`

/** The Helm release of an instance's chart: one per instance, never the chart name alone. */
export const releaseName = (appInstanceId: string) => `mecm-${appInstanceId.toLowerCase()}`
