import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { runBaseline } from './baselines.js';
import type { RcaCase } from './frame.js';

const T = (i: number): number => 1_000_000 + i * 10_000;

function frame(cols: Record<string, number[]>, detectRow: number): RcaCase {
  const n = Object.values(cols)[0]!.length;
  return {
    frame: {
      timesMs: Float64Array.from({ length: n }, (_, i) => T(i)),
      series: Object.entries(cols).map(([k, v]) => ({ entity: k.split('_')[0]!, metric: k.split('_')[1]!, values: Float64Array.from(v) })),
    },
    detectedAtMs: T(detectRow),
  };
}

describe('published baselines', () => {
  it('BARO: robust scaling fitted before the anomaly time, the largest scaled value after it', () => {
    // a: normal 1,2,3,4 (median 2.5, IQR 1.5), then 7 -> (7 - 2.5) / 1.5 = 3.
    // b: normal 10,10,10,10 (IQR 0 -> scale 1), then 12 -> 2.
    // c: normal 0,0,0,100 (median 0, IQR 25), then 50 -> 2; a fall is not scored (largest, not absolute).
    const c = frame({ a_cpu: [1, 2, 3, 4, 7], b_cpu: [10, 10, 10, 10, 12], c_mem: [0, 0, 0, 100, 50] }, 4);
    const r = runBaseline('baro', c, 60_000);
    assert.deepEqual(r.metrics.map((m) => [m.entity, m.metric, Number(m.score.toFixed(6))]), [
      ['a', 'cpu', 3],
      ['b', 'cpu', 2],
      ['c', 'mem', 2],
    ]);
    assert.deepEqual(r.causes.map((x) => x.entity), ['a', 'b', 'c']);
    assert.equal(r.method, 'baro');
  });

  it('NSigma: the same with the mean and standard deviation', () => {
    // a: normal 1,2,3,4 (mean 2.5, population std sqrt(1.25)), then 7.
    const c = frame({ a_cpu: [1, 2, 3, 4, 7], b_cpu: [5, 5, 5, 5, 4] }, 4);
    const r = runBaseline('nsigma', c, 60_000);
    assert.ok(Math.abs(r.metrics[0]!.score - 4.5 / Math.sqrt(1.25)) < 1e-9);
    assert.equal(r.metrics[1]!.score, -1, 'a fall scores negative and ranks last');
  });

  it('reads nothing after detection + after, and skips series without data on either side', () => {
    const c = frame({ a_cpu: [1, 2, 3, 4, 5, 1000], b_cpu: [NaN, NaN, NaN, NaN, 9, 9] }, 4);
    const r = runBaseline('baro', c, 10_000);
    assert.equal(r.metrics.length, 1);
    assert.ok(r.metrics[0]!.score < 10, 'the 1000 after the window is not seen');
  });
});
