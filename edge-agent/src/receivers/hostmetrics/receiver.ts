// The host metrics receiver: every `interval` it reads procfs, sysfs and statfs() and hands one
// batch of raw samples (counters as cumulative counters) to the next consumer. Names and labels
// match prometheus-node-exporter. Nothing here throws out of a collection: an unreadable or
// malformed file yields what could be parsed plus a counted error; a hung mount is skipped.
import { open, opendir, statfs as fsStatfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock, ComponentSettings, MetricsConsumer, Receiver } from '../../component.js';
import type { MetricSample } from '../../pdata.js';
import type { BoundCounter, BoundHistogram } from '../../../../shared-schemas/src/runtime/index.js';
import type { CollectorName, HostmetricsConfig } from './config.js';
import type { Mount, ParseStats } from './parsers.js';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseMounts, parseNetDev, parseStat } from './parsers.js';
import { ProblemLog } from './problems.js';

/** The subset of fs.StatFs the receiver uses. */
export interface StatfsResult {
  bsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
}

/** Seams for tests (a statfs that hangs or fails); production uses node:fs. */
export interface HostmetricsDeps {
  statfs?: (path: string) => Promise<StatfsResult>;
}

interface FileRead {
  text: string;
  truncated: boolean;
}

/** Reads at most `max` bytes of a (proc) file; procfs reports size 0, so read until EOF. */
export async function readBounded(path: string, max: number): Promise<FileRead> {
  const fh = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(65_536, max + 1 - total);
      if (want <= 0) break;
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await fh.read(buf, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === want ? buf : buf.subarray(0, bytesRead));
      total += bytesRead;
    }
    const all = Buffer.concat(chunks, total);
    if (total > max) {
      // Keep whole lines only: the cut line is dropped by the parsers (no end of line).
      return { text: all.subarray(0, max).toString('utf8'), truncated: true };
    }
    return { text: all.toString('utf8'), truncated: false };
  } finally {
    await fh.close();
  }
}

/** /proc/stat lines that belong to the processes collector, not cpu. */
const PROCESS_STAT_NAMES: ReadonlySet<string> = new Set(['node_procs_running', 'node_procs_blocked', 'node_forks_total']);

export class HostmetricsReceiver implements Receiver {
  private readonly clock: Clock;
  private readonly enabled: ReadonlySet<CollectorName>;
  private readonly diskExclude: RegExp;
  private readonly netExclude: RegExp;
  private readonly mountExclude: RegExp;
  private readonly fsTypesExclude: ReadonlySet<string>;
  private readonly memFields: ReadonlySet<string> | null;
  private readonly statfs: (path: string) => Promise<StatfsResult>;
  /** Mount points whose statfs() has not returned yet: not asked again until it does. */
  private readonly stuckMounts = new Set<string>();
  /** Mount points whose statfs() has answered in time at least once (bounded, see statMount). */
  private readonly answeredMounts = new Set<string>();
  private timer: unknown;
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private readonly problems: ProblemLog;
  private readonly m: {
    collections: BoundCounter;
    errors: BoundCounter;
    samples: BoundCounter;
    dropped: BoundCounter;
    duration: BoundHistogram;
  };

  constructor(
    private readonly settings: ComponentSettings,
    private readonly config: HostmetricsConfig,
    private readonly next: MetricsConsumer,
    deps: HostmetricsDeps = {},
  ) {
    this.clock = settings.clock;
    this.enabled = new Set(config.collectors);
    this.diskExclude = new RegExp(config.disk.exclude_devices);
    this.netExclude = new RegExp(config.network.exclude_devices);
    this.mountExclude = new RegExp(config.filesystem.exclude_mount_points);
    this.fsTypesExclude = new Set(config.filesystem.exclude_fs_types);
    this.memFields = config.memory.fields.includes('*') ? null : new Set(config.memory.fields);
    this.statfs = deps.statfs ?? ((p) => fsStatfs(p));
    this.problems = new ProblemLog(settings.logger, settings.clock, 'host metrics collection problem (counted in aiops_agent_hostmetrics_errors_total)');
    const mt = settings.metrics;
    this.m = {
      collections: mt.counter('aiops_agent_hostmetrics_collections_total', 'Host metric collections run.'),
      errors: mt.counter('aiops_agent_hostmetrics_errors_total', 'Problems while collecting host metrics, by collector and reason.', ['collector', 'reason']),
      samples: mt.counter('aiops_agent_hostmetrics_samples_total', 'Host metric samples handed to the pipeline.'),
      dropped: mt.counter('aiops_agent_hostmetrics_samples_dropped_total', 'Host metric samples dropped, by reason.', ['reason']),
      duration: mt.histogram('aiops_agent_hostmetrics_collection_duration_seconds', 'Time taken by one host metric collection.', [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]),
    };
  }

