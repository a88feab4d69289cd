import { join } from 'node:path'
import { MecHostInput } from '@mecm/protocol'
import { examples } from '@mecm/protocol/examples'
import { parseLabelSelector } from '@mecm/runtime'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dialects, type TestDatabase, testDatabase } from '../testing/stores'
import { isForeignKeyViolation, isUniqueViolation } from './driver'
import { migrate, migrations } from './migrations'
import { openPostgres } from './postgres'
import { openSqlite } from './sqlite'
import { openStore, type Store } from './store'

const host = (ip: string, extra: Partial<MecHostInput> = {}) =>
  MecHostInput.parse({
    ...examples.mecHostInput,
    mechostIp: ip,
    mechostName: `edge-${ip.replaceAll('.', '-')}`,
    ...extra,
  })

describe.each(dialects)('store contract on %s', (dialect) => {
  let db: TestDatabase
  let store: Store
  let tenantA: string
  let tenantB: string

  beforeAll(async () => {
    db = await testDatabase(dialect)
    store = await openStore(db)
    tenantA = (await store.tenants.createTenant('tenant-a')).tenantId
    tenantB = (await store.tenants.createTenant('tenant-b')).tenantId
  })
  afterAll(async () => {
    await store.close()
    await db.drop()
  })

  it('is ready once migrated', async () => {
    expect(store.dialect).toBe(dialect)
    expect(await store.ready()).toBe(true)
  })

  describe('tenants and users', () => {
    it('creates, finds and lists tenants in pages', async () => {
      const tenant = await store.tenants.createTenant('paged-1')
      expect(await store.tenants.getTenant(tenant.tenantId)).toEqual(tenant)
      expect(await store.tenants.findTenantByName('paged-1')).toEqual(tenant)
      const first = await store.tenants.listTenants(2)
      expect(first.items).toHaveLength(2)
      expect(first.nextCursor).not.toBeNull()
      const rest = await store.tenants.listTenants(100, first.nextCursor ?? undefined)
      expect([...first.items, ...rest.items].map((t) => t.tenantId)).toContain(tenant.tenantId)
      expect(rest.nextCursor).toBeNull()
    })

    it('refuses a second tenant with the same name as a conflict', async () => {
      await expect(store.tenants.createTenant('tenant-a')).rejects.toMatchObject({ status: 409 })
    })

    it('keeps users unique by name and finds them for login', async () => {
      const user = await store.tenants.createUser({
        username: 'carol',
        passwordHash: 'h1',
        tenantId: tenantA,
        role: 'GUEST',
      })
      await expect(
        store.tenants.createUser({ username: 'carol', passwordHash: 'h2', tenantId: tenantB, role: 'TENANT' }),
      ).rejects.toMatchObject({ status: 409 })
      expect(await store.tenants.findLogin('carol')).toEqual({ user, passwordHash: 'h1' })
      expect(await store.tenants.setPassword(user.userId, 'h3')).toBe(true)
      expect((await store.tenants.findLogin('carol'))?.passwordHash).toBe('h3')
      expect((await store.tenants.listUsers(tenantA, 10)).items.map((u) => u.username)).toEqual(['carol'])
      expect((await store.tenants.listUsers(tenantB, 10)).items).toEqual([])
      expect(await store.tenants.deleteUser(user.userId)).toBe(true)
      expect(await store.tenants.getUser(user.userId)).toBeUndefined()
    })
  })

  describe('credentials', () => {
    it('accepts a refresh token once, and not after it expires', async () => {
      const user = await store.tenants.createUser({
        username: 'dave',
        passwordHash: 'h',
        tenantId: tenantA,
        role: 'TENANT',
      })
      await store.credentials.addRefreshToken('live', user.userId, new Date(Date.now() + 60_000).toISOString())
      await store.credentials.addRefreshToken('stale', user.userId, new Date(Date.now() - 1).toISOString())
      expect(await store.credentials.takeRefreshToken('live')).toBe(user.userId)
      expect(await store.credentials.takeRefreshToken('live')).toBeUndefined()
      expect(await store.credentials.takeRefreshToken('stale')).toBeUndefined()
    })

    it('remembers a nonce so that a replay is refused', async () => {
      const until = new Date(Date.now() + 60_000).toISOString()
      expect(await store.credentials.rememberNonce('AK1', 'nonce-0001', until)).toBe(true)
      expect(await store.credentials.rememberNonce('AK1', 'nonce-0001', until)).toBe(false)
      expect(await store.credentials.rememberNonce('AK2', 'nonce-0001', until)).toBe(true)
    })

    it('keeps access keys per user', async () => {
      const user = await store.tenants.createUser({
        username: 'erin',
        passwordHash: 'h',
        tenantId: tenantA,
        role: 'TENANT',
      })
      await store.credentials.addAccessKey({
        accessKey: 'AKerin',
        userId: user.userId,
        secretSealed: 's',
        description: 'ci',
      })
      expect(await store.credentials.getAccessKey('AKerin')).toEqual({ userId: user.userId, secretSealed: 's' })
      expect(await store.credentials.deleteAccessKey('someone-else', 'AKerin')).toBe(false)
      expect(await store.credentials.deleteAccessKey(user.userId, 'AKerin')).toBe(true)
      expect(await store.credentials.getAccessKey('AKerin')).toBeUndefined()
    })
  })

  describe('hosts', () => {
    it('creates a host as NEVER_CONNECTED and reads it back whole', async () => {
      const created = await store.hosts.create(tenantA, host('10.0.0.1'))
      expect(created).toMatchObject({
        ...host('10.0.0.1'),
        tenantId: tenantA,
        status: 'NEVER_CONNECTED',
        lastSeenAt: null,
      })
      expect(await store.hosts.get(tenantA, '10.0.0.1')).toEqual(created)
    })

    it('keeps each tenant to its own hosts, and one IP per tenant', async () => {
      await expect(store.hosts.create(tenantA, host('10.0.0.1'))).rejects.toMatchObject({ status: 409 })
      await store.hosts.create(tenantB, host('10.0.0.1', { mechostName: 'b-edge' }))
      expect((await store.hosts.get(tenantB, '10.0.0.1'))?.mechostName).toBe('b-edge')
      expect((await store.hosts.get(tenantA, '10.0.0.1'))?.mechostName).not.toBe('b-edge')
      expect(await store.hosts.delete(tenantB, '10.0.0.1')).toBe(true)
      expect(await store.hosts.get(tenantA, '10.0.0.1')).toBeDefined()
    })

    it('updates what an operator may change, and its labels', async () => {
      const updated = await store.hosts.update(
        tenantA,
        '10.0.0.1',
        host('10.0.0.1', { mechostName: 'renamed', labels: { zone: 'north' } }),
      )
      expect(updated).toMatchObject({ mechostName: 'renamed', labels: { zone: 'north' }, status: 'NEVER_CONNECTED' })
      const page = await store.hosts.list(tenantA, { limit: 10, labels: parseLabelSelector('zone=north') })
      expect(page.items.map((h) => h.mechostIp)).toEqual(['10.0.0.1'])
      expect(await store.hosts.update(tenantB, '10.0.0.1', host('10.0.0.1'))).toBeUndefined()
    })

    it('filters by status, city and label selector, and pages by IP', async () => {
      const tenant = (await store.tenants.createTenant('filters')).tenantId
      const spec: [string, string, Record<string, string>][] = [
        ['10.1.0.1', 'Shenzhen', { zone: 'south', gpu: 'yes' }],
        ['10.1.0.2', 'Shenzhen', { zone: 'south' }],
        ['10.1.0.3', 'Beijing', { zone: 'north', tier: 'gold' }],
        ['10.1.0.4', 'Beijing', {}],
      ]
      for (const [ip, city, labels] of spec) {
        await store.hosts.create(tenant, host(ip, { labels, location: { ...examples.mecHostInput.location, city } }))
      }
      const online = await store.hosts.get(tenant, '10.1.0.3')
      await store.hosts.setStatus(online?.hostId ?? '', 'ONLINE')
      const ips = async (query: Parameters<Store['hosts']['list']>[1]) =>
        (await store.hosts.list(tenant, query)).items.map((h) => h.mechostIp)
      const select = (selector: string) => ips({ limit: 10, labels: parseLabelSelector(selector) })

      expect(await ips({ limit: 10, status: 'ONLINE' })).toEqual(['10.1.0.3'])
      expect(await ips({ limit: 10, city: 'Shenzhen' })).toEqual(['10.1.0.1', '10.1.0.2'])
      expect(await select('zone=south,gpu')).toEqual(['10.1.0.1'])
      expect(await select('zone!=south')).toEqual(['10.1.0.3', '10.1.0.4'])
      expect(await select('!zone')).toEqual(['10.1.0.4'])
      expect(await select('zone in (north, south)')).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3'])
      expect(await select('zone notin (south),tier')).toEqual(['10.1.0.3'])

      const first = await store.hosts.list(tenant, { limit: 3 })
      expect(first.items.map((h) => h.mechostIp)).toEqual(['10.1.0.1', '10.1.0.2', '10.1.0.3'])
      const second = await store.hosts.list(tenant, { limit: 3, cursor: first.nextCursor ?? '' })
      expect(second).toMatchObject({ items: [{ mechostIp: '10.1.0.4' }], nextCursor: null })
      expect((await store.hosts.get(tenant, '10.1.0.3'))?.lastSeenAt).not.toBeNull()
    })

    it('records apps on a host, and drops them with the host', async () => {
      const target = await store.hosts.create(tenantA, host('10.0.0.9'))
      const app = {
        appInstanceId: examples.appInstanceId,
        appName: 'face',
        packageId: examples.appPkgId,
        capabilities: ['GPU'],
        status: 'Instantiated',
      }
      await store.hostApps.create(target.hostId, app)
      await expect(store.hostApps.create(target.hostId, app)).rejects.toMatchObject({ status: 409 })
      expect(await store.hostApps.list(target.hostId, 'GPU')).toHaveLength(1)
      expect(await store.hostApps.list(target.hostId, 'FPGA')).toHaveLength(0)
      expect(await store.hostApps.update(target.hostId, { ...app, status: 'Stopped' })).toMatchObject({
        status: 'Stopped',
      })
      await store.hosts.delete(tenantA, '10.0.0.9')
      expect(await store.hostApps.list(target.hostId)).toEqual([])
    })

    it('deletes a tenant with all of its hosts', async () => {
      const tenant = (await store.tenants.createTenant('doomed')).tenantId
      await store.hosts.create(tenant, host('10.2.0.1', { labels: { a: 'b' } }))
      expect(await store.hosts.count(tenant)).toBe(1)
      expect(await store.tenants.deleteTenant(tenant)).toBe(true)
      expect(await store.hosts.count(tenant)).toBe(0)
    })
  })

  describe('appd configurations and catalogs', () => {
    it('stores rules per tenant and app instance', async () => {
      const config = { appSupportMp1: true, appTrafficRule: [], appDNSRule: [examples.dnsRule] }
      expect(await store.appdConfigurations.replace(tenantA, examples.appInstanceId, config as never)).toBe(false)
      expect(await store.appdConfigurations.create(tenantA, examples.appInstanceId, config as never)).toBe(true)
      expect(await store.appdConfigurations.create(tenantA, examples.appInstanceId, {} as never)).toBe(false)
      expect(await store.appdConfigurations.get(tenantA, examples.appInstanceId)).toEqual(config)
      const replaced = { ...config, appSupportMp1: false }
      expect(await store.appdConfigurations.replace(tenantA, examples.appInstanceId, replaced as never)).toBe(true)
      expect(await store.appdConfigurations.get(tenantA, examples.appInstanceId)).toEqual(replaced)
      expect(await store.appdConfigurations.get(tenantB, examples.appInstanceId)).toBeUndefined()
      expect(await store.appdConfigurations.delete(tenantB, examples.appInstanceId)).toBe(false)
      expect(await store.appdConfigurations.delete(tenantA, examples.appInstanceId)).toBe(true)
    })

    it('keeps the rule states an edge reported, per tenant, until the instance leaves that edge or its rules go', async () => {
      const { hostId } = await store.hosts.create(tenantA, host('10.0.7.1'))
      const states = (state: 'ACTIVE' | 'INACTIVE') => ({
        trafficRules: [{ trafficRuleId: 'tr1', state }],
        dnsRules: [{ dnsRuleId: 'd1', state: 'ACTIVE' as const }],
      })
      const id = examples.appInstanceId
      expect(await store.appdConfigurations.states(tenantA, id)).toBeUndefined()
      await store.appdConfigurations.reportStates(tenantA, id, hostId, states('ACTIVE'))
      await store.appdConfigurations.reportStates(tenantA, id, hostId, states('INACTIVE'))
      expect(await store.appdConfigurations.states(tenantA, id)).toEqual({
        ...states('INACTIVE'),
        updatedAt: expect.any(String),
      })
      expect(await store.appdConfigurations.states(tenantB, id)).toBeUndefined()
      // another edge, or the same instance id in another tenant, forgets only what it reported
      const other = await store.hosts.create(tenantA, host('10.0.7.2'))
      await store.appdConfigurations.forgetStates(tenantA, id, other.hostId)
      await store.appdConfigurations.forgetStates(tenantB, id, hostId)
      expect(await store.appdConfigurations.states(tenantA, id)).toMatchObject(states('INACTIVE'))
      await store.appdConfigurations.forgetStates(tenantA, id, hostId)
      expect(await store.appdConfigurations.states(tenantA, id)).toBeUndefined()
      await store.appdConfigurations.reportStates(tenantA, id, hostId, states('ACTIVE'))
      await store.appdConfigurations.delete(tenantA, id)
      expect(await store.appdConfigurations.states(tenantA, id)).toBeUndefined()
    })

    it('keeps a catalog password apart from the record, and keeps it when an update gives none', async () => {
      const record = { repoEndPoint: 'repo.example', repoName: 'main', repoUserName: 'u' }
      await store.appRepos.create('repo.example', record, 'sealed-1')
      await expect(store.appRepos.create('repo.example', record, null)).rejects.toMatchObject({ status: 409 })
      expect(await store.appRepos.get('repo.example')).toEqual({ ...record, hasPassword: true })
      await store.appRepos.update('repo.example', { ...record, repoName: 'renamed' }, null)
      expect(await store.appRepos.sealedPassword('repo.example')).toBe('sealed-1')
      expect((await store.appRepos.list()).map((r) => r.repoName)).toEqual(['renamed'])
      expect(await store.appRepos.delete('repo.example')).toBe(true)
      expect(await store.appRepos.update('repo.example', record, null)).toBe(false)
    })
  })
})

