import { randomBytes } from 'node:crypto'
import {
  type AppClass,
  type AppD,
  type AppPackage,
  type DistributionState,
  type ExecDescriptor,
  type OnboardingState,
  type PackageArtifact,
  type PackageOperationalState,
  packageDistribution,
  packageOnboarding,
  packageOperational,
  type SwImageDescriptor,
  transition,
} from '@mecm/protocol'
import { conflict } from '@mecm/runtime'
import { isUniqueViolation, type Sql } from '../db/driver'
import { decodeCursor, json, now, type Page, pageOf, parsed } from '../db/rows'

/** What onboarding found in the content, kept with the record. */
export interface PackageDetails {
  appd: AppD | null
  swImages: SwImageDescriptor[]
  artifacts: PackageArtifact[]
  exec: ExecDescriptor | null
  signed: boolean
  manifest: Record<string, string>
  userDefinedData: Record<string, unknown>
  /** Where the content comes from when onboarded from a URL, and the checksum it must have. */
  source: { url: string; sha256: string | null } | null
}

interface PackageRow {
  app_pkg_id: string
  tenant_id: string
  app_id: string
  app_pkg_name: string
  app_pkg_version: string
  app_d_id: string
  app_name: string
  app_provider: string
  app_soft_version: string
  app_d_version: string
  app_class: AppClass | null
  digest: string | null
  size: number
  onboarding_state: OnboardingState
  onboarding_failure: string | null
  operational_state: PackageOperationalState
  usage_state: 'IN_USE' | 'NOT_IN_USE'
  details: string
  created_at: string
  updated_at: string
}

interface DistributionRow {
  host_ip: string
  state: DistributionState
  error: string | null
  updated_at: string
}

export interface StoredPackage {
  pkg: AppPackage
  digest: string | null
  details: PackageDetails
}

const hex32 = () => randomBytes(16).toString('hex')

function toPackage(row: PackageRow, distributions: DistributionRow[]): StoredPackage {
  const details = parsed<PackageDetails>(row.details)
  return {
    digest: row.digest,
    details,
    pkg: {
      tenantId: row.tenant_id,
      appPkgId: row.app_pkg_id,
      appId: row.app_id,
      appPkgName: row.app_pkg_name,
      appPkgVersion: row.app_pkg_version,
      appDId: row.app_d_id,
      appName: row.app_name,
      appProvider: row.app_provider,
      appSoftVersion: row.app_soft_version,
      appDVersion: row.app_d_version,
      appClass: row.app_class,
      checksum: row.digest ? { algorithm: 'SHA-256', hash: row.digest } : null,
      size: Number(row.size),
      signed: details.signed,
      artifacts: details.artifacts,
      onboardingState: row.onboarding_state,
      onboardingFailure: row.onboarding_failure,
      operationalState: row.operational_state,
      usageState: row.usage_state,
      distributions: distributions.map((d) => ({
        hostIp: d.host_ip,
        state: d.state,
        error: d.error,
        updatedAt: d.updated_at,
      })),
      userDefinedData: details.userDefinedData,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    },
  }
}

export interface NewPackage {
  appPkgName: string
  appPkgVersion: string
  appProvider?: string
  appId?: string
  userDefinedData?: Record<string, unknown>
  source?: PackageDetails['source']
}

