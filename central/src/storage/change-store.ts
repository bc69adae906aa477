// Changes on SQLite: deploys, rollbacks, configuration changes and the like, reported by CI/CD
// pipelines and operators (POST /api/v1/changes). The root-cause engine reads the changes of the
// entities around an incident as its prior: a service deployed just before its metrics moved is
// the likelier cause. An event names one entity (a service or a host), when the change took
// effect, its kind and what changed. The reporter's `id` makes a resent event (a retried
// webhook) a duplicate instead of a second change; the same id with other content is a conflict.
// Retention: the compactor prunes events older than the incidents' retention.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant, listBounds } from './alert-store.js';
import { show } from './labels.js';

export const CHANGE_ENTITY_KINDS = ['service', 'host'] as const;
export type ChangeEntityKind = (typeof CHANGE_ENTITY_KINDS)[number];

export const CHANGE_LIMITS = {
  /** The reporter's idempotency key: letters, digits and ._:/-, starting with a letter or digit. */
  id: /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/,
  /** deploy, rollback, config, scale, feature_flag, ... (lower case). */
  kind: /^[a-z][a-z0-9_.-]{0,31}$/,
  maxEntityLength: 256,
  maxDescriptionLength: 2048,
  maxVersionLength: 128,
  maxSourceLength: 256,
  /** Entities in one list filter. */
  maxEntities: 1000,
};

export interface ChangeEvent {
  id: string;
  tenant: string;
  /** When the change took effect (ms). */
  atMs: number;
  /** The service or host changed. */
  entity: string;
  entityKind: ChangeEntityKind;
  kind: string;
  description: string;
  /** The version deployed, when there is one ('' otherwise). */
  version: string;
  /** Who reported it: the pipeline or the API key's name. */
  source: string;
  recordedAtMs: number;
}

export type ChangeInput = Omit<ChangeEvent, 'id' | 'recordedAtMs'> & { id?: string };

interface Row {
  tenant: string;
  id: string;
  at_ms: number;
  entity: string;
  entity_kind: ChangeEntityKind;
  kind: string;
  description: string;
  version: string;
  source: string;
  recorded_at_ms: number;
}

const fromRow = (r: Row): ChangeEvent => ({ id: r.id, tenant: r.tenant, atMs: r.at_ms, entity: r.entity, entityKind: r.entity_kind, kind: r.kind, description: r.description, version: r.version, source: r.source, recordedAtMs: r.recorded_at_ms });

const CONTROL = /[\u0000-\u001f\u007f]/;
/** Control characters except tab and newline (a description may span lines). */
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b-\u001f\u007f]/;

function text(value: unknown, field: string, max: number, opts: { required: boolean; multiline?: boolean }): string {
  if (value === undefined && !opts.required) return '';
  if (typeof value !== 'string') throw new StorageError('INVALID_ARGUMENT', `${field} must be a string (got ${show(value)})`);
  if (opts.required && value.trim() === '') throw new StorageError('INVALID_ARGUMENT', `${field} must not be empty`);
  if (value.length > max) throw new StorageError('INVALID_ARGUMENT', `${field} must be at most ${max} characters (got ${value.length})`);
  const bad = (opts.multiline ? CONTROL_MULTILINE : CONTROL).test(value);
  if (bad) throw new StorageError('INVALID_ARGUMENT', `${field} must not contain control characters`);
  return value;
}

/** Validates a change as given by a reporter; returns it normalised (trimmed entity, defaults). */
export function checkChange(input: unknown): ChangeInput {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new StorageError('INVALID_ARGUMENT', `a change must be an object (got ${show(input)})`);
  const c = input as Record<string, unknown>;
  checkTenant(c['tenant']);
  if (c['id'] !== undefined && (typeof c['id'] !== 'string' || !CHANGE_LIMITS.id.test(c['id']))) {
    throw new StorageError('INVALID_ARGUMENT', `id must be 1..128 letters, digits or ._:/- starting with a letter or digit (got ${show(c['id'])})`);
  }
  const atMs = c['atMs'];
  if (typeof atMs !== 'number' || !Number.isSafeInteger(atMs) || atMs < 0) throw new StorageError('INVALID_ARGUMENT', `atMs must be an integer number of ms (got ${show(atMs)})`);
  const entity = text(c['entity'], 'entity', CHANGE_LIMITS.maxEntityLength, { required: true }).trim();
  if (!(CHANGE_ENTITY_KINDS as readonly unknown[]).includes(c['entityKind'])) throw new StorageError('INVALID_ARGUMENT', `entityKind must be ${CHANGE_ENTITY_KINDS.join(' or ')} (got ${show(c['entityKind'])})`);
  if (typeof c['kind'] !== 'string' || !CHANGE_LIMITS.kind.test(c['kind'])) throw new StorageError('INVALID_ARGUMENT', `kind must be a lower-case word such as deploy, rollback or config (got ${show(c['kind'])})`);
  return {
    ...(c['id'] !== undefined ? { id: c['id'] as string } : {}),
    tenant: c['tenant'] as string,
    atMs,
    entity,
    entityKind: c['entityKind'] as ChangeEntityKind,
    kind: c['kind'],
    description: text(c['description'], 'description', CHANGE_LIMITS.maxDescriptionLength, { required: false, multiline: true }),
    version: text(c['version'], 'version', CHANGE_LIMITS.maxVersionLength, { required: false }),
    source: text(c['source'], 'source', CHANGE_LIMITS.maxSourceLength, { required: true }),
  };
}

