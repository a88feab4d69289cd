import { z } from 'zod'
import { PackageArtifact } from './artifacts'
import { Hex32, IpAddress, Sha256, TenantId, Timestamp } from './common'

/** ETSI MEC 010-2 onboarding; ERROR (with `onboardingFailure`) is ours, for a package that failed validation. */
export const OnboardingState = z.enum(['CREATED', 'UPLOADING', 'PROCESSING', 'ONBOARDED', 'ERROR'])
export type OnboardingState = z.infer<typeof OnboardingState>

export const PackageOperationalState = z.enum(['ENABLED', 'DISABLED'])
export type PackageOperationalState = z.infer<typeof PackageOperationalState>

export const UsageState = z.enum(['IN_USE', 'NOT_IN_USE'])
export type UsageState = z.infer<typeof UsageState>

/** EdgeGallery's `app_class` from the manifest, plus `exec` for plain processes. */
export const AppClass = z.enum(['container', 'vm', 'exec'])
export type AppClass = z.infer<typeof AppClass>

/** Where a package stands on one edge host. */
export const DistributionState = z.enum(['PENDING', 'DISTRIBUTING', 'DISTRIBUTED', 'FAILED'])
export type DistributionState = z.infer<typeof DistributionState>

export const PackageDistribution = z.object({
  hostIp: IpAddress,
  state: DistributionState,
  error: z.string().nullable().default(null),
  updatedAt: Timestamp,
})
export type PackageDistribution = z.infer<typeof PackageDistribution>

export const Checksum = z.object({
  algorithm: z.literal('SHA-256'),
  hash: Sha256,
})

/**
 * An application package: ETSI AppPkgInfo fields, EdgeGallery's ids and class, what onboarding
 * found in it, and where it has been distributed. Fields read from the package content (appDId,
 * appClass, checksum...) stay empty or null until it is onboarded.
 */
export const AppPackage = z
  .object({
    tenantId: TenantId,
    /** ETSI `id`; EdgeGallery's packageId. */
    appPkgId: Hex32,
    /** EdgeGallery's appId: one app, many package versions. */
    appId: Hex32,
    appPkgName: z.string().min(1).max(128),
    appPkgVersion: z.string().min(1).max(64),
    appDId: z.string().max(128),
    appName: z.string().max(128),
    appProvider: z.string().max(128),
    appSoftVersion: z.string().max(64),
    appDVersion: z.string().max(64),
    appClass: AppClass.nullable(),
    checksum: Checksum.nullable(),
    size: z.number().int().min(0),
    signed: z.boolean(),
    artifacts: z.array(PackageArtifact),
    onboardingState: OnboardingState,
    onboardingFailure: z.string().nullable(),
    operationalState: PackageOperationalState,
    usageState: UsageState,
    distributions: z.array(PackageDistribution),
    userDefinedData: z.record(z.string(), z.unknown()).default({}),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .refine((pkg) => (pkg.onboardingState === 'ERROR') === (pkg.onboardingFailure !== null), {
    message: 'onboardingFailure is set exactly when onboardingState is ERROR',
    path: ['onboardingFailure'],
  })
export type AppPackage = z.infer<typeof AppPackage>

/** EdgeGallery's 64-hex package key: appId followed by packageId. */
export function edgeGalleryPackageKey(pkg: Pick<AppPackage, 'appId' | 'appPkgId'>): string {
  return pkg.appId + pkg.appPkgId
}