  async start(): Promise<void> {
    if (this.stopped || this.timer !== undefined) return;
    this.timer = this.clock.setInterval(() => this.tick(), this.config.interval);
    (this.timer as { unref?(): unknown }).unref?.();
    this.tick();
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearInterval(this.timer);
    this.timer = undefined;
    // statfs timeouts bound a collection, so this wait is bounded too.
    await this.inFlight;
    this.problems.flush();
  }

  private tick(): void {
    if (this.stopped) return;
    if (this.inFlight) {
      this.error('all', 'overrun', { intervalMs: this.config.interval });
      return;
    }
    this.inFlight = this.collectOnce().finally(() => {
      this.inFlight = undefined;
    });
  }

  /** Runs one collection and hands the batch on. Never rejects. */
  async collectOnce(): Promise<void> {
    const started = this.clock.now();
    let samples: MetricSample[];
    try {
      samples = await this.collect(started);
    } catch (err) {
      // Only a bug gets here: every reader catches its own errors.
      this.error('all', 'internal', { err: (err as Error).message });
      return;
    }
    this.m.collections.inc();
    this.m.duration.observe((this.clock.now() - started) / 1000);
    if (samples.length === 0) return;
    this.m.samples.inc(samples.length);
    try {
      await this.next.consumeMetrics({ source: this.settings.id, samples });
    } catch (err) {
      this.m.dropped.inc(samples.length, { reason: 'consumer_error' });
      this.problems.note('consumer_error', samples.length, { err: (err as Error).message });
    }
  }

  /** Reads every enabled collector into one list of samples (in a fixed order; capped at max_samples). */
  async collect(ts: number): Promise<MetricSample[]> {
    const on = (c: CollectorName) => this.enabled.has(c);
    const parts: Array<Promise<MetricSample[]>> = [];
    if (on('cpu') || on('processes')) parts.push(this.collectStat(ts));
    if (on('load') || on('processes')) parts.push(this.collectLoad(ts));
    if (on('memory')) parts.push(this.collectFile('memory', 'meminfo', (text, st, out) => parseMeminfo(text, ts, this.memFields, out, st)));
    if (on('disk')) parts.push(this.collectFile('disk', 'diskstats', (text, st, out) => parseDiskstats(text, ts, this.diskExclude, out, st)));
    if (on('network')) parts.push(this.collectNetwork(ts));
    if (on('processes')) parts.push(this.collectPids(ts));
    if (on('filesystem')) parts.push(this.collectFilesystems(ts));
    const out = (await Promise.all(parts)).flat();
    if (out.length > this.config.max_samples) {
      const dropped = out.length - this.config.max_samples;
      out.length = this.config.max_samples;
      this.m.dropped.inc(dropped, { reason: 'limit' });
      this.problems.note('limit', dropped, { maxSamples: this.config.max_samples });
    }
    return out;
  }

  private error(collector: string, reason: string, detail?: Record<string, unknown>, n = 1): void {
    this.m.errors.inc(n, { collector, reason });
    this.problems.note(`${collector}/${reason}`, n, { collector, ...detail });
  }

