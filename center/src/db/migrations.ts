import type { Database, Dialect } from './driver'

/**
 * The schema, as numbered steps. A step is applied once, in order, in one transaction with its
 * record in schema_migrations. Never edit a released step: add the next one.
 * Types are chosen to mean the same on both dialects: TEXT ISO timestamps, JSON as TEXT,
 * DOUBLE PRECISION coordinates.
 */
export interface Migration {
  version: number
  name: string
  sql: string | Record<Dialect, string>
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'tenants, users, credentials and inventory',
    sql: `
      CREATE TABLE tenants (
        tenant_id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
      );
      CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX users_tenant ON users (tenant_id);
      CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
      CREATE TABLE access_keys (
        access_key TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
        secret_sealed TEXT NOT NULL,
        description TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX access_keys_user ON access_keys (user_id);
      CREATE TABLE request_nonces (
        access_key TEXT NOT NULL,
        nonce TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        PRIMARY KEY (access_key, nonce)
      );
      CREATE INDEX request_nonces_expiry ON request_nonces (expires_at);
      CREATE TABLE mec_hosts (
        host_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        mechost_ip TEXT NOT NULL,
        mechost_name TEXT NOT NULL,
        vim TEXT NOT NULL,
        city TEXT NOT NULL,
        zip_code TEXT NOT NULL,
        address TEXT NOT NULL,
        latitude DOUBLE PRECISION,
        longitude DOUBLE PRECISION,
        labels TEXT NOT NULL,
        hw_capabilities TEXT NOT NULL,
        status TEXT NOT NULL,
        last_seen_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (tenant_id, mechost_ip)
      );
      CREATE INDEX mec_hosts_status ON mec_hosts (tenant_id, status, mechost_ip);
      CREATE INDEX mec_hosts_city ON mec_hosts (tenant_id, city, mechost_ip);
      CREATE TABLE host_labels (
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        label_key TEXT NOT NULL,
        label_value TEXT NOT NULL,
        PRIMARY KEY (host_id, label_key)
      );
      CREATE INDEX host_labels_pair ON host_labels (label_key, label_value);
      CREATE TABLE host_apps (
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        app_instance_id TEXT NOT NULL,
        app_name TEXT NOT NULL,
        package_id TEXT NOT NULL,
        capabilities TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (host_id, app_instance_id)
      );
      CREATE TABLE appd_configurations (
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        app_instance_id TEXT NOT NULL,
        configuration TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, app_instance_id)
      );
      CREATE TABLE app_stores (
        appstore_ip TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        password_sealed TEXT,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE app_repos (
        repo_endpoint TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        password_sealed TEXT,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'application packages, distribution records, package subscriptions and notifications',
    sql: `
      CREATE TABLE app_packages (
        app_pkg_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        app_id TEXT NOT NULL,
        app_pkg_name TEXT NOT NULL,
        app_pkg_version TEXT NOT NULL,
        app_d_id TEXT NOT NULL,
        app_name TEXT NOT NULL,
        app_provider TEXT NOT NULL,
        app_soft_version TEXT NOT NULL,
        app_d_version TEXT NOT NULL,
        app_class TEXT,
        digest TEXT,
        size BIGINT NOT NULL,
        onboarding_state TEXT NOT NULL,
        onboarding_failure TEXT,
        operational_state TEXT NOT NULL,
        usage_state TEXT NOT NULL,
        details TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX app_packages_tenant ON app_packages (tenant_id, app_pkg_id);
      CREATE INDEX app_packages_appd ON app_packages (tenant_id, app_d_id);
      CREATE INDEX app_packages_digest ON app_packages (digest);
      CREATE TABLE package_distributions (
        app_pkg_id TEXT NOT NULL REFERENCES app_packages (app_pkg_id) ON DELETE CASCADE,
        host_ip TEXT NOT NULL,
        state TEXT NOT NULL,
        error TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (app_pkg_id, host_ip)
      );
      CREATE TABLE package_subscriptions (
        subscription_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        subscription_type TEXT NOT NULL,
        callback_uri TEXT NOT NULL,
        app_pkg_filter TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX package_subscriptions_tenant ON package_subscriptions (tenant_id, subscription_type);
      CREATE TABLE notifications (
        notification_id TEXT PRIMARY KEY,
        subscription_id TEXT NOT NULL REFERENCES package_subscriptions (subscription_id) ON DELETE CASCADE,
        callback_uri TEXT NOT NULL,
        payload TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        next_attempt_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL
      );
      CREATE INDEX notifications_due ON notifications (next_attempt_at);
    `,
  },
  {
    version: 3,
    name: 'edge enrollment and identity, the sync channel: command outbox, desired state, events, observed instances, conflicts',
    sql: `
      CREATE TABLE edge_enrollments (
        host_id TEXT PRIMARY KEY REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        token_hash TEXT NOT NULL UNIQUE,
        expires_at TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE edge_identities (
        host_id TEXT PRIMARY KEY REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        public_key TEXT NOT NULL,
        enrolled_at TEXT NOT NULL,
        rotated_at TEXT NOT NULL
      );
      CREATE TABLE edge_sync (
        host_id TEXT PRIMARY KEY REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        store_id TEXT,
        command_seq BIGINT NOT NULL,
        acked_command_seq BIGINT NOT NULL,
        event_seq BIGINT NOT NULL,
        session_id TEXT,
        agent_version TEXT,
        seen_at TEXT,
        metrics TEXT,
        mep_services TEXT NOT NULL
      );
      CREATE TABLE edge_commands (
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        seq BIGINT NOT NULL,
        command_id TEXT NOT NULL,
        body TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        PRIMARY KEY (host_id, seq)
      );
      CREATE TABLE edge_desired (
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        item_key TEXT NOT NULL,
        record TEXT NOT NULL,
        origin TEXT NOT NULL,
        reported TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (host_id, kind, item_key)
      );
      CREATE INDEX edge_desired_item ON edge_desired (kind, item_key);
      CREATE TABLE edge_instances (
        app_instance_id TEXT PRIMARY KEY,
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        status TEXT NOT NULL,
        generation BIGINT NOT NULL,
        operation_id TEXT,
        detail TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX edge_instances_host ON edge_instances (host_id, app_instance_id);
      CREATE TABLE edge_events (
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        store_id TEXT NOT NULL,
        seq BIGINT NOT NULL,
        event_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        at TEXT NOT NULL,
        received_at TEXT NOT NULL,
        rejected TEXT,
        PRIMARY KEY (event_id)
      );
      CREATE INDEX edge_events_received ON edge_events (host_id, received_at);
      CREATE TABLE edge_conflicts (
        conflict_id TEXT PRIMARY KEY,
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        app_instance_id TEXT NOT NULL,
        center_record TEXT NOT NULL,
        edge_record TEXT NOT NULL,
        winner TEXT NOT NULL,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX edge_conflicts_host ON edge_conflicts (host_id, created_at);
    `,
  },
  {
    version: 4,
    name: 'orchestration: app instances, LCM operations with their saved process state, rule tasks, LCM subscriptions',
    sql: `
      CREATE TABLE app_instances (
        app_instance_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        app_pkg_id TEXT NOT NULL,
        app_id TEXT NOT NULL,
        app_d_id TEXT NOT NULL,
        app_name TEXT NOT NULL,
        instance_name TEXT NOT NULL,
        description TEXT NOT NULL,
        placement TEXT NOT NULL,
        host_id TEXT REFERENCES mec_hosts (host_id) ON DELETE SET NULL,
        mechost_ip TEXT,
        status TEXT NOT NULL,
        parameters TEXT NOT NULL,
        operation_id TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX app_instances_tenant ON app_instances (tenant_id, created_at, app_instance_id);
      CREATE INDEX app_instances_host ON app_instances (host_id, app_id);
      CREATE TABLE lcm_operations (
        operation_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        app_instance_id TEXT,
        parent_id TEXT,
        position INTEGER NOT NULL,
        lcm_operation TEXT NOT NULL,
        state TEXT NOT NULL,
        params TEXT NOT NULL,
        engine_state TEXT,
        error TEXT,
        edge_outcome TEXT,
        edge_error TEXT,
        issued_attempt INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        cancel_pending INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until TEXT,
        start_time TEXT NOT NULL,
        state_entered_time TEXT NOT NULL
      );
      CREATE INDEX lcm_operations_tenant ON lcm_operations (tenant_id, start_time, operation_id);
      CREATE INDEX lcm_operations_state ON lcm_operations (state, lease_until);
      CREATE INDEX lcm_operations_parent ON lcm_operations (parent_id, position);
      CREATE INDEX lcm_operations_instance ON lcm_operations (app_instance_id, start_time);
      CREATE TABLE rule_tasks (
        task_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        app_instance_id TEXT NOT NULL,
        operation_id TEXT NOT NULL,
        state TEXT NOT NULL,
        detail TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE lcm_subscriptions (
        subscription_id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        subscription_type TEXT NOT NULL,
        callback_uri TEXT NOT NULL,
        filter TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX lcm_subscriptions_tenant ON lcm_subscriptions (tenant_id, created_at)
    `,
  },
  {
    version: 5,
    name: 'one notification outbox for package and lifecycle subscriptions: no foreign key to package_subscriptions',
    sql: {
      postgres: `
        ALTER TABLE notifications DROP CONSTRAINT notifications_subscription_id_fkey;
        CREATE INDEX notifications_subscription ON notifications (subscription_id)
      `,
      // SQLite cannot drop a constraint: the table is made again without it
      sqlite: `
        CREATE TABLE notifications_v5 (
          notification_id TEXT PRIMARY KEY,
          subscription_id TEXT NOT NULL,
          callback_uri TEXT NOT NULL,
          payload TEXT NOT NULL,
          attempts INTEGER NOT NULL,
          next_attempt_at TEXT NOT NULL,
          last_error TEXT,
          created_at TEXT NOT NULL
        );
        INSERT INTO notifications_v5 (notification_id, subscription_id, callback_uri, payload, attempts, next_attempt_at,
          last_error, created_at)
          SELECT notification_id, subscription_id, callback_uri, payload, attempts, next_attempt_at, last_error, created_at
          FROM notifications;
        DROP TABLE notifications;
        ALTER TABLE notifications_v5 RENAME TO notifications;
        CREATE INDEX notifications_due ON notifications (next_attempt_at);
        CREATE INDEX notifications_subscription ON notifications (subscription_id)
      `,
    },
  },
  {
    version: 6,
    name: "app rule states: each app instance's Mp1 traffic and DNS rule states, as its edge reported them",
    sql: `
      CREATE TABLE app_rule_states (
        tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id) ON DELETE CASCADE,
        app_instance_id TEXT NOT NULL,
        host_id TEXT NOT NULL REFERENCES mec_hosts (host_id) ON DELETE CASCADE,
        states TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, app_instance_id)
      );
      CREATE INDEX app_rule_states_host ON app_rule_states (host_id)
    `,
  },
]

export const latestVersion = Math.max(...migrations.map((m) => m.version))

const LOCK_ID = 7_340_117 // any constant: serialises migrations across center replicas

async function appliedVersions(db: Database): Promise<number[]> {
  const rows = await db.all<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version')
  return rows.map((row) => Number(row.version))
}

/** Applies the missing steps. Refuses a database written by a newer MECM. */
export async function migrate(db: Database, steps: readonly Migration[] = migrations): Promise<number[]> {
  return db.transaction(async (tx) => {
    // replicas starting together wait here for each other (SQLite's BEGIN IMMEDIATE already does)
    if (tx.dialect === 'postgres') await tx.get('SELECT pg_advisory_xact_lock(?)', [LOCK_ID])
    await tx.run(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    )
    const rows = await tx.all<{ version: number }>('SELECT version FROM schema_migrations')
    const applied = new Set(rows.map((row) => Number(row.version)))
    const newest = Math.max(0, ...applied)
    const known = Math.max(0, ...steps.map((step) => step.version))
    if (newest > known) {
      throw new Error(
        `the database is at schema version ${newest}, newer than this MECM knows (${known}): upgrade MECM, or restore a backup`,
      )
    }
    const done: number[] = []
    for (const step of [...steps].sort((a, b) => a.version - b.version)) {
      if (applied.has(step.version)) continue
      const script = typeof step.sql === 'string' ? step.sql : step.sql[tx.dialect]
      for (const statement of script.split(';').map((s) => s.trim())) {
        if (statement) await tx.run(statement)
      }
      await tx.run('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)', [
        step.version,
        step.name,
        new Date().toISOString(),
      ])
      done.push(step.version)
    }
    return done
  })
}

/** True when every known step is applied: what /readyz reports. */
export async function isMigrated(db: Database): Promise<boolean> {
  const versions = await appliedVersions(db).catch((): number[] => [])
  return migrations.every((step) => versions.includes(step.version))
}
