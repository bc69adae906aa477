import assert from 'node:assert/strict';
import { cpus, tmpdir, totalmem } from 'node:os';
import { mkdtempSync, statfsSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { pino } from 'pino';
import type { Clock } from '../../component.js';
import { systemClock } from '../../component.js';
import type { MetricKind, MetricSample } from '../../pdata.js';
import { ManualClock, RecordingMetrics, metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import { hostmetricsReceiverFactory } from './index.js';
import type { HostmetricsConfig } from './index.js';
import { parseDiskstats, parseLoadavg, parseMeminfo, parseMounts, parseNetDev, parseStat } from './parsers.js';
import type { ParseStats } from './parsers.js';
import { ProblemLog } from './problems.js';
import { HostmetricsReceiver } from './receiver.js';
import type { HostmetricsDeps, StatfsResult } from './receiver.js';

const TESTDATA = fileURLToPath(new URL('./testdata/', import.meta.url));
const TS = Date.UTC(2026, 0, 1);

function config(over: Record<string, unknown> = {}): HostmetricsConfig {
  return hostmetricsReceiverFactory.configSchema.parse({
    proc_root: join(TESTDATA, 'proc-normal'),
    sys_root: join(TESTDATA, 'sys-normal'),
    ...over,
  });
}

function s(name: string, labels: Record<string, string>, value: number, kind: MetricKind = 'gauge', unit?: string): MetricSample {
  const out: MetricSample = { name, labels, ts: TS, value, kind };
  if (unit !== undefined) out.unit = unit;
  return out;
}
const cpuS = (cpu: string, mode: string, v: number) => s('node_cpu_seconds_total', { cpu, mode }, v, 'counter', 'seconds');
const guest = (cpu: string, mode: string, v: number) => s('node_cpu_guest_seconds_total', { cpu, mode }, v, 'counter', 'seconds');

function disk(device: string, v: number[]): MetricSample[] {
  const l = { device };
  return [
    s('node_disk_reads_completed_total', l, v[0]!, 'counter'),
    s('node_disk_reads_merged_total', l, v[1]!, 'counter'),
    s('node_disk_read_bytes_total', l, v[2]! * 512, 'counter', 'bytes'),
    s('node_disk_read_time_seconds_total', l, v[3]! / 1000, 'counter', 'seconds'),
    s('node_disk_writes_completed_total', l, v[4]!, 'counter'),
    s('node_disk_writes_merged_total', l, v[5]!, 'counter'),
    s('node_disk_written_bytes_total', l, v[6]! * 512, 'counter', 'bytes'),
    s('node_disk_write_time_seconds_total', l, v[7]! / 1000, 'counter', 'seconds'),
    s('node_disk_io_now', l, v[8]!, 'gauge'),
    s('node_disk_io_time_seconds_total', l, v[9]! / 1000, 'counter', 'seconds'),
    s('node_disk_io_time_weighted_seconds_total', l, v[10]! / 1000, 'counter', 'seconds'),
  ];
}

function net(device: string, rx: number[], tx: number[]): MetricSample[] {
  const l = { device };
  const out: MetricSample[] = [];
  ['bytes', 'packets', 'errs', 'drop'].forEach((f, k) => {
    out.push(s(`node_network_receive_${f}_total`, l, rx[k]!, 'counter', k === 0 ? 'bytes' : undefined));
    out.push(s(`node_network_transmit_${f}_total`, l, tx[k]!, 'counter', k === 0 ? 'bytes' : undefined));
  });
  return out;
}

function fs(device: string, fstype: string, mountpoint: string, r: StatfsResult, ro = false): MetricSample[] {
  const l = { device, fstype, mountpoint };
  return [
    s('node_filesystem_size_bytes', l, r.blocks * r.bsize, 'gauge', 'bytes'),
    s('node_filesystem_free_bytes', l, r.bfree * r.bsize, 'gauge', 'bytes'),
    s('node_filesystem_avail_bytes', l, r.bavail * r.bsize, 'gauge', 'bytes'),
    s('node_filesystem_files', l, r.files),
    s('node_filesystem_files_free', l, r.ffree),
    s('node_filesystem_readonly', l, ro ? 1 : 0),
    s('node_filesystem_device_error', l, 0),
  ];
}

const STATFS: Record<string, StatfsResult> = {
  '/': { bsize: 4096, blocks: 1_000_000, bfree: 500_000, bavail: 400_000, files: 65_536, ffree: 60_000 },
  '/run': { bsize: 4096, blocks: 409_600, bfree: 409_000, bavail: 409_000, files: 100_000, ffree: 99_000 },
  '/mnt/my disk': { bsize: 1024, blocks: 10, bfree: 5, bavail: 4, files: 3, ffree: 2 },
  '/mnt/nfs': { bsize: 65536, blocks: 7, bfree: 6, bavail: 5, files: 4, ffree: 3 },
};

/** A statfs seam answering from STATFS (plus overrides); records the paths asked. */
function fakeStatfs(over: Record<string, (p: string) => Promise<StatfsResult>> = {}) {
  const calls: string[] = [];
  const statfs = (p: string): Promise<StatfsResult> => {
    calls.push(p);
    const o = over[p];
    if (o) return o(p);
    const r = STATFS[p];
    return r ? Promise.resolve(r) : Promise.reject(Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' }));
  };
  return { calls, statfs };
}

function make(over: Record<string, unknown> = {}, deps: HostmetricsDeps = {}, clock: Clock = new ManualClock(TS)) {
  const settings = testSettings('hostmetrics', { clock });
  const sink = new RecordingMetrics();
  const r = new HostmetricsReceiver(settings, config(over), sink, deps);
  return { settings, sink, r };
}

const NORMAL_EXPECTED: MetricSample[] = [
  cpuS('0', 'user', 1), cpuS('0', 'nice', 0.05), cpuS('0', 'system', 1), cpuS('0', 'idle', 25), cpuS('0', 'iowait', 0.25),
  cpuS('0', 'irq', 0), cpuS('0', 'softirq', 0.1), cpuS('0', 'steal', 0.02), guest('0', 'user', 0.07), guest('0', 'nice', 0.01),
  cpuS('1', 'user', 2), cpuS('1', 'nice', 0.05), cpuS('1', 'system', 1), cpuS('1', 'idle', 25), cpuS('1', 'iowait', 0.25),
  cpuS('1', 'irq', 0), cpuS('1', 'softirq', 0.1), cpuS('1', 'steal', 0.03), guest('1', 'user', 0), guest('1', 'nice', 0),
  s('node_intr_total', {}, 12345, 'counter'),
  s('node_context_switches_total', {}, 999999, 'counter'),
  s('node_boot_time_seconds', {}, 1700000000, 'gauge', 'seconds'),
  s('node_forks_total', {}, 4242, 'counter'),
  s('node_procs_running', {}, 3),
  s('node_procs_blocked', {}, 1),
  s('node_load1', {}, 0.52), s('node_load5', {}, 0.31), s('node_load15', {}, 0.2),
  s('node_processes_threads', {}, 345),
  s('node_memory_MemTotal_bytes', {}, 16384000 * 1024, 'gauge', 'bytes'),
  s('node_memory_MemFree_bytes', {}, 8192000 * 1024, 'gauge', 'bytes'),
  s('node_memory_MemAvailable_bytes', {}, 12288000 * 1024, 'gauge', 'bytes'),
  s('node_memory_Buffers_bytes', {}, 102400 * 1024, 'gauge', 'bytes'),
  s('node_memory_Cached_bytes', {}, 2048000 * 1024, 'gauge', 'bytes'),
  s('node_memory_SwapCached_bytes', {}, 0, 'gauge', 'bytes'),
  s('node_memory_SwapTotal_bytes', {}, 4096000 * 1024, 'gauge', 'bytes'),
  s('node_memory_SwapFree_bytes', {}, 4000000 * 1024, 'gauge', 'bytes'),
  ...disk('sda', [1000, 50, 80000, 4000, 2000, 100, 160000, 8000, 2, 6000, 12000]),
  ...disk('nvme0n1', [61149, 7897, 3066650, 38266, 9011, 23267, 1851600, 6195, 0, 9608, 44872]),
  ...disk('dm-0', [5, 0, 40, 1, 0, 0, 0, 0, 0, 1, 1]),
  ...net('eth0', [284076207, 8255, 1, 2], [646580, 5641, 3, 4]),
  ...net('wlan0', [0, 0, 0, 0], [0, 0, 0, 0]),
  s('node_network_up', { device: 'eth0' }, 1),
  s('node_network_up', { device: 'wlan0' }, 0),
  s('node_processes_pids', {}, 3),
  ...fs('/dev/sda1', 'ext4', '/', STATFS['/']!),
  ...fs('tmpfs', 'tmpfs', '/run', STATFS['/run']!),
  ...fs('/dev/sdb1', 'ext4', '/mnt/my disk', STATFS['/mnt/my disk']!, true),
  ...fs('server:/export', 'nfs4', '/mnt/nfs', STATFS['/mnt/nfs']!),
];

describe('hostmetrics config', () => {
  it('defaults match node_exporter and the brief', () => {
    const c = hostmetricsReceiverFactory.configSchema.parse({});
    assert.equal(c.interval, 10_000);
    assert.equal(c.proc_root, '/proc');
    assert.equal(c.sys_root, '/sys');
    assert.equal(c.clock_ticks, 100);
    assert.equal(c.network.exclude_devices, '^lo$');
    assert.ok(new RegExp(c.disk.exclude_devices).test('sda1'));
    assert.ok(new RegExp(c.disk.exclude_devices).test('loop3'));
    assert.ok(new RegExp(c.disk.exclude_devices).test('nvme0n1p2'));
    assert.ok(!new RegExp(c.disk.exclude_devices).test('nvme0n1'));
    assert.ok(!new RegExp(c.disk.exclude_devices).test('dm-0'));
    assert.ok(c.filesystem.exclude_fs_types.includes('proc'));
    assert.deepEqual(c.collectors, ['cpu', 'load', 'memory', 'disk', 'filesystem', 'network', 'processes']);
  });

  it('refuses unknown keys, bad regexes, bad durations and a statfs timeout not under the interval', () => {
    const bad = (v: unknown, pathWanted: string, msg: RegExp) => {
      const r = hostmetricsReceiverFactory.configSchema.safeParse(v);
      assert.equal(r.success, false, JSON.stringify(v));
      const issue = r.error!.issues.find((i) => i.path.join('.') === pathWanted);
      assert.ok(issue, `no issue at ${pathWanted}: ${JSON.stringify(r.error!.issues)}`);
      assert.match(issue.message, msg);
    };
    bad({ intervall: '10s' }, '', /intervall|Unrecognized/i);
    bad({ disk: { exclude_devices: '([' } }, 'disk.exclude_devices', /regular expression/);
    bad({ interval: '0s' }, 'interval', />= 1000/);
    bad({ interval: '5s', filesystem: { statfs_timeout: '5s' } }, 'filesystem.statfs_timeout', /shorter than interval/);
    bad({ collectors: ['cpu', 'gpu'] }, 'collectors.1', /./);
    bad({ filesystem: { statfs_timeot: '1s' } }, 'filesystem', /statfs_timeot|Unrecognized/i);
  });
});

describe('hostmetrics receiver on fixture /proc trees', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => make({}, { statfs: fakeStatfs().statfs }).r);
  });

  it('normal tree: exact samples, no errors', async () => {
    const { r, settings } = make({}, { statfs: fakeStatfs().statfs });
    const got = await r.collect(TS);
    assert.deepEqual(got, NORMAL_EXPECTED);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total'), 0);
  });

  it('memory fields ["*"] emits every field, unitless ones without _bytes', async () => {
    const { r } = make({ collectors: ['memory'], memory: { fields: ['*'] } });
    const got = await r.collect(TS);
    assert.deepEqual(
      got.map((x) => [x.name, x.value]),
      [
        ['node_memory_MemTotal_bytes', 16384000 * 1024],
        ['node_memory_MemFree_bytes', 8192000 * 1024],
        ['node_memory_MemAvailable_bytes', 12288000 * 1024],
        ['node_memory_Buffers_bytes', 102400 * 1024],
        ['node_memory_Cached_bytes', 2048000 * 1024],
        ['node_memory_SwapCached_bytes', 0],
        ['node_memory_Active_anon_bytes', 1540 * 1024],
        ['node_memory_SwapTotal_bytes', 4096000 * 1024],
        ['node_memory_SwapFree_bytes', 4000000 * 1024],
        ['node_memory_HugePages_Total', 4],
        ['node_memory_Hugepagesize_bytes', 2048 * 1024],
      ],
    );
  });

  it('exclude settings are honoured (lo kept, sda1 kept, tmpfs dropped)', async () => {
    const { r } = make(
      { collectors: ['disk', 'network', 'filesystem'], disk: { exclude_devices: '^(loop|ram)\\d+$' }, network: { exclude_devices: '^wlan' }, filesystem: { exclude_fs_types: ['proc', 'sysfs', 'cgroup2', 'overlay', 'tmpfs', 'nfs4'] } },
      { statfs: fakeStatfs().statfs },
    );
    const got = await r.collect(TS);
    const seen = (prefix: string, label: string) => [...new Set(got.filter((x) => x.name.startsWith(prefix)).map((x) => x.labels[label]))];
    assert.deepEqual(seen('node_disk_', 'device'), ['sda', 'sda1', 'nvme0n1', 'nvme0n1p1', 'dm-0']);
    assert.deepEqual(seen('node_network_', 'device'), ['lo', 'eth0']);
    assert.deepEqual(seen('node_filesystem_', 'mountpoint'), ['/', '/mnt/my disk']);
  });

  it('truncated tree: keeps every complete line, drops the cut one, counts a parse error per file', async () => {
    const { r, settings } = make({ proc_root: join(TESTDATA, 'proc-truncated') }, { statfs: fakeStatfs().statfs });
    const got = await r.collect(TS);
    const expected: MetricSample[] = [
      cpuS('0', 'user', 1), cpuS('0', 'nice', 0.05), cpuS('0', 'system', 1), cpuS('0', 'idle', 25), cpuS('0', 'iowait', 0.25),
      cpuS('0', 'irq', 0), cpuS('0', 'softirq', 0.1), cpuS('0', 'steal', 0.02), guest('0', 'user', 0.07), guest('0', 'nice', 0.01),
      s('node_memory_MemTotal_bytes', {}, 16384000 * 1024, 'gauge', 'bytes'),
      s('node_memory_MemFree_bytes', {}, 8192000 * 1024, 'gauge', 'bytes'),
      ...disk('sda', [1000, 50, 80000, 4000, 2000, 100, 160000, 8000, 2, 6000, 12000]),
      ...net('eth0', [284076207, 8255, 1, 2], [646580, 5641, 3, 4]),
      s('node_network_up', { device: 'eth0' }, 1),
      ...fs('/dev/sda1', 'ext4', '/', STATFS['/']!),
    ];
    // no pid folders in this tree
    expected.splice(expected.length - 7, 0, s('node_processes_pids', {}, 0));
    assert.deepEqual(got, expected);
    for (const collector of ['cpu', 'load', 'memory', 'disk', 'network', 'filesystem']) {
      assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector, reason: 'parse' }), 1, collector);
    }
  });

  it('garbage tree: what parses is kept, the rest counted; a missing file is a read error', async () => {
    const { r, settings } = make({ proc_root: join(TESTDATA, 'proc-garbage') }, { statfs: fakeStatfs().statfs });
    const got = await r.collect(TS);
    const expected: MetricSample[] = [
      cpuS('3', 'user', 0.1), cpuS('3', 'nice', 0.2), cpuS('3', 'system', 0.3), cpuS('3', 'idle', 0.4),
      cpuS('3', 'iowait', 0.5), cpuS('3', 'irq', 0.6), cpuS('3', 'softirq', 0.7), cpuS('3', 'steal', 0.8),
      s('node_procs_blocked', {}, 2),
      s('node_memory_MemTotal_bytes', {}, 123 * 1024, 'gauge', 'bytes'),
      s('node_memory_Buffers_bytes', {}, 5 * 1024, 'gauge', 'bytes'),
      ...net('ok0', [1, 2, 3, 4], [9, 10, 11, 12]),
      s('node_processes_pids', {}, 0),
      ...fs('/dev/sda1', 'ext4', '/', STATFS['/']!),
    ];
    assert.deepEqual(got, expected);
    const err = (collector: string, reason: string) => metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector, reason });
    assert.equal(await err('cpu', 'parse'), 5); // cpu0 short, cpu9x, cpu1 negative, cpu2 float, procs_running
    assert.equal(await err('load', 'parse'), 1);
    assert.ok((await err('memory', 'parse')) >= 5); // MemFree -1, <script>, 23-digit Cached, MB unit, noise
    assert.equal(await err('disk', 'read'), 1); // no diskstats file
    assert.ok((await err('network', 'parse')) >= 3);
    assert.ok((await err('filesystem', 'parse')) >= 2);
  });

  it('a file larger than max_file_bytes is cut at the limit, complete lines kept, counted as too_large', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hostmetrics-big-'));
    const lines = Array.from({ length: 400 }, (_, i) => `Field${i}:   ${i} kB\n`).join('');
    writeFileSync(join(dir, 'meminfo'), lines);
    const { r, settings } = make({ proc_root: dir, collectors: ['memory'], max_file_bytes: 4096, memory: { fields: ['*'] } });
    const got = await r.collect(TS);
    const completeLines = lines.slice(0, 4096).split('\n').length - 1;
    assert.ok(completeLines > 100 && completeLines < 400);
    assert.equal(got.length, completeLines);
    assert.equal(got[got.length - 1]!.name, `node_memory_Field${completeLines - 1}_bytes`);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'memory', reason: 'too_large' }), 1);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'memory', reason: 'parse' }), 1);
  });

  it('max_samples caps a collection and counts the rest as dropped (reason=limit)', async () => {
    const { r, settings, sink } = make({ max_samples: 10 }, { statfs: fakeStatfs().statfs });
    await r.collectOnce();
    assert.deepEqual(sink.samples, NORMAL_EXPECTED.slice(0, 10));
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_samples_dropped_total', { reason: 'limit' }), NORMAL_EXPECTED.length - 10);
  });
});

