import { z } from 'zod'
import { TenantId, Timestamp, Uuid } from './common'

/** Who may do what: ADMIN everything, TENANT its own tenant's resources, GUEST reads only. */
export const Role = z.enum(['ADMIN', 'TENANT', 'GUEST'])
export type Role = z.infer<typeof Role>

/** The role names EdgeGallery puts in its tokens' `authorities`. */
export const edgeGalleryRoles: Readonly<Record<Role, string>> = {
  ADMIN: 'ROLE_MECM_ADMIN',
  TENANT: 'ROLE_MECM_TENANT',
  GUEST: 'ROLE_MECM_GUEST',
}

export function roleFromEdgeGallery(authority: string): Role | undefined {
  return Role.options.find((role) => edgeGalleryRoles[role] === authority)
}

export const Username = z
  .string()
  .min(3, 'must be at least 3 characters')
  .max(64, 'must be at most 64 characters')
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
    'must start with a letter or digit and contain only letters, digits, "_", "-", "."',
  )

/** 8 to 128 characters with at least two of: digits, lowercase, uppercase, other characters. */
export const Password = z
  .string()
  .min(8, 'must be at least 8 characters')
  .max(128, 'must be at most 128 characters')
  .refine(
    (value) => [/\d/, /[a-z]/, /[A-Z]/, /[^A-Za-z0-9]/].filter((kind) => kind.test(value)).length >= 2,
    'must mix at least two of: digits, lowercase letters, uppercase letters, other characters',
  )

export const TenantName = z
  .string()
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[\p{L}\d][\p{L}\d _.-]*$/u, 'must start with a letter or digit')

export const Tenant = z.object({
  tenantId: TenantId,
  name: TenantName,
  createdAt: Timestamp,
})
export type Tenant = z.infer<typeof Tenant>

export const User = z.object({
  userId: Uuid,
  username: Username,
  tenantId: TenantId,
  role: Role,
  createdAt: Timestamp,
})
export type User = z.infer<typeof User>

/** What an admin sends to create a user; the tenant is created with the user when absent. */
export const NewUser = z.object({
  username: Username,
  password: Password,
  role: Role.default('TENANT'),
  tenantId: TenantId.optional(),
})
export type NewUser = z.infer<typeof NewUser>
