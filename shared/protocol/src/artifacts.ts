import { z } from 'zod'

/**
 * What a package carries for the edge to run, found at onboarding:
 * - `kubernetes`: manifests under Artifacts/Deployment/Kubernetes/
 * - `helm`: a chart under Artifacts/Deployment/Charts/
 * - `exec`: an exec descriptor, Artifacts/Deployment/Exec/app.yaml (or .json)
 * - `vm-image` / `container-image`: the images named in Image/SwImageDesc.json
 */
export const ArtifactKind = z.enum(['kubernetes', 'helm', 'exec', 'vm-image', 'container-image'])

export const PackageArtifact = z.object({
  kind: ArtifactKind,
  /** A path inside the package, or for images the image reference (registry name, URL or package path). */
  path: z.string().min(1).max(2048),
})
export type PackageArtifact = z.infer<typeof PackageArtifact>

const RelativePath = z
  .string()
  .min(1)
  .max(1024)
  .refine((path) => !path.startsWith('/') && !path.split('/').includes('..'), 'must be a path inside the package')

/** How the exec plugin runs an app as supervised local processes. */
/** A port number, or `${NAME}`: the value of the app's variable NAME (a parameter may set it at deploy). */
const CheckPort = z.union([
  z.number().int().min(1).max(65535),
  z.string().regex(/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/, 'must be a port number or ${VARIABLE}'),
])

export const ExecDescriptor = z.object({
  command: z.string().min(1).max(1024),
  args: z.array(z.string().max(4096)).max(256).default([]),
  env: z
    .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'), z.string())
    .default({}),
  /** Relative to the folder of the exec descriptor (Artifacts/Deployment/Exec/ in the unpacked package). */
  workingDir: RelativePath.default('.'),
  ports: z.array(z.object({ name: z.string().min(1).max(64), port: z.number().int().min(1).max(65535) })).default([]),
  restart: z.enum(['always', 'on-failure', 'never']).default('on-failure'),
  healthCheck: z
    .object({
      http: z.object({ port: CheckPort, path: z.string().startsWith('/').default('/') }).optional(),
      tcp: z.object({ port: CheckPort }).optional(),
      intervalSeconds: z.number().min(0.1).default(5),
      timeoutSeconds: z.number().min(0.1).max(30).default(2),
    })
    .refine((check) => Boolean(check.http) !== Boolean(check.tcp), 'give exactly one of http or tcp')
    .optional(),
})
export type ExecDescriptor = z.infer<typeof ExecDescriptor>
