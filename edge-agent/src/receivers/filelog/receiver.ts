// The log-file receiver: tails files matched by globs across rotation, reduces each line to a
// level and a Drain template, and emits cumulative per-file, per-level and per-template line
// counts every `interval`.
//
// Files are identified by (dev, inode) plus a fingerprint (hash of the first up to 1 KiB):
// - rename + create: the old inode leaves the globs; it stays open, is read to its end and
//   closed after `rotate_wait` without growth; the new file at the path is read from 0;
// - copytruncate: the file shrinks or its first bytes change; the unread tail is taken from the
//   copy (a file in the same folder whose first bytes match the old fingerprint), then the file
//   is read from 0; a copy matched by the globs is not counted again;
// - deletion: an open file is read to its end, then closed;
// - files appearing later are read from 0.
// Offsets, templates and counts are checkpointed together (checkpoint.ts) before every emission
// and at shutdown, so what was emitted is never counted again after a restart and counters
// never go backwards. A partial last line is not consumed until its newline arrives (or its
// file is closed), and a line longer than `max_line_bytes` is cut and the rest skipped.
//
// All file work runs one step at a time (a promise chain), so counts and offsets always agree.

import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { BigIntStats } from 'node:fs';
import { open, opendir, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Clock, ComponentSettings, MetricsConsumer, Receiver } from '../../component.js';
import type { MetricSample } from '../../pdata.js';
import { Serial } from '../../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge } from '../../../../shared-schemas/src/runtime/index.js';
import { checkpointPath, CHECKPOINT_VERSION, loadCheckpoint, writeCheckpoint } from './checkpoint.js';
import type { Checkpoint, FileEntry } from './checkpoint.js';
import type { FilelogConfig } from './config.js';
import { LogCounts, OTHER_TEMPLATE } from './counts.js';
import { TemplateMiner, templateText, truncateTemplate } from './drain.js';
import type { TemplateCluster } from './drain.js';
import { GlobMatcher } from './glob.js';
import { classify } from './level.js';
import type { Level } from './level.js';

/** Bytes of a file's head that identify it. */
export const FINGERPRINT_BYTES = 1024;
/** A copy is recognised by its first bytes only when at least this many are known. */
const MIN_COPY_FINGERPRINT = 32;
const CHUNK_BYTES = 64 * 1024;
/** Folder entries looked at when searching a rotated copy or a moved file. */
const SCAN_ENTRIES = 2000;
const SCAN_CANDIDATES = 8;
/** Paths remembered as skipped (so a skipped path is counted once, not every poll). */
const MAX_SKIPPED_PATHS = 1024;
/** Backlog steps run back to back before yielding to the timers (shutdown, emission). */
const MAX_CATCH_UP_STEPS = 64;

export type DropReason =
  | 'line_truncated'
  | 'template_limit'
  | 'series_limit'
  | 'max_files'
  | 'not_regular_file'
  | 'read_error'
  | 'glob_limit'
  | 'truncated_unrecovered'
  | 'missing_after_restart';

interface Cursor {
  offset: number;
  /** Inside an over-long line whose head was already counted: skip to the next newline. */
  discarding: boolean;
}

