import { z } from 'zod'

const Where = {
  /** Keystone, e.g. https://cloud:5000/v3 or http://cloud/identity. */
  authUrl: z.url({ protocol: /^https?$/ }),
  region: z.string().min(1).optional(),
  /** Which endpoints of the catalog to use. */
  interface: z.enum(['public', 'internal', 'admin']).default('public'),
}

const ApplicationCredential = z.object({
  ...Where,
  applicationCredentialId: z.string().min(1),
  applicationCredentialSecret: z.string().min(1),
})

const Password = z
  .object({
    ...Where,
    username: z.string().min(1),
    password: z.string().min(1),
    userDomainName: z.string().min(1).optional(),
    userDomainId: z.string().min(1).optional(),
    projectName: z.string().min(1).optional(),
    projectId: z.string().min(1).optional(),
    projectDomainName: z.string().min(1).optional(),
    projectDomainId: z.string().min(1).optional(),
  })
  .refine(
    (auth) => auth.projectName || auth.projectId,
    'needs projectName or projectId: tokens are scoped to a project',
  )

/** Credentials of an OpenStack project: a user's password, or an application credential. */
export const OpenStackConfig = z.union([ApplicationCredential, Password])
export type OpenStackConfig = z.infer<typeof OpenStackConfig>

const defined = (entries: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(entries).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''),
  )

/** Our JSON credentials from OS_* variables (an RC file's, or the environment's). */
function fromVariables(vars: Record<string, string | undefined>): Record<string, string> {
  const where = {
    authUrl: vars.OS_AUTH_URL,
    region: vars.OS_REGION_NAME,
    interface: (vars.OS_INTERFACE ?? vars.OS_ENDPOINT_TYPE)?.replace(/URL$/, ''),
  }
  if (vars.OS_APPLICATION_CREDENTIAL_ID || vars.OS_APPLICATION_CREDENTIAL_SECRET) {
    return defined({
      ...where,
      applicationCredentialId: vars.OS_APPLICATION_CREDENTIAL_ID,
      applicationCredentialSecret: vars.OS_APPLICATION_CREDENTIAL_SECRET,
    })
  }
  return defined({
    ...where,
    username: vars.OS_USERNAME,
    password: vars.OS_PASSWORD,
    userDomainName: vars.OS_USER_DOMAIN_NAME,
    userDomainId: vars.OS_USER_DOMAIN_ID,
    projectName: vars.OS_PROJECT_NAME ?? vars.OS_TENANT_NAME,
    projectId: vars.OS_PROJECT_ID ?? vars.OS_TENANT_ID,
    projectDomainName: vars.OS_PROJECT_DOMAIN_NAME,
    projectDomainId: vars.OS_PROJECT_DOMAIN_ID,
  })
}

/** `export OS_X=value` lines of an RC file; a value that refers to a shell variable cannot be used here. */
function rcVariables(text: string): Record<string, string> {
  const vars: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const match = line.match(/^\s*(?:export\s+)?(OS_[A-Z0-9_]+)=(.*?)\s*$/)
    if (!match?.[1]) continue
    const value = (match[2] ?? '').replace(/^"(.*)"$|^'(.*)'$/, '$1$2')
    if (/\$/.test(value) && match[2]?.charAt(0) !== "'")
      throw new Error(
        `the RC file sets ${match[1]} from ${value} (it asks at a prompt or reads another variable): write the value itself into the file`,
      )
    vars[match[1]] = value
  }
  return vars
}

/**
 * Reads the credentials in use: our JSON (`{"authUrl": …}`), or an OpenStack RC file as
 * EdgeGallery uploads them (OS_AUTH_URL, OS_USERNAME, OS_PASSWORD, OS_PROJECT_NAME,
 * OS_PROJECT_DOMAIN_NAME, OS_USER_DOMAIN_NAME; or OS_APPLICATION_CREDENTIAL_ID/SECRET).
 */
export function parseOpenStackConfig(text: string): OpenStackConfig {
  let candidate: unknown
  if (text.trim().startsWith('{')) {
    try {
      candidate = JSON.parse(text)
    } catch (error) {
      throw new Error(`the OpenStack credentials are not valid JSON: ${(error as Error).message}`)
    }
  } else candidate = fromVariables(rcVariables(text))
  const parsed = OpenStackConfig.safeParse(candidate)
  if (!parsed.success) {
    const issues = parsed.error.issues.flatMap((issue) =>
      issue.code === 'invalid_union' ? issue.errors.flat() : [issue],
    )
    const fields = [...new Set(issues.map((issue) => `${issue.path.join('.') || 'credentials'}: ${issue.message}`))]
    throw new Error(
      `the OpenStack credentials are not usable (${fields.join('; ')}); give authUrl with username, password and projectName, or applicationCredentialId and applicationCredentialSecret`,
    )
  }
  return parsed.data
}

/** Credentials set the usual way, as OS_* variables, as the JSON the plugin takes; undefined without OS_AUTH_URL. */
export function openStackConfigFromEnv(env: Record<string, string | undefined>): string | undefined {
  if (!env.OS_AUTH_URL) return undefined
  return JSON.stringify(fromVariables(env))
}
