// The schema of central's embedded database, as migrations (append-only: add, never edit).
// Layout notes (docs/decisions/015-central-storage-sqlite.md):
// - Time series tables are WITHOUT ROWID with the primary key (series_id, time): a range
//   query of one series is one B-tree seek plus a contiguous scan, and rows are clustered on
//   disk by series (no separate index, no rowid column).
// - A series is identified by its canonical label key (shared-schemas canonicalLabelKey, a JSON
//   array of sorted name/value pairs), which also holds its labels; `series_labels` is the
//   inverted index (name, value) -> series used by selectors without a metric name.
// - `series.id` is AUTOINCREMENT so an id is never reused after a series is garbage-collected:
//   a label set cached by id in any connection can never describe another series.
// - Rollups keep sum (not avg) so 5m buckets are computed exactly from 1m buckets.
// - Feature rows are one wide row per (series, window): every feature of a window is read with
//   one seek. NaN ("not available") is stored as NULL (SQLite has no NaN).
// - The audit log refuses UPDATE and DELETE with triggers: append-only at the storage level.
import type { Migration } from './migrations.js';

const METRICS = `
CREATE TABLE series (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);

CREATE TABLE series_labels (
  name TEXT NOT NULL,
  value TEXT NOT NULL,
  series_id INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  PRIMARY KEY (name, value, series_id)
) WITHOUT ROWID;
CREATE INDEX series_labels_by_series ON series_labels (series_id);

CREATE TABLE samples (
  series_id INTEGER NOT NULL REFERENCES series (id),
  ts INTEGER NOT NULL,
  value REAL NOT NULL,
  PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;

CREATE TABLE rollup_1m (
  series_id INTEGER NOT NULL REFERENCES series (id),
  bucket INTEGER NOT NULL,
  sum REAL,
  min REAL,
  max REAL,
  count INTEGER NOT NULL,
  last REAL,
  PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;

CREATE TABLE rollup_5m (
  series_id INTEGER NOT NULL REFERENCES series (id),
  bucket INTEGER NOT NULL,
  sum REAL,
  min REAL,
  max REAL,
  count INTEGER NOT NULL,
  last REAL,
  PRIMARY KEY (series_id, bucket)
) WITHOUT ROWID;

CREATE TABLE feature_rows (
  series_id INTEGER NOT NULL REFERENCES series (id),
  window_start INTEGER NOT NULL,
  window_end INTEGER NOT NULL,
  count INTEGER NOT NULL,
  min REAL,
  max REAL,
  mean REAL,
  std REAL,
  last REAL,
  p50 REAL,
  p95 REAL,
  score REAL,
  flags INTEGER NOT NULL,
  band_lower REAL,
  band_upper REAL,
  PRIMARY KEY (series_id, window_start)
) WITHOUT ROWID;

-- Batch identities seen (idempotent redelivery): kind 's' = writeSamples batchId,
-- 'f' = feature frame (id = JSON [agentId, sequence]).
CREATE TABLE write_batches (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  accepted INTEGER NOT NULL,
  created_ms INTEGER NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;
CREATE INDEX write_batches_by_time ON write_batches (created_ms);

-- Per rollup resolution: buckets below done_until are claimed by a compaction; pending_from
-- (when set) is where a claimed range starts that is not finished yet (a crash redoes it);
-- dirty_from (when set) is the earliest time a late write touched below done_until;
-- source_expired_until is how far retention may have deleted the source (raw data for 1m,
-- 1m buckets for 5m): buckets before it are never recomputed from a partial source.
CREATE TABLE rollup_state (
  resolution TEXT PRIMARY KEY,
  done_until INTEGER NOT NULL,
  pending_from INTEGER,
  dirty_from INTEGER,
  source_expired_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
INSERT INTO rollup_state (resolution, done_until) VALUES ('1m', 0), ('5m', 0);
`;

const ALERTS_INCIDENTS = `
CREATE TABLE alerts (
  tenant TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('firing', 'resolved')),
  labels TEXT NOT NULL,
  annotations TEXT NOT NULL,
  starts_at_ms INTEGER NOT NULL,
  ends_at_ms INTEGER NOT NULL,
  generator_url TEXT NOT NULL,
  source TEXT NOT NULL,
  received_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  duplicates INTEGER NOT NULL DEFAULT 0,
  episode INTEGER NOT NULL DEFAULT 1,
  incident_id TEXT,
  PRIMARY KEY (tenant, fingerprint)
) WITHOUT ROWID;
CREATE INDEX alerts_by_update ON alerts (tenant, updated_at_ms);
CREATE INDEX alerts_by_status ON alerts (tenant, status, updated_at_ms);

CREATE TABLE incidents (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  status TEXT NOT NULL,
  severity TEXT NOT NULL,
  opened_at_ms INTEGER NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  resolved_at_ms INTEGER NOT NULL,
  doc TEXT NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX incidents_by_update ON incidents (tenant, updated_at_ms);
CREATE INDEX incidents_by_status ON incidents (tenant, status, updated_at_ms);
`;

