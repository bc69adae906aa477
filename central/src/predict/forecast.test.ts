import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { Alert } from '../../../shared-schemas/src/index.js';
import { mulberry32 } from '../../../shared-schemas/src/runtime/index.js';
import { predictConfig } from './config.js';
import { forecastCrossing, formatSpan, theilSen } from './forecast.js';
import { Predictor } from './predictor.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

function series(n: number, f: (i: number) => number, noise = 0, seed = 1): { t: Float64Array; v: Float64Array } {
  const r = mulberry32(seed);
  return { t: Float64Array.from({ length: n }, (_, i) => T0 + i * MIN), v: Float64Array.from({ length: n }, (_, i) => f(i) + noise * (r() - 0.5)) };
}

describe('forecasts', () => {
  it('Theil-Sen ignores a few wild points', () => {
    const t = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
    const v = t.map((x) => 2 * x + 1);
    v[3] = 100;
    v[7] = -50;
    const f = theilSen(t, v)!;
    assert.equal(f.slope, 2);
    assert.equal(f.intercept, 1);
  });

  it('a steady fill: when it crosses, with a range that holds the truth', () => {
    // 0.5 + 0.5% a minute, a little noise: full (1.0) 100 minutes after the start.
    const { t, v } = series(30, (i) => 0.5 + 0.005 * i, 0.002);
    const now = t[29]!;
    const f = forecastCrossing(t, v, 1, now, { minPoints: 12 });
    assert.equal(f.reason, undefined);
    const truth = T0 + 100 * MIN;
    assert.ok(Math.abs(f.crossesAtMs! - truth) < 5 * MIN, `crosses ${new Date(f.crossesAtMs!).toISOString()}`);
    assert.ok(f.earliestMs! <= f.crossesAtMs! && f.crossesAtMs! <= f.latestMs!);
    assert.ok(Math.abs(f.level - (0.5 + 0.005 * 29)) < 0.005);
  });

  it('no crossing for flat noise, a fall, a level shift, too few points; "already past" at the threshold', () => {
    assert.equal(forecastCrossing(...Object.values(series(30, () => 0.5, 0.01)) as [Float64Array, Float64Array], 1, T0 + 29 * MIN, { minPoints: 12 }).reason, 'not_rising');
    assert.equal(forecastCrossing(...Object.values(series(30, (i) => 0.9 - 0.01 * i, 0.001)) as [Float64Array, Float64Array], 1, T0 + 29 * MIN, { minPoints: 12 }).reason, 'not_rising');
    // A step up half-way, then flat: not a trend.
    const step = series(30, (i) => (i < 12 ? 0.5 : 0.7), 0.002);
    assert.notEqual(forecastCrossing(step.t, step.v, 1, T0 + 29 * MIN, { minPoints: 12 }).crossesAtMs !== null ? 'crosses' : 'no', 'crosses');
    assert.equal(forecastCrossing(...Object.values(series(5, (i) => 0.5 + i)) as [Float64Array, Float64Array], 1, T0 + 5 * MIN, { minPoints: 12 }).reason, 'too_few_points');
    const short = series(30, (i) => 0.5 + 0.005 * i, 0.002);
    assert.equal(forecastCrossing(short.t, short.v, 1, T0 + 29 * MIN, { minPoints: 12, minSpanMs: 40 * MIN }).reason, 'too_few_points', '29 minutes of history, 40 needed');
    const past = series(30, (i) => 0.9 + 0.01 * i, 0.001);
    assert.equal(forecastCrossing(past.t, past.v, 1, T0 + 29 * MIN, { minPoints: 12 }).reason, 'already_past');
  });

  it('a daily ramp is not a leak once yesterday is there to compare with', () => {
    // Memory follows the day: this morning's rise equals yesterday morning's.
    const day = (i: number) => 0.5 + 0.2 * Math.sin((2 * Math.PI * i) / 1440);
    const today = series(30, (i) => day(300 + i), 0.001, 3);
    const yesterday = series(30, (i) => day(300 + i), 0.001, 4).v;
    const now = today.t[29]!;
    assert.ok(forecastCrossing(today.t, today.v, 0.75, now, { minPoints: 12 }).crossesAtMs !== null, 'alone, the ramp looks like a fill');
    assert.equal(forecastCrossing(today.t, today.v, 0.75, now, { minPoints: 12 }, yesterday).crossesAtMs, null);
  });

  it('formats spans for people', () => {
    assert.equal(formatSpan(50_000), '50 s');
    assert.equal(formatSpan(42 * MIN), '42 m');
    assert.equal(formatSpan(190 * MIN), '3 h 10 m');
    assert.equal(formatSpan(3 * 24 * 60 * MIN), '3 d');
  });
});