const sameContent = (a: ChangeEvent, b: ChangeInput): boolean =>
  a.atMs === b.atMs && a.entity === b.entity && a.entityKind === b.entityKind && a.kind === b.kind && a.description === b.description && a.version === b.version;

export interface ChangeFilter {
  /** Only changes of these entities (service or host names). */
  entities?: readonly string[];
  /** Only changes of services, or only of hosts. */
  entityKind?: ChangeEntityKind;
  /** Changes that took effect at or after (ms). */
  fromMs?: number;
  /** ... and before (ms, exclusive). */
  toMs?: number;
  limit?: number;
}

export class SqliteChangeStore {
  private readonly h: Database.Database;

  constructor(private readonly db: SqliteDatabase) {
    this.h = db.handle;
  }

  /**
   * Stores a change. A known id with the same content is a duplicate (the stored event is
   * returned, `duplicate: true`); with other content it is a CONFLICT.
   */
  async record(input: ChangeInput, nowMs: number): Promise<{ change: ChangeEvent; duplicate: boolean }> {
    this.ensureOpen();
    checkNow(nowMs);
    const c = checkChange(input);
    const change: ChangeEvent = { ...c, id: c.id ?? randomUUID(), recordedAtMs: nowMs };
    try {
      const inserted = this.h
        .prepare(
          `INSERT INTO change_events (tenant, id, at_ms, entity, entity_kind, kind, description, version, source, recorded_at_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant, id) DO NOTHING`,
        )
        .run(change.tenant, change.id, change.atMs, change.entity, change.entityKind, change.kind, change.description, change.version, change.source, nowMs).changes;
      if (inserted === 1) return { change, duplicate: false };
      const cur = fromRow(this.h.prepare('SELECT * FROM change_events WHERE tenant = ? AND id = ?').get(change.tenant, change.id) as Row);
      if (!sameContent(cur, c)) throw new StorageError('CONFLICT', `change ${JSON.stringify(change.id)} is already recorded with other content (at ${new Date(cur.atMs).toISOString()}, ${cur.kind} of ${cur.entity}); give a new id for a new change`);
      return { change: cur, duplicate: true };
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw toStorageError(err, 'change not stored');
    }
  }

  async get(tenant: string, id: string): Promise<ChangeEvent | undefined> {
    this.ensureOpen();
    checkTenant(tenant);
    const r = this.h.prepare('SELECT * FROM change_events WHERE tenant = ? AND id = ?').get(tenant, id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Changes of a tenant, latest first (by when they took effect). */
  async list(tenant: string, filter: ChangeFilter = {}): Promise<ChangeEvent[]> {
    this.ensureOpen();
    checkTenant(tenant);
    const { limit } = listBounds({ limit: filter.limit ?? 1000 });
    const where = ['tenant = ?'];
    const params: unknown[] = [tenant];
    for (const k of ['fromMs', 'toMs'] as const) {
      const v = filter[k];
      if (v === undefined) continue;
      if (!Number.isSafeInteger(v) || v < 0) throw new StorageError('INVALID_ARGUMENT', `${k} must be an integer number of ms (got ${show(v)})`);
      where.push(k === 'fromMs' ? 'at_ms >= ?' : 'at_ms < ?');
      params.push(v);
    }
    if (filter.entityKind !== undefined) {
      if (!(CHANGE_ENTITY_KINDS as readonly unknown[]).includes(filter.entityKind)) throw new StorageError('INVALID_ARGUMENT', `entityKind must be ${CHANGE_ENTITY_KINDS.join(' or ')} (got ${show(filter.entityKind)})`);
      where.push('entity_kind = ?');
      params.push(filter.entityKind);
    }
    if (filter.entities !== undefined) {
      if (!Array.isArray(filter.entities) || filter.entities.length > CHANGE_LIMITS.maxEntities || filter.entities.some((e) => typeof e !== 'string')) {
        throw new StorageError('INVALID_ARGUMENT', `entities must be at most ${CHANGE_LIMITS.maxEntities} names`);
      }
      if (filter.entities.length === 0) return [];
      where.push(`entity IN (SELECT value FROM json_each(?))`);
      params.push(JSON.stringify(filter.entities));
    }
    try {
      const rows = this.h.prepare(`SELECT * FROM change_events WHERE ${where.join(' AND ')} ORDER BY at_ms DESC, id LIMIT ?`).all(...params, limit) as Row[];
      return rows.map(fromRow);
    } catch (err) {
      throw toStorageError(err, 'change listing failed');
    }
  }

  /** Deletes changes that took effect before `beforeMs` (every tenant); returns how many. */
  async prune(beforeMs: number): Promise<number> {
    this.ensureOpen();
    checkNow(beforeMs);
    try {
      return this.h.prepare('DELETE FROM change_events WHERE at_ms < ?').run(beforeMs).changes;
    } catch (err) {
      throw toStorageError(err, 'change pruning failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the change store is closed (its database was closed)');
  }
}
