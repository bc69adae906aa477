// AlertStore on SQLite. One row per (tenant, fingerprint) holding the current episode of that
// alert. Transitions of upsert (Alertmanager semantics; the fingerprint is computed from the
// labels when the source did not set it):
//
//   stored \ received | firing                                   | resolved
//   ------------------+------------------------------------------+-------------------------------
//   none              | new                                      | resolved (stored as resolved)
//   firing            | duplicate (count + 1, annotations and    | resolved (episode closed,
//                     |   endsAt refreshed)                      |   endsAt = its endsAt or now)
//   resolved          | refired (new episode: counters reset,    | duplicate (nothing changes)
//                     |   incident cleared) unless it is a late  |
//                     |   copy of the closed episode (same       |
//                     |   startsAt): then duplicate              |
//
// A resolve whose endsAt is before the current episode started is a late copy of an earlier
// episode's resolve and is a duplicate too. Redelivery is therefore harmless in any order.
import { alertFingerprint, validateAlert } from '../../../shared-schemas/src/index.js';
import type { Alert, Labels } from '../../../shared-schemas/src/index.js';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { isPlainObject, setLabel, show } from './labels.js';
import type { AlertFilter, AlertStore, StoredAlert } from './types.js';

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 10_000;

interface AlertRow {
  tenant: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  labels: string;
  annotations: string;
  starts_at_ms: number;
  ends_at_ms: number;
  generator_url: string;
  source: string;
  received_at_ms: number;
  updated_at_ms: number;
  duplicates: number;
  episode: number;
  incident_id: string | null;
}

export function parseLabels(json: string): Labels {
  const parsed = JSON.parse(json) as Record<string, string>;
  const out: Labels = {};
  for (const k of Object.keys(parsed)) setLabel(out, k, parsed[k] as string);
  return out;
}

/** Validates a list filter's limit (default 100, at most 10,000) and sinceMs. */
export function listBounds(filter: { limit?: number; sinceMs?: number }): { limit: number; sinceMs: number } {
  const limit = filter.limit ?? DEFAULT_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new StorageError('INVALID_ARGUMENT', `limit must be an integer in 1..${MAX_LIST_LIMIT} (got ${show(limit)})`);
  const sinceMs = filter.sinceMs ?? 0;
  if (!Number.isSafeInteger(sinceMs) || sinceMs < 0) throw new StorageError('INVALID_ARGUMENT', `sinceMs must be an integer >= 0 (got ${show(sinceMs)})`);
  return { limit, sinceMs };
}

/**
 * The common start of a tenant's list query (alerts, incidents): the tenant, sinceMs on
 * updated_at_ms and an optional status, validated. Callers add their own conditions, then the
 * limit as the last parameter.
 */
export function tenantListQuery(
  tenant: unknown,
  filter: unknown,
  status: { allowed: readonly string[]; expected: string },
): { where: string[]; params: unknown[]; limit: number } {
  checkTenant(tenant);
  if (!isPlainObject(filter)) throw new StorageError('INVALID_ARGUMENT', `filter must be an object (got ${show(filter)})`);
  const f = filter as { limit?: number; sinceMs?: number; status?: unknown };
  const { limit, sinceMs } = listBounds(f);
  const where = ['tenant = ?', 'updated_at_ms >= ?'];
  const params: unknown[] = [tenant, sinceMs];
  if (f.status !== undefined) {
    if (!status.allowed.includes(f.status as string)) throw new StorageError('INVALID_ARGUMENT', `status must be ${status.expected} (got ${show(f.status)})`);
    where.push('status = ?');
    params.push(f.status);
  }
  return { where, params, limit };
}

export function checkNow(nowMs: unknown): number {
  if (typeof nowMs !== 'number' || !Number.isSafeInteger(nowMs) || nowMs < 0) throw new StorageError('INVALID_ARGUMENT', `nowMs must be an integer number of ms (got ${show(nowMs)})`);
  return nowMs;
}

export function checkTenant(tenant: unknown): string {
  if (typeof tenant !== 'string' || tenant.length > 256) throw new StorageError('INVALID_ARGUMENT', `tenant must be a string of at most 256 characters (got ${show(tenant)})`);
  return tenant;
}

function toStored(r: AlertRow): StoredAlert {
  const a: StoredAlert = {
    status: r.status,
    labels: parseLabels(r.labels),
    annotations: parseLabels(r.annotations),
    startsAtMs: r.starts_at_ms,
    endsAtMs: r.ends_at_ms,
    generatorUrl: r.generator_url,
    fingerprint: r.fingerprint,
    tenant: r.tenant,
    source: r.source,
    receivedAtMs: r.received_at_ms,
    updatedAtMs: r.updated_at_ms,
    duplicates: r.duplicates,
  };
  if (r.incident_id !== null) a.incidentId = r.incident_id;
  return a;
}

export class SqliteAlertStore implements AlertStore {
  private readonly h: Database.Database;
  private readonly st;