const AUDIT = `
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  details TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
`;

const CREDENTIALS = `
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  tenant TEXT NOT NULL,
  scopes TEXT NOT NULL,
  salt BLOB NOT NULL,
  hash BLOB NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER NOT NULL DEFAULT 0,
  last_used_at_ms INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;

CREATE TABLE enrollment_tokens (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  salt BLOB NOT NULL,
  hash BLOB NOT NULL,
  created_by TEXT NOT NULL,
  created_at_ms INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL,
  used_at_ms INTEGER NOT NULL DEFAULT 0,
  used_by TEXT
) WITHOUT ROWID;
CREATE INDEX enrollment_tokens_by_expiry ON enrollment_tokens (expires_at_ms);

CREATE TABLE agents (
  agent_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  salt BLOB NOT NULL,
  hash BLOB NOT NULL,
  enrolled_at_ms INTEGER NOT NULL,
  revoked_at_ms INTEGER NOT NULL DEFAULT 0,
  last_seen_at_ms INTEGER NOT NULL DEFAULT 0,
  enrollment_token_id TEXT NOT NULL
) WITHOUT ROWID;
`;

const CONFIG_LOGS = `
CREATE TABLE config_documents (
  tenant TEXT NOT NULL,
  name TEXT NOT NULL,
  version INTEGER NOT NULL,
  body TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (tenant, name)
) WITHOUT ROWID;

CREATE TABLE logs (
  id INTEGER PRIMARY KEY,
  tenant TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  level TEXT NOT NULL,
  labels TEXT NOT NULL,
  message TEXT NOT NULL
);
CREATE INDEX logs_by_time ON logs (tenant, ts_ms);

CREATE TABLE log_batches (
  batch_id TEXT PRIMARY KEY,
  received_ms INTEGER NOT NULL
) WITHOUT ROWID;
`;

// Raw samples as compressed chunks (decision 019): one row per run of up to 120 samples of a
// series instead of one row per sample. The chunks of a series never overlap, so (series_id,
// start_ms) identifies one. A rowid table (chunks appended in write order: a write fills new
// pages sequentially) with a covering index by series (small entries: the write path finds a
// series' last chunk in the index alone), not a WITHOUT ROWID table clustered by series: with
// ~330-byte rows, inserting one row per series at a thousand places of a series-clustered
// B-tree dirtied a page per series per commit and rebalanced full pages with their
// neighbours, and its cost grew with the table (measured in decision 019).
// `samples` (migration 1) is no longer written: its rows are moved into chunks by compaction
// in bounded transactions and read alongside the chunks until then, so this migration only
// creates a table, however large the database (no long lock, no WAL the size of `samples`).
const SAMPLE_CHUNKS = `
CREATE TABLE sample_chunks (
  id INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL REFERENCES series (id),
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE UNIQUE INDEX sample_chunks_by_series ON sample_chunks (series_id, start_ms, end_ms, count);
`;

// Feature rows as a write-ordered log of frames folded into per-series chunks (decision 020,
// feature-log.ts): a frame is one INSERT at the end of `feature_log` instead of one B-tree row
// per series-window clustered by series. `feature_rows` (migration 1) is no longer written: its
// rows are read alongside and moved into chunks by compaction, in bounded transactions.
// `store_meta.series_gc_generation` counts compactions that garbage-collected series: a
// connection that sees it change drops its cached series ids (a packed log row has no foreign
// key that would catch a stale one). `feature_log.id` is AUTOINCREMENT: a fold empties the
// table, and a reused id would give a newer row an older write order.
const FEATURE_LOG = `
CREATE TABLE feature_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  agent TEXT NOT NULL,
  min_start INTEGER NOT NULL,
  max_start INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX feature_log_by_agent ON feature_log (agent, id);

CREATE TABLE feature_chunks (
  id INTEGER PRIMARY KEY,
  series_id INTEGER NOT NULL,
  min_start INTEGER NOT NULL,
  max_start INTEGER NOT NULL,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX feature_chunks_by_series ON feature_chunks (series_id, max_start);

CREATE TABLE feature_sources (
  series_id INTEGER NOT NULL,
  agent TEXT NOT NULL,
  PRIMARY KEY (series_id, agent)
) WITHOUT ROWID;

CREATE TABLE store_meta (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO store_meta (name, value) VALUES ('series_gc_generation', 0);
`;

