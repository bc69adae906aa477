import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createMetricModel } from '../metrics/index.js';
import { injectFaults } from '../faults/index.js';
import type { FaultRun } from '../faults/index.js';
import { parseNabCsv } from '../replay/index.js';
import { loadNabCorpus, loadProfiles } from '../scoring/index.js';
import { generateTopology } from '../topology/index.js';
import { ExportError, formatMetricsCsv, formatNabTimestamp, formatValue, parseMetricsCsv, validateExportOptions, writeNabCorpus, writeRcaevalCases } from './index.js';

const START = Date.UTC(2024, 2, 4, 6);
const STEP = 10_000;
const topo = generateTopology({ preset: 'online-boutique' }, 3);
let run: FaultRun;
let dir: string;

async function tree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(root);
  return out;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-exports-'));
  const model = createMetricModel(topo, { startMs: START, stepMs: STEP, durationMs: 2 * 3_600_000 }, 3);
  run = injectFaults(
    model,
    [
      { type: 'dependency_outage', target: 'redis-cart', onsetMs: 1_800_000, durationMs: 600_000 },
      { type: 'cpu_hog', target: 'cart', onsetMs: 3_600_000, durationMs: 900_000 },
      { type: 'network_delay', target: 'currency', onsetMs: 3_660_000, durationMs: 600_000 },
    ],
    { scenario: 'exports-test' },
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('value formatting', () => {
  it('writes 7 significant digits, shortest form, empty for no sample', () => {
    assert.equal(formatValue(0), '0');
    assert.equal(formatValue(Number.NaN), '');
    assert.equal(formatValue(1234567.89), '1234568');
    assert.equal(formatValue(0.000123456789), '0.0001234568');
    assert.equal(formatValue(2.5), '2.5');
    assert.equal(formatValue(873741824), '873741800');
    assert.equal(formatNabTimestamp(Date.UTC(2024, 0, 2, 3, 4, 5)), '2024-01-02 03:04:05');
  });
});

describe('NAB export', () => {
  it('writes a NAB root the scorer loads: data, windows on existing rows, profiles', async () => {
    const out = join(dir, 'nab');
    const res = await writeNabCorpus(out, run.metrics, run.groundTruth, 'exports-test', validateExportOptions({}).nab);
    const corpus = await loadNabCorpus(out);
    assert.equal(corpus.files.length, run.metrics.series.length);
    assert.equal(corpus.windowCount, res.windowCount);
    assert.ok(res.windowCount > 0, 'some windows');
    const profiles = await loadProfiles(join(out, 'config', 'profiles.json'));
    assert.deepEqual(Object.keys(profiles).sort(), ['reward_low_FN_rate', 'reward_low_FP_rate', 'standard']);
    // Every affected (entity, metric) has a window containing its onset; others have none.
    for (const f of run.groundTruth.faults) {
      for (const a of f.affected) {
        for (const m of a.metrics) {
          const file = corpus.files.find((x) => x.relativePath === `exports-test/${a.entity}_${m}.csv`);
          assert.ok(file, `${a.entity}_${m}`);
          // The onset's row: the first row at or after the onset (rows without a sample are absent).
          const row = file.timestamps.find((x) => x >= a.onsetMs * 1000);
          assert.ok(row !== undefined, `${a.entity}_${m} has rows after its onset`);
          assert.ok(file.windows.some((w) => w.start <= row && row <= w.end), `${a.entity}_${m} has a window around its onset`);
        }
      }
    }
    const quiet = corpus.files.find((x) => x.relativePath === 'exports-test/email_memory.csv')!;
    assert.equal(quiet.windows.length, 0);
    // The outage root reports no latency while down: those rows are left out.
    const down = parseNabCsv(await readFile(join(out, 'data', 'exports-test', 'redis-cart_latency_p95.csv'), 'utf8'), 'x');
    assert.equal(down.values.length, run.metrics.length - 60);
    const text = await readFile(join(out, 'data', 'exports-test', 'cart_cpu.csv'), 'utf8');
    assert.match(text, /^timestamp,value\n2024-03-04 06:00:00,[0-9.e+-]+\n2024-03-04 06:00:10,/);
  });

  it('centres windows of NAB width on the onset and merges overlaps', async () => {
    const out = join(dir, 'nab-w');
    const res = await writeNabCorpus(out, run.metrics, run.groundTruth, 'w', { enabled: true, windowFraction: 0.1 });
    const cpu = res.series.find((s) => s.key === 'w/cart_cpu.csv')!;
    assert.equal(cpu.windows.length, 1);
    const onset = run.groundTruth.faults[1]!.onsetMs;
    const half = Math.floor(Math.floor(0.1 * 720) / 2) * STEP;
    assert.deepEqual(cpu.windows[0], [`${formatNabTimestamp(onset - half)}.000000`, `${formatNabTimestamp(onset + half)}.000000`]);
    const fe = res.series.find((s) => s.key === 'w/frontend_latency_p95.csv')!;
    // frontend's latency moves from the cpu hog on cart and, a minute later, the currency delay:
    // two onsets 60 s apart give overlapping windows, merged into one.
    const onsetsFe = run.groundTruth.faults.flatMap((f) => f.affected.filter((a) => a.entity === 'frontend' && a.metrics.includes('latency_p95')).map((a) => a.onsetMs));
    assert.ok(onsetsFe.length >= 2, `frontend latency onsets ${onsetsFe.length}`);
    assert.ok(fe.windows.length < onsetsFe.length, 'overlapping windows merged');
  });

  it('exports only chosen metrics', async () => {
    const res = await writeNabCorpus(join(dir, 'nab-m'), run.metrics, run.groundTruth, 'm', { enabled: true, windowFraction: 0.1, metrics: ['latency_p95'] });
    assert.ok(res.series.every((s) => s.metric === 'latency_p95'));
    assert.equal(res.series.length, topo.nodes.filter((n) => n.kind !== 'Host').length);
  });
});

describe('RCAEval export', () => {
  it('writes one case per fault in RCAEval layout', async () => {
    const out = join(dir, 'rcaeval');
    const res = await writeRcaevalCases(out, run.metrics, run.groundTruth, { enabled: true, beforeMs: 600_000, afterMs: 600_000 });
    assert.deepEqual(res.cases.map((c) => c.case), ['redis-cart_outage/1', 'cart_cpu/1', 'currency_delay/1']);
    const c = res.cases[1]!;
    assert.equal(await readFile(join(out, 'cart_cpu', '1', 'inject_time.txt'), 'utf8'), `${(START + 3_600_000) / 1000}\n`);
    const csv = (await readFile(join(out, 'cart_cpu', '1', 'data.csv'), 'utf8')).trimEnd().split('\n');
    const header = csv[0]!.split(',');
    assert.equal(header[0], 'time');
    for (const col of ['cart_cpu', 'cart_mem', 'cart_latency-50', 'cart_latency-95', 'cart_latency-99', 'cart_workload', 'cart_error', 'redis-cart_mem']) assert.ok(header.includes(col), col);
    assert.ok(header.some((h) => /^node-\d+_disk$/.test(h)), 'host columns');
    assert.equal(csv.length - 1, 120);
    assert.equal(c.rows, 120);
    const times = csv.slice(1).map((l) => Number(l.split(',')[0]));
    assert.equal(times[0], (START + 3_600_000 - 600_000) / 1000);
    for (let k = 1; k < times.length; k++) assert.equal(times[k]! - times[k - 1]!, 10);
    const meta = JSON.parse(await readFile(join(out, 'cart_cpu', '1', 'case.json'), 'utf8'));
    assert.deepEqual(meta.root_cause, { service: 'cart', node_id: 'service:cart', metric: 'cart_cpu', fault: 'cpu' });
    assert.deepEqual(meta.other_faults_in_window, ['f3']);
    assert.equal(meta.ground_truth.id, 'f2');
    // The outage case shows the root's missing samples as empty cells.
    const outage = (await readFile(join(out, 'redis-cart_outage', '1', 'data.csv'), 'utf8')).split('\n');
    const col = outage[0]!.split(',').indexOf('redis-cart_latency-95');
    assert.equal(outage[62]!.split(',')[col], '');
    assert.equal(JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).length, 3);
  });
});