describe('hostmetrics statfs isolation', () => {
  it('a hanging mount times out, the others are still reported, and it is not asked again until it returns', async () => {
    let release!: (r: StatfsResult) => void;
    let hung = false;
    // the first call hangs until released; later calls answer at once
    const hang = () => {
      if (hung) return Promise.resolve(STATFS['/mnt/nfs']!);
      hung = true;
      return new Promise<StatfsResult>((res) => (release = res));
    };
    const f = fakeStatfs({ '/mnt/nfs': hang });
    // real timers for the statfs timeout (50 ms); no assertion on elapsed time
    const { r, settings } = make({ collectors: ['filesystem'], filesystem: { statfs_timeout: '50ms', statfs_concurrency: 1 } }, { statfs: f.statfs }, systemClock);
    const first = await r.collect(TS);
    const mps = (xs: MetricSample[]) => [...new Set(xs.filter((x) => x.name === 'node_filesystem_size_bytes').map((x) => x.labels.mountpoint))];
    assert.deepEqual(mps(first), ['/', '/run', '/mnt/my disk']);
    const nfsErr = first.find((x) => x.name === 'node_filesystem_device_error' && x.labels.mountpoint === '/mnt/nfs');
    assert.equal(nfsErr?.value, 1);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'filesystem', reason: 'timeout' }), 1);

    const second = await r.collect(TS);
    assert.deepEqual(mps(second), ['/', '/run', '/mnt/my disk']);
    assert.equal(f.calls.filter((p) => p === '/mnt/nfs').length, 1, 'a stuck mount is not asked again');
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'filesystem', reason: 'stuck' }), 1);

    release(STATFS['/mnt/nfs']!);
    await new Promise((res) => setImmediate(res));
    f.calls.length = 0;
    const third = await r.collect(TS);
    assert.deepEqual(mps(third), ['/', '/run', '/mnt/my disk', '/mnt/nfs']);
    assert.equal(f.calls.filter((p) => p === '/mnt/nfs').length, 1);
  });

  it('once statfs_concurrency calls hang, only mounts that answered before are asked', async () => {
    const hang = () => new Promise<StatfsResult>(() => {});
    let nfsHangs = false;
    const f = fakeStatfs({
      '/run': hang,
      '/mnt/nfs': (p) => (nfsHangs ? hang() : Promise.resolve(STATFS[p]!)),
    });
    const { r, settings } = make({ collectors: ['filesystem'], filesystem: { statfs_timeout: '30ms', statfs_concurrency: 2 } }, { statfs: f.statfs }, systemClock);
    const sizes = (xs: MetricSample[]) => xs.filter((x) => x.name === 'node_filesystem_size_bytes').map((x) => x.labels.mountpoint);
    assert.deepEqual(sizes(await r.collect(TS)), ['/', '/mnt/my disk', '/mnt/nfs']); // /run hangs (1 stuck)
    nfsHangs = true;
    assert.deepEqual(sizes(await r.collect(TS)), ['/', '/mnt/my disk']); // /nfs hangs too (2 stuck)
    // both hung: "/" and "/mnt/my disk" answered before and are still asked
    f.calls.length = 0;
    assert.deepEqual(sizes(await r.collect(TS)), ['/', '/mnt/my disk']);
    assert.deepEqual(f.calls, ['/', '/mnt/my disk']);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'filesystem', reason: 'timeout' }), 2);
  });

  it('a mount never seen answering is not asked while the stuck limit is reached', async () => {
    const hang = () => new Promise<StatfsResult>(() => {});
    const eio = () => Promise.reject(Object.assign(new Error('EIO'), { code: 'EIO' }));
    const f = fakeStatfs({ '/': hang, '/run': hang, '/mnt/my disk': eio, '/mnt/nfs': eio });
    const { r, settings } = make({ collectors: ['filesystem'], filesystem: { statfs_timeout: '30ms', statfs_concurrency: 2 } }, { statfs: f.statfs }, systemClock);
    await r.collect(TS); // "/" and "/run" hang; the two others fail (or are held back once both hang)
    f.calls.length = 0;
    const got = await r.collect(TS);
    assert.deepEqual(f.calls, []);
    assert.equal(got.filter((x) => x.name === 'node_filesystem_device_error' && x.value === 1).length, 4);
    assert.ok((await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'filesystem', reason: 'stuck_limit' })) >= 2);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'filesystem', reason: 'stuck' }), 2);
  });

  it('a failing statfs is counted and marks device_error without stopping the others', async () => {
    const f = fakeStatfs({ '/run': () => Promise.reject(Object.assign(new Error('EACCES'), { code: 'EACCES' })) });
    const { r, settings } = make({ collectors: ['filesystem'] }, { statfs: f.statfs });
    const got = await r.collect(TS);
    assert.equal(got.filter((x) => x.name === 'node_filesystem_size_bytes').length, 3);
    assert.deepEqual(got.find((x) => x.labels.mountpoint === '/run'), s('node_filesystem_device_error', { device: 'tmpfs', fstype: 'tmpfs', mountpoint: '/run' }, 1));
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'filesystem', reason: 'statfs' }), 1);
  });

  it('statfs is asked under rootfs (a containerised agent)', async () => {
    const f = fakeStatfs();
    const { r } = make({ collectors: ['filesystem'], rootfs: '/host' }, { statfs: f.statfs });
    await r.collect(TS);
    assert.deepEqual(f.calls, ['/host', '/host/run', '/host/mnt/my disk', '/host/mnt/nfs']);
  });
});

