// All of central's embedded stores on one SQLite database: what the embedded deployment runs.
import { SqliteAlertStore } from './alert-store.js';
import { SqliteAuditLog } from './audit-log.js';
import { SqliteAgentStore, SqliteApiKeyStore } from './credentials.js';
import { openDatabase } from './database.js';
import type { OpenDatabaseOptions, SqliteDatabase } from './database.js';
import { SqliteIncidentStore } from './incident-store.js';
import { SqliteConfigStore } from './config-store.js';
import { SqliteLogStore } from './log-store.js';
import { SqliteSilenceStore } from './silence-store.js';
import { SqliteChangeStore } from './change-store.js';
import { SqliteMetricStore } from './metric-store.js';
import type { SqliteMetricStoreOptions } from './metric-store.js';

export interface SqliteStores {
  readonly db: SqliteDatabase;
  readonly metrics: SqliteMetricStore;
  readonly alerts: SqliteAlertStore;
  readonly incidents: SqliteIncidentStore;
  readonly audit: SqliteAuditLog;
  readonly apiKeys: SqliteApiKeyStore;
  readonly agents: SqliteAgentStore;
  readonly configs: SqliteConfigStore;
  readonly logs: SqliteLogStore;
  readonly silences: SqliteSilenceStore;
  /** Deploys and configuration changes (the RCA engine's prior). */
  readonly changes: SqliteChangeStore;
  /** Waits for a running compaction to stop, then closes the database. Idempotent. */
  close(): Promise<void>;
}

export interface OpenSqliteStoresOptions {
  now: () => number;
  database?: Omit<OpenDatabaseOptions, 'now'>;
  metrics?: Omit<SqliteMetricStoreOptions, 'now'>;
}

/** Opens (creating and migrating if needed) the database at `path` (or ':memory:') with every store on it. */
export function openSqliteStores(path: string, opts: OpenSqliteStoresOptions): SqliteStores {
  // One process writing metrics at volume: checkpoints in a worker thread (decision 019).
  const db = openDatabase(path, { checkpoint: 'background', ...opts.database, now: opts.now });
  try {
    const metrics = new SqliteMetricStore(db, { ...opts.metrics, now: opts.now });
    return {
      db,
      metrics,
      alerts: new SqliteAlertStore(db),
      incidents: new SqliteIncidentStore(db),
      audit: new SqliteAuditLog(db),
      apiKeys: new SqliteApiKeyStore(db),
      agents: new SqliteAgentStore(db),
      configs: new SqliteConfigStore(db),
      logs: new SqliteLogStore(db, { now: opts.now }),
      silences: new SqliteSilenceStore(db),
      changes: new SqliteChangeStore(db),
      async close() {
        await metrics.close();
        db.close();
        await db.released();
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
