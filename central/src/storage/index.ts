// Public surface of central's storage: the store interfaces (types.ts), the embedded SQLite
// implementations (the default, production code) and the database they share. The shared
// contract suites every implementation runs live in ./testing (test-only, not exported here).
export { API_KEY_SCOPES } from './types.js';
export type {
  AgentRecord,
  AgentStore,
  AlertFilter,
  AlertStore,
  ApiKeyRecord,
  ApiKeyScope,
  ApiKeyStore,
  AuditEntry,
  AuditLog,
  ConfigDocument,
  ConfigStore,
  FeatureQuery,
  FeatureSample,
  FeatureSeries,
  IncidentEventRecord,
  IncidentFilter,
  IncidentStore,
  LogQuery,
  LogRecord,
  LogStore,
  LabelMatcher,
  MatchOp,
  MetricSample,
  MetricStore,
  RangeQuery,
  Resolution,
  RetentionPolicy,
  SeriesPoints,
  SeriesColumns,
  SeriesSelector,
  StoredAlert,
  WriteResult,
} from './types.js';

export { StorageError } from './errors.js';
export type { StorageErrorCode } from './errors.js';

export { DEFAULT_BUSY_TIMEOUT_MS, openDatabase } from './database.js';
export type { OpenDatabaseOptions, SqliteDatabase, SynchronousMode } from './database.js';
export { checkMigrations, migrate, schemaVersion } from './migrations.js';
export type { MigrateResult, Migration } from './migrations.js';
export { STORAGE_MIGRATIONS } from './schema.js';

export { DEFAULT_METRIC_LIMITS, DEFAULT_RETENTION, SqliteMetricStore } from './metric-store.js';
export type { MetricStoreLimits, SqliteMetricStoreOptions } from './metric-store.js';
export { SqliteAlertStore } from './alert-store.js';
export { SqliteIncidentStore } from './incident-store.js';
export { redactSecrets, SqliteAuditLog } from './audit-log.js';
export { MAX_ENROLLMENT_TOKEN_LIFETIME_MS, SqliteAgentStore, SqliteApiKeyStore, TOKEN_PATTERN } from './credentials.js';
export { openSqliteStores } from './stores.js';
export { MAX_CONFIG_DOCUMENT_BYTES, SqliteConfigStore } from './config-store.js';
export { DEFAULT_LOG_LIMITS, LOG_LEVELS, SqliteLogStore } from './log-store.js';
export type { LogStoreLimits } from './log-store.js';
export { CHANGE_LIMITS, SqliteChangeStore } from './change-store.js';
export type { ChangeEntityKind, ChangeEvent, ChangeFilter, ChangeInput } from './change-store.js';
export { compileSilenceMatchers, SILENCE_LIMITS, silenceState, SqliteSilenceStore } from './silence-store.js';
export type { Silence, SilenceState } from './silence-store.js';
export type { OpenSqliteStoresOptions, SqliteStores } from './stores.js';
export { compileSelector, matchesLabels, positiveMatchers } from './selector.js';
export type { CompiledSelector, SelectorLimits } from './selector.js';
