// IncidentStore on SQLite: the incident document as JSON plus the columns lists filter on.
// put() is idempotent and ordered by updatedAtMs: a put older than the stored version (a
// redelivered earlier state, at-least-once) is ignored, so the newest state always wins
// whatever order the puts arrive in; an equal updatedAtMs replaces (last writer wins).
import { validateIncident } from '../../../shared-schemas/src/index.js';
import type { Incident } from '../../../shared-schemas/src/index.js';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant, tenantListQuery } from './alert-store.js';
import { setLabel, show } from './labels.js';
import type { IncidentFilter, IncidentStore } from './types.js';

const STATUSES: ReadonlyArray<Incident['status']> = ['open', 'acknowledged', 'mitigated', 'resolved'];

function fromDoc(doc: string): Incident {
  const inc = JSON.parse(doc) as Incident;
  // JSON.parse keeps a "__proto__" key as an own property; copy labels defensively anyway.
  const common: Incident['commonLabels'] = {};
  for (const k of Object.keys(inc.commonLabels)) setLabel(common, k, inc.commonLabels[k] as string);
  return { ...inc, commonLabels: common };
}

export class SqliteIncidentStore implements IncidentStore {
  private readonly st;

  constructor(private readonly db: SqliteDatabase) {
    const h = db.handle;
    try {
      this.st = {
        put: h.prepare(`INSERT INTO incidents (tenant, id, status, severity, opened_at_ms, updated_at_ms, resolved_at_ms, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (tenant, id) DO UPDATE SET status = excluded.status, severity = excluded.severity, opened_at_ms = excluded.opened_at_ms,
            updated_at_ms = excluded.updated_at_ms, resolved_at_ms = excluded.resolved_at_ms, doc = excluded.doc
          WHERE excluded.updated_at_ms >= incidents.updated_at_ms`),
        get: h.prepare('SELECT doc FROM incidents WHERE tenant = ? AND id = ?').pluck(),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the incident store (is the database migrated?)');
    }
  }

  async put(incident: Incident): Promise<void> {
    this.ensureOpen();
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
    params.push(limit);
    try {
      const docs = this.db.handle.prepare(`SELECT doc FROM incidents WHERE ${where.join(' AND ')} ORDER BY updated_at_ms DESC, id LIMIT ?`).pluck().all(...params) as string[];
      return docs.map(fromDoc);
    } catch (err) {
      throw toStorageError(err, 'incident listing failed');
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
      return this.db.handle.prepare("DELETE FROM incidents WHERE status = 'resolved' AND updated_at_ms < ?").run(beforeMs).changes;
    } catch (err) {
      throw toStorageError(err, 'incident pruning failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the incident store is closed (its database was closed)');
  }
}
