import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { alertFingerprint, canonicalLabelKey, compareCodePoints, freezeLabels, labelsEqual } from './labels.js';
import { anyText, fcOptions, labels } from './testing/arbitraries.js';

describe('labels', () => {
  it('fingerprints match prometheus/common model/signature_test.go', () => {
    // Expected values are the uint64 fingerprints from the Go tests, in hex.
    assert.equal(alertFingerprint({}), (14695981039346656037n).toString(16));
    assert.equal(alertFingerprint({ name: 'garland, briggs', fear: 'love is not enough' }), (5799056148416392346n).toString(16));
    assert.equal(alertFingerprint({ 'first-label': 'first-label-value' }), (5146282821936882169n).toString(16));
    assert.equal(alertFingerprint({ 'first-label': 'first-label-value', 'second-label': 'second-label-value' }), (3195800080984914717n).toString(16).padStart(16, '0'));
    assert.equal(
      alertFingerprint({ 'first-label': 'first-label-value', 'second-label': 'second-label-value', 'third-label': 'third-label-value' }),
      (13843036195897128121n).toString(16),
    );
    assert.match(alertFingerprint({ a: 'ü' }), /^[0-9a-f]{16}$/);
  });

  it('orders names by code point, like Go sorts UTF-8 strings', () => {
    fc.assert(
      fc.property(anyText(6), anyText(6), (a, b) => {
        const expected = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
        assert.equal(Math.sign(compareCodePoints(a, b)), expected);
      }),
      fcOptions(2000),
    );
    assert.ok(compareCodePoints('\u{1F600}', '\uFFFF') > 0, 'astral after U+FFFF');
  });

  it('canonical keys ignore insertion order and distinguish different sets', () => {
    fc.assert(
      fc.property(labels(5), labels(5), (a, b) => {
        const reversed = Object.fromEntries(Object.entries(a).reverse());
        assert.equal(canonicalLabelKey(reversed), canonicalLabelKey(a));
        assert.equal(canonicalLabelKey(a) === canonicalLabelKey(b), labelsEqual(a, b));
      }),
      fcOptions(1000),
    );
    assert.notEqual(canonicalLabelKey({ a: 'b,c' }), canonicalLabelKey({ 'a,b': 'c' }));
    assert.notEqual(canonicalLabelKey({ a: '' }), canonicalLabelKey({}));
  });

  it('freezeLabels copies in canonical order', () => {
    const f = freezeLabels({ b: '2', a: '1' });
    assert.deepEqual(Object.keys(f), ['a', 'b']);
    assert.ok(Object.isFrozen(f));
  });
});
