// Errors of central's storage (CONVENTIONS 8): one class with a stable `code`, the `cause`
// (the SQLite error, when there is one) and whether a retry can help. Messages never contain
// secrets: tokens and credentials are neither logged nor echoed back.

import { CodedError } from '../../../shared-schemas/src/runtime/index.js';

export type StorageErrorCode =
  /** An argument is malformed or out of range (the same call fails the same way again). */
  | 'INVALID_ARGUMENT'
  /** A query or selector is malformed (bad regex, start after end, unknown operator). */
  | 'INVALID_QUERY'
  /** A query would exceed maxSeries or maxPoints; narrow it or lower its resolution. */
  | 'QUERY_LIMIT'
  /** A write batch holds more items than the store accepts in one call. */
  | 'BATCH_TOO_LARGE'
  /** The record named does not exist. */
  | 'NOT_FOUND'
  /** The write contradicts what is stored (e.g. an agent id enrolled under another tenant). */
  | 'CONFLICT'
  /** The database was written by a newer build (its schema has migrations this build lacks). */
  | 'SCHEMA_TOO_NEW'
  /** The database's applied migrations differ from this build's (not our database, or edited). */
  | 'SCHEMA_MISMATCH'
  /** A migration failed; it was rolled back and the database is at the previous version. */
  | 'MIGRATION_FAILED'
  /** Another connection holds the write lock beyond the busy timeout. Retryable. */
  | 'BUSY'
  /** The disk is full. Retryable once space is freed. */
  | 'DISK_FULL'
  /** An I/O error from the operating system. Retryable. */
  | 'IO'
  /** The database file is corrupt or not a database. */
  | 'CORRUPT'
  /** The database is read-only (file permissions or opened read-only). */
  | 'READ_ONLY'
  /** The store (or its database) was closed. */
  | 'CLOSED'
  /** Any other SQLite failure. */
  | 'INTERNAL';

export class StorageError extends CodedError<StorageErrorCode> {
  override readonly name = 'StorageError';
}

const SQLITE_CODES: ReadonlyArray<[RegExp, StorageErrorCode, boolean]> = [
  [/^SQLITE_(BUSY|LOCKED)/, 'BUSY', true],
  [/^SQLITE_FULL/, 'DISK_FULL', true],
  [/^SQLITE_IOERR/, 'IO', true],
  [/^SQLITE_(CORRUPT|NOTADB)/, 'CORRUPT', false],
  [/^SQLITE_READONLY/, 'READ_ONLY', false],
  [/^SQLITE_(CANTOPEN|PERM|AUTH)/, 'IO', false],
];

/**
 * Wraps an error thrown by better-sqlite3 (a SqliteError with `code` like `SQLITE_BUSY`) in a
 * StorageError saying what the caller can do. A StorageError passes through unchanged.
 */
export function toStorageError(err: unknown, what: string): StorageError {
  if (err instanceof StorageError) return err;
  const sqliteCode = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : '';
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof TypeError && /database connection is not open/i.test(detail)) {
    return new StorageError('CLOSED', `${what}: the database is closed`, false, { cause: err });
  }
  for (const [pattern, code, retryable] of SQLITE_CODES) {
    if (pattern.test(sqliteCode)) return new StorageError(code, `${what}: ${detail} (${sqliteCode})`, retryable, { cause: err });
  }
  return new StorageError('INTERNAL', `${what}: ${detail}${sqliteCode === '' ? '' : ` (${sqliteCode})`}`, false, { cause: err });
}