  /** Reads proc_root/<rel> (bounded) and parses it; read and parse failures are counted. */
  private async parseFile(collector: string, rel: string, parse: (text: string, stats: ParseStats) => void): Promise<boolean> {
    const path = join(this.config.proc_root, rel);
    let file: FileRead;
    try {
      file = await readBounded(path, this.config.max_file_bytes);
    } catch (err) {
      this.error(collector, 'read', { file: path, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      return false;
    }
    if (file.truncated) this.error(collector, 'too_large', { file: path, maxBytes: this.config.max_file_bytes });
    const stats: ParseStats = { errors: 0 };
    try {
      parse(file.text, stats);
    } catch (err) {
      stats.errors++;
      stats.firstError ??= `parser failed: ${(err as Error).message}`;
    }
    if (stats.errors > 0) this.error(collector, 'parse', { file: path, first: stats.firstError }, stats.errors);
    return true;
  }

  private async collectFile(collector: string, rel: string, parse: (text: string, stats: ParseStats, out: MetricSample[]) => void): Promise<MetricSample[]> {
    const out: MetricSample[] = [];
    await this.parseFile(collector, rel, (text, st) => parse(text, st, out));
    return out;
  }

  private async collectStat(ts: number): Promise<MetricSample[]> {
    const wantCpu = this.enabled.has('cpu');
    const wantProcs = this.enabled.has('processes');
    const all = await this.collectFile('cpu', 'stat', (text, st, out) => parseStat(text, ts, this.config.clock_ticks, out, st));
    return all.filter((s) => (PROCESS_STAT_NAMES.has(s.name) ? wantProcs : wantCpu));
  }

  private async collectLoad(ts: number): Promise<MetricSample[]> {
    let la: ReturnType<typeof parseLoadavg>;
    const ok = await this.parseFile('load', 'loadavg', (text, st) => {
      la = parseLoadavg(text, st);
    });
    const out: MetricSample[] = [];
    if (!ok || !la) return out;
    if (this.enabled.has('load')) {
      out.push({ name: 'node_load1', labels: {}, ts, value: la.load1, kind: 'gauge' });
      out.push({ name: 'node_load5', labels: {}, ts, value: la.load5, kind: 'gauge' });
      out.push({ name: 'node_load15', labels: {}, ts, value: la.load15, kind: 'gauge' });
    }
    if (this.enabled.has('processes')) out.push({ name: 'node_processes_threads', labels: {}, ts, value: la.threads, kind: 'gauge' });
    return out;
  }

  /** node_processes_pids: numeric entries of proc_root, counted without holding the listing. */
  private async collectPids(ts: number): Promise<MetricSample[]> {
    let pids = 0;
    try {
      const dir = await opendir(this.config.proc_root, { bufferSize: 256 });
      for await (const d of dir) {
        const c = d.name.charCodeAt(0);
        if (c >= 48 && c <= 57 && /^\d+$/.test(d.name)) pids++;
      }
    } catch (err) {
      this.error('processes', 'read', { dir: this.config.proc_root, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      return [];
    }
    return [{ name: 'node_processes_pids', labels: {}, ts, value: pids, kind: 'gauge' }];
  }

  private async collectNetwork(ts: number): Promise<MetricSample[]> {
    const out: MetricSample[] = [];
    let devices: string[] = [];
    const ok = await this.parseFile('network', 'net/dev', (text, st) => {
      devices = parseNetDev(text, ts, this.netExclude, out, st);
    });
    if (!ok) return out;
    // node_network_up: operstate "up" in sysfs; a device without the file is left out.
    const up = await Promise.all(
      devices.slice(0, 4096).map(async (device): Promise<MetricSample | undefined> => {
        if (device.includes('/') || device === '.' || device === '..') return undefined;
        try {
          const { text } = await readBounded(join(this.config.sys_root, 'class/net', device, 'operstate'), 64);
          return { name: 'node_network_up', labels: { device }, ts, value: text.trim() === 'up' ? 1 : 0, kind: 'gauge' };
        } catch {
          return undefined; // no sysfs (container, fixture): not worth counting every interval
        }
      }),
    );
    for (const s of up) if (s) out.push(s);
    return out;
  }

  private async collectFilesystems(ts: number): Promise<MetricSample[]> {
    let mounts: Mount[] = [];
    const ok = await this.parseFile('filesystem', 'self/mounts', (text, st) => {
      mounts = parseMounts(text, st);
    });
    if (!ok) return [];
    // The same mount point may be listed more than once (over-mounts): the last entry is the
    // one statfs() sees.
    const byMountpoint = new Map<string, Mount>();
    for (const mnt of mounts) {
      if (this.fsTypesExclude.has(mnt.fstype) || this.mountExclude.test(mnt.mountpoint)) continue;
      byMountpoint.set(mnt.mountpoint, mnt);
    }
    const todo = [...byMountpoint.values()];
    const max = this.config.filesystem.max_mounts;
    if (todo.length > max) {
      this.error('filesystem', 'limit', { mounts: todo.length, maxMounts: max }, todo.length - max);
      todo.length = max;
    }
    const results: MetricSample[][] = todo.map(() => []);
    let next = 0;
    const worker = async () => {
      while (next < todo.length) {
        const i = next++;
        await this.statMount(ts, todo[i]!, results[i]!);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.config.filesystem.statfs_concurrency, todo.length) }, worker));
    return results.flat();
  }

  /** statfs() of one mount with a timeout; a call that times out marks the mount stuck until it returns. */
  private async statMount(ts: number, mnt: Mount, out: MetricSample[]): Promise<void> {
    const labels = { device: mnt.device, fstype: mnt.fstype, mountpoint: mnt.mountpoint };
    if (this.stuckMounts.has(mnt.mountpoint)) {
      this.error('filesystem', 'stuck', { mountpoint: mnt.mountpoint });
      out.push({ name: 'node_filesystem_device_error', labels, ts, value: 1, kind: 'gauge' });
      return;
    }
    // Each hung statfs() holds one of libuv's few pool threads (4 by default), which the rest of
    // the agent needs for file I/O. Once statfs_concurrency calls hang, only mounts that have
    // answered before are asked; a new or failing one waits until a hung call returns.
    if (this.stuckMounts.size >= this.config.filesystem.statfs_concurrency && !this.answeredMounts.has(mnt.mountpoint)) {
      this.error('filesystem', 'stuck_limit', { mountpoint: mnt.mountpoint, stuck: this.stuckMounts.size });
      out.push({ name: 'node_filesystem_device_error', labels, ts, value: 1, kind: 'gauge' });
      return;
    }
    const path = mnt.mountpoint === '/' ? this.config.rootfs : join(this.config.rootfs, mnt.mountpoint);
    const call = this.statfs(path);
    let timer: unknown;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.clock.setTimeout(() => resolve('timeout'), this.config.filesystem.statfs_timeout);
    });
    let r: StatfsResult | 'timeout';
    try {
      r = await Promise.race([call, timeout]);
    } catch (err) {
      this.error('filesystem', 'statfs', { mountpoint: mnt.mountpoint, err: (err as NodeJS.ErrnoException).code ?? (err as Error).message });
      out.push({ name: 'node_filesystem_device_error', labels, ts, value: 1, kind: 'gauge' });
      return;
    } finally {
      this.clock.clearTimeout(timer);
    }
    if (r === 'timeout') {
      this.stuckMounts.add(mnt.mountpoint);
      const release = () => this.stuckMounts.delete(mnt.mountpoint);
      call.then(release, release);
      this.error('filesystem', 'timeout', { mountpoint: mnt.mountpoint, timeoutMs: this.config.filesystem.statfs_timeout });
      out.push({ name: 'node_filesystem_device_error', labels, ts, value: 1, kind: 'gauge' });
      return;
    }
    this.answeredMounts.add(mnt.mountpoint);
    if (this.answeredMounts.size > 4 * this.config.filesystem.max_mounts) this.answeredMounts.clear();
    const b = r.bsize;
    out.push({ name: 'node_filesystem_size_bytes', labels, ts, value: r.blocks * b, kind: 'gauge', unit: 'bytes' });
    out.push({ name: 'node_filesystem_free_bytes', labels, ts, value: r.bfree * b, kind: 'gauge', unit: 'bytes' });
    out.push({ name: 'node_filesystem_avail_bytes', labels, ts, value: r.bavail * b, kind: 'gauge', unit: 'bytes' });
    out.push({ name: 'node_filesystem_files', labels, ts, value: r.files, kind: 'gauge' });
    out.push({ name: 'node_filesystem_files_free', labels, ts, value: r.ffree, kind: 'gauge' });
    out.push({ name: 'node_filesystem_readonly', labels, ts, value: mnt.readonly ? 1 : 0, kind: 'gauge' });
    out.push({ name: 'node_filesystem_device_error', labels, ts, value: 0, kind: 'gauge' });
  }
}
