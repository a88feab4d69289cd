import type { HostStatus, HwCapability, Labels, MecHost, MecHostInput, VimKind } from '@mecm/protocol'
import type { LabelRequirement } from '@mecm/runtime'
import { conflict } from '@mecm/runtime'
import type { z } from 'zod'
import { isUniqueViolation, type Sql, type SqlValue } from '../db/driver'
import { decodeCursor, json, newId, now, type Page, pageOf, parsed } from '../db/rows'
import { labelConditions } from './label-conditions'

interface HostRow {
  host_id: string
  tenant_id: string
  mechost_ip: string
  mechost_name: string
  vim: VimKind
  city: string
  zip_code: string
  address: string
  latitude: number | null
  longitude: number | null
  labels: string
  hw_capabilities: string
  status: HostStatus
  last_seen_at: string | null
  created_at: string
  updated_at: string
}

function toHost(row: HostRow): MecHost & { hostId: string } {
  return {
    hostId: row.host_id,
    tenantId: row.tenant_id,
    mechostIp: row.mechost_ip,
    mechostName: row.mechost_name,
    vim: row.vim,
    location: {
      city: row.city,
      zipCode: row.zip_code,
      address: row.address,
      coordinates:
        row.latitude === null || row.longitude === null
          ? null
          : { latitude: Number(row.latitude), longitude: Number(row.longitude) },
    },
    labels: parsed<z.infer<typeof Labels>>(row.labels),
    hwCapabilities: parsed<HwCapability[]>(row.hw_capabilities),
    status: row.status,
    lastSeenAt: row.last_seen_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export type StoredHost = ReturnType<typeof toHost>

export interface HostQuery {
  status?: HostStatus
  city?: string
  labels?: LabelRequirement[]
  limit: number
  cursor?: string
}

function columns(input: MecHostInput): SqlValue[] {
  return [
    input.mechostName,
    input.vim,
    input.location.city,
    input.location.zipCode,
    input.location.address,
    input.location.coordinates?.latitude ?? null,
    input.location.coordinates?.longitude ?? null,
    json(input.labels),
    json(input.hwCapabilities),
  ]
}

async function writeLabels(tx: Sql, hostId: string, labels: Record<string, string>) {
  await tx.run('DELETE FROM host_labels WHERE host_id = ?', [hostId])
  for (const [key, value] of Object.entries(labels)) {
    await tx.run('INSERT INTO host_labels (host_id, label_key, label_value) VALUES (?, ?, ?)', [hostId, key, value])
  }
}

/** MEC hosts, always within one tenant. */
export function hostStore(sql: Sql) {
  const get = async (tenantId: string, ip: string) => {
    const row = await sql.get<HostRow>('SELECT * FROM mec_hosts WHERE tenant_id = ? AND mechost_ip = ?', [tenantId, ip])
    return row && toHost(row)
  }

  return {
    get,

    async create(tenantId: string, input: MecHostInput): Promise<StoredHost> {
      const hostId = newId()
      const at = now()
      try {
        await sql.transaction(async (tx) => {
          await tx.run(
            `INSERT INTO mec_hosts (host_id, tenant_id, mechost_ip, mechost_name, vim, city, zip_code, address,
               latitude, longitude, labels, hw_capabilities, status, last_seen_at, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'NEVER_CONNECTED', NULL, ?, ?)`,
            [hostId, tenantId, input.mechostIp, ...columns(input), at, at],
          )
          await writeLabels(tx, hostId, input.labels)
        })
      } catch (error) {
        if (isUniqueViolation(error)) throw conflict(`host ${input.mechostIp} is already registered in this tenant`)
        throw error
      }
      return (await get(tenantId, input.mechostIp)) as StoredHost
    },

    /** Replaces what an operator may change; status and history stay. Undefined when there is no such host. */
    async update(tenantId: string, ip: string, input: MecHostInput): Promise<StoredHost | undefined> {
      const changed = await sql.transaction(async (tx) => {
        const row = await tx.get<{ host_id: string }>(
          'SELECT host_id FROM mec_hosts WHERE tenant_id = ? AND mechost_ip = ?',
          [tenantId, ip],
        )
        if (!row) return false
        await tx.run(
          `UPDATE mec_hosts SET mechost_name = ?, vim = ?, city = ?, zip_code = ?, address = ?, latitude = ?,
             longitude = ?, labels = ?, hw_capabilities = ?, updated_at = ? WHERE host_id = ?`,
          [...columns(input), now(), row.host_id],
        )
        await writeLabels(tx, row.host_id, input.labels)
        return true
      })
      return changed ? get(tenantId, ip) : undefined
    },

    async delete(tenantId: string, ip: string): Promise<boolean> {
      return (await sql.run('DELETE FROM mec_hosts WHERE tenant_id = ? AND mechost_ip = ?', [tenantId, ip])) > 0
    },

    async ids(tenantId: string): Promise<string[]> {
      const rows = await sql.all<{ host_id: string }>('SELECT host_id FROM mec_hosts WHERE tenant_id = ?', [tenantId])
      return rows.map((row) => row.host_id)
    },

    async deleteAll(tenantId: string): Promise<number> {
      return sql.run('DELETE FROM mec_hosts WHERE tenant_id = ?', [tenantId])
    },

    async list(tenantId: string, query: HostQuery): Promise<Page<StoredHost>> {
      const where = ['h.tenant_id = ?', 'h.mechost_ip > ?']
      const params: SqlValue[] = [tenantId, query.cursor ? decodeCursor(query.cursor) : '']
      if (query.status) {
        where.push('h.status = ?')
        params.push(query.status)
      }
      if (query.city) {
        where.push('h.city = ?')
        params.push(query.city)
      }
      const labels = labelConditions(query.labels ?? [])
      where.push(...labels.sql)
      params.push(...labels.params, query.limit + 1)
      const rows = await sql.all<HostRow>(
        `SELECT h.* FROM mec_hosts h WHERE ${where.join(' AND ')} ORDER BY h.mechost_ip LIMIT ?`,
        params,
      )
      return pageOf(rows, query.limit, (row) => row.mechost_ip, toHost)
    },

    /** Moves a host's connection status; the sync channel calls this. */
    async setStatus(hostId: string, status: HostStatus, at = now()): Promise<boolean> {
      return (
        (await sql.run('UPDATE mec_hosts SET status = ?, last_seen_at = ?, updated_at = ? WHERE host_id = ?', [
          status,
          at,
          at,
          hostId,
        ])) > 0
      )
    },

    async count(tenantId?: string): Promise<number> {
      const row = tenantId
        ? await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM mec_hosts WHERE tenant_id = ?', [tenantId])
        : await sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM mec_hosts')
      return Number(row?.n ?? 0)
    },
  }
}
export type HostStore = ReturnType<typeof hostStore>
