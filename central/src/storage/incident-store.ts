// IncidentStore on SQLite: the incident document as JSON plus the columns lists filter on.
// put() is idempotent and ordered by updatedAtMs: a put older than the stored version (a
// redelivered earlier state, at-least-once) is ignored, so the newest state always wins
// whatever order the puts arrive in; an equal updatedAtMs replaces (last writer wins).
import { INCIDENT_STATUSES, SEVERITIES, validateIncident } from '../../../shared-schemas/src/index.js';
import type { Incident } from '../../../shared-schemas/src/index.js';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant, listBounds, tenantListQuery } from './alert-store.js';
import { setLabel, show } from './labels.js';
import type { IncidentEventRecord, IncidentFilter, IncidentStore } from './types.js';

const STATUSES = INCIDENT_STATUSES;

function fromDoc(doc: string): Incident {
  const inc = JSON.parse(doc) as Incident;
  // JSON.parse keeps a "__proto__" key as an own property; copy labels defensively anyway.
  const common: Incident['commonLabels'] = {};
  for (const k of Object.keys(inc.commonLabels)) setLabel(common, k, inc.commonLabels[k] as string);
  return { ...inc, commonLabels: common };
}

export class SqliteIncidentStore implements IncidentStore {
  private readonly st;

  /** Runs a function in one IMMEDIATE transaction (the wrapper built once, not per call). */
  private readonly tx: <T>(fn: () => T) => T;

