import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { canonicalLabelKey } from '../../../shared-schemas/src/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';
import { labelsFromKey, normalizeSeriesLabels } from './labels.js';

const limits = { maxLabels: 64, maxLabelNameLength: 128, maxLabelValueLength: 2048 };

describe('series labels', () => {
  it('the series key is canonicalLabelKey of the normalized labels and round-trips', () => {
    const name = fc.oneof(fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('__proto__', 'a', 'B', '\u{1F600}', '\uE000', 'é', 'constructor'));
    fc.assert(
      fc.property(fc.dictionary(name, fc.string({ maxLength: 5 }), { maxKeys: 8 }), fc.string({ minLength: 1, maxLength: 5 }), (extra, metric) => {
        const labels: Labels = { ...extra, __name__: metric };
        const n = normalizeSeriesLabels(labels, limits);
        if (typeof n === 'string') return !n.includes('__name__') ? /Unicode/.test(n) : false;
        const expected: Labels = {};
        for (const [k, v] of Object.entries(labels)) if (v !== '') Object.defineProperty(expected, k, { value: v, enumerable: true });
        assert.equal(n.key, canonicalLabelKey(expected));
        assert.deepEqual(labelsFromKey(n.key), { ...expected });
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('orders names by code point, not UTF-16 unit, when a name holds a surrogate pair', () => {
    const n = normalizeSeriesLabels({ __name__: 'm', '\u{1F600}': '1', '\uE000': '2' }, limits);
    assert.ok(typeof n !== 'string');
    assert.deepEqual(JSON.parse(n.key), ['__name__', 'm', '\uE000', '2', '\u{1F600}', '1']);
  });
});
