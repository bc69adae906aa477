// FrameBuffer on sql.js (SQLite compiled to WASM, no native addon, so it fits the single
// executable). The database lives in memory; it is persisted by exporting it and atomically
// replacing the file (write temp, fsync, rename, fsync folder) every flush interval and at
// shutdown, and loaded at start. See docs/decisions/006-store-and-forward-buffer.md.
//
// Compactness: frames are stored compressed; the schema is one table keyed by seq (the rowid,
// no extra index); auto_vacuum=INCREMENTAL plus `PRAGMA incremental_vacuum` before each export
// shrinks the in-memory file after acknowledgements (without it a drained 60 MB buffer still
// exports 60 MB); the rollback journal is kept in the WASM heap (journal_mode=MEMORY) so a
// large delete does not double the file; the page cache is capped at 1 MiB.
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, rename, stat, readFile, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ComponentSettings } from '../component.js';
import { AgentError } from '../errors.js';
import type { BoundCounter, BoundGauge } from '../../../shared-schemas/src/runtime/index.js';
import type { BufferedFrame, FrameBuffer, PutResult } from './frame-buffer.js';
import { loadSqlJs } from './sqljs.js';
import type { SqlJsDatabase, SqlJsStatement } from './sqljs.js';

const SCHEMA_VERSION = 1;
/** A persisted file larger than this multiple of max_bytes (plus slack) is not loaded. */
const MAX_FILE_FACTOR = 2;
const MAX_FILE_SLACK = 16 * 1024 * 1024;
/** Rows read per eviction step. */
const EVICT_BATCH = 256;

export interface SqlJsFrameBufferOptions {
  /** File the buffer persists to, e.g. `${dataDir}/grpc.buffer.sqlite`; null = memory only. */
  path: string | null;
  maxBytes: number;
  flushIntervalMs: number;
  /** The sql.js WASM bytes (single executable); default: read from the sql.js package. */
  wasmBinary?: Uint8Array;
  /** Called after every flush that wrote the file (tests and the kill -9 harness use it). */
  onFlushed?: (info: { maxSeq: number; frames: number; bytes: number; fileBytes: number }) => void;
}

/** `grpc/central` -> `grpc_central`: a component id made safe for a file name. */
export function bufferFileName(componentId: string): string {
  return `${componentId.replace(/[^A-Za-z0-9_.-]/g, '_')}.buffer.sqlite`;
}

interface Statements {
  insert: SqlJsStatement;
  after: SqlJsStatement;
  del: SqlJsStatement;
  oldest: SqlJsStatement;
  delUpTo: SqlJsStatement;
  setMaxSeq: SqlJsStatement;
}

export class SqlJsFrameBuffer implements FrameBuffer {
  private db: SqlJsDatabase | undefined;
  private st: Statements | undefined;
  private frames = 0;
  private totalBytes = 0;
  private highestSeq = 0;
  private dirty = false;
  private timer: unknown;
  private starting: Promise<void> | undefined;
  private stopped = false;
  private flushing: Promise<void> = Promise.resolve();
  private fullDropsUnlogged = 0;
  private flushErrorLogged = false;