// Where each bus consumer group got to in each partition it writes from (issue #6): written in
// the same transaction as the records' effects, so a record redelivered after a crash or a
// rebalance (Kafka is at least once) is recognised by its identity (topic, partition, offset)
// and not stored twice. `next_offset` is the offset after the last record applied.
const BUS_OFFSETS = `
CREATE TABLE bus_offsets (
  consumer_group TEXT NOT NULL,
  topic TEXT NOT NULL,
  partition INTEGER NOT NULL,
  next_offset INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (consumer_group, topic, partition)
) WITHOUT ROWID;
`;

// The embedded topology store (issue #8): declared and discovered nodes and edges per tenant,
// with first and last sighting; properties as a JSON object of scalars.
// What happened to an incident, in order (opened, alerts joined and resolved, merges, the
// representative changing, acknowledged, resolved): seq orders the events of one incident.
const INCIDENT_TIMELINE = `
CREATE TABLE incident_events (
  tenant TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  type TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  related TEXT NOT NULL,
  actor TEXT NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (tenant, incident_id, seq)
) WITHOUT ROWID;
`;

// Silences (Alertmanager semantics): matchers, a time range, who and why. Expiring one sets
// ends_at to the expiry time; rows are kept (the history of who muted what).
const SILENCES = `
CREATE TABLE silences (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  matchers TEXT NOT NULL,
  starts_at_ms INTEGER NOT NULL,
  ends_at_ms INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  comment TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX silences_by_end ON silences (tenant, ends_at_ms);
`;

// Changes (deploys, rollbacks, configuration changes) reported by CI/CD and operators: the RCA
// engine's prior for a cause. `id` is the reporter's idempotency key (a resent event is stored
// once); `entity` is a service or a host name.
const CHANGES = `
CREATE TABLE change_events (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  entity TEXT NOT NULL,
  entity_kind TEXT NOT NULL CHECK (entity_kind IN ('service', 'host')),
  kind TEXT NOT NULL,
  description TEXT NOT NULL,
  version TEXT NOT NULL,
  source TEXT NOT NULL,
  recorded_at_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE INDEX change_events_by_time ON change_events (tenant, at_ms);
CREATE INDEX change_events_by_entity ON change_events (tenant, entity, at_ms);
`;

const TOPOLOGY = `
CREATE TABLE topology_nodes (
  tenant TEXT NOT NULL,
  id TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  properties TEXT NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('declared', 'discovered')),
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, id)
) WITHOUT ROWID;
CREATE TABLE topology_edges (
  tenant TEXT NOT NULL,
  kind TEXT NOT NULL,
  from_id TEXT NOT NULL,
  to_id TEXT NOT NULL,
  properties TEXT NOT NULL,
  origin TEXT NOT NULL CHECK (origin IN ('declared', 'discovered')),
  first_seen_ms INTEGER NOT NULL,
  last_seen_ms INTEGER NOT NULL,
  PRIMARY KEY (tenant, kind, from_id, to_id)
) WITHOUT ROWID;
CREATE INDEX topology_edges_to ON topology_edges (tenant, to_id);
`;

/** Every migration of central's database, in order. */
export const STORAGE_MIGRATIONS: readonly Migration[] = Object.freeze([
  { id: 1, name: 'metrics: series, samples, rollups, feature rows, write batches', up: METRICS },
  { id: 2, name: 'alerts and incidents', up: ALERTS_INCIDENTS },
  { id: 3, name: 'append-only audit log', up: AUDIT },
  { id: 4, name: 'credentials: api keys, enrollment tokens, agents', up: CREDENTIALS },
  { id: 5, name: 'configuration documents and logs', up: CONFIG_LOGS },
  { id: 6, name: 'metrics: raw samples in compressed chunks', up: SAMPLE_CHUNKS },
  { id: 7, name: 'metrics: feature frames logged, folded into per-series chunks', up: FEATURE_LOG },
  { id: 8, name: 'bus: consumer offsets stored with their effects', up: BUS_OFFSETS },
  { id: 9, name: 'topology: declared and discovered nodes and edges', up: TOPOLOGY },
  { id: 10, name: 'incidents: timeline events', up: INCIDENT_TIMELINE },
  { id: 11, name: 'alerts: silences', up: SILENCES },
  { id: 12, name: 'changes: deploys and configuration changes', up: CHANGES },
]);