describe('predictor (forecast -> alerts)', () => {
  const cfg = predictConfig();
  const disk = cfg.targets.find((t) => t.name === 'disk_full')!;
  const labels = { __name__: 'node_disk_used_ratio', host: 'node-2', mountpoint: '/var' };

  it('fires after fire_after refreshes, says when, turns critical near the end, resolves when the fill stops', () => {
    const p = new Predictor(cfg, 'default');
    const fill = (i: number) => (i < 100 ? 0.4 + 0.002 * i : 0.6); // fills at 0.2% a minute, then stops at 60%
    const { t, v } = series(200, fill, 0.0005);
    const alerts: Alert[] = [];
    const at: number[] = [];
    for (let end = 30; end <= 200; end++) {
      const out: Alert[] = [];
      p.observe(disk, labels, t.subarray(end - 30, end), v.subarray(end - 30, end), 1, t[end - 1]!, out);
      for (let k = 0; k < out.length; k++) at.push(end);
      alerts.push(...out);
    }
    const first = alerts[0]!;
    assert.equal(first.status, 'firing');
    assert.equal(at[0], 31, 'fired on the second refresh that forecast a crossing');
    assert.equal(first.labels['alertname'], 'PredictedDiskFull');
    assert.equal(first.labels['kind'], 'predictive');
    assert.equal(first.labels['host'], 'node-2');
    assert.equal(first.labels['severity'], 'warning');
    assert.match(first.annotations['summary']!, /^disk on host node-2, \/var full in \d+ h( \d+ m)? ± \d+ (m|h)/);
    assert.equal(first.source, 'predictive');
    assert.ok(first.fingerprint.length === 16);
    const resolved = alerts.filter((a) => a.status === 'resolved');
    assert.equal(resolved.length, 1);
    assert.equal(resolved[0]!.fingerprint, first.fingerprint);
    assert.match(resolved[0]!.annotations['resolved_reason']!, /stopped rising|step|no longer crosses/);
    assert.ok(at[at.length - 1]! > 100, 'resolves after the fill stopped');
    assert.deepEqual(p.firing(), []);
  });

  it('a forecast within critical_within resolves the warning and fires a critical alert', () => {
    const p = new Predictor(cfg, 'default');
    const { t, v } = series(200, (i) => 0.5 + 0.004 * i, 0.0005); // full at i = 125
    const alerts: Alert[] = [];
    for (let end = 30; end <= 120; end++) p.observe(disk, labels, t.subarray(end - 30, end), v.subarray(end - 30, end), 1, t[end - 1]!, alerts);
    const kinds = alerts.map((a) => `${a.status}:${a.labels['severity']}`);
    assert.deepEqual(kinds.slice(0, 3), ['firing:warning', 'resolved:warning', 'firing:critical']);
  });

  it('a "free" metric (bytes available, from node_exporter) runs out as its used share fills', () => {
    const p = new Predictor(cfg, 'default');
    const fs = cfg.targets.find((t) => t.name === 'filesystem_full')!;
    assert.equal(fs.free, true);
    const size = 100e9;
    const { t, v } = series(40, (i) => 50e9 - 0.4e9 * i, 1e6); // 400 MB a minute gone: empty in ~125 min
    const out: Alert[] = [];
    for (let end = 30; end <= 40; end++) p.observe(fs, { __name__: 'node_filesystem_avail_bytes', host: 'h', mountpoint: '/var' }, t.subarray(end - 30, end), v.subarray(end - 30, end), size, t[end - 1]!, out);
    assert.equal(out[0]!.labels['alertname'], 'PredictedDiskFull');
    const inMs = Date.parse(out[0]!.annotations['predicted_full_at']!) - t[30]!;
    assert.ok(Math.abs(inMs - 95 * MIN) < 10 * MIN, `full in ${Math.round(inMs / MIN)} min`);
    assert.equal(out[0]!.annotations['level_ratio']!.slice(0, 3), '0.6');
  });

  it('a series that stops reporting resolves its alert', () => {
    const p = new Predictor(cfg, 'default');
    const { t, v } = series(40, (i) => 0.5 + 0.004 * i, 0.0005);
    const out: Alert[] = [];
    for (let end = 30; end <= 33; end++) p.observe(disk, labels, t.subarray(end - 30, end), v.subarray(end - 30, end), 1, t[end - 1]!, out);
    assert.equal(out.filter((a) => a.status === 'firing').length, 1);
    const gone: Alert[] = [];
    p.forgetExcept(disk, new Set(), t[39]!, gone);
    assert.equal(gone[0]!.status, 'resolved');
    assert.equal(gone[0]!.annotations['resolved_reason'], 'the series stopped reporting');
  });
});