  private readonly gFrames: BoundGauge;
  private readonly gBytes: BoundGauge;
  private readonly cDropped: BoundCounter;
  private readonly cFlushes: BoundCounter;
  private readonly cCorrupt: BoundCounter;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly opts: SqlJsFrameBufferOptions,
  ) {
    if (!(opts.maxBytes > 0)) throw new AgentError('INVALID_ARGUMENT', `buffer max_bytes must be > 0 (got ${opts.maxBytes})`);
    const m = settings.metrics;
    this.gFrames = m.gauge('aiops_agent_buffer_frames', 'Frames held in the store-and-forward buffer.');
    this.gBytes = m.gauge('aiops_agent_buffer_bytes', 'Frame bytes held in the store-and-forward buffer.');
    this.cDropped = m.counter('aiops_agent_buffer_dropped_frames_total', 'Frames dropped by the buffer (full: oldest evicted; too_large: one frame above max_bytes).', ['reason']);
    this.cFlushes = m.counter('aiops_agent_buffer_flushes_total', 'Buffer writes to disk by result.', ['result']);
    this.cCorrupt = m.counter('aiops_agent_buffer_corrupt_files_total', 'Persisted buffer files that could not be loaded and were moved aside.');
  }

  get size(): number {
    return this.frames;
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get maxSeq(): number {
    return this.highestSeq;
  }

  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  private async open(): Promise<void> {
    const SQL = await loadSqlJs(this.opts.wasmBinary ? { wasmBinary: this.opts.wasmBinary } : {});
    if (this.stopped) return;
    const path = this.opts.path;
    let db: SqlJsDatabase | undefined;
    if (path !== null) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const loaded = await this.readPersisted(path);
      if (loaded !== undefined) {
        try {
          db = new SQL.Database(loaded);
          this.checkSchema(db);
        } catch (err) {
          db?.close();
          db = undefined;
          await this.setAside(path, err);
        }
      }
    }
    if (db === undefined) {
      db = new SQL.Database();
      // page_size and auto_vacuum only take effect before the first table is created.
      db.exec(`PRAGMA page_size=4096; PRAGMA auto_vacuum=INCREMENTAL;
        CREATE TABLE frames (seq INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL, bytes BLOB NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        PRAGMA user_version=${SCHEMA_VERSION};`);
      this.dirty = true;
    }
    db.exec('PRAGMA journal_mode=MEMORY; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-1024; PRAGMA synchronous=OFF;');
    this.db = db;
    this.st = {
      insert: db.prepare('INSERT INTO frames (seq, created_ms, bytes) VALUES (?, ?, ?)'),
      after: db.prepare('SELECT seq, created_ms, bytes FROM frames WHERE seq > ? ORDER BY seq LIMIT ?'),
      del: db.prepare('DELETE FROM frames WHERE seq = ? RETURNING length(bytes)'),
      oldest: db.prepare('SELECT seq, length(bytes) FROM frames ORDER BY seq LIMIT ?'),
      delUpTo: db.prepare('DELETE FROM frames WHERE seq <= ?'),
      setMaxSeq: db.prepare("INSERT INTO meta (key, value) VALUES ('max_seq', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    };
    const [count, sum, max] = db.exec('SELECT COUNT(*), COALESCE(SUM(length(bytes)), 0), COALESCE(MAX(seq), 0) FROM frames')[0]!.values[0]! as number[];
    const metaMax = db.exec("SELECT value FROM meta WHERE key = 'max_seq'")[0]?.values[0]?.[0];
    this.frames = count ?? 0;
    this.totalBytes = sum ?? 0;
    this.highestSeq = Math.max(max ?? 0, typeof metaMax === 'number' ? metaMax : 0);
    if (this.frames > 0) {
      this.settings.logger.info({ frames: this.frames, bytes: this.totalBytes, maxSeq: this.highestSeq }, 'buffer loaded from disk');
    }
    // A smaller max_bytes than the previous run's: shed the oldest now.
    if (this.totalBytes > this.opts.maxBytes) this.evict(this.totalBytes - this.opts.maxBytes);
    this.publishGauges();
    if (path !== null) {
      const t = this.settings.clock.setInterval(() => {
        void this.flush();
      }, this.opts.flushIntervalMs);
      t.unref?.();
      this.timer = t;
    }
  }

  /** The persisted bytes, or undefined when there is no file (or it had to be set aside). */
  private async readPersisted(path: string): Promise<Uint8Array | undefined> {
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      await this.setAside(path, err);
      return undefined;
    }
    const limit = this.opts.maxBytes * MAX_FILE_FACTOR + MAX_FILE_SLACK;
    if (size > limit) {
      await this.setAside(path, new Error(`file is ${size} bytes, more than the ${limit} a buffer of max_bytes ${this.opts.maxBytes} can write`));
      return undefined;
    }
    if (size === 0) {
      await this.setAside(path, new Error('file is empty'));
      return undefined;
    }
    return readFile(path);
  }

  private checkSchema(db: SqlJsDatabase): void {
    const qc = db.exec('PRAGMA quick_check')[0]?.values[0]?.[0];
    if (qc !== 'ok') throw new Error(`quick_check: ${String(qc)}`);
    const version = db.exec('PRAGMA user_version')[0]?.values[0]?.[0];
    if (version !== SCHEMA_VERSION) throw new Error(`schema version ${String(version)}, expected ${SCHEMA_VERSION}`);
    const cols = db.exec('PRAGMA table_info(frames)')[0]?.values.map((r) => `${String(r[1])}:${String(r[2])}`).join(',');
    if (cols !== 'seq:INTEGER,created_ms:INTEGER,bytes:BLOB') throw new Error(`unexpected frames table (${cols ?? 'missing'})`);
    const meta = db.exec('PRAGMA table_info(meta)')[0]?.values.length;
    if (meta !== 2) throw new Error('meta table missing');
  }

  private async setAside(path: string, err: unknown): Promise<void> {
    this.cCorrupt.inc();
    const aside = join(dirname(path), `${basename(path)}.corrupt-${this.settings.clock.now()}`);
    try {
      await rename(path, aside);
    } catch {
      // Could not move it: remove it, so the next flush does not fail on it either.
      await unlink(path).catch(() => undefined);
    }
    this.settings.logger.error({ path, movedTo: aside, err: (err as Error)?.message ?? String(err) }, 'buffer file is corrupt or unreadable: moved aside, starting with an empty buffer');
  }

  put(seq: number, createdMs: number, bytes: Uint8Array): PutResult {
    const st = this.need();
    if (!Number.isSafeInteger(seq) || seq <= this.highestSeq) {
      throw new AgentError('BUFFER_SEQUENCE', `buffer: sequence ${seq} is not above the highest held so far (${this.highestSeq})`);
    }
    if (bytes.length > this.opts.maxBytes) {
      this.cDropped.inc(1, { reason: 'too_large' });
      this.settings.logger.warn({ seq, bytes: bytes.length, maxBytes: this.opts.maxBytes }, 'frame larger than the whole buffer: dropped');
      return { stored: false, evicted: 0 };
    }
    const evicted = this.totalBytes + bytes.length > this.opts.maxBytes ? this.evict(this.totalBytes + bytes.length - this.opts.maxBytes) : 0;
    st.insert.run([seq, createdMs, bytes]);
    st.setMaxSeq.run([seq]);
    this.highestSeq = seq;
    this.frames++;
    this.totalBytes += bytes.length;
    this.dirty = true;
    this.publishGauges();
    return { stored: true, evicted };
  }

  /** Drops the oldest frames until at least `need` bytes are freed; returns how many. */
  private evict(need: number): number {
    const st = this.need();
    let freed = 0;
    let n = 0;
    let upTo = -1;
    while (freed < need && n < this.frames) {
      st.oldest.bind([EVICT_BATCH]);
      let any = false;
      while (freed < need && st.oldest.step()) {
        const [seq, len] = st.oldest.get() as number[];
        upTo = seq!;
        freed += len!;
        n++;
        any = true;
      }
      st.oldest.reset();
      if (!any) break;
      st.delUpTo.run([upTo]);
    }
    this.frames -= n;
    this.totalBytes -= freed;
    if (n > 0) {
      this.dirty = true;
      this.cDropped.inc(n, { reason: 'full' });
      if (this.fullDropsUnlogged === 0) {
        this.settings.logger.warn({ maxBytes: this.opts.maxBytes }, 'buffer full: dropping the oldest frames (count reported at the next flush)');
      }
      this.fullDropsUnlogged += n;
    }
    return n;
  }

  peek(n: number, afterSeq = 0): BufferedFrame[] {
    const st = this.need();
    const out: BufferedFrame[] = [];
    if (n <= 0) return out;
    st.after.bind([afterSeq, Math.floor(n)]);
    while (st.after.step()) {
      const [seq, created, bytes] = st.after.get();
      out.push({
        seq: seq as number,
        createdMs: typeof created === 'number' ? created : 0,
        // A tampered file may hold another type; the sender treats it as a corrupt frame.
        bytes: bytes instanceof Uint8Array ? bytes : new Uint8Array(0),
      });
    }
    st.after.reset();
    return out;
  }

  ack(seq: number): boolean {
    const st = this.need();
    st.del.bind([seq]);
    const hit = st.del.step();
    const len = hit ? (st.del.get()[0] as number) : 0;
    st.del.reset();
    if (!hit) return false;
    this.frames--;
    this.totalBytes -= len;
    this.dirty = true;
    this.publishGauges();
    return true;
  }

  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.fullDropsUnlogged > 0) {
      this.settings.logger.warn({ dropped: this.fullDropsUnlogged, maxBytes: this.opts.maxBytes }, 'buffer full: dropped the oldest frames');
      this.fullDropsUnlogged = 0;
    }
    const path = this.opts.path;
    const db = this.db;
    if (path === null || db === undefined || !this.dirty) return;
    db.exec('PRAGMA incremental_vacuum');
    const data = db.export();
    this.dirty = false;
    const info = { maxSeq: this.highestSeq, frames: this.frames, bytes: this.totalBytes, fileBytes: data.length };
    try {
      await writeAtomic(path, data);
      this.cFlushes.inc(1, { result: 'ok' });
      this.flushErrorLogged = false;
      this.opts.onFlushed?.(info);
    } catch (err) {
      this.dirty = true;
      this.cFlushes.inc(1, { result: 'error' });
      if (!this.flushErrorLogged) {
        this.flushErrorLogged = true;
        this.settings.logger.error({ path, err: (err as Error).message }, 'buffer: cannot write to disk (will retry every flush interval; logged once until it works)');
      }
    }
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) this.settings.clock.clearInterval(this.timer);
    this.timer = undefined;
    if (this.starting) await this.starting.catch(() => undefined);
    if (this.db === undefined) return;
    await this.flush();
    for (const s of Object.values(this.st ?? {})) s.free();
    this.st = undefined;
    this.db.close();
    this.db = undefined;
  }

  private need(): Statements {
    if (this.st === undefined) throw new AgentError('BUFFER_CLOSED', this.stopped ? 'buffer is shut down' : 'buffer is not started');
    return this.st;
  }

  private publishGauges(): void {
    this.gFrames.set(this.frames);
    this.gBytes.set(this.totalBytes);
  }
}

/** Writes a file so that a crash at any point leaves either the old or the new content. */
export async function writeAtomic(path: string, data: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600);
  try {
    let off = 0;
    while (off < data.length) off += (await fh.write(data, off, data.length - off)).bytesWritten;
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  // The rename is durable only once the folder entry is.
  try {
    const dh = await open(dirname(path), fsConstants.O_RDONLY);
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some file systems refuse fsync on a directory; the rename itself has happened.
  }
}