describe('hostmetrics scheduling', () => {
  it('collects at start and every interval on the injected clock; shutdown stops the timer', async () => {
    const clock = new ManualClock(TS);
    const { r, sink } = make({ interval: '10s' }, { statfs: fakeStatfs().statfs }, clock);
    await r.start();
    await sink.waitFor((x) => x.batches.length === 1);
    assert.equal(sink.batches[0]!.source, 'hostmetrics');
    assert.ok(sink.batches[0]!.samples.every((x) => x.ts === TS));
    clock.advance(10_000);
    await sink.waitFor((x) => x.batches.length === 2);
    assert.ok(sink.batches[1]!.samples.every((x) => x.ts === TS + 10_000));
    await r.shutdown();
    assert.equal(clock.pendingTimers, 0);
    clock.advance(60_000);
    await new Promise((res) => setTimeout(res, 20));
    assert.equal(sink.batches.length, 2);
  });

  it('a slow consumer makes the next tick an overrun (counted), not a pile-up', async () => {
    const clock = new ManualClock(TS);
    const settings = testSettings('hostmetrics', { clock });
    let unblock!: () => void;
    let calls = 0;
    const slow = {
      consumeMetrics: () => {
        calls++;
        return new Promise<void>((res) => (unblock = res));
      },
    };
    const r = new HostmetricsReceiver(settings, config({ collectors: ['load'] }), slow);
    await r.start();
    while (calls === 0) await new Promise((res) => setTimeout(res, 5));
    clock.advance(10_000);
    clock.advance(10_000);
    assert.equal(calls, 1);
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: 'all', reason: 'overrun' }), 2);
    unblock();
    await r.shutdown();
  });

  it('a failing consumer is counted and does not throw out of the receiver', async () => {
    const { r, settings, sink } = make({ collectors: ['load'] });
    sink.failWith = new Error('downstream down');
    await r.collectOnce();
    assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_samples_dropped_total', { reason: 'consumer_error' }), 3);
  });
});

