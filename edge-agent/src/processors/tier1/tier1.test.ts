import assert from 'node:assert/strict';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { FLAG_ANOMALY } from '../../../../wasm-detectors/src/index.js';
import { ManualClock, RecordingMetrics, metricValue, runLifecycleContract, testSettings } from '../../testing/index.js';
import type { MetricSample } from '../../pdata.js';
import { Tier1Processor, decodeSnapshot, encodeSnapshot, tier1ConfigSchema } from './index.js';

const T0 = Date.UTC(2026, 0, 1);

function series(n: number, from = 0): MetricSample[] {
  const out: MetricSample[] = [];
  for (let i = from; i < from + n; i++) {
    const v = 50 + 10 * Math.sin(i / 30) + ((i * 7919) % 13) / 13;
    out.push({ name: 'cpu', labels: { host: 'a' }, ts: T0 + i * 1000, value: i === 700 ? 400 : v, kind: 'gauge', key: 'cpu{host="a"}' });
  }
  return out;
}

function make(dataDir?: string, cfg: Record<string, unknown> = {}) {
  const clock = new ManualClock(T0);
  const settings = testSettings('tier1', { clock, ...(dataDir ? { dataDir } : {}) });
  const sink = new RecordingMetrics();
  const p = new Tier1Processor(settings, tier1ConfigSchema.parse(cfg), sink);
  return { settings, sink, p, clock };
}

describe('tier1 processor', () => {
  it('passes the lifecycle contract', async () => {
    await runLifecycleContract(() => make().p);
  });

  it('scores every sample and flags the spike', async () => {
    const { sink, p, settings } = make();
    await p.start();
    await p.consumeMetrics({ source: 't', samples: series(1000) });
    const out = sink.samples;
    assert.equal(out.length, 1000);
    assert.ok(out.every((s) => s.tier1 && s.tier1.score >= 0 && s.tier1.score < 1));
    assert.ok(out[700]!.tier1!.flags & FLAG_ANOMALY, 'spike flagged');
    assert.equal(await metricValue(settings, 'aiops_agent_tier1_scored_samples_total'), 1000);
    await p.shutdown();
  });

  it('state survives a restart: snapshot at shutdown, restored at start, scores continue exactly', async () => {
    const whole = make();
    await whole.p.consumeMetrics({ source: 't', samples: series(1000) });
    const first = make();
    await first.p.start();
    await first.p.consumeMetrics({ source: 't', samples: series(600) });
    await first.p.shutdown();
    assert.ok(existsSync(first.p.snapshotPath));
    const second = make(first.settings.agent.dataDir);
    await second.p.start();
    assert.equal(second.p.liveSeries, 1);
    await second.p.consumeMetrics({ source: 't', samples: series(400, 600) });
    const a = whole.sink.samples.slice(600).map((s) => s.tier1!.score);
    const b = second.sink.samples.map((s) => s.tier1!.score);
    assert.deepEqual(b, a);
    await second.p.shutdown();
  });

  it('a corrupt snapshot is moved aside and the agent starts with fresh baselines', async () => {
    const first = make();
    await first.p.start();
    await first.p.shutdown();
    writeFileSync(first.p.snapshotPath, Buffer.from('garbage garbage garbage'));
    const second = make(first.settings.agent.dataDir);
    await second.p.start();
    assert.equal(second.p.liveSeries, 0);
    assert.equal(await metricValue(second.settings, 'aiops_agent_tier1_snapshot_errors_total', { op: 'restore' }), 1);
    assert.ok(readdirSync(dirname(second.p.snapshotPath)).some((f) => f.includes('.corrupt-')));
    await second.p.shutdown();
  });

  it('series beyond max_series pass through unscored, counted', async () => {
    const { sink, p, settings } = make(undefined, { max_series: 2 });
    const samples: MetricSample[] = ['a', 'b', 'c'].map((h) => ({ name: 'm', labels: { h }, ts: T0, value: 1, kind: 'gauge' }));
    await p.consumeMetrics({ source: 't', samples });
    assert.equal(sink.samples.length, 3);
    assert.equal(sink.samples.filter((s) => s.tier1).length, 2);
    assert.equal(await metricValue(settings, 'aiops_agent_tier1_unscored_samples_total', { reason: 'series_limit' }), 1);
  });

  it('validates detector options with the path', () => {
    const r = tier1ConfigSchema.safeParse({ detector: { alpha: 2 } });
    assert.equal(r.success, false);
    assert.deepEqual(r.error!.issues[0]!.path, ['detector', 'alpha']);
    assert.match(r.error!.issues[0]!.message, /must be in \(0, 1\)/);
    assert.equal(tier1ConfigSchema.parse({ detector: { flag_threshold: 0.4 } }).detector.flagThreshold, 0.4);
  });

  it('snapshot codec refuses truncated and hostile bytes', () => {
    const ok = encodeSnapshot([['k', new Uint8Array(512)]]);
    assert.equal(decodeSnapshot(ok, 10).length, 1);
    for (let cut = 0; cut < ok.length; cut++) assert.throws(() => decodeSnapshot(ok.subarray(0, cut), 10), /snapshot|truncated|magic/);
    const many = Buffer.from(ok);
    many.writeUInt32LE(1_000_000, 8);
    assert.throws(() => decodeSnapshot(many, 10), /more than max_series/);
  });
});
