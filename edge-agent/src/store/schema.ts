import { integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core'

/** The agent's tables, as drizzle sees them; migrations.ts creates them. */

export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
})

/** What should run: one row per app instance, from the center or from a person at the edge. */
export const desiredInstances = sqliteTable('desired_instances', {
  appInstanceId: text('app_instance_id').primaryKey(),
  record: text('record').notNull(),
  generation: integer('generation').notNull(),
  origin: text('origin', { enum: ['center', 'edge'] }).notNull(),
  updatedAt: text('updated_at').notNull(),
})

/** What runs: the lifecycle status the reconciler last reached for each instance. */
export const observedInstances = sqliteTable('observed_instances', {
  appInstanceId: text('app_instance_id').primaryKey(),
  status: text('status').notNull(),
  generation: integer('generation').notNull(),
  detail: text('detail').notNull(),
  updatedAt: text('updated_at').notNull(),
})

/** Packages held on this host, by content digest, unpacked under the data dir. */
export const packages = sqliteTable('packages', {
  digest: text('digest').primaryKey(),
  appPkgId: text('app_pkg_id').notNull(),
  appClass: text('app_class').notNull(),
  size: integer('size').notNull(),
  addedAt: text('added_at').notNull(),
  /** What onboarding read from the package: its APPD name and version, exec descriptor, artifacts (JSON). */
  details: text('details').notNull(),
})

/** Each app instance's AK/SK, given to the app and checked by the MEP; the secret key is sealed with the agent's key. */
export const instanceCredentials = sqliteTable('instance_credentials', {
  appInstanceId: text('app_instance_id').primaryKey(),
  accessKey: text('access_key').notNull(),
  secretKey: text('secret_key').notNull(),
})

/** Signed-in sessions of the local API, by token hash. */
export const sessions = sqliteTable('sessions', {
  tokenHash: text('token_hash').primaryKey(),
  expiresAt: text('expires_at').notNull(),
})

/** Events waiting for the center's acknowledgement, in order. */
export const eventOutbox = sqliteTable('event_outbox', {
  seq: integer('seq').primaryKey(),
  eventId: text('event_id').notNull(),
  kind: text('kind').notNull(),
  body: text('body').notNull(),
  at: text('at').notNull(),
})

/** Commands from the center already applied, by sequence number: a replayed one is skipped. */
export const appliedCommands = sqliteTable('applied_commands', {
  seq: integer('seq').primaryKey(),
  commandId: text('command_id').notNull(),
  appliedAt: text('applied_at').notNull(),
})

/**
 * The traffic and DNS rules set for each instance, as the center sent them or a person set them
 * here (origin edge); mep_rules holds them as Mp1 rules.
 */
export const instanceRules = sqliteTable('instance_rules', {
  appInstanceId: text('app_instance_id').primaryKey(),
  taskId: text('task_id'),
  configuration: text('configuration').notNull(),
  origin: text('origin', { enum: ['center', 'edge'] }).notNull(),
  updatedAt: text('updated_at').notNull(),
})

/** Plugin credentials from the center (kubeconfig, cloud auth), sealed with the agent's own key. */
export const pluginConfigs = sqliteTable('plugin_configs', {
  vim: text('vim').primaryKey(),
  sealed: text('sealed').notNull(),
  updatedAt: text('updated_at').notNull(),
})

/** Packages the center sent here, and how far their download got. */
export const wantedPackages = sqliteTable('wanted_packages', {
  appPkgId: text('app_pkg_id').primaryKey(),
  ref: text('ref').notNull(),
  state: text('state', { enum: ['PENDING', 'DISTRIBUTING', 'DISTRIBUTED', 'FAILED'] }).notNull(),
  error: text('error'),
  updatedAt: text('updated_at').notNull(),
})

/** Instances terminated here, with the generation they ended at (kept 30 days). */
export const retiredInstances = sqliteTable('retired_instances', {
  appInstanceId: text('app_instance_id').primaryKey(),
  generation: integer('generation').notNull(),
  retiredAt: text('retired_at').notNull(),
})

/** Mp1 access tokens, by hash: each one an app got with its AK/SK, gone when the instance is. */
export const mepTokens = sqliteTable('mep_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  appInstanceId: text('app_instance_id').notNull(),
  expiresAt: text('expires_at').notNull(),
})

/** The MEP's service registry: each service an app registered (ServiceInfo, JSON). */
export const mepServices = sqliteTable('mep_services', {
  serInstanceId: text('ser_instance_id').primaryKey(),
  appInstanceId: text('app_instance_id').notNull(),
  record: text('record').notNull(),
  updatedAt: text('updated_at').notNull(),
})

/** Apps' Mp1 subscriptions (service availability, app termination), JSON. */
export const mepSubscriptions = sqliteTable('mep_subscriptions', {
  subscriptionId: text('subscription_id').primaryKey(),
  appInstanceId: text('app_instance_id').notNull(),
  api: text('api', { enum: ['mec_service_mgmt', 'mec_app_support'] }).notNull(),
  record: text('record').notNull(),
  createdAt: text('created_at').notNull(),
})

/** Each app's traffic and DNS rules as Mp1 serves them (TrafficRule, DnsRule, JSON, with their state). */
export const mepRules = sqliteTable(
  'mep_rules',
  {
    appInstanceId: text('app_instance_id').notNull(),
    kind: text('kind', { enum: ['traffic', 'dns'] }).notNull(),
    ruleId: text('rule_id').notNull(),
    record: text('record').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.appInstanceId, table.kind, table.ruleId] })],
)

/** What each app told the MEP of its lifecycle: ready, and termination confirmed. */
export const mepApps = sqliteTable('mep_apps', {
  appInstanceId: text('app_instance_id').primaryKey(),
  readyAt: text('ready_at'),
  terminationConfirmedAt: text('termination_confirmed_at'),
  terminationAction: text('termination_action'),
})
