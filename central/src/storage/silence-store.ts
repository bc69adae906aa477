// Silences on SQLite (Alertmanager semantics): an alert whose labels match every matcher of a
// silence active at that moment (startsAt <= now < endsAt) is muted. Matchers use the PromQL
// operators (=, !=, =~, !~) compiled by storage/selector.ts; a silence needs at least one
// matcher that does not match the empty string (Alertmanager's rule: no silence of everything).
// Expiring sets endsAt to now; rows stay, so who silenced what remains visible.
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant, listBounds } from './alert-store.js';
import { show } from './labels.js';
import { compileSelector, positiveMatchers } from './selector.js';
import type { CompiledSelector } from './selector.js';
import type { LabelMatcher } from './types.js';

export const SILENCE_LIMITS = { maxMatchers: 32, maxRegexLength: 1024, maxLabelValueLength: 4096 };

export interface Silence {
  id: string;
  tenant: string;
  matchers: LabelMatcher[];
  startsAtMs: number;
  endsAtMs: number;
  createdBy: string;
  comment: string;
  updatedAtMs: number;
}

export type SilenceState = 'pending' | 'active' | 'expired';

export function silenceState(s: Pick<Silence, 'startsAtMs' | 'endsAtMs'>, nowMs: number): SilenceState {
  return nowMs < s.startsAtMs ? 'pending' : nowMs < s.endsAtMs ? 'active' : 'expired';
}

/** Validates matchers (one must need a non-empty value) and compiles them. */
export function compileSilenceMatchers(matchers: unknown, path = 'matchers'): CompiledSelector {
  if (!Array.isArray(matchers) || matchers.length === 0) throw new StorageError('INVALID_ARGUMENT', `${path} must be a non-empty array of {name, op, value}`);
  let sel: CompiledSelector;
  try {
    sel = compileSelector({ matchers }, SILENCE_LIMITS, path.replace(/\.matchers$|^matchers$/, '') || 'silence');
  } catch (err) {
    throw new StorageError('INVALID_ARGUMENT', (err as Error).message.replace(/^silence\.matchers/, path));
  }
  if (positiveMatchers(sel).length === 0) throw new StorageError('INVALID_ARGUMENT', `${path} must include a matcher that needs a non-empty value (a silence of everything is refused)`);
  return sel;
}

interface Row {
  tenant: string;
  id: string;
  matchers: string;
  starts_at_ms: number;
  ends_at_ms: number;
  created_by: string;
  comment: string;
  updated_at_ms: number;
}

const fromRow = (r: Row): Silence => ({ id: r.id, tenant: r.tenant, matchers: JSON.parse(r.matchers) as LabelMatcher[], startsAtMs: r.starts_at_ms, endsAtMs: r.ends_at_ms, createdBy: r.created_by, comment: r.comment, updatedAtMs: r.updated_at_ms });

export class SqliteSilenceStore {
  private readonly h: Database.Database;

  constructor(private readonly db: SqliteDatabase) {
    this.h = db.handle;
  }

  /** Creates (no id) or replaces (an existing id of the tenant) a silence; returns it stored. */
  async put(input: Omit<Silence, 'id' | 'updatedAtMs'> & { id?: string }, nowMs: number): Promise<Silence> {
    this.ensureOpen();
    checkTenant(input.tenant);
    checkNow(nowMs);
    compileSilenceMatchers(input.matchers);
    for (const k of ['startsAtMs', 'endsAtMs'] as const) if (!Number.isSafeInteger(input[k]) || input[k] < 0) throw new StorageError('INVALID_ARGUMENT', `${k} must be an integer number of ms (got ${show(input[k])})`);
    if (input.endsAtMs <= input.startsAtMs) throw new StorageError('INVALID_ARGUMENT', 'endsAt must be after startsAt');
    if (input.endsAtMs <= nowMs) throw new StorageError('INVALID_ARGUMENT', 'endsAt must be in the future');
    if (typeof input.createdBy !== 'string' || input.createdBy === '' || input.createdBy.length > 256) throw new StorageError('INVALID_ARGUMENT', 'createdBy must be a string of 1..256 characters');
    if (typeof input.comment !== 'string' || input.comment.trim() === '' || input.comment.length > 4096) throw new StorageError('INVALID_ARGUMENT', 'comment must say why, in 1..4096 characters');
    const s: Silence = { ...input, matchers: input.matchers.map((m) => ({ name: m.name, op: m.op, value: m.value })), id: input.id ?? randomUUID(), updatedAtMs: nowMs };
    try {
      if (input.id !== undefined) {
        const cur = this.h.prepare('SELECT ends_at_ms FROM silences WHERE tenant = ? AND id = ?').pluck().get(s.tenant, s.id) as number | undefined;
        if (cur === undefined) throw new StorageError('NOT_FOUND', `no silence ${JSON.stringify(s.id)} in tenant ${s.tenant}`);
        if (cur <= nowMs) throw new StorageError('INVALID_ARGUMENT', `silence ${s.id} has expired; create a new one`);
      }
      this.h
        .prepare(
          `INSERT INTO silences (tenant, id, matchers, starts_at_ms, ends_at_ms, created_by, comment, updated_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (tenant, id) DO UPDATE SET matchers = excluded.matchers, starts_at_ms = excluded.starts_at_ms, ends_at_ms = excluded.ends_at_ms,
             created_by = excluded.created_by, comment = excluded.comment, updated_at_ms = excluded.updated_at_ms`,
        )
        .run(s.tenant, s.id, JSON.stringify(s.matchers), s.startsAtMs, s.endsAtMs, s.createdBy, s.comment, nowMs);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw toStorageError(err, 'silence not stored');
    }
    return s;
  }

  async get(tenant: string, id: string): Promise<Silence | undefined> {
    this.ensureOpen();
    checkTenant(tenant);
    const r = this.h.prepare('SELECT * FROM silences WHERE tenant = ? AND id = ?').get(tenant, id) as Row | undefined;
    return r ? fromRow(r) : undefined;
  }

  /** Silences of a tenant, newest first; `activeAt`: only those active (or pending) then. */
  async list(tenant: string, filter: { activeAt?: number; limit?: number } = {}): Promise<Silence[]> {
    this.ensureOpen();
    checkTenant(tenant);
    const { limit } = listBounds({ limit: filter.limit ?? 1000 });
    try {
      const rows =
        filter.activeAt !== undefined
          ? (this.h.prepare('SELECT * FROM silences WHERE tenant = ? AND ends_at_ms > ? ORDER BY updated_at_ms DESC, id LIMIT ?').all(tenant, checkNow(filter.activeAt), limit) as Row[])
          : (this.h.prepare('SELECT * FROM silences WHERE tenant = ? ORDER BY updated_at_ms DESC, id LIMIT ?').all(tenant, limit) as Row[]);
      return rows.map(fromRow);
    } catch (err) {
      throw toStorageError(err, 'silence listing failed');
    }
  }

  /** Ends a silence now; undefined when unknown. An expired one stays as it was. */
  async expire(tenant: string, id: string, nowMs: number): Promise<Silence | undefined> {
    this.ensureOpen();
    checkNow(nowMs);
    const s = await this.get(tenant, id);
    if (!s || s.endsAtMs <= nowMs) return s;
    this.h.prepare('UPDATE silences SET ends_at_ms = ?, updated_at_ms = ? WHERE tenant = ? AND id = ?').run(Math.max(nowMs, s.startsAtMs), nowMs, tenant, id);
    return { ...s, endsAtMs: Math.max(nowMs, s.startsAtMs), updatedAtMs: nowMs };
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the silence store is closed (its database was closed)');
  }
}
