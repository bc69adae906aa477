import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng, hashSeed } from './rng.js';

describe('Rng', () => {
  it('is reproducible per seed and differs across seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 100 }, () => a.uniform());
    assert.deepEqual(xa, Array.from({ length: 100 }, () => b.uniform()));
    assert.notDeepEqual(xa, Array.from({ length: 100 }, () => c.uniform()));
  });

  it('forks independent named streams that do not depend on draws from the parent', () => {
    const a = new Rng(7);
    const f1 = a.fork('noise').uniform();
    a.uniform();
    a.uniform();
    assert.equal(a.fork('noise').uniform(), f1);
    assert.notEqual(a.fork('other').uniform(), f1);
    assert.notEqual(hashSeed(1, 'x'), hashSeed(2, 'x'));
  });

  it('draws in the documented ranges with plausible moments', () => {
    const r = new Rng(1);
    let sum = 0;
    let sq = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const z = r.normal();
      sum += z;
      sq += z * z;
      const k = r.int(3, 5);
      assert.ok(k >= 3 && k <= 5 && Number.isInteger(k));
      const u = r.between(-2, 2);
      assert.ok(u >= -2 && u < 2);
    }
    assert.ok(Math.abs(sum / n) < 0.05, `mean ${sum / n}`);
    assert.ok(Math.abs(sq / n - 1) < 0.05, `variance ${sq / n}`);
    assert.deepEqual(r.shuffle([1, 2, 3, 4]).sort(), [1, 2, 3, 4]);
    assert.throws(() => r.pick([]), RangeError);
    assert.throws(() => new Rng(-1), RangeError);
  });
});
