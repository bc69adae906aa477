// Append-only audit log on SQLite. UPDATE and DELETE on the table are refused by triggers
// (schema.ts), so not even a bug in central can rewrite history through this connection.
//
// Secrets never reach the log: the AuditEntry contract says details hold no secrets, and this
// store enforces it. Values under a key that names a secret (token, secret, password,
// authorization, api key, credential, private key, cookie, salt; not keys ending in "id") are replaced by "[redacted]",
// and any string anywhere in the entry that looks like a credential this platform issues
// (`aiops_...`) or a bearer/basic authorization is redacted too.
import { TOKEN_PATTERN } from './credentials.js';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { listBounds } from './alert-store.js';
import { isPlainObject, show } from './labels.js';
import type { AuditEntry, AuditLog } from './types.js';

export const REDACTED = '[redacted]';
const SECRET_KEY = /(secret|token|passw(or)?d|passphrase|authori[sz]ation|api[-_]?key|credential|private[-_]?key|cookie|salt)/i;
/** Keys naming an id (`tokenId`, `key_id`): ids are public, part of the token but not the secret. */
const ID_KEY = /(id|ids)$/i;
/** Credentials issued by this platform (credentials.ts TOKEN_PATTERN) and HTTP authorization values. */
const SECRET_VALUE = new RegExp(`${TOKEN_PATTERN.source}|\\b(Bearer|Basic)\\s+[A-Za-z0-9._~+/=-]{8,}`, 'g');
const MAX_DETAILS_BYTES = 16 * 1024;
const MAX_FIELD = 512;
const MAX_DEPTH = 8;

/** Replaces secret-looking substrings of a string. */
export function redactString(s: string): string {
  return s.replace(SECRET_VALUE, REDACTED);
}

/** A JSON-safe copy of `value` with secrets redacted (see the file comment). */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactString(value);
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'boolean' || value === null) return value;
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  if (typeof value === 'bigint') return value.toString();
  if (depth >= MAX_DEPTH) return '[too deep]';
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1) ?? null);
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const r = SECRET_KEY.test(k) && !ID_KEY.test(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redactSecrets(v, depth + 1);
    if (r !== undefined) Object.defineProperty(out, k, { value: r, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function field(value: unknown, name: string, nonEmpty: boolean): string {
  if (typeof value !== 'string' || (nonEmpty && value === '') || value.length > MAX_FIELD) {
    throw new StorageError('INVALID_ARGUMENT', `audit entry ${name} must be a ${nonEmpty ? 'non-empty ' : ''}string of at most ${MAX_FIELD} characters (got ${show(value)})`);
  }
  return redactString(value);
}

export class SqliteAuditLog implements AuditLog {
  private readonly st;

  constructor(private readonly db: SqliteDatabase) {
    try {
      this.st = {
        append: db.handle.prepare('INSERT INTO audit_log (at_ms, actor, action, target, details) VALUES (?, ?, ?, ?, ?)'),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the audit log (is the database migrated?)');
    }
  }

  async append(entry: AuditEntry): Promise<void> {
    this.ensureOpen();
    if (!isPlainObject(entry)) throw new StorageError('INVALID_ARGUMENT', `audit entry must be an object (got ${show(entry)})`);
    if (!Number.isSafeInteger(entry.atMs) || entry.atMs < 0) throw new StorageError('INVALID_ARGUMENT', `audit entry atMs must be an integer >= 0 (got ${show(entry.atMs)})`);
    const actor = field(entry.actor, 'actor', true);
    const action = field(entry.action, 'action', true);
    const target = field(entry.target, 'target', false);
    let details: string | null = null;
    if (entry.details !== undefined) {
      if (!isPlainObject(entry.details)) throw new StorageError('INVALID_ARGUMENT', `audit entry details must be an object (got ${show(entry.details)})`);
      details = JSON.stringify(redactSecrets(entry.details));
      if (Buffer.byteLength(details) > MAX_DETAILS_BYTES) {
        throw new StorageError('INVALID_ARGUMENT', `audit entry details are ${Buffer.byteLength(details)} bytes as JSON, more than ${MAX_DETAILS_BYTES}`);
      }
    }
    try {
      this.st.append.run(entry.atMs, actor, action, target, details);
    } catch (err) {
      throw toStorageError(err, 'audit append failed');
    }
  }

  /**
   * Entries in append order (ascending seq), from sinceMs on (by atMs), optionally of one
   * action; at most `limit` (default 100). Page forward with a later sinceMs.
   */
  async list(filter: { sinceMs?: number; action?: string; limit?: number }): Promise<Array<AuditEntry & { seq: number }>> {
    this.ensureOpen();
    if (!isPlainObject(filter)) throw new StorageError('INVALID_ARGUMENT', `filter must be an object (got ${show(filter)})`);
    const { limit, sinceMs } = listBounds(filter);
    const where = ['at_ms >= ?'];
    const params: unknown[] = [sinceMs];
    if (filter.action !== undefined) {
      if (typeof filter.action !== 'string') throw new StorageError('INVALID_ARGUMENT', `action must be a string (got ${show(filter.action)})`);
      where.push('action = ?');
      params.push(filter.action);
    }
    params.push(limit);
    try {
      const rows = this.db.handle.prepare(`SELECT seq, at_ms, actor, action, target, details FROM audit_log WHERE ${where.join(' AND ')} ORDER BY seq LIMIT ?`).all(...params) as Array<{
        seq: number;
        at_ms: number;
        actor: string;
        action: string;
        target: string;
        details: string | null;
      }>;
      return rows.map((r) => {
        const e: AuditEntry & { seq: number } = { seq: r.seq, atMs: r.at_ms, actor: r.actor, action: r.action, target: r.target };
        if (r.details !== null) e.details = JSON.parse(r.details) as Record<string, unknown>;
        return e;
      });
    } catch (err) {
      throw toStorageError(err, 'audit listing failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the audit log is closed (its database was closed)');
  }
}
