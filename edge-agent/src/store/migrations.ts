import type BetterSqlite3 from 'better-sqlite3'

/** The agent's schema as numbered steps, each applied once in one transaction. Never edit a released step. */
export const migrations: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'desired and observed instances, packages, event outbox, applied commands',
    sql: `
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE desired_instances (
        app_instance_id TEXT PRIMARY KEY,
        record TEXT NOT NULL,
        generation INTEGER NOT NULL,
        origin TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE observed_instances (
        app_instance_id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        generation INTEGER NOT NULL,
        detail TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE packages (
        digest TEXT PRIMARY KEY,
        app_pkg_id TEXT NOT NULL,
        app_class TEXT NOT NULL,
        size INTEGER NOT NULL,
        added_at TEXT NOT NULL
      );
      CREATE INDEX packages_app_pkg ON packages (app_pkg_id);
      CREATE TABLE event_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        body TEXT NOT NULL,
        at TEXT NOT NULL
      );
      CREATE TABLE applied_commands (
        seq INTEGER PRIMARY KEY,
        command_id TEXT NOT NULL UNIQUE,
        applied_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'package details, local sessions',
    sql: `
      ALTER TABLE packages ADD COLUMN details TEXT NOT NULL DEFAULT '{}';
      CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, expires_at TEXT NOT NULL);
    `,
  },
  {
    version: 3,
    name: 'instance credentials',
    sql: `
      CREATE TABLE instance_credentials (
        app_instance_id TEXT PRIMARY KEY,
        access_key TEXT NOT NULL UNIQUE,
        secret_key TEXT NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'sync: traffic and DNS rules per instance, sealed plugin credentials, packages the center wants here',
    sql: `
      CREATE TABLE instance_rules (
        app_instance_id TEXT PRIMARY KEY,
        task_id TEXT,
        configuration TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE plugin_configs (
        vim TEXT PRIMARY KEY,
        sealed TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE wanted_packages (
        app_pkg_id TEXT PRIMARY KEY,
        ref TEXT NOT NULL,
        state TEXT NOT NULL,
        error TEXT,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 5,
    name: 'retired instances: the generation each was terminated at, so that an older command does not bring it back',
    sql: `
      CREATE TABLE retired_instances (
        app_instance_id TEXT PRIMARY KEY,
        generation INTEGER NOT NULL,
        retired_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'the MEP (Mp1): app tokens, service registry, subscriptions, traffic and DNS rules, app readiness',
    sql: `
      CREATE TABLE mep_tokens (
        token_hash TEXT PRIMARY KEY,
        app_instance_id TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX mep_tokens_app ON mep_tokens (app_instance_id);
      CREATE TABLE mep_services (
        ser_instance_id TEXT PRIMARY KEY,
        app_instance_id TEXT NOT NULL,
        record TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX mep_services_app ON mep_services (app_instance_id);
      CREATE TABLE mep_subscriptions (
        subscription_id TEXT PRIMARY KEY,
        app_instance_id TEXT NOT NULL,
        api TEXT NOT NULL,
        record TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE INDEX mep_subscriptions_app ON mep_subscriptions (app_instance_id);
      CREATE TABLE mep_rules (
        app_instance_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        rule_id TEXT NOT NULL,
        record TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (app_instance_id, kind, rule_id)
      );
      CREATE TABLE mep_apps (
        app_instance_id TEXT PRIMARY KEY,
        ready_at TEXT,
        termination_confirmed_at TEXT,
        termination_action TEXT
      );
    `,
  },
  {
    version: 7,
    name: 'instance rules set at the edge (apprule API): origin, so that a snapshot keeps them until the center has them',
    sql: `ALTER TABLE instance_rules ADD COLUMN origin TEXT NOT NULL DEFAULT 'center';`,
  },
]

/** Applies the missing steps; refuses a store written by a newer agent. */
export function migrate(db: BetterSqlite3.Database): number[] {
  return db
    .transaction(() => {
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
      )
      const applied = new Set(
        (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((row) => row.version),
      )
      const known = Math.max(...migrations.map((step) => step.version))
      const newest = Math.max(0, ...applied)
      if (newest > known) {
        throw new Error(
          `the agent store is at schema version ${newest}, newer than this agent knows (${known}): upgrade the agent`,
        )
      }
      const done: number[] = []
      for (const step of migrations) {
        if (applied.has(step.version)) continue
        db.exec(step.sql)
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
          step.version,
          step.name,
          new Date().toISOString(),
        )
        done.push(step.version)
      }
      return done
    })
    .immediate()
}