describe.each(dialects)('the SQL driver on %s', (dialect) => {
  let db: TestDatabase
  let open: () => ReturnType<typeof openSqlite>

  beforeAll(async () => {
    db = await testDatabase(dialect)
    open = () => (db.databaseUrl ? openPostgres(db.databaseUrl) : openSqlite(join(db.dataDir, 'mecm.db')))
  })
  afterAll(() => db.drop())

  it('rolls a failed transaction back whole, leaving nothing half-written', async () => {
    const sql = open()
    await migrate(sql)
    const tenant = 'f0000000-0000-4000-8000-000000000001'
    await expect(
      sql.transaction(async (tx) => {
        await tx.run('INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?)', [tenant, 'half', 'now'])
        throw new Error('crash between two writes')
      }),
    ).rejects.toThrow('crash between two writes')
    expect(await sql.get('SELECT * FROM tenants WHERE tenant_id = ?', [tenant])).toBeUndefined()
    await sql.close()
  })

  it('runs concurrent transactions without mixing their statements', async () => {
    const sql = open()
    await migrate(sql)
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        sql
          .transaction(async (tx) => {
            await tx.run('INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?)', [
              `t-${i}`,
              `concurrent-${i}`,
              'x',
            ])
            if (i % 2) throw new Error('odd ones fail')
          })
          .catch(() => undefined),
      ),
    )
    const rows = await sql.all<{ name: string }>("SELECT name FROM tenants WHERE name LIKE 'concurrent-%'")
    expect(rows.map((r) => r.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `concurrent-${i * 2}`).sort())
    await sql.close()
  })

  it('migrates once, and a second run changes nothing', async () => {
    const sql = open()
    expect(await migrate(sql)).toEqual([])
    expect(await migrate(sql)).toEqual([])
    await sql.close()
  })

  it('refuses a database written by a newer MECM', async () => {
    const sql = open()
    await sql.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [999, 'future', 'x'])
    await expect(migrate(sql, migrations)).rejects.toThrow('schema version 999, newer than this MECM knows')
    await sql.run('DELETE FROM schema_migrations WHERE version = 999')
    await sql.close()
  })
})

// Replicas share PostgreSQL (DESIGN.md "Storage"); SQLite serves one center process, so this is PostgreSQL's case.
describe.each(['postgres' as const])('starting several replicas at once on %s', (dialect) => {
  it('migrates a fresh database once, with every replica coming up', async () => {
    const db = await testDatabase(dialect)
    const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(db)))
    for (const store of stores) expect(await store.ready()).toBe(true)
    await Promise.all(stores.map((store) => store.close()))
    await db.drop()
  })
})

describe.each(dialects)('integrity errors on %s', (dialect) => {
  it('are told apart: a missing parent is a foreign-key violation, a duplicate a unique one', async () => {
    const db = await testDatabase(dialect)
    const store = await openStore(db)
    const orphan = store.hosts.create('00000000-0000-4000-8000-000000000000', host('10.9.0.1'))
    const error = await orphan.catch((e: unknown) => e)
    expect(isForeignKeyViolation(error)).toBe(true)
    expect(isUniqueViolation(error)).toBe(false)
    await store.close()
    await db.drop()
  })
})
