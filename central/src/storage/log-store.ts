// LogStore on SQLite: log lines in one table indexed by (tenant, time), labels as JSON,
// idempotent batches (a resent body is stored once), retention by prune(). Central keeps logs
// for evidence around incidents (ARCHITECTURE 5b: RCA reads the time range); it is not a
// full-text search engine: `contains` is a substring scan bounded by the time range and limit.
import { canonicalLabelKey } from '../../../shared-schemas/src/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant, listBounds } from './alert-store.js';
import { isPlainObject, isWellFormed, labelsFromKey, show } from './labels.js';
import type { LogQuery, LogRecord, LogStore, WriteResult } from './types.js';

/** Rows a query reads at most before answering with what it found. */
const MAX_SCANNED_ROWS = 200_000;

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'unknown'] as const;
export interface LogStoreLimits {
  maxRecordsPerWrite: number;
  maxMessageBytes: number;
  maxLabels: number;
  maxLabelValueLength: number;
}
export const DEFAULT_LOG_LIMITS: Readonly<LogStoreLimits> = Object.freeze({ maxRecordsPerWrite: 10_000, maxMessageBytes: 16 * 1024, maxLabels: 32, maxLabelValueLength: 1024 });

interface Row {
  ts_ms: number;
  level: string;
  labels: string;
  message: string;
}

export class SqliteLogStore implements LogStore {
  private readonly st;
  private readonly limits: LogStoreLimits;

  constructor(
    private readonly db: SqliteDatabase,
    opts: { now: () => number; limits?: Partial<LogStoreLimits> },
  ) {
    this.now = opts.now;
    this.limits = { ...DEFAULT_LOG_LIMITS, ...opts.limits };
    const h = db.handle;
    try {
      this.st = {
        insert: h.prepare('INSERT INTO logs (tenant, ts_ms, level, labels, message) VALUES (?, ?, ?, ?, ?)'),
        batch: h.prepare('INSERT OR IGNORE INTO log_batches (batch_id, received_ms) VALUES (?, ?)'),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the log store (is the database migrated?)');
    }
  }

  private readonly now: () => number;

  async write(tenant: string, records: readonly LogRecord[], batchId?: string): Promise<WriteResult> {
    this.ensureOpen();
    checkTenant(tenant);
    if (!Array.isArray(records)) throw new StorageError('INVALID_ARGUMENT', `records must be an array (got ${show(records)})`);
    if (records.length > this.limits.maxRecordsPerWrite) throw new StorageError('BATCH_TOO_LARGE', `more than ${this.limits.maxRecordsPerWrite} log records in one write (got ${records.length})`);
    if (batchId !== undefined && (typeof batchId !== 'string' || batchId.length === 0 || batchId.length > 256)) throw new StorageError('INVALID_ARGUMENT', 'batchId must be a string of 1..256 characters');
    const rejected: WriteResult['rejected'] = [];
    const rows: Array<[number, string, string, string]> = [];
    for (let i = 0; i < records.length; i++) {
      const r = this.check(records[i]);
      if (typeof r === 'string') rejected.push({ index: i, reason: r });
      else rows.push(r);
    }
    try {
      return this.db.handle.transaction((): WriteResult => {
        if (batchId !== undefined && this.st.batch.run(`${tenant}\u0000${batchId}`, this.now()).changes === 0) return { accepted: 0, duplicate: true, rejected: [] };
        for (const [ts, level, labels, message] of rows) this.st.insert.run(tenant, ts, level, labels, message);
        return { accepted: rows.length, duplicate: false, rejected };
      })();
    } catch (err) {
      throw toStorageError(err, 'log lines not stored');
    }
  }

  private check(rec: unknown): [number, string, string, string] | string {
    if (!isPlainObject(rec)) return `record must be an object (got ${show(rec)})`;
    const r = rec as Partial<LogRecord>;
    if (typeof r.tsMs !== 'number' || !Number.isSafeInteger(r.tsMs) || r.tsMs < 0) return `tsMs must be an integer number of ms (got ${show(r.tsMs)})`;
    if (typeof r.message !== 'string') return `message must be a string (got ${show(r.message)})`;
    if (Buffer.byteLength(r.message) > this.limits.maxMessageBytes) return `message longer than ${this.limits.maxMessageBytes} bytes`;
    if (!isWellFormed(r.message)) return 'message is not valid UTF-16 (lone surrogate)';
    const level = r.level ?? 'unknown';
    if (!(LOG_LEVELS as readonly string[]).includes(level)) return `level must be one of ${LOG_LEVELS.join(', ')} (got ${show(level)})`;
    if (!isPlainObject(r.labels)) return `labels must be an object of strings (got ${show(r.labels)})`;
    const names = Object.keys(r.labels);
    if (names.length > this.limits.maxLabels) return `labels: more than ${this.limits.maxLabels} labels`;
    for (const n of names) {
      const v = (r.labels as Record<string, unknown>)[n];
      if (typeof v !== 'string') return `labels.${n} must be a string (got ${show(v)})`;
      if (v.length > this.limits.maxLabelValueLength || !isWellFormed(v) || !isWellFormed(n)) return `labels.${n} is too long or not valid text`;
    }
    return [r.tsMs, level, canonicalLabelKey(r.labels as Labels), r.message];
  }

  async query(q: LogQuery): Promise<LogRecord[]> {
    this.ensureOpen();
    checkTenant(q.tenant);
    checkNow(q.startMs);
    checkNow(q.endMs);
    if (q.endMs < q.startMs) throw new StorageError('INVALID_QUERY', `endMs (${q.endMs}) is before startMs (${q.startMs})`);
    const { limit } = listBounds({ limit: q.limit ?? 1000 });
    const where = ['tenant = ?', 'ts_ms >= ?', 'ts_ms < ?'];
    const params: unknown[] = [q.tenant, q.startMs, q.endMs];
    if (q.level !== undefined) {
      where.push('level = ?');
      params.push(q.level);
    }
    if (q.contains !== undefined && q.contains !== '') {
      where.push("instr(message, ?) > 0");
      params.push(q.contains);
    }
    // Label matchers are applied while scanning newest-first (labels are stored as the canonical
    // key); the scan stops at `limit` matches or MAX_SCANNED_ROWS rows, whichever comes first.
    const matchers = Object.entries(q.labels ?? {});
    try {
      const out: LogRecord[] = [];
      let scanned = 0;
      const it = this.db.handle.prepare(`SELECT ts_ms, level, labels, message FROM logs WHERE ${where.join(' AND ')} ORDER BY ts_ms DESC, id DESC`).iterate(...params) as IterableIterator<Row>;
      for (const r of it) {
        if (++scanned > MAX_SCANNED_ROWS) break;
        const labels = labelsFromKey(r.labels);
        if (matchers.some(([n, v]) => labels[n] !== v)) continue;
        out.push({ tsMs: r.ts_ms, level: r.level, labels, message: r.message });
        if (out.length >= limit) break;
      }
      return out;
    } catch (err) {
      throw toStorageError(err, 'log query failed');
    }
  }

  async prune(beforeMs: number): Promise<number> {
    this.ensureOpen();
    checkNow(beforeMs);
    try {
      const n = this.db.handle.prepare('DELETE FROM logs WHERE ts_ms < ?').run(beforeMs).changes;
      this.db.handle.prepare('DELETE FROM log_batches WHERE received_ms < ?').run(beforeMs);
      return n;
    } catch (err) {
      throw toStorageError(err, 'log pruning failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the log store is closed (its database was closed)');
  }
}