describe('hostmetrics problem log', () => {
  it('logs the first occurrence, then at most once per period with the count', () => {
    const lines: Array<Record<string, unknown>> = [];
    const dest = new Writable({
      write(chunk, _enc, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    });
    const clock = new ManualClock(TS);
    const log = new ProblemLog(pino({ level: 'warn' }, dest), clock, 'problem', 60_000);
    for (let i = 0; i < 100; i++) log.note('parse', 1, { file: '/proc/stat' });
    clock.advance(60_000);
    log.note('parse', 1);
    log.note('read', 3);
    log.flush();
    return new Promise<void>((res) =>
      setImmediate(() => {
        assert.deepEqual(
          lines.map((l) => [l.reason, l.count]),
          [
            ['parse', 1],
            ['parse', 100],
            ['read', 3],
          ],
        );
        res();
      }),
    );
  });
});

describe('hostmetrics parsers never throw', () => {
  it('on arbitrary text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), fc.array(fc.constantFrom('cpu0 ', 'cpu ', 'MemTotal: ', ' kB', '\n', ' 8 0 sda ', 'eth0:', ' 1', '|', ' / ext4 rw 0 0'), { maxLength: 40 }), (noise, parts) => {
        const text = noise + parts.join('');
        const out: MetricSample[] = [];
        const st: ParseStats = { errors: 0 };
        parseStat(text, TS, 100, out, st);
        parseLoadavg(text, st);
        parseMeminfo(text, TS, null, out, st);
        parseDiskstats(text, TS, /^$/, out, st);
        parseNetDev(text, TS, /^$/, out, st);
        parseMounts(text, st);
        for (const x of out) assert.ok(Number.isFinite(x.value) && x.value >= 0, `${x.name} ${x.value}`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('hostmetrics on this machine', () => {
  it('reads the live /proc: one series per CPU and mode, MemTotal, / filesystem, no read or parse errors', async () => {
    const settings = testSettings('hostmetrics');
    const r = new HostmetricsReceiver(settings, hostmetricsReceiverFactory.configSchema.parse({}), new RecordingMetrics());
    const got = await r.collect(Date.now());
    const cpusSeen = new Set(got.filter((x) => x.name === 'node_cpu_seconds_total').map((x) => x.labels.cpu));
    assert.equal(cpusSeen.size, cpus().length);
    const modes = new Set(got.filter((x) => x.name === 'node_cpu_seconds_total').map((x) => x.labels.mode));
    assert.deepEqual([...modes].sort(), ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']);
    assert.equal(got.find((x) => x.name === 'node_memory_MemTotal_bytes')?.value, totalmem());
    const root = got.find((x) => x.name === 'node_filesystem_size_bytes' && x.labels.mountpoint === '/');
    const st = statfsSync('/');
    assert.equal(root?.value, st.blocks * st.bsize);
    assert.ok(got.some((x) => x.name === 'node_load1'));
    assert.ok((got.find((x) => x.name === 'node_processes_pids')?.value ?? 0) >= 1);
    assert.ok((got.find((x) => x.name === 'node_procs_running')?.value ?? 0) >= 1);
    for (const x of got) assert.ok(Number.isFinite(x.value), `${x.name} ${x.value}`);
    for (const c of ['cpu', 'load', 'memory', 'disk', 'network', 'processes']) {
      for (const reason of ['read', 'parse', 'too_large']) {
        assert.equal(await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: c, reason }), 0, `${c}/${reason}`);
      }
    }
  });
});
