// Pure parsers for the /proc files the host metrics receiver reads. Each takes the file's text
// and appends samples named and labelled as prometheus-node-exporter names them; a line it cannot
// read is skipped and counted, never thrown. Every /proc file ends each line with "\n": a last line
// without one was cut short (a truncated read), so it is dropped rather than trusted — a cut
// number ("4863" read as "48") would otherwise pass as a valid, wrong value.
import type { MetricKind, MetricSample } from '../../pdata.js';

export interface ParseStats {
  /** Lines that could not be read (malformed or cut short). */
  errors: number;
  /** The first problem, for the log line (file line number and why). */
  firstError?: string;
}

function fail(stats: ParseStats, lineNo: number, why: string): void {
  stats.errors++;
  stats.firstError ??= `line ${lineNo}: ${why}`;
}

/** Complete lines of a /proc file; a trailing unterminated line counts as an error. */
function lines(text: string, stats: ParseStats): string[] {
  const out = text.split('\n');
  const last = out.pop()!;
  if (last !== '') fail(stats, out.length + 1, 'truncated (no end of line)');
  return out;
}

const UINT = /^\d{1,20}$/;

/** A non-negative integer field, or undefined. Values above 2^53 lose precision, as in node_exporter (float64). */
function uint(s: string | undefined): number | undefined {
  if (s === undefined || !UINT.test(s)) return undefined;
  return Number(s);
}

function push(out: MetricSample[], name: string, labels: Record<string, string>, ts: number, value: number, kind: MetricKind, unit?: string): void {
  const s: MetricSample = { name, labels, ts, value, kind };
  if (unit !== undefined) s.unit = unit;
  out.push(s);
}

const CPU_MODES = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal'] as const;

/**
 * /proc/stat: per-CPU time by mode (USER_HZ ticks -> seconds), guest time, procs_running,
 * procs_blocked, context switches, forks, interrupts, boot time. The aggregate `cpu` line is
 * skipped (node_exporter does the same; it is the sum of the per-CPU lines).
 */
export function parseStat(text: string, ts: number, clockTicks: number, out: MetricSample[], stats: ParseStats): void {
  const ls = lines(text, stats);
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line === '') continue;
    const f = line.split(/\s+/);
    const key = f[0]!;
    if (key.startsWith('cpu')) {
      if (key === 'cpu') continue;
      const cpu = key.slice(3);
      if (!/^\d{1,6}$/.test(cpu)) {
        fail(stats, i + 1, `unknown cpu line "${key.slice(0, 20)}"`);
        continue;
      }
      // Linux >= 2.6.11 has at least 8 fields; 2.6.24 added guest, 2.6.33 guest_nice.
      const vals: number[] = [];
      let bad = false;
      for (let k = 1; k < f.length && k <= 10; k++) {
        const v = uint(f[k]);
        if (v === undefined) {
          bad = true;
          break;
        }
        vals.push(v);
      }
      if (bad || vals.length < 4) {
        fail(stats, i + 1, `malformed cpu line for cpu ${cpu}`);
        continue;
      }
      for (let m = 0; m < CPU_MODES.length && m < vals.length; m++) {
        push(out, 'node_cpu_seconds_total', { cpu, mode: CPU_MODES[m]! }, ts, vals[m]! / clockTicks, 'counter', 'seconds');
      }
      if (vals.length >= 9) push(out, 'node_cpu_guest_seconds_total', { cpu, mode: 'user' }, ts, vals[8]! / clockTicks, 'counter', 'seconds');
      if (vals.length >= 10) push(out, 'node_cpu_guest_seconds_total', { cpu, mode: 'nice' }, ts, vals[9]! / clockTicks, 'counter', 'seconds');
      continue;
    }
    const scalar = (name: string, kind: MetricKind, unit?: string) => {
      const v = uint(f[1]);
      if (v === undefined) fail(stats, i + 1, `malformed ${key} line`);
      else push(out, name, {}, ts, v, kind, unit);
    };
    switch (key) {
      case 'procs_running':
        scalar('node_procs_running', 'gauge');
        break;
      case 'procs_blocked':
        scalar('node_procs_blocked', 'gauge');
        break;
      case 'ctxt':
        scalar('node_context_switches_total', 'counter');
        break;
      case 'processes':
        scalar('node_forks_total', 'counter');
        break;
      case 'intr':
        scalar('node_intr_total', 'counter');
        break;
      case 'btime':
        scalar('node_boot_time_seconds', 'gauge', 'seconds');
        break;
      default:
        break; // softirq and future lines
    }
  }
}

export interface Loadavg {
  load1: number;
  load5: number;
  load15: number;
  /** Kernel scheduling entities (threads) in existence: the number after "/". */
  threads: number;
}

/** /proc/loadavg: "0.09 0.46 0.47 1/87 19144". */
export function parseLoadavg(text: string, stats: ParseStats): Loadavg | undefined {
  const ls = lines(text, stats);
  const m = /^(\d+\.\d+) (\d+\.\d+) (\d+\.\d+) \d+\/(\d+) \d+$/.exec(ls[0] ?? '');
  if (!m) {
    if (ls.length > 0) fail(stats, 1, 'malformed loadavg');
    return undefined;
  }
  return { load1: Number(m[1]), load5: Number(m[2]), load15: Number(m[3]), threads: Number(m[4]) };
}

/**
 * /proc/meminfo: `Field: value [kB]`. A field in kB becomes node_memory_<Field>_bytes (x1024);
 * one without a unit (HugePages_*) node_memory_<Field>. "Active(anon)" -> "Active_anon", as in
 * node_exporter. `fields` null = every field.
 */
