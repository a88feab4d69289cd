import { conflict } from '@mecm/runtime'
import { isUniqueViolation, type Sql } from '../db/driver'
import { json, now, parsed } from '../db/rows'

/** What the inventory knows of an app on a host (EdgeGallery's mecapplicationinventory). */
export interface HostApp {
  appInstanceId: string
  appName: string
  packageId: string
  capabilities: string[]
  status: string
  createdAt: string
  updatedAt: string
}

interface HostAppRow {
  app_instance_id: string
  app_name: string
  package_id: string
  capabilities: string
  status: string
  created_at: string
  updated_at: string
}

const toApp = (row: HostAppRow): HostApp => ({
  appInstanceId: row.app_instance_id,
  appName: row.app_name,
  packageId: row.package_id,
  capabilities: parsed<string[]>(row.capabilities),
  status: row.status,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
})

export type HostAppInput = Pick<HostApp, 'appInstanceId' | 'appName' | 'packageId' | 'capabilities' | 'status'>

/** App records under a host; the host id comes from a tenant-scoped host lookup. */
export function hostAppStore(sql: Sql) {
  const get = async (hostId: string, appInstanceId: string) => {
    const row = await sql.get<HostAppRow>('SELECT * FROM host_apps WHERE host_id = ? AND app_instance_id = ?', [
      hostId,
      appInstanceId,
    ])
    return row && toApp(row)
  }
  return {
    get,

    async list(hostId: string, capability?: string): Promise<HostApp[]> {
      const rows = await sql.all<HostAppRow>('SELECT * FROM host_apps WHERE host_id = ? ORDER BY app_instance_id', [
        hostId,
      ])
      const apps = rows.map(toApp)
      return capability ? apps.filter((app) => app.capabilities.includes(capability)) : apps
    },

    async create(hostId: string, input: HostAppInput): Promise<HostApp> {
      const at = now()
      try {
        await sql.run(
          `INSERT INTO host_apps (host_id, app_instance_id, app_name, package_id, capabilities, status, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
          [hostId, input.appInstanceId, input.appName, input.packageId, json(input.capabilities), input.status, at, at],
        )
      } catch (error) {
        if (isUniqueViolation(error))
          throw conflict(`app instance ${input.appInstanceId} is already recorded on this host`)
        throw error
      }
      return (await get(hostId, input.appInstanceId)) as HostApp
    },

    async update(hostId: string, input: HostAppInput): Promise<HostApp | undefined> {
      const changed = await sql.run(
        `UPDATE host_apps SET app_name = ?, package_id = ?, capabilities = ?, status = ?, updated_at = ?
         WHERE host_id = ? AND app_instance_id = ?`,
        [input.appName, input.packageId, json(input.capabilities), input.status, now(), hostId, input.appInstanceId],
      )
      return changed ? get(hostId, input.appInstanceId) : undefined
    },

    async delete(hostId: string, appInstanceId: string): Promise<boolean> {
      return (
        (await sql.run('DELETE FROM host_apps WHERE host_id = ? AND app_instance_id = ?', [hostId, appInstanceId])) > 0
      )
    },
  }
}
export type HostAppStore = ReturnType<typeof hostAppStore>
