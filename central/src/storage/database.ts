// Opening central's SQLite database (better-sqlite3; decision 015).
//
// Durability: the database runs in WAL mode. With synchronous=NORMAL (the default) a commit
// appends to the WAL without fsync; the WAL is fsynced at checkpoints. A committed
// transaction therefore survives the process being killed (kill -9, OOM killer, a crash): the
// WAL pages are in the operating system's page cache and reach the file. It may be lost on a
// power failure or kernel panic (the last commits since the previous checkpoint), but the
// database stays consistent. synchronous=FULL fsyncs the WAL on every commit and survives
// power loss too, at the cost of one fsync per write transaction (see the decision for the
// measured difference). Choose FULL when the disk has no battery-backed cache and the last
// seconds of data matter more than write throughput.
//
// The busy timeout is how long a write waits for another connection's write lock (WAL allows
// many readers and one writer). better-sqlite3 is synchronous: while waiting, this process's
// event loop is blocked, so keep it short (default 5 s); BUSY errors are retryable.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { StorageError, toStorageError } from './errors.js';
import { migrate } from './migrations.js';
import type { Migration } from './migrations.js';
import { STORAGE_MIGRATIONS } from './schema.js';

export type SynchronousMode = 'NORMAL' | 'FULL';

export interface OpenDatabaseOptions {
  /** Clock for the migration records. */
  now: () => number;
  /** NORMAL (default): survives kill -9, not power loss; FULL: fsync per commit, survives both. */
  synchronous?: SynchronousMode;
  /** How long a write waits for another connection's lock before failing with BUSY. Default 5000. */
  busyTimeoutMs?: number;
  /** Migrations to apply at open. Default: STORAGE_MIGRATIONS (every table of central). */
  migrations?: readonly Migration[];
  /** Page cache per connection, KiB. Default 16384 (16 MiB). */
  cacheSizeKiB?: number;
  /** The WAL file is truncated to at most this size after a checkpoint. Default 64 MiB. */
  journalSizeLimitBytes?: number;
  /**
   * Checkpoint the WAL into the database file after this many pages. Default 10,000 (~40 MiB):
   * time-series writes touch one leaf page per series per commit, and a rarer checkpoint writes
   * a page modified by many commits once instead of once per commit (measured in decision 015:
   * about 2x the insert throughput of SQLite's default of 1,000).
   */
  walAutocheckpointPages?: number;
  /**
   * Who copies the WAL back into the database file. 'inline' (default): the committing
   * connection, when the WAL passes walAutocheckpointPages (SQLite's autocheckpoint; the
   * commit that crosses it pays for copying and fsyncing every page since the last one).
   * 'background': a worker thread with its own connection runs PASSIVE checkpoints every
   * checkpointIntervalMs, so writers only append to the WAL (measured in decision 019: about
   * half of the write cost of a remote-write body); the writer's own autocheckpoint stays as a
   * backstop at 4 x walAutocheckpointPages in case the worker falls behind. Ignored for
   * ':memory:'. Durability is unchanged: a commit is in the WAL before it returns either way,
   * and a checkpoint (crash-safe in SQLite) only moves committed pages.
   */
  checkpoint?: 'inline' | 'background';
  /** Period of the background checkpoints. Default 200 ms. */
  checkpointIntervalMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
const DEFAULT_CACHE_KIB = 16 * 1024;
const DEFAULT_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024;
const DEFAULT_WAL_AUTOCHECKPOINT = 10_000;
const DEFAULT_CHECKPOINT_INTERVAL_MS = 200;

// The background checkpointer: plain CommonJS evaluated in a worker thread (no TypeScript
// loader needed there). PASSIVE never waits for the writer or readers; a busy or failed
// attempt is simply retried at the next tick. Closing its connection last is harmless: SQLite
// then checkpoints and removes the WAL as any last connection does.
const CHECKPOINTER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
let db;
try {
  db = new Database(workerData.path, { fileMustExist: true, timeout: 0 });
  db.pragma('synchronous = ' + workerData.synchronous);
  db.pragma('journal_size_limit = ' + workerData.journalLimit);
} catch (err) {
  parentPort.postMessage({ error: String((err && err.message) || err) });
  db = undefined;
}
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // busy (another checkpoint) or closing: next tick
  }
};
const timer = db ? setInterval(tick, workerData.intervalMs) : undefined;
parentPort.on('message', (m) => {
  if (m !== 'close') return;
  if (timer) clearInterval(timer);
  try {
    if (db) db.close();
  } catch {
    // best effort
  }
  parentPort.close();
});
`;

function startCheckpointer(file: string, synchronous: SynchronousMode, journalLimit: number, intervalMs: number): Worker {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(CHECKPOINTER, { eval: true, workerData: { module, path: file, synchronous, journalLimit, intervalMs }, execArgv: [] });
  worker.unref();
  // A worker that cannot open the file leaves checkpoints to the writer's autocheckpoint.
  worker.on('error', () => undefined);
  return worker;
}

/** An open connection to central's database with the schema migrated. */
export interface SqliteDatabase {
  /** Absolute file path, or ':memory:'. */
  readonly path: string;
  /** The better-sqlite3 connection (for the Sqlite* stores; not for use elsewhere). */
  readonly handle: Database.Database;
  /** Schema version after migrations. */
  readonly schemaVersion: number;
  readonly synchronous: SynchronousMode;
  readonly closed: boolean;
  /** `PRAGMA integrity_check`: [] when the database is sound, otherwise the problems found. */
  integrityCheck(): string[];
  /** Closes the connection (the last one checkpoints and removes the WAL). Idempotent. */
  close(): void;
  /**
   * Resolves once the background checkpointer's connection is closed too (after close()): only
   * then are the database's files left alone, so a caller may move or remove them.
   */
  released(): Promise<void>;
}

function checkPositiveInt(value: number, what: string, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new StorageError('INVALID_ARGUMENT', `${what} must be an integer >= ${min} (got ${String(value)})`);
}

/**
 * Opens (creating if needed) the database at `path`, or a private in-memory one for
 * ':memory:', and applies the migrations. A new file and its folder are created owner-only
 * (0600 / 0700): the database holds credential hashes.
 */
export function openDatabase(path: string, opts: OpenDatabaseOptions): SqliteDatabase {
  const synchronous = opts.synchronous ?? 'NORMAL';
  if (synchronous !== 'NORMAL' && synchronous !== 'FULL') {
    throw new StorageError('INVALID_ARGUMENT', `synchronous must be "NORMAL" or "FULL" (got ${JSON.stringify(synchronous)})`);
  }
  const busyTimeoutMs = opts.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  checkPositiveInt(busyTimeoutMs, 'busyTimeoutMs', 0);
  const cacheKiB = opts.cacheSizeKiB ?? DEFAULT_CACHE_KIB;
  checkPositiveInt(cacheKiB, 'cacheSizeKiB', 64);
  const journalLimit = opts.journalSizeLimitBytes ?? DEFAULT_JOURNAL_SIZE_LIMIT;
  checkPositiveInt(journalLimit, 'journalSizeLimitBytes', 0);
  const walPages = opts.walAutocheckpointPages ?? DEFAULT_WAL_AUTOCHECKPOINT;
  checkPositiveInt(walPages, 'walAutocheckpointPages', 1);
  const checkpoint = opts.checkpoint ?? 'inline';
  if (checkpoint !== 'inline' && checkpoint !== 'background') {
    throw new StorageError('INVALID_ARGUMENT', `checkpoint must be "inline" or "background" (got ${JSON.stringify(checkpoint)})`);
  }
  const checkpointIntervalMs = opts.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  checkPositiveInt(checkpointIntervalMs, 'checkpointIntervalMs', 1);
  if (typeof path !== 'string' || path === '') throw new StorageError('INVALID_ARGUMENT', 'database path must be a file path or ":memory:"');

  const memory = path === ':memory:';
  const where = memory ? 'the in-memory database' : `database ${resolve(path)}`;
  const file = memory ? path : resolve(path);
  let handle: Database.Database;
  try {
    if (!memory) {
      mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
      closeSync(openSync(file, 'a', 0o600));
    }
    handle = new Database(file, { timeout: busyTimeoutMs });
  } catch (err) {
    throw toStorageError(err, `cannot open ${where}`);
  }
  try {
    if (!memory) {
      const mode = handle.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') throw new StorageError('IO', `${where}: WAL journal mode is not available on this file system (got ${String(mode)})`);
    }
    handle.pragma(`synchronous = ${synchronous}`);
    handle.pragma('foreign_keys = ON');
    handle.pragma(`cache_size = -${cacheKiB}`);
    handle.pragma('temp_store = MEMORY');
    handle.pragma(`journal_size_limit = ${journalLimit}`);
    const background = checkpoint === 'background' && !memory;
    handle.pragma(`wal_autocheckpoint = ${background ? 4 * walPages : walPages}`);
    // Detects a file that is not a database before migrating (SQLITE_NOTADB -> CORRUPT).
    handle.prepare('SELECT COUNT(*) FROM sqlite_master').get();
    const result = migrate(handle, opts.migrations ?? STORAGE_MIGRATIONS, { now: opts.now, where });
    const checkpointer = background ? startCheckpointer(file, synchronous, journalLimit, checkpointIntervalMs) : undefined;
    return new OpenDatabase(file, handle, result.to, synchronous, checkpointer);
  } catch (err) {
    handle.close();
    throw toStorageError(err, `cannot open ${where}`);
  }
}

class OpenDatabase implements SqliteDatabase {
  constructor(
    readonly path: string,
    readonly handle: Database.Database,
    readonly schemaVersion: number,
    readonly synchronous: SynchronousMode,
    private readonly checkpointer?: Worker,
  ) {
    this.exited = checkpointer === undefined ? Promise.resolve() : new Promise((resolve) => checkpointer.once('exit', () => resolve()));
  }

  private readonly exited: Promise<void>;

  released(): Promise<void> {
    return this.exited;
  }

  get closed(): boolean {
    return !this.handle.open;
  }

  integrityCheck(): string[] {
    const rows = this.handle.pragma('integrity_check') as Array<{ integrity_check: string }>;
    const problems = rows.map((r) => r.integrity_check).filter((s) => s !== 'ok');
    const fk = this.handle.pragma('foreign_key_check') as Array<Record<string, unknown>>;
    for (const row of fk) problems.push(`foreign key violation: ${JSON.stringify(row)}`);
    return problems;
  }

  close(): void {
    if (!this.handle.open) return;
    // Referenced from now on: released() waits for its exit, which must keep the process alive.
    this.checkpointer?.ref();
    this.checkpointer?.postMessage('close');
    try {
      this.handle.pragma('optimize');
    } catch {
      // Best effort: a read-only or busy database still closes.
    }
    this.handle.close();
  }
}
