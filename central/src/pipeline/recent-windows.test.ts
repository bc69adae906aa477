// RecentWindows: which series-windows are stored, exact within 64 windows of a series' newest,
// never claiming a window it did not see.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RecentWindows } from './recent-windows.js';

const STEP = 10_000;

describe('RecentWindows', () => {
  it('knows the windows added, in and out of order, per series', () => {
    const r = new RecentWindows();
    for (const w of [0, 1, 2, 4, 3, 7]) r.add('a', w * STEP, (w + 1) * STEP);
    for (const w of [0, 1, 2, 3, 4, 7]) assert.equal(r.has('a', w * STEP), true, `window ${w}`);
    for (const w of [5, 6, 8, -1]) assert.equal(r.has('a', w * STEP), false, `window ${w}`);
    assert.equal(r.has('b', 0), false, 'another series');
    assert.equal(r.has('a', 1234), false, 'off the grid');
    assert.equal(r.size, 1);
  });

  it('says "not known" (false) beyond 64 windows back, and after the window length changed', () => {
    const r = new RecentWindows();
    for (let w = 0; w <= 100; w++) r.add('a', w * STEP, (w + 1) * STEP);
    assert.equal(r.has('a', 37 * STEP), true, '63 back');
    assert.equal(r.has('a', 36 * STEP), false, '64 back: not known');
    r.add('a', 101 * STEP, 101 * STEP + 60_000);
    assert.equal(r.has('a', 101 * STEP), true);
    assert.equal(r.has('a', 100 * STEP), false, 'the old grid is forgotten');
    r.add('a', 101 * STEP + 60_000 * 200, 101 * STEP + 60_000 * 201);
    assert.equal(r.has('a', 101 * STEP), false, 'a jump of more than 64 windows starts afresh');
  });

  it('ignores windows without a length and forgets series by key', () => {
    const r = new RecentWindows();
    r.add('a', 0, 0);
    r.add('b', NaN, 10);
    assert.equal(r.size, 0);
    r.add('a', 0, STEP);
    r.add('b', 0, STEP);
    assert.equal(r.forget((k) => k === 'a'), 1);
    assert.deepEqual([r.has('a', 0), r.has('b', 0)], [false, true]);
  });

  it('agrees with the exact set of added windows within 64 windows of the newest (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 400 }), fc.array(fc.integer({ min: -5, max: 310 }), { maxLength: 100 }), (adds, probes) => {
        const r = new RecentWindows();
        const seen = new Set<number>();
        for (const w of adds) {
          r.add('s', w * STEP, (w + 1) * STEP);
          seen.add(w);
        }
        const newest = Math.max(...seen);
        for (const w of [...probes, ...adds]) {
          const got = r.has('s', w * STEP);
          if (w > newest - 64 && w <= newest) assert.equal(got, seen.has(w), `window ${w} (newest ${newest})`);
          else assert.equal(got, false, `window ${w} is beyond what is known (newest ${newest})`);
        }
      }),
      { numRuns: 500 },
    );
  });
});