export function parseMeminfo(text: string, ts: number, fields: ReadonlySet<string> | null, out: MetricSample[], stats: ParseStats): void {
  const ls = lines(text, stats);
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line === '') continue;
    const m = /^([A-Za-z0-9_()]{1,64}):\s+(\d{1,20})(?: (kB))?$/.exec(line);
    if (!m) {
      fail(stats, i + 1, 'malformed meminfo line');
      continue;
    }
    const field = m[1]!;
    if (fields && !fields.has(field)) continue;
    const name = field.replace(/\(/g, '_').replace(/\)/g, '');
    const v = Number(m[2]);
    if (m[3]) push(out, `node_memory_${name}_bytes`, {}, ts, v * 1024, 'gauge', 'bytes');
    else push(out, `node_memory_${name}`, {}, ts, v, 'gauge');
  }
}

/**
 * /proc/diskstats (Documentation/admin-guide/iostats.rst): after major, minor and name, 11 fields
 * (4.18 added 4 discard fields, 5.5 two flush fields). Sectors are always 512 bytes here,
 * whatever the device's sector size; times are milliseconds.
 */
export function parseDiskstats(text: string, ts: number, exclude: RegExp, out: MetricSample[], stats: ParseStats): void {
  const ls = lines(text, stats);
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!.trim();
    if (line === '') continue;
    const f = line.split(/\s+/);
    const device = f[2];
    if (f.length < 14 || device === undefined || uint(f[0]) === undefined || uint(f[1]) === undefined) {
      fail(stats, i + 1, 'malformed diskstats line');
      continue;
    }
    const v: number[] = [];
    for (let k = 3; k < 14; k++) {
      const x = uint(f[k]);
      if (x === undefined) break;
      v.push(x);
    }
    if (v.length < 11) {
      fail(stats, i + 1, `malformed diskstats line for ${device.slice(0, 32)}`);
      continue;
    }
    if (exclude.test(device)) continue;
    const labels = { device };
    push(out, 'node_disk_reads_completed_total', labels, ts, v[0]!, 'counter');
    push(out, 'node_disk_reads_merged_total', labels, ts, v[1]!, 'counter');
    push(out, 'node_disk_read_bytes_total', labels, ts, v[2]! * 512, 'counter', 'bytes');
    push(out, 'node_disk_read_time_seconds_total', labels, ts, v[3]! / 1000, 'counter', 'seconds');
    push(out, 'node_disk_writes_completed_total', labels, ts, v[4]!, 'counter');
    push(out, 'node_disk_writes_merged_total', labels, ts, v[5]!, 'counter');
    push(out, 'node_disk_written_bytes_total', labels, ts, v[6]! * 512, 'counter', 'bytes');
    push(out, 'node_disk_write_time_seconds_total', labels, ts, v[7]! / 1000, 'counter', 'seconds');
    push(out, 'node_disk_io_now', labels, ts, v[8]!, 'gauge');
    push(out, 'node_disk_io_time_seconds_total', labels, ts, v[9]! / 1000, 'counter', 'seconds');
    push(out, 'node_disk_io_time_weighted_seconds_total', labels, ts, v[10]! / 1000, 'counter', 'seconds');
  }
}

const NET_RECEIVE = ['bytes', 'packets', 'errs', 'drop'] as const;

/**
 * /proc/net/dev: two header lines, then `iface: 8 receive fields, 8 transmit fields`. Emits
 * bytes, packets, errs and drop for each direction. Returns the interfaces kept.
 */
export function parseNetDev(text: string, ts: number, exclude: RegExp, out: MetricSample[], stats: ParseStats): string[] {
  const ls = lines(text, stats);
  const devices: string[] = [];
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line.trim() === '' || line.includes('|')) continue; // header lines
    const colon = line.indexOf(':');
    const device = colon > 0 ? line.slice(0, colon).trim() : '';
    const f = line.slice(colon + 1).trim().split(/\s+/);
    const v = f.map(uint);
    if (device === '' || /\s/.test(device) || v.length < 16 || v.some((x) => x === undefined)) {
      fail(stats, i + 1, 'malformed net/dev line');
      continue;
    }
    if (exclude.test(device)) continue;
    devices.push(device);
    const labels = { device };
    for (let k = 0; k < NET_RECEIVE.length; k++) {
      push(out, `node_network_receive_${NET_RECEIVE[k]}_total`, labels, ts, v[k]!, 'counter', k === 0 ? 'bytes' : undefined);
      push(out, `node_network_transmit_${NET_RECEIVE[k]}_total`, labels, ts, v[8 + k]!, 'counter', k === 0 ? 'bytes' : undefined);
    }
  }
  return devices;
}

export interface Mount {
  device: string;
  mountpoint: string;
  fstype: string;
  readonly: boolean;
}

/** fstab(5) escapes in /proc/self/mounts: \040 space, \011 tab, \012 newline, \134 backslash. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** /proc/self/mounts: `device mountpoint fstype options dump pass`. */
export function parseMounts(text: string, stats: ParseStats): Mount[] {
  const ls = lines(text, stats);
  const mounts: Mount[] = [];
  for (let i = 0; i < ls.length; i++) {
    const line = ls[i]!;
    if (line === '') continue;
    const f = line.split(' ');
    if (f.length < 4 || !f[1]!.startsWith('/') || f[2] === '' || f[0] === '') {
      fail(stats, i + 1, 'malformed mounts line');
      continue;
    }
    mounts.push({
      device: unescapeMount(f[0]!),
      mountpoint: unescapeMount(f[1]!),
      fstype: f[2]!,
      readonly: f[3]!.split(',').includes('ro'),
    });
  }
  return mounts;
}