describe('metrics CSV', () => {
  it('round-trips at 7 significant digits with missing samples', () => {
    const text = formatMetricsCsv(run.metrics);
    assert.ok(text.startsWith('timestamp_ms,loadbalancer:frontend-external:request_rate,'), text.slice(0, 80));
    const back = parseMetricsCsv(text, topo);
    assert.equal(back.length, run.metrics.length);
    assert.equal(back.stepMs, STEP);
    assert.equal(back.startMs, START);
    back.series.forEach((s, k) => {
      const o = run.metrics.series[k]!;
      assert.equal(s.entity, o.entity);
      assert.equal(s.metric, o.metric);
      for (let t = 0; t < s.values.length; t += 37) assert.equal(formatValue(s.values[t]!), formatValue(o.values[t]!));
    });
    assert.ok(Number.isNaN(back.series.find((s) => s.entity === 'redis-cart' && s.metric === 'cpu')!.values[200]!), 'NaN survives');
    assert.throws(() => parseMetricsCsv('time,a:b\n1,2\n'), (e: unknown) => e instanceof ExportError && e.code === 'BAD_CSV' && /first column must be "timestamp_ms"/.test(e.message));
    assert.throws(() => parseMetricsCsv('timestamp_ms,service:a:cpu\n1,x\n'), /line|metrics.csv:2: column service:a:cpu value "x"/);
  });
});

describe('determinism and options', () => {
  it('writes byte-identical files for the same input', async () => {
    const a = join(dir, 'det-a');
    const b = join(dir, 'det-b');
    for (const d of [a, b]) {
      await writeNabCorpus(join(d, 'nab'), run.metrics, run.groundTruth, 'd', validateExportOptions({}).nab);
      await writeRcaevalCases(join(d, 'rcaeval'), run.metrics, run.groundTruth, validateExportOptions({}).rcaeval);
    }
    assert.deepEqual(await tree(a), await tree(b));
  });

  it('rejects bad options with the path and value', () => {
    assert.throws(() => validateExportOptions({ nab: { windowFraction: 2 } }), (e: unknown) => e instanceof ExportError && /exports\.nab\.windowFraction .*\(got 2\)/.test(e.message));
    assert.throws(() => validateExportOptions({ rcaeval: { beforeMs: -1 } }), /exports\.rcaeval\.beforeMs .*\(got -1\)/);
    assert.throws(() => validateExportOptions({ nab: { metrics: ['latency'] } }), /exports\.nab\.metrics\[0\] .*\(got "latency"\)/);
  });
});
