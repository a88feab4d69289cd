import { join } from 'node:path'
import { packageStore } from '../apm/package-store'
import { subscriptionStore } from '../apm/subscription-store'
import { appoStore } from '../appo/appo-store'
import { lcmSubscriptionStore } from '../appo/lcm-subscriptions'
import { credentialStore } from '../auth/credential-store'
import { edgeIdentityStore } from '../auth/edge-identity-store'
import { tenantStore } from '../auth/tenant-store'
import { appdStore } from '../inventory/appd-store'
import type { AppRepo, AppStore } from '../inventory/catalog'
import { catalogStore } from '../inventory/catalog-store'
import { hostAppStore } from '../inventory/host-app-store'
import { hostStore } from '../inventory/host-store'
import { eventStore } from '../sync/event-store'
import { outboxStore } from '../sync/outbox-store'
import { sessionStore } from '../sync/session-store'
import type { Database, Dialect } from './driver'
import { isMigrated, migrate } from './migrations'
import { openPostgres } from './postgres'
import { openSqlite } from './sqlite'

/**
 * The center's store: domain-level methods grouped by component, each group written once
 * against the SQL surface in driver.ts, so SQLite and PostgreSQL behave the same (one contract
 * suite, store.contract.test.ts, runs against both).
 */
export interface Store {
  readonly dialect: Dialect
  readonly tenants: ReturnType<typeof tenantStore>
  readonly credentials: ReturnType<typeof credentialStore>
  readonly hosts: ReturnType<typeof hostStore>
  readonly hostApps: ReturnType<typeof hostAppStore>
  readonly appdConfigurations: ReturnType<typeof appdStore>
  readonly appStores: ReturnType<typeof catalogStore<AppStore>>
  readonly appRepos: ReturnType<typeof catalogStore<AppRepo>>
  readonly packages: ReturnType<typeof packageStore>
  readonly packageSubscriptions: ReturnType<typeof subscriptionStore>
  readonly edges: ReturnType<typeof edgeIdentityStore>
  readonly edgeOutbox: ReturnType<typeof outboxStore>
  readonly edgeSessions: ReturnType<typeof sessionStore>
  readonly edgeEvents: ReturnType<typeof eventStore>
  readonly appo: ReturnType<typeof appoStore>
  readonly lcmSubscriptions: ReturnType<typeof lcmSubscriptionStore>
  /** PostgreSQL: hears NOTIFYs of other replicas (see Database.listen); absent on SQLite. */
  readonly listen?: Database['listen']
  /** Reachable and fully migrated: what /readyz reports. */
  ready(): Promise<boolean>
  close(): Promise<void>
}

export function storeOver(db: Database): Store {
  return {
    dialect: db.dialect,
    tenants: tenantStore(db),
    credentials: credentialStore(db),
    hosts: hostStore(db),
    hostApps: hostAppStore(db),
    appdConfigurations: appdStore(db),
    appStores: catalogStore<AppStore>(db, 'app_stores', 'app store'),
    appRepos: catalogStore<AppRepo>(db, 'app_repos', 'app repository'),
    packages: packageStore(db),
    packageSubscriptions: subscriptionStore(db),
    edges: edgeIdentityStore(db),
    edgeOutbox: outboxStore(db),
    edgeSessions: sessionStore(db),
    edgeEvents: eventStore(db),
    appo: appoStore(db),
    lcmSubscriptions: lcmSubscriptionStore(db),
    ...(db.listen ? { listen: db.listen.bind(db) } : {}),
    ready: () => isMigrated(db),
    close: () => db.close(),
  }
}

/** PostgreSQL when a URL is given, else SQLite in `<dataDir>/mecm.db`; migrated before it is returned. */
export async function openStore(options: { databaseUrl?: string; dataDir: string }): Promise<Store> {
  const db = options.databaseUrl ? openPostgres(options.databaseUrl) : openSqlite(join(options.dataDir, 'mecm.db'))
  try {
    await migrate(db)
  } catch (error) {
    await db.close()
    throw error
  }
  return storeOver(db)
}