/** Application packages of a tenant, their onboarding state and their per-host distribution. */
export function packageStore(sql: Sql) {
  async function withDistributions(rows: PackageRow[]): Promise<StoredPackage[]> {
    if (!rows.length) return []
    const ids = rows.map((row) => row.app_pkg_id)
    const all = await sql.all<DistributionRow & { app_pkg_id: string }>(
      `SELECT * FROM package_distributions WHERE app_pkg_id IN (${ids.map(() => '?').join(', ')}) ORDER BY host_ip`,
      ids,
    )
    return rows.map((row) =>
      toPackage(
        row,
        all.filter((d) => d.app_pkg_id === row.app_pkg_id),
      ),
    )
  }

  const get = async (tenantId: string, appPkgId: string): Promise<StoredPackage | undefined> => {
    const row = await sql.get<PackageRow>('SELECT * FROM app_packages WHERE tenant_id = ? AND app_pkg_id = ?', [
      tenantId,
      appPkgId,
    ])
    return row && (await withDistributions([row]))[0]
  }

  /** Moves onboarding on, only from the state the caller saw: false when someone else moved it first. */
  async function move(appPkgId: string, from: OnboardingState, to: OnboardingState, set = '', params: unknown[] = []) {
    transition(packageOnboarding, from, to)
    const changed = await sql.run(
      `UPDATE app_packages SET onboarding_state = ?, updated_at = ?${set} WHERE app_pkg_id = ? AND onboarding_state = ?`,
      [to, now(), ...(params as string[]), appPkgId, from],
    )
    return changed > 0
  }

  return {
    get,

    async create(tenantId: string, input: NewPackage): Promise<StoredPackage> {
      const at = now()
      const appPkgId = hex32()
      const details: PackageDetails = {
        appd: null,
        swImages: [],
        artifacts: [],
        exec: null,
        signed: false,
        manifest: {},
        userDefinedData: input.userDefinedData ?? {},
        source: input.source ?? null,
      }
      try {
        await sql.run(
          `INSERT INTO app_packages (app_pkg_id, tenant_id, app_id, app_pkg_name, app_pkg_version, app_d_id, app_name,
             app_provider, app_soft_version, app_d_version, app_class, digest, size, onboarding_state, onboarding_failure,
             operational_state, usage_state, details, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, '', ?, ?, '', '', NULL, NULL, 0, 'CREATED', NULL, 'ENABLED', 'NOT_IN_USE', ?, ?, ?)`,
          [
            appPkgId,
            tenantId,
            input.appId ?? hex32(),
            input.appPkgName,
            input.appPkgVersion,
            input.appPkgName,
            input.appProvider ?? '',
            json(details),
            at,
            at,
          ],
        )
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict('a package with this id exists already')
        throw error
      }
      return (await get(tenantId, appPkgId)) as StoredPackage
    },

    async list(tenantId: string, limit: number, cursor?: string): Promise<Page<StoredPackage>> {
      const rows = await sql.all<PackageRow>(
        'SELECT * FROM app_packages WHERE tenant_id = ? AND app_pkg_id > ? ORDER BY app_pkg_id LIMIT ?',
        [tenantId, cursor ? decodeCursor(cursor) : '', limit + 1],
      )
      const page = pageOf(
        rows,
        limit,
        (row) => row.app_pkg_id,
        (row) => row,
      )
      return { items: await withDistributions(page.items), nextCursor: page.nextCursor }
    },

    /** Every package of the tenant, for ETSI's attribute filters. */
    async all(tenantId: string): Promise<StoredPackage[]> {
      return withDistributions(
        await sql.all<PackageRow>('SELECT * FROM app_packages WHERE tenant_id = ? ORDER BY app_pkg_id', [tenantId]),
      )
    },

    /** The newest onboarded package with this descriptor id. */
    async byAppDId(tenantId: string, appDId: string): Promise<StoredPackage | undefined> {
      const row = await sql.get<PackageRow>(
        `SELECT * FROM app_packages WHERE tenant_id = ? AND app_d_id = ? AND onboarding_state = 'ONBOARDED'
         ORDER BY updated_at DESC, app_pkg_id LIMIT 1`,
        [tenantId, appDId],
      )
      return row && (await withDistributions([row]))[0]
    },

    startUpload: (appPkgId: string, from: 'CREATED' | 'ERROR') =>
      move(appPkgId, from, 'UPLOADING', ', onboarding_failure = NULL'),

    uploaded: (appPkgId: string, blob: { digest: string; size: number }) =>
      move(appPkgId, 'UPLOADING', 'PROCESSING', ', digest = ?, size = ?', [blob.digest, String(blob.size)]),

    async onboarded(appPkgId: string, content: { appClass: AppClass; details: PackageDetails }): Promise<boolean> {
      const appd = content.details.appd as AppD
      return move(
        appPkgId,
        'PROCESSING',
        'ONBOARDED',
        ', app_d_id = ?, app_name = ?, app_provider = ?, app_soft_version = ?, app_d_version = ?, app_class = ?, details = ?',
        [
          appd.appDId,
          appd.appName,
          appd.appProvider,
          appd.appSoftVersion,
          appd.appDVersion,
          content.appClass,
          json(content.details),
        ],
      )
    },

    /** Records why onboarding failed; the content is dropped (digest cleared). */
    failed: (appPkgId: string, from: 'UPLOADING' | 'PROCESSING', reason: string) =>
      move(appPkgId, from, 'ERROR', ', onboarding_failure = ?, digest = NULL, size = 0', [reason]),

    /** Packages mid-onboarding whose record nobody touched since `before`: left by a stopped center. */
    async interrupted(
      before: string,
    ): Promise<{ appPkgId: string; state: 'UPLOADING' | 'PROCESSING'; digest: string | null }[]> {
      const rows = await sql.all<{
        app_pkg_id: string
        onboarding_state: 'UPLOADING' | 'PROCESSING'
        digest: string | null
      }>(
        `SELECT app_pkg_id, onboarding_state, digest FROM app_packages
         WHERE onboarding_state IN ('UPLOADING', 'PROCESSING') AND updated_at < ?`,
        [before],
      )
      return rows.map((row) => ({ appPkgId: row.app_pkg_id, state: row.onboarding_state, digest: row.digest }))
    },

    /** Shows that onboarding of the package is still going on. */
    async touch(appPkgId: string): Promise<void> {
      await sql.run('UPDATE app_packages SET updated_at = ? WHERE app_pkg_id = ?', [now(), appPkgId])
    },

    /** The content digests of a tenant's packages. */
    async digestsOf(tenantId: string): Promise<string[]> {
      const rows = await sql.all<{ digest: string }>(
        'SELECT DISTINCT digest FROM app_packages WHERE tenant_id = ? AND digest IS NOT NULL',
        [tenantId],
      )
      return rows.map((row) => row.digest)
    },

    async setOperationalState(tenantId: string, appPkgId: string, to: PackageOperationalState): Promise<boolean> {
      const found = await get(tenantId, appPkgId)
      if (!found) return false
      if (found.pkg.operationalState === to) return true
      transition(packageOperational, found.pkg.operationalState, to)
      await sql.run(
        'UPDATE app_packages SET operational_state = ?, updated_at = ? WHERE app_pkg_id = ? AND operational_state = ?',
        [to, now(), appPkgId, found.pkg.operationalState],
      )
      return true
    },

    async delete(tenantId: string, appPkgId: string): Promise<boolean> {
      return (
        (await sql.run('DELETE FROM app_packages WHERE tenant_id = ? AND app_pkg_id = ?', [tenantId, appPkgId])) > 0
      )
    },

    async digestInUse(digest: string): Promise<boolean> {
      return (await sql.get('SELECT 1 AS x FROM app_packages WHERE digest = ? LIMIT 1', [digest])) !== undefined
    },

    async tenantHasDigest(tenantId: string, digest: string): Promise<boolean> {
      const row = await sql.get('SELECT 1 AS x FROM app_packages WHERE tenant_id = ? AND digest = ? LIMIT 1', [
        tenantId,
        digest,
      ])
      return row !== undefined
    },

    /** Records where a package stands on a host: a new record starts anywhere, a known one moves by the distribution table. */
    async distribute(appPkgId: string, hostIp: string, to: DistributionState = 'PENDING', error: string | null = null) {
      const current = await sql.get<{ state: DistributionState }>(
        'SELECT state FROM package_distributions WHERE app_pkg_id = ? AND host_ip = ?',
        [appPkgId, hostIp],
      )
      if (!current) {
        await sql.run(
          'INSERT INTO package_distributions (app_pkg_id, host_ip, state, error, updated_at) VALUES (?, ?, ?, ?, ?)',
          [appPkgId, hostIp, to, error, now()],
        )
        return
      }
      if (current.state === to) return
      transition(packageDistribution, current.state, to)
      await sql.run(
        'UPDATE package_distributions SET state = ?, error = ?, updated_at = ? WHERE app_pkg_id = ? AND host_ip = ?',
        [to, error, now(), appPkgId, hostIp],
      )
    },

    async undistribute(appPkgId: string, hostIp: string): Promise<boolean> {
      return (
        (await sql.run('DELETE FROM package_distributions WHERE app_pkg_id = ? AND host_ip = ?', [appPkgId, hostIp])) >
        0
      )
    },
  }
}
export type PackageStore = ReturnType<typeof packageStore>