  /** Runs a function in one IMMEDIATE transaction (the wrapper built once, not per call). */
  private readonly tx: <T>(fn: () => T) => T;

  constructor(private readonly db: SqliteDatabase) {
    this.h = db.handle;
    const run = this.h.transaction((fn: () => unknown) => fn());
    this.tx = <T>(fn: () => T) => run.immediate(fn) as T;
    const cols = 'tenant, fingerprint, status, labels, annotations, starts_at_ms, ends_at_ms, generator_url, source, received_at_ms, updated_at_ms, duplicates, episode, incident_id';
    try {
      this.st = {
        get: this.h.prepare(`SELECT ${cols} FROM alerts WHERE tenant = ? AND fingerprint = ?`),
        insert: this.h.prepare(`INSERT INTO alerts (${cols}) VALUES (@tenant, @fingerprint, @status, @labels, @annotations, @starts_at_ms, @ends_at_ms, @generator_url, @source, @received_at_ms, @updated_at_ms, @duplicates, @episode, @incident_id)`),
        update: this.h.prepare(`UPDATE alerts SET status = @status, labels = @labels, annotations = @annotations, starts_at_ms = @starts_at_ms, ends_at_ms = @ends_at_ms,
          generator_url = @generator_url, source = @source, received_at_ms = @received_at_ms, updated_at_ms = @updated_at_ms, duplicates = @duplicates, episode = @episode,
          incident_id = @incident_id WHERE tenant = @tenant AND fingerprint = @fingerprint`),
        setIncident: this.h.prepare('UPDATE alerts SET incident_id = ? WHERE tenant = ? AND fingerprint = ?'),
        cols,
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the alert store (is the database migrated?)');
    }
  }

  async upsert(alert: Alert, nowMs: number): Promise<{ alert: StoredAlert; change: 'new' | 'duplicate' | 'resolved' | 'refired' }> {
    this.ensureOpen();
    checkNow(nowMs);
    return this.upsertOne(alert, nowMs);
  }

  /**
   * Upserts a batch in one transaction (one commit instead of one per alert), in order; an
   * alert refused as malformed gets its error in its slot and the others are stored.
   */
  async upsertMany(alerts: readonly Alert[], nowMs: number): Promise<Array<{ alert: StoredAlert; change: 'new' | 'duplicate' | 'resolved' | 'refired' } | { error: StorageError }>> {
    this.ensureOpen();
    checkNow(nowMs);
    try {
      return this.tx(() =>
        alerts.map((a) => {
          try {
            return this.upsertOne(a, nowMs);
          } catch (err) {
            if (err instanceof StorageError && err.code === 'INVALID_ARGUMENT') return { error: err };
            throw err;
          }
        }),
      );
    } catch (err) {
      throw err instanceof StorageError ? err : toStorageError(err, 'alert upsert failed');
    }
  }

  /** Links alerts' current episodes to an incident in one transaction; unknown ones are skipped. Returns how many changed. */
  async setIncidentMany(tenant: string, fingerprints: readonly string[], incidentId: string): Promise<number> {
    this.ensureOpen();
    checkTenant(tenant);
    if (typeof incidentId !== 'string' || incidentId === '' || incidentId.length > 256) {
      throw new StorageError('INVALID_ARGUMENT', `incidentId must be a non-empty string of at most 256 characters (got ${show(incidentId)})`);
    }
    try {
      return this.tx(() => fingerprints.reduce((n, fp) => n + this.st.setIncident.run(incidentId, tenant, fp).changes, 0));
    } catch (err) {
      throw toStorageError(err, 'alert update failed');
    }
  }

  private upsertOne(alert: Alert, nowMs: number): { alert: StoredAlert; change: 'new' | 'duplicate' | 'resolved' | 'refired' } {
    try {
      validateAlert(alert);
    } catch (err) {
      throw new StorageError('INVALID_ARGUMENT', `alert refused: ${(err as Error).message}`, false, { cause: err });
    }
    const fingerprint = alert.fingerprint === '' ? alertFingerprint(alert.labels) : alert.fingerprint;
    try {
      // Inside upsertMany's transaction the steps join it; alone, they get their own.
      const step = () => {
        const cur = this.st.get.get(alert.tenant, fingerprint) as AlertRow | undefined;
        const fresh = (episode: number): AlertRow => ({
          tenant: alert.tenant,
          fingerprint,
          status: alert.status,
          labels: JSON.stringify(alert.labels),
          annotations: JSON.stringify(alert.annotations),
          starts_at_ms: alert.startsAtMs,
          ends_at_ms: alert.status === 'resolved' && alert.endsAtMs === 0 ? nowMs : alert.endsAtMs,
          generator_url: alert.generatorUrl,
          source: alert.source,
          received_at_ms: nowMs,
          updated_at_ms: nowMs,
          duplicates: 0,
          episode,
          incident_id: null,
        });
        if (cur === undefined) {
          const row = fresh(1);
          this.st.insert.run(row);
          return { alert: toStored(row), change: alert.status === 'firing' ? ('new' as const) : ('resolved' as const) };
        }
        let next: AlertRow;
        let change: 'duplicate' | 'resolved' | 'refired';
        if (cur.status === 'firing' && alert.status === 'firing') {
          next = { ...cur, annotations: JSON.stringify(alert.annotations), ends_at_ms: alert.endsAtMs, generator_url: alert.generatorUrl, starts_at_ms: Math.min(cur.starts_at_ms, alert.startsAtMs), updated_at_ms: nowMs, duplicates: cur.duplicates + 1 };
          change = 'duplicate';
        } else if (cur.status === 'firing') {
          const endsAt = alert.endsAtMs === 0 ? nowMs : alert.endsAtMs;
          if (endsAt < cur.starts_at_ms) return { alert: toStored(cur), change: 'duplicate' as const };
          next = { ...cur, status: 'resolved', annotations: JSON.stringify(alert.annotations), ends_at_ms: endsAt, updated_at_ms: nowMs };
          change = 'resolved';
        } else if (alert.status === 'firing') {
          if (alert.startsAtMs === cur.starts_at_ms) return { alert: toStored(cur), change: 'duplicate' as const };
          next = { ...fresh(cur.episode + 1) };
          change = 'refired';
        } else {
          return { alert: toStored(cur), change: 'duplicate' as const };
        }
        this.st.update.run(next);
        return { alert: toStored(next), change };
      };
      return this.h.inTransaction ? step() : this.tx(step);
    } catch (err) {
      throw toStorageError(err, 'alert upsert failed');
    }
  }

  async get(tenant: string, fingerprint: string): Promise<StoredAlert | undefined> {
    this.ensureOpen();
    checkTenant(tenant);
    if (typeof fingerprint !== 'string') throw new StorageError('INVALID_ARGUMENT', `fingerprint must be a string (got ${show(fingerprint)})`);
    try {
      const row = this.st.get.get(tenant, fingerprint) as AlertRow | undefined;
      return row === undefined ? undefined : toStored(row);
    } catch (err) {
      throw toStorageError(err, 'alert lookup failed');
    }
  }

  /** Most recently updated first (then by fingerprint). `labels` are equality matchers. */
  async list(tenant: string, filter: AlertFilter): Promise<StoredAlert[]> {
    this.ensureOpen();
    const { where, params, limit } = tenantListQuery(tenant, filter, { allowed: ['firing', 'resolved'], expected: '"firing" or "resolved"' });
    if (filter.labels !== undefined) {
      if (!isPlainObject(filter.labels)) throw new StorageError('INVALID_ARGUMENT', `labels must be an object of strings (got ${show(filter.labels)})`);
      const names = Object.keys(filter.labels);
      if (names.length > 32) throw new StorageError('INVALID_ARGUMENT', `labels: at most 32 matchers (got ${names.length})`);
      for (const name of names) {
        const value = filter.labels[name];
        if (typeof value !== 'string') throw new StorageError('INVALID_ARGUMENT', `labels.${name} must be a string (got ${show(value)})`);
        where.push('EXISTS (SELECT 1 FROM json_each(alerts.labels) WHERE json_each.key = ? AND json_each.value = ?)');
        params.push(name, value);
      }
    }
    params.push(limit);
    try {
      const rows = this.h.prepare(`SELECT ${this.st.cols} FROM alerts WHERE ${where.join(' AND ')} ORDER BY updated_at_ms DESC, fingerprint LIMIT ?`).all(...params) as AlertRow[];
      return rows.map(toStored);
    } catch (err) {
      throw toStorageError(err, 'alert listing failed');
    }
  }

  /** Links the alert's current episode to an incident; NOT_FOUND when the alert is unknown. */
  async setIncident(tenant: string, fingerprint: string, incidentId: string): Promise<void> {
    this.ensureOpen();
    checkTenant(tenant);
    if (typeof incidentId !== 'string' || incidentId === '' || incidentId.length > 256) {
      throw new StorageError('INVALID_ARGUMENT', `incidentId must be a non-empty string of at most 256 characters (got ${show(incidentId)})`);
    }
    let changes: number;
    try {
      changes = this.st.setIncident.run(incidentId, tenant, fingerprint).changes;
    } catch (err) {
      throw toStorageError(err, 'alert update failed');
    }
    if (changes === 0) throw new StorageError('NOT_FOUND', `no alert ${JSON.stringify(fingerprint)} in tenant ${JSON.stringify(tenant)}`);
  }

  /**
   * Retention (not part of AlertStore): deletes resolved alerts last updated before
   * `beforeMs`, in every tenant. Firing alerts are never deleted. Returns how many.
   */
  async pruneResolved(beforeMs: number): Promise<number> {
    this.ensureOpen();
    checkNow(beforeMs);
    try {
      return this.db.handle.prepare("DELETE FROM alerts WHERE status = 'resolved' AND updated_at_ms < ?").run(beforeMs).changes;
    } catch (err) {
      throw toStorageError(err, 'alert pruning failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the alert store is closed (its database was closed)');
  }
}