  constructor(private readonly db: SqliteDatabase) {
    const h = db.handle;
    const run = h.transaction((fn: () => unknown) => fn());
    this.tx = <T>(fn: () => T) => run.immediate(fn) as T;
    try {
      this.st = {
        put: h.prepare(`INSERT INTO incidents (tenant, id, status, severity, opened_at_ms, updated_at_ms, resolved_at_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (tenant, id) DO UPDATE SET status = excluded.status, severity = excluded.severity, opened_at_ms = excluded.opened_at_ms,
            updated_at_ms = excluded.updated_at_ms, resolved_at_ms = excluded.resolved_at_ms, doc = excluded.doc
          WHERE excluded.updated_at_ms >= incidents.updated_at_ms`),
        get: h.prepare('SELECT doc FROM incidents WHERE tenant = ? AND id = ?').pluck(),
        lastSeq: h.prepare('SELECT MAX(seq) FROM incident_events WHERE tenant = ? AND incident_id = ?').pluck(),
        appendEvent: h.prepare('INSERT INTO incident_events (tenant, incident_id, seq, at_ms, type, fingerprint, related, actor, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
        timeline: h.prepare('SELECT at_ms AS atMs, type, fingerprint, related, actor, text FROM (SELECT * FROM incident_events WHERE tenant = ? AND incident_id = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq'),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the incident store (is the database migrated?)');
    }
  }

  async put(incident: Incident): Promise<void> {
    this.ensureOpen();
    this.putOne(incident);
  }

  /** Puts incidents and appends their timeline events in one transaction (all or nothing). */
  async putMany(entries: ReadonlyArray<{ incident: Incident; events: readonly IncidentEventRecord[] }>): Promise<void> {
    this.ensureOpen();
    for (const e of entries) this.checkEvents(e.incident.tenant, e.incident.id, e.events);
    try {
      this.tx(() => {
        for (const e of entries) {
          this.putOne(e.incident);
          this.appendSync(e.incident.tenant, e.incident.id, e.events);
        }
      });
    } catch (err) {
      throw err instanceof StorageError ? err : toStorageError(err, 'incidents not stored');
    }
  }

  private putOne(incident: Incident): void {
    try {
      validateIncident(incident);
    } catch (err) {
      throw new StorageError('INVALID_ARGUMENT', `incident refused: ${(err as Error).message}`, false, { cause: err });
    }
    const i = incident;
    try {
      this.st.put.run(i.tenant, i.id, i.status, i.severity, i.openedAtMs, i.updatedAtMs, i.resolvedAtMs, JSON.stringify(i));
    } catch (err) {
      throw toStorageError(err, `incident ${JSON.stringify(i.id)} not stored`);
    }
  }

  async get(tenant: string, id: string): Promise<Incident | undefined> {
    this.ensureOpen();
    checkTenant(tenant);
    if (typeof id !== 'string') throw new StorageError('INVALID_ARGUMENT', `id must be a string (got ${show(id)})`);
    try {
      const doc = this.st.get.get(tenant, id) as string | undefined;
      return doc === undefined ? undefined : fromDoc(doc);
    } catch (err) {
      throw toStorageError(err, 'incident lookup failed');
    }
  }

  /** Most recently updated first (then by id); sinceMs filters on updatedAtMs. */
  async list(tenant: string, filter: IncidentFilter): Promise<Incident[]> {
    this.ensureOpen();
    const { where, params, limit } = tenantListQuery(tenant, filter, { allowed: STATUSES, expected: `one of ${STATUSES.join(', ')}` });
    const f = filter as IncidentFilter;
    if (f.severity !== undefined) {
      if (!SEVERITIES.includes(f.severity)) throw new StorageError('INVALID_ARGUMENT', `severity must be one of ${SEVERITIES.join(', ')} (got ${show(f.severity)})`);
      where.push('severity = ?');
      params.push(f.severity);
    }
    if (f.service !== undefined) {
      if (typeof f.service !== 'string' || f.service.length > 1024) throw new StorageError('INVALID_ARGUMENT', `service must be a string of at most 1024 characters (got ${show(f.service)})`);
      where.push("EXISTS (SELECT 1 FROM json_each(doc, '$.services') WHERE value = ?)");
      params.push(f.service);
    }
    const offset = f.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > 100_000) throw new StorageError('INVALID_ARGUMENT', `offset must be an integer in 0..100000 (got ${show(offset)})`);
    params.push(limit, offset);
    try {
      const docs = this.db.handle.prepare(`SELECT doc FROM incidents WHERE ${where.join(' AND ')} ORDER BY updated_at_ms DESC, id LIMIT ? OFFSET ?`).pluck().all(...params) as string[];
      return docs.map(fromDoc);
    } catch (err) {
      throw toStorageError(err, 'incident listing failed');
    }
  }

  async appendTimeline(tenant: string, id: string, events: readonly IncidentEventRecord[]): Promise<void> {
    this.ensureOpen();
    this.checkEvents(tenant, id, events);
    try {
      this.tx(() => this.appendSync(tenant, id, events));
    } catch (err) {
      throw toStorageError(err, `timeline of incident ${JSON.stringify(id)} not stored`);
    }
  }

  private checkEvents(tenant: string, id: string, events: readonly IncidentEventRecord[]): void {
    checkTenant(tenant);
    if (typeof id !== 'string' || id === '' || id.length > 128) throw new StorageError('INVALID_ARGUMENT', `id must be a string of 1..128 characters (got ${show(id)})`);
    if (!Array.isArray(events)) throw new StorageError('INVALID_ARGUMENT', `events must be an array (got ${show(events)})`);
    events.forEach((e, i) => {
      if (!Number.isSafeInteger(e?.atMs) || e.atMs < 0) throw new StorageError('INVALID_ARGUMENT', `events[${i}].atMs must be an integer number of ms (got ${show(e?.atMs)})`);
      for (const k of ['type', 'fingerprint', 'related', 'actor', 'text'] as const) {
        if (typeof e[k] !== 'string' || e[k].length > 4096) throw new StorageError('INVALID_ARGUMENT', `events[${i}].${k} must be a string of at most 4096 characters (got ${show(e[k])})`);
      }
    });
  }

  private appendSync(tenant: string, id: string, events: readonly IncidentEventRecord[]): void {
    let seq = (this.st.lastSeq.get(tenant, id) as number | null) ?? 0;
    for (const e of events) this.st.appendEvent.run(tenant, id, ++seq, e.atMs, e.type, e.fingerprint, e.related, e.actor, e.text);
  }

  async timeline(tenant: string, id: string, limit = 1000): Promise<IncidentEventRecord[]> {
    this.ensureOpen();
    checkTenant(tenant);
    const { limit: n } = listBounds({ limit });
    try {
      return this.st.timeline.all(tenant, id, n) as IncidentEventRecord[];
    } catch (err) {
      throw toStorageError(err, 'incident timeline lookup failed');
    }
  }

  /**
   * Retention (not part of IncidentStore): deletes resolved incidents last updated before
   * `beforeMs`, in every tenant. Returns how many.
   */
  async pruneResolved(beforeMs: number): Promise<number> {
    this.ensureOpen();
    checkNow(beforeMs);
    try {
      const h = this.db.handle;
      return h.transaction(() => {
        h.prepare("DELETE FROM incident_events WHERE (tenant, incident_id) IN (SELECT tenant, id FROM incidents WHERE status = 'resolved' AND updated_at_ms < ?)").run(beforeMs);
        return h.prepare("DELETE FROM incidents WHERE status = 'resolved' AND updated_at_ms < ?").run(beforeMs).changes;
      }).immediate();
    } catch (err) {
      throw toStorageError(err, 'incident pruning failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the incident store is closed (its database was closed)');
  }
}
