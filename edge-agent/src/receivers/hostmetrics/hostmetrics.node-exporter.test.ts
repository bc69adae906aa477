// Real peer: prometheus-node-exporter (Debian package) reads the same /proc and statfs as the
// receiver; the two must agree exactly where the kernel's numbers are stable, and closely where
// they move between the two reads. Port: HOSTMETRICS_NODE_EXPORTER_PORT (default 19101).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MetricSample } from '../../pdata.js';
import { RecordingMetrics, metricValue, testSettings } from '../../testing/index.js';
import { peerReady, startNodeExporter, stopNodeExporter } from '../prometheus/node-exporter-peer.js';
import type { NodeExporterPeer } from '../prometheus/node-exporter-peer.js';
import { hostmetricsReceiverFactory } from './index.js';
import { HostmetricsReceiver } from './receiver.js';

interface Line {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Deliberately naive reader of node_exporter's output (independent of the agent's parser). */
function readExposition(text: string): Line[] {
  const out: Line[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unexpected node_exporter line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const key = (x: { name: string; labels: Record<string, string> }) => `${x.name}{${Object.entries(x.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join(',')}}`;

describe('hostmetrics against a real node_exporter', () => {
  let peer: NodeExporterPeer;
  before(() => {
    peer = startNodeExporter('HOSTMETRICS_NODE_EXPORTER_PORT', 19101);
  });
  after(() => stopNodeExporter(peer));

  async function both(): Promise<{ theirs: Line[]; mine: MetricSample[]; errors: number }> {
    const res = await fetch(peer.url);
    assert.equal(res.status, 200);
    const theirs = readExposition(await res.text());
    const settings = testSettings('hostmetrics');
    const r = new HostmetricsReceiver(settings, hostmetricsReceiverFactory.configSchema.parse({}), new RecordingMetrics());
    const mine = await r.collect(Date.now());
    let errors = 0;
    for (const c of ['cpu', 'load', 'memory', 'disk', 'network', 'processes']) {
      for (const reason of ['read', 'parse', 'too_large']) errors += await metricValue(settings, 'aiops_agent_hostmetrics_errors_total', { collector: c, reason });
    }
    return { theirs, mine, errors };
  }

  it('agrees on memory, CPUs and modes, boot time, the / filesystem, disks and network devices', async (t) => {
    if (!peerReady(t, peer)) return;
    const { theirs, mine, errors } = await both();
    assert.equal(errors, 0);
    const one = (xs: Array<Line | MetricSample>, name: string, labels: Record<string, string> = {}) => {
      const found = xs.filter((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
      assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}: ${found.length} samples`);
      return found[0]!.value;
    };
    // exact
    for (const f of ['MemTotal', 'SwapTotal']) assert.equal(one(mine, `node_memory_${f}_bytes`), one(theirs, `node_memory_${f}_bytes`), f);
    assert.equal(one(mine, 'node_boot_time_seconds'), one(theirs, 'node_boot_time_seconds'));
    assert.equal(one(mine, 'node_filesystem_size_bytes', { mountpoint: '/' }), one(theirs, 'node_filesystem_size_bytes', { mountpoint: '/' }));
    assert.equal(one(mine, 'node_filesystem_files', { mountpoint: '/' }), one(theirs, 'node_filesystem_files', { mountpoint: '/' }));
    const rootLabels = (xs: Array<Line | MetricSample>) => xs.find((x) => x.name === 'node_filesystem_size_bytes' && x.labels.mountpoint === '/')!.labels;
    assert.deepEqual(rootLabels(mine), rootLabels(theirs));

    const set = (xs: Array<Line | MetricSample>, name: string, f: (l: Record<string, string>) => string) => [...new Set(xs.filter((x) => x.name === name).map((x) => f(x.labels)))].sort();
    const cpuMode = (l: Record<string, string>) => `${l.cpu}/${l.mode}`;
    assert.deepEqual(set(mine, 'node_cpu_seconds_total', cpuMode), set(theirs, 'node_cpu_seconds_total', cpuMode));
    assert.ok(set(mine, 'node_cpu_seconds_total', cpuMode).length >= 8);
    const dev = (l: Record<string, string>) => l.device!;
    assert.deepEqual(set(mine, 'node_network_receive_bytes_total', dev), set(theirs, 'node_network_receive_bytes_total', dev));
    assert.deepEqual(set(mine, 'node_disk_reads_completed_total', dev), set(theirs, 'node_disk_reads_completed_total', dev));
    t.diagnostic(`cpus/modes ${set(mine, 'node_cpu_seconds_total', cpuMode).length}, net ${set(mine, 'node_network_receive_bytes_total', dev).join(',')}, disks ${set(mine, 'node_disk_reads_completed_total', dev).join(',')}`);
  });

  it('counters read after node_exporter are equal or slightly ahead; load agrees within tolerance', async (t) => {
    if (!peerReady(t, peer)) return;
    const { theirs, mine } = await both();
    const theirByKey = new Map(theirs.map((x) => [key(x), x.value]));
    let compared = 0;
    for (const x of mine) {
      if (x.kind !== 'counter') continue;
      const v = theirByKey.get(key(x));
      if (v === undefined) continue;
      compared++;
      // node_exporter prints what it read a moment earlier; the kernel's counters only grow.
      assert.ok(x.value >= v - 1e-9 * Math.abs(v), `${key(x)}: mine ${x.value} < node_exporter ${v}`);
      if (x.name === 'node_cpu_seconds_total') assert.ok(x.value - v <= 30, `${key(x)}: mine ${x.value} far ahead of ${v}`);
    }
    assert.ok(compared >= 20, `only ${compared} counters compared`);
    for (const n of ['node_load1', 'node_load5', 'node_load15']) {
      const a = mine.find((x) => x.name === n)!.value;
      const b = theirs.find((x) => x.name === n)!.value;
      assert.ok(Math.abs(a - b) <= 0.5 + 0.25 * b, `${n}: mine ${a}, node_exporter ${b}`);
    }
    t.diagnostic(`${compared} counters compared`);
  });

  it('every name the receiver emits is a node_exporter name, with the same label names', async (t) => {
    if (!peerReady(t, peer)) return;
    const { theirs, mine } = await both();
    const theirLabels = new Map<string, string>();
    for (const x of theirs) theirLabels.set(x.name, Object.keys(x.labels).sort().join(','));
    // node_processes_* come from node_exporter's processes collector, which is off by default.
    const offByDefault = new Set(['node_processes_pids', 'node_processes_threads']);
    for (const name of new Set(mine.map((x) => x.name))) {
      if (offByDefault.has(name)) continue;
      assert.ok(theirLabels.has(name), `${name} is not exposed by node_exporter`);
      const x = mine.find((m) => m.name === name)!;
      assert.equal(Object.keys(x.labels).sort().join(','), theirLabels.get(name), `label names of ${name}`);
    }
  });
});