interface Tracked extends Cursor {
  key: string;
  dev: string;
  ino: string;
  label: string;
  path: string;
  fh: FileHandle;
  fpLen: number;
  fpHash: string;
  /** Matched by the include globs at the last poll. */
  present: boolean;
  /** Left the globs at the last poll (rotation metric pending). */
  justLeft: boolean;
  lastSize: number;
  lastMtimeNs: bigint;
  /** Clock time of the last growth, or of leaving the globs. */
  lastChangeMs: number;
  /** Identity must be re-checked (restored from a checkpoint). */
  verify: boolean;
  /** This file is a copy of another tracked file (same first bytes): not read while that one lives. */
  shadowOf: string | undefined;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** The bytes of `b` up to the last complete UTF-8 sequence (a cut line may split one). */
function utf8Complete(b: Buffer): Buffer {
  let i = b.length - 1;
  let back = 0;
  while (i >= 0 && back < 3 && (b[i]! & 0xc0) === 0x80) {
    i--;
    back++;
  }
  if (i < 0) return b;
  const lead = b[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return b.length - i < need ? b.subarray(0, i) : b;
}

export interface FilelogStatus {
  files: Array<{ path: string; label: string; offset: number; present: boolean; shadowOf?: string }>;
  templates: Array<{ id: string; template: string; size: number }>;
}

export class FilelogReceiver implements Receiver {
  private readonly clock: Clock;
  private readonly glob: GlobMatcher;
  private readonly miner: TemplateMiner;
  private readonly counts: LogCounts;
  private readonly files = new Map<string, Tracked>();
  private readonly serial = new Serial();
  private readonly cpPath: string;
  private readonly buf: Buffer;
  private readonly budget: number;

  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private shutdownPromise: Promise<void> | undefined;
  private pollTimer: unknown;
  private emitTimer: unknown;
  private pollQueued = false;
  private emitting: Promise<void> | undefined;
  private firstPoll = true;
  private dirty = false;
  private checkpointOk = false;
  private checkpointFailures = 0;
  private restoreEntries: FileEntry[] | undefined;
  private knownLabels = new Set<string>();
  private readonly skipped = new Map<string, DropReason>();

  // self-metrics, batched per step
  private readonly m: {
    lines: BoundCounter;
    bytes: BoundCounter;
    blank: BoundCounter;
    invalidUtf8: BoundCounter;
    dropped: BoundCounter;
    rotations: BoundCounter;
    checkpoint: BoundCounter;
    emitErrors: BoundCounter;
    filesOpen: BoundGauge;
    templates: BoundGauge;
  };
  private pending = { lines: 0, bytes: 0, blank: 0, invalidUtf8: 0 };
  private readonly dropPending = new Map<DropReason, number>();
  private readonly dropUnflushed = new Map<DropReason, number>();
  private readonly dropLogged = new Set<DropReason>();

  constructor(
    private readonly settings: ComponentSettings,
    private readonly cfg: FilelogConfig,
    private readonly next: MetricsConsumer,
  ) {
    this.clock = settings.clock;
    this.glob = new GlobMatcher(cfg.include, cfg.exclude, { maxMatches: Math.max(1000, cfg.max_files * 4), maxEntriesPerDir: 20_000, maxDirs: 1000 });
    this.miner = new TemplateMiner({
      simTh: cfg.drain.sim_th,
      depth: cfg.drain.depth,
      maxChildren: cfg.drain.max_children,
      maxClusters: cfg.max_templates,
      maxTokens: cfg.drain.max_tokens,
    });
    this.counts = new LogCounts(cfg.max_series);
    this.cpPath = checkpointPath(settings.agent.dataDir, settings.id);
    this.buf = Buffer.allocUnsafe(CHUNK_BYTES);
    // A line in progress is re-read from its start when a poll stops mid-line: the budget must
    // hold a whole line for reading to make progress.
    this.budget = Math.max(cfg.max_bytes_per_poll, cfg.max_line_bytes + CHUNK_BYTES);
    const mx = settings.metrics;
    this.m = {
      lines: mx.counter('aiops_agent_filelog_lines_total', 'Log lines read (blank lines excluded)'),
      bytes: mx.counter('aiops_agent_filelog_bytes_total', 'Bytes of log files consumed'),
      blank: mx.counter('aiops_agent_filelog_blank_lines_total', 'Blank lines skipped (not counted in log_lines_total)'),
      invalidUtf8: mx.counter('aiops_agent_filelog_invalid_utf8_lines_total', 'Lines with invalid UTF-8 (decoded with U+FFFD)'),
      dropped: mx.counter(
        'aiops_agent_filelog_dropped_total',
        'Lines cut or folded (line_truncated, template_limit, series_limit) and files skipped or lost (max_files, not_regular_file, read_error, glob_limit, truncated_unrecovered, missing_after_restart)',
        ['reason'],
      ),
      rotations: mx.counter('aiops_agent_filelog_rotations_total', 'Files rotated away (rename), deleted (delete) or truncated in place (truncate)', ['kind']),
      checkpoint: mx.counter('aiops_agent_filelog_checkpoint_total', 'Checkpoint loads and writes', ['op', 'result']),
      emitErrors: mx.counter('aiops_agent_filelog_emit_errors_total', 'Emissions the next component refused'),
      filesOpen: mx.gauge('aiops_agent_filelog_files_open', 'Files tracked (open), including rotated files being drained'),
      templates: mx.gauge('aiops_agent_filelog_templates', 'Templates mined'),
    };
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'running';
    await this.serial.run(async () => {
      await this.loadState();
      await this.pollStep(false);
      this.flushSelfMetrics();
    });
    this.pollTimer = this.clock.setInterval(() => this.schedulePoll(), this.cfg.poll_interval);
    (this.pollTimer as { unref?(): unknown }).unref?.();
    this.emitTimer = this.clock.setInterval(() => void this.emitNow(), this.cfg.interval);
    (this.emitTimer as { unref?(): unknown }).unref?.();
  }

  shutdown(): Promise<void> {
    this.shutdownPromise ??= this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    if (this.pollTimer !== undefined) this.clock.clearInterval(this.pollTimer);
    if (this.emitTimer !== undefined) this.clock.clearInterval(this.emitTimer);
    if (wasRunning) {
      await this.emitting;
      // Final checkpoint and emission: what was read is saved and sent.
      await this.emitOnce(true);
    }
    await this.serial.run(async () => {
      for (const f of [...this.files.values()]) await this.close(f, false);
    });
    this.state = 'stopped';
  }

  // ---------------------------------------------------------------- public steps (timers and tests)

  /** Polls now and keeps going while files have a backlog. Resolves when done. */
  async pollNow(): Promise<void> {
    for (let i = 0; i < 10_000; i++) {
      const backlog = await this.serial.run(async () => {
        if (this.state !== 'running') return false;
        const b = await this.pollStep(true);
        this.flushSelfMetrics();
        return b;
      });
      if (!backlog) return;
    }
  }

  /** Writes the checkpoint (if anything changed) and emits every series now. */
  emitNow(): Promise<void> {
    if (this.state !== 'running') return Promise.resolve();
    if (this.emitting) return this.emitting; // the previous emission is still with the next component
    this.emitting = this.emitOnce(false).finally(() => {
      this.emitting = undefined;
    });
    return this.emitting;
  }

  status(): FilelogStatus {
    return {
      files: [...this.files.values()].map((f) => ({ path: f.path, label: f.label, offset: f.offset, present: f.present, ...(f.shadowOf ? { shadowOf: f.shadowOf } : {}) })),
      templates: [...this.miner.clusters()].map((c) => ({ id: c.id, template: templateText(c.tokens), size: c.size })),
    };
  }

  /** The template a line would get now (does not count it). */
  templateOf(line: string): TemplateCluster | undefined {
    return this.miner.match(classify(line).text);
  }

  get checkpointFile(): string {
    return this.cpPath;
  }

  private schedulePoll(): void {
    if (this.pollQueued || this.state !== 'running') return;
    this.pollQueued = true;
    const step = (n: number): void => {
      void this.serial
        .run(async () => {
          if (this.state !== 'running') return false;
          const backlog = await this.pollStep(true);
          this.flushSelfMetrics();
          return backlog;
        })
        .then(
          (backlog) => {
            if (backlog && n < MAX_CATCH_UP_STEPS && this.state === 'running') setImmediate(() => step(n + 1));
            else this.pollQueued = false;
          },
          (err: unknown) => {
            this.pollQueued = false;
            this.settings.logger.error({ err }, 'filelog poll failed');
          },
        );
    };
    step(0);
  }

  // ---------------------------------------------------------------- state

  private async loadState(): Promise<void> {
    const r = await loadCheckpoint(this.cpPath);
    if (r.kind === 'missing') {
      this.m.checkpoint.inc(1, { op: 'load', result: 'missing' });
      return;
    }
    if (r.kind === 'corrupt') {
      this.m.checkpoint.inc(1, { op: 'load', result: 'corrupt' });
      this.settings.logger.warn({ path: this.cpPath, reason: r.reason }, 'filelog checkpoint unreadable: starting without it');
      return;
    }
    const cp = r.checkpoint;
    const skipped = this.miner.restore(cp.templates);
    this.counts.restore(cp.counts);
    this.restoreEntries = cp.files;
    this.knownLabels = new Set(cp.known_labels);
    this.checkpointOk = true;
    this.m.checkpoint.inc(1, { op: 'load', result: 'ok' });
    this.settings.logger.info(
      { path: this.cpPath, files: cp.files.length, templates: this.miner.size, templatesSkipped: skipped },
      'filelog resumed from checkpoint',
    );
  }

  private buildCheckpoint(): Checkpoint {
    const labels = new Set<string>(this.counts.labels());
    for (const f of this.files.values()) labels.add(f.label);
    return {
      version: CHECKPOINT_VERSION,
      receiver: this.settings.id,
      saved_at_ms: this.clock.now(),
      files: [...this.files.values()].map((f) => ({
        label: f.label,
        path: f.path,
        dev: f.dev,
        ino: f.ino,
        fp_len: f.fpLen,
        fp_hash: f.fpHash,
        // A copy of a tailed file is not read: after a restart it resumes where its data ends.
        offset: f.shadowOf ? Math.max(f.offset, f.lastSize) : f.offset,
        discarding: f.shadowOf ? false : f.discarding,
      })),
      templates: this.miner.snapshot(),
      counts: this.counts.snapshot(),
      known_labels: [...labels],
    };
  }

  private async emitOnce(final: boolean): Promise<void> {
    const samples = await this.serial.run(async () => {
      if (this.dirty || !this.checkpointOk) {
        try {
          await writeCheckpoint(this.cpPath, this.buildCheckpoint());
          this.dirty = false;
          this.checkpointOk = true;
          this.m.checkpoint.inc(1, { op: 'write', result: 'ok' });
          if (this.checkpointFailures > 0) {
            this.settings.logger.info({ path: this.cpPath, failedWrites: this.checkpointFailures }, 'filelog checkpoint writes work again');
            this.checkpointFailures = 0;
          }
        } catch (err) {
          this.m.checkpoint.inc(1, { op: 'write', result: 'error' });
          // Logged once per run of failures: a full disk would otherwise log every interval.
          if (this.checkpointFailures++ === 0) {
            this.settings.logger.error({ err, path: this.cpPath }, 'filelog checkpoint write failed: offsets are not saved until it works again');
          }
        }
      }
      if (!final) {
        const inUse = new Set<string>();
        for (const f of this.files.values()) inUse.add(f.label);
        for (const label of this.counts.expire(inUse)) this.knownLabels.delete(label);
      }
      const ts = this.clock.now();
      const out = this.counts.toSamples(ts);
      if (this.cfg.emit_template_info) out.push(...this.templateInfo(ts));
      this.flushSelfMetrics();
      this.logDrops();
      return out;
    });
    if (samples.length === 0) return;
    try {
      await this.next.consumeMetrics({ source: this.settings.id, samples });
    } catch (err) {
      this.m.emitErrors.inc();
      this.settings.logger.warn({ err }, 'filelog: next component refused the counts (the next emission carries the totals)');
    }
  }

  private templateInfo(ts: number): MetricSample[] {
    const max = this.cfg.template_label_max_chars;
    return [...this.miner.clusters()].map((c) => ({
      name: 'log_template_info',
      labels: { template_id: c.id, template: truncateTemplate(templateText(c.tokens), max) },
      ts,
      value: 1,
      kind: 'gauge' as const,
    }));
  }

  // ---------------------------------------------------------------- drops and self-metrics

  /** Counted in the self-metric at the end of the step; logged at the first one, then as a count per interval. */
  private drop(reason: DropReason, n = 1, detail?: Record<string, unknown>): void {
    this.dropUnflushed.set(reason, (this.dropUnflushed.get(reason) ?? 0) + n);
    if (!this.dropLogged.has(reason)) {
      this.dropLogged.add(reason);
      this.settings.logger.warn({ reason, ...detail }, `filelog: ${reason}; further occurrences are logged as a count once per interval`);
    } else {
      this.dropPending.set(reason, (this.dropPending.get(reason) ?? 0) + n);
    }
  }

  private logDrops(): void {
    for (const [reason, n] of this.dropPending) this.settings.logger.warn({ reason, count: n }, `filelog: ${n} more (${reason}) since the last report`);
    this.dropPending.clear();
  }

  /** Counts a skipped path once, until it stops being skipped. */
  private skipPath(path: string, reason: DropReason, err?: unknown): void {
    if (this.skipped.get(path) === reason) return;
    if (this.skipped.size >= MAX_SKIPPED_PATHS && !this.skipped.has(path)) {
      const first = this.skipped.keys().next();
      if (!first.done) this.skipped.delete(first.value);
    }
    this.skipped.set(path, reason);
    this.drop(reason, 1, { path, ...(err ? { error: (err as Error).message } : {}) });
  }

  private flushSelfMetrics(): void {
    const p = this.pending;
    if (p.lines) this.m.lines.inc(p.lines);
    if (p.bytes) this.m.bytes.inc(p.bytes);
    if (p.blank) this.m.blank.inc(p.blank);
    if (p.invalidUtf8) this.m.invalidUtf8.inc(p.invalidUtf8);
    this.pending = { lines: 0, bytes: 0, blank: 0, invalidUtf8: 0 };
    for (const [reason, n] of this.dropUnflushed) this.m.dropped.inc(n, { reason });
    this.dropUnflushed.clear();
    this.m.filesOpen.set(this.files.size);
    this.m.templates.set(this.miner.size);
  }

  // ---------------------------------------------------------------- polling

  /** One pass: discover, match identities, read. Returns true when a file has more to read. */
  private async pollStep(read: boolean): Promise<boolean> {
    const now = this.clock.now();
    const { paths, limited } = await this.glob.expand();
    if (limited) this.skipPath('\0glob', 'glob_limit');
    else if (this.skipped.has('\0glob')) this.skipped.delete('\0glob');

    const found = new Map<string, { path: string; st: BigIntStats }>();
    for (const p of paths) {
      let st: BigIntStats;
      try {
        st = await stat(p, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.skipPath(p, 'read_error', err);
        continue;
      }
      if (!st.isFile()) {
        this.skipPath(p, 'not_regular_file');
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (!found.has(key)) found.set(key, { path: p, st });
    }

    for (const f of this.files.values()) {
      const hit = found.get(f.key);
      if (hit) {
        if (!f.present) this.settings.logger.info({ path: hit.path }, 'filelog: file is back under the include globs');
        f.present = true;
        f.justLeft = false;
        f.path = hit.path;
      } else if (f.present) {
        f.present = false;
        f.justLeft = true;
        f.lastChangeMs = now;
      }
    }

    if (this.restoreEntries) await this.restoreFiles(found, now);

    for (const [key, hit] of found) {
      if (this.files.has(key)) continue;
      if (this.files.size >= this.cfg.max_files) {
        this.skipPath(hit.path, 'max_files');
        continue;
      }
      await this.track(key, hit.path, now);
    }
    // A skipped path that is gone may be counted again if it comes back.
    const listed = new Set(paths);
    for (const path of this.skipped.keys()) if (!path.startsWith('\0') && !listed.has(path)) this.skipped.delete(path);
    this.firstPoll = false;

    let backlog = false;
    if (read) {
      for (const f of [...this.files.values()]) {
        try {
          if (await this.readTracked(f, now)) backlog = true;
        } catch (err) {
          // Kept open at its offset: the next poll retries (closing would re-read it from 0).
          this.skipPath(f.path, 'read_error', err);
        }
      }
    }
    return backlog;
  }

  private labelFor(path: string): string {
    return this.cfg.file_label === 'basename' ? basename(path) : path;
  }

  private async openTracked(path: string): Promise<FileHandle | undefined> {
    try {
      return await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.skipPath(path, 'read_error', err);
      return undefined;
    }
  }

  private async readHead(fh: FileHandle, n: number): Promise<Buffer> {
    const b = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await fh.read(b, got, n - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === n ? b : b.subarray(0, got);
  }

  private async track(key: string, path: string, now: number): Promise<void> {
    const fh = await this.openTracked(path);
    if (!fh) return;
    try {
      await this.trackOpened(fh, key, path, now);
    } catch (err) {
      if (!this.files.has(key)) await fh.close().catch(() => undefined);
      this.skipPath(path, 'read_error', err);
    }
  }

  private async trackOpened(fh: FileHandle, key: string, path: string, now: number): Promise<void> {    // The handle is what we read: check it is still the file we stat'ed.
    const fst = await fh.stat({ bigint: true });
    if (`${fst.dev}:${fst.ino}` !== key) {
      await fh.close().catch(() => undefined);
      return;
    }
    this.skipped.delete(path);
    const size = Number(fst.size);
    const head = await this.readHead(fh, Math.min(size, FINGERPRINT_BYTES));
    const label = this.labelFor(path);
    let offset = 0;
    let discarding = false;
    let shadowOf: string | undefined;
    for (const g of this.files.values()) {
      if (g.present && g.fpLen >= MIN_COPY_FINGERPRINT && head.length >= g.fpLen && sha(head.subarray(0, g.fpLen)) === g.fpHash) {
        shadowOf = g.key;
        offset = size;
        break;
      }
    }
    if (!shadowOf && this.firstPoll && !this.knownLabels.has(label) && this.cfg.start_at === 'end' && size > 0) {
      offset = size;
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      discarding = last[0] !== 10; // the rest of a line already in progress is not a line
    }
    const f: Tracked = {
      key,
      dev: String(fst.dev),
      ino: String(fst.ino),
      label,
      path,
      fh,
      offset,
      discarding,
      fpLen: head.length,
      fpHash: sha(head),
      present: true,
      justLeft: false,
      lastSize: size,
      lastMtimeNs: fst.mtimeNs,
      lastChangeMs: now,
      verify: false,
      shadowOf,
    };
    this.files.set(key, f);
    this.counts.ensure(label);
    this.knownLabels.add(label);
    this.dirty = true;
    this.settings.logger.info(
      { path, label, offset, ...(shadowOf ? { copyOf: this.files.get(shadowOf)?.path } : {}) },
      shadowOf ? 'filelog: file is a copy of a tailed file: not counted again' : 'filelog: tailing file',
    );
  }

  private async restoreFiles(found: Map<string, { path: string; st: BigIntStats }>, now: number): Promise<void> {
    const entries = this.restoreEntries ?? [];
    this.restoreEntries = undefined;
    for (const e of entries) {
      const key = `${e.dev}:${e.ino}`;
      if (this.files.has(key)) continue;
      if (this.files.size >= this.cfg.max_files) {
        this.skipPath(e.path, 'max_files');
        continue;
      }
      const hit = found.get(key);
      let path = hit?.path;
      if (!path) {
        // Rotated or moved out of the globs while the agent was stopped: look beside the old path.
        path = await this.findInFolder(dirname(e.path), (st) => st.isFile() && `${st.dev}:${st.ino}` === key);
        if (!path) {
          this.drop('missing_after_restart', 1, { path: e.path });
          continue;
        }
      }
      const fh = await this.openTracked(path);
      if (!fh) continue;
      const fst = await fh.stat({ bigint: true }).catch(() => undefined);
      if (!fst || `${fst.dev}:${fst.ino}` !== key) {
        await fh.close().catch(() => undefined);
        continue;
      }
      const f: Tracked = {
        key,
        dev: e.dev,
        ino: e.ino,
        label: e.label,
        path,
        fh,
        offset: e.offset,
        discarding: e.discarding,
        fpLen: e.fp_len,
        fpHash: e.fp_hash,
        present: hit !== undefined,
        justLeft: false,
        lastSize: -1,
        lastMtimeNs: -1n,
        lastChangeMs: now,
        verify: true,
        shadowOf: undefined,
      };
      this.files.set(key, f);
      this.counts.ensure(e.label);
      this.knownLabels.add(e.label);
      if (!hit) this.settings.logger.info({ path, label: e.label, offset: e.offset }, 'filelog: draining a file rotated while stopped');
    }
  }

  /** First entry of `dir` (bounded scan) satisfying `pred`, as a path. */
  private async findInFolder(dir: string, pred: (st: BigIntStats) => boolean): Promise<string | undefined> {
    const names = await this.listFolder(dir);
    for (const name of names) {
      const p = join(dir, name);
      const st = await stat(p, { bigint: true }).catch(() => undefined);
      if (st && pred(st)) return p;
    }
    return undefined;
  }

  private async listFolder(dir: string): Promise<string[]> {
    const names: string[] = [];
    try {
      const d = await opendir(dir, { bufferSize: 256 });
      try {
        let ent;
        while ((ent = await d.read()) !== null && names.length < SCAN_ENTRIES) if (ent.isFile()) names.push(ent.name);
      } finally {
        try {
          await d.close();
        } catch {
          // closed
        }
      }
    } catch {
      // unreadable folder
    }
    return names;
  }

  private async close(f: Tracked, flushPartial: boolean): Promise<void> {
    if (!this.files.has(f.key)) return;
    if (flushPartial) {
      try {
        const size = Number((await f.fh.stat({ bigint: true })).size);
        if (f.offset < size) await this.readRange(f.fh, f, size, f.label, true, Infinity);
      } catch {
        // the file is gone for good
      }
    }
    this.files.delete(f.key);
    await f.fh.close().catch(() => undefined);
    this.dirty = true;
    if (flushPartial) this.settings.logger.info({ path: f.path, label: f.label }, 'filelog: closed rotated or deleted file after reading it to its end');
  }

  /** Checks identity, reads new lines. Returns true when the read budget stopped short of the end. */
  private async readTracked(f: Tracked, now: number): Promise<boolean> {
    const st = await f.fh.stat({ bigint: true });
    const size = Number(st.size);
    if (f.justLeft) {
      f.justLeft = false;
      const kind = st.nlink === 0n ? 'delete' : 'rename';
      this.m.rotations.inc(1, { kind });
      this.settings.logger.info({ path: f.path, kind }, 'filelog: file left the include globs; reading it to its end');
    }
    if (f.shadowOf) {
      if (this.files.has(f.shadowOf)) {
        f.lastSize = size;
        return false;
      }
      // The original is closed: the copy is a plain file from where its data ends.
      f.shadowOf = undefined;
      f.offset = Math.max(f.offset, size);
      f.discarding = false;
      f.lastSize = size;
      f.lastMtimeNs = st.mtimeNs;
      this.dirty = true;
    }
    if (size !== f.lastSize || st.mtimeNs !== f.lastMtimeNs || f.verify) {
      if (await this.truncated(f, size)) {
        this.m.rotations.inc(1, { kind: 'truncate' });
        this.settings.logger.info({ path: f.path, offset: f.offset, size }, 'filelog: file truncated or replaced in place; reading it from the start');
        await this.recoverFromCopy(f);
        f.offset = 0;
        f.discarding = false;
        f.fpLen = 0;
        f.fpHash = '';
        await this.truncated(f, size); // takes the new fingerprint
        this.dirty = true;
      }
      f.verify = false;
      if (size !== f.lastSize) f.lastChangeMs = now;
      f.lastSize = size;
      f.lastMtimeNs = st.mtimeNs;
    }
    let backlog = false;
    if (f.offset < size) backlog = await this.readRange(f.fh, f, size, f.label, false, this.budget);
    if (!f.present && !backlog && now - f.lastChangeMs >= this.cfg.rotate_wait) await this.close(f, true);
    return backlog;
  }

  /**
   * Whether the file no longer holds what we read (shorter than our offset, or different first
   * bytes). Grows the fingerprint up to FINGERPRINT_BYTES while the file is the same.
   */
  private async truncated(f: Tracked, size: number): Promise<boolean> {
    if (size < f.offset || size < f.fpLen) return true;
    const want = Math.min(size, FINGERPRINT_BYTES);
    if (want > 0) {
      const head = await this.readHead(f.fh, want);
      if (head.length < f.fpLen) return true;
      if (f.fpLen > 0 && sha(head.subarray(0, f.fpLen)) !== f.fpHash) return true;
      if (head.length > f.fpLen) {
        f.fpLen = head.length;
        f.fpHash = sha(head);
        this.dirty = true;
      }
    }
    return false;
  }

  /**
   * copytruncate: the lines between our offset and the truncation are in the copy. Find it (same
   * folder, first bytes equal to our fingerprint, at least as long as our offset) and read them.
   */
  private async recoverFromCopy(f: Tracked): Promise<void> {
    if (f.fpLen < MIN_COPY_FINGERPRINT) {
      if (f.offset > 0) this.drop('truncated_unrecovered', 1, { path: f.path, why: 'fingerprint too short to find the copy' });
      return;
    }
    const dir = dirname(f.path);
    const base = basename(f.path);
    const candidates: Array<{ path: string; mtimeMs: number; key: string; size: number; near: boolean }> = [];
    for (const name of await this.listFolder(dir)) {
      if (name === base) continue;
      const p = join(dir, name);
      const st = await stat(p, { bigint: true }).catch(() => undefined);
      if (!st?.isFile()) continue;
      const key = `${st.dev}:${st.ino}`;
      if (key === f.key || Number(st.size) < Math.max(f.offset, f.fpLen)) continue;
      candidates.push({ path: p, mtimeMs: Number(st.mtimeMs), key, size: Number(st.size), near: name.startsWith(base) });
    }
    candidates.sort((a, b) => Number(b.near) - Number(a.near) || b.mtimeMs - a.mtimeMs);
    for (const c of candidates.slice(0, SCAN_CANDIDATES)) {
      const fh = await open(c.path, 'r').catch(() => undefined);
      if (!fh) continue;
      try {
        const head = await this.readHead(fh, f.fpLen);
        if (head.length !== f.fpLen || sha(head) !== f.fpHash) continue;
        const cursor: Cursor = { offset: f.offset, discarding: f.discarding };
        const from = cursor.offset;
        await this.readRange(fh, cursor, c.size, f.label, true, Infinity);
        this.settings.logger.info({ path: f.path, copy: c.path, from, to: c.size }, 'filelog: read the unread tail of a truncated file from its copy');
        const tracked = this.files.get(c.key);
        if (tracked) {
          tracked.shadowOf = undefined;
          tracked.offset = Math.max(tracked.offset, c.size);
          tracked.discarding = false;
        }
        return;
      } finally {
        await fh.close().catch(() => undefined);
      }
    }
    // No copy: lines written after our last read and before the truncation are gone.
    if (f.offset < f.lastSize) this.drop('truncated_unrecovered', 1, { path: f.path, unreadBytes: f.lastSize - f.offset });
  }

  // ---------------------------------------------------------------- lines

  /**
   * Reads complete lines from `cur.offset` up to `end` (at most `budget` bytes), advancing the
   * cursor past each consumed line. A partial line at the end is left unconsumed unless `final`.
   * Returns true when the budget stopped the read before `end`.
   */
  private async readRange(fh: FileHandle, cur: Cursor, end: number, label: string, final: boolean, budget: number): Promise<boolean> {
    const maxLine = this.cfg.max_line_bytes;
    const buf = this.buf;
    const start = cur.offset;
    let pos = cur.offset;
    let carry: Buffer[] = [];
    let carryLen = 0;
    let backlog = false;
    while (pos < end) {
      if (pos - start >= budget) {
        backlog = true;
        break;
      }
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, end - pos), pos);
      if (bytesRead === 0) break;
      const view = buf.subarray(0, bytesRead);
      let i = 0;
      while (i < bytesRead) {
        const nl = view.indexOf(10, i);
        if (nl === -1) {
          const piece = bytesRead - i;
          if (cur.discarding) {
            cur.offset = pos + bytesRead;
          } else if (carryLen + piece > maxLine) {
            const head = view.subarray(i, i + (maxLine - carryLen));
            this.line(label, carryLen ? Buffer.concat([...carry, head]) : head, true);
            carry = [];
            carryLen = 0;
            cur.discarding = true;
            cur.offset = pos + bytesRead;
          } else {
            carry.push(Buffer.from(view.subarray(i)));
            carryLen += piece;
          }
          break;
        }
        if (cur.discarding) {
          cur.discarding = false;
        } else {
          const len = carryLen + (nl - i);
          if (carryLen === 0) {
            this.line(label, view.subarray(i, Math.min(nl, i + maxLine)), len > maxLine);
          } else {
            this.line(label, Buffer.concat([...carry, view.subarray(i, nl)], Math.min(len, maxLine)), len > maxLine);
            carry = [];
            carryLen = 0;
          }
        }
        i = nl + 1;
        cur.offset = pos + i;
      }
      pos += bytesRead;
    }
    if (final && !backlog && pos >= end && cur.offset < end) {
      // The writer is done with this file: its last line has no newline and never will.
      if (!cur.discarding && carryLen > 0) this.line(label, Buffer.concat(carry), false);
      cur.offset = end;
      cur.discarding = false;
    }
    const consumed = cur.offset - start;
    if (consumed > 0) {
      this.counts.addBytes(label, consumed);
      this.pending.bytes += consumed;
      this.dirty = true;
    }
    return backlog;
  }

  /** One line (without its newline). `bytes` may be a view of the shared read buffer: used synchronously. */
  private line(label: string, bytes: Buffer, truncated: boolean): void {
    let b = bytes;
    if (truncated) {
      this.drop('line_truncated', 1, { file: label, maxLineBytes: this.cfg.max_line_bytes });
      b = utf8Complete(b);
    }
    let n = b.length;
    if (n > 0 && b[n - 1] === 13) n--;
    if (n !== b.length) b = b.subarray(0, n);
    if (!isUtf8(b)) this.pending.invalidUtf8++;
    const text = b.toString('utf8');
    if (text.trim() === '') {
      this.pending.blank++;
      return;
    }
    const { level, text: mined } = classify(text);
    const r = this.miner.add(mined);
    let templateId = OTHER_TEMPLATE;
    if (r.cluster) {
      templateId = r.cluster.id;
      if (r.outcome === 'created' && this.settings.logger.isLevelEnabled('debug')) {
        this.settings.logger.debug({ template_id: templateId, template: truncateTemplate(templateText(r.cluster.tokens), this.cfg.template_label_max_chars) }, 'filelog: new template');
      }
    } else {
      this.drop('template_limit', 1, { maxTemplates: this.cfg.max_templates });
    }
    if (!this.counts.addLine(label, level, templateId)) this.drop('series_limit', 1, { maxSeries: this.cfg.max_series });
    this.pending.lines++;
  }

  /** Cumulative count of lines for a file label (tests, status). */
  countOf(label: string, what: { level?: Level; templateId?: string } = {}): number {
    return this.counts.value(label, what);
  }
}
