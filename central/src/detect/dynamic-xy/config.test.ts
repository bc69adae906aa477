// The `detection:` configuration: defaults, durations, and field errors naming path and value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDetectionConfig, DEFAULT_DETECTION_CONFIG, DetectionConfigError, detectionConfigSchema, validateDetectionConfig } from './index.js';

function problems(raw: unknown): string {
  try {
    validateDetectionConfig(raw);
  } catch (e) {
    assert.ok(e instanceof DetectionConfigError, String(e));
    assert.equal(e.code, 'INVALID_CONFIG');
    assert.equal(e.retryable, false);
    return e.message;
  }
  assert.fail('expected the config to be refused');
}

describe('detection config', () => {
  it('has documented defaults', () => {
    const c = DEFAULT_DETECTION_CONFIG;
    assert.equal(c.x, 3);
    assert.equal(c.y, 5);
    assert.deepEqual(c.trigger_flags, ['anomaly', 'band_breach', 'level_shift']);
    assert.deepEqual(c.learn, { enabled: true, min_history: 360, min_flaps: 5, history_flaps: 16, suppress: 0.9, loosen: false, x: { min: 2, max: 8 }, y: { min: 2, max: 32 } });
    assert.equal(c.resolve_after, undefined);
    assert.equal(c.max_series, 1_000_000);
    assert.equal(c.idle_timeout, 15 * 60_000);
    assert.equal(c.alertname, 'MetricAnomaly');
    assert.deepEqual(c.severity, { default: 'warning', rules: [] });
    assert.deepEqual(validateDetectionConfig(undefined), c);
  });

  it('parses durations, partial sections, and is idempotent on its own output (the live update path)', () => {
    const c = validateDetectionConfig({ idle_timeout: '1h30m', learn: { suppress: 0.8 }, resolve_after: 12 });
    assert.equal(c.idle_timeout, 90 * 60_000);
    assert.equal(c.learn.suppress, 0.8);
    assert.equal(c.learn.min_flaps, 5);
    assert.equal(c.resolve_after, 12);
    assert.deepEqual(validateDetectionConfig(c), c);
    assert.deepEqual(detectionConfigSchema.parse({}), DEFAULT_DETECTION_CONFIG);
  });

  it('names every bad field with its path and value', () => {
    const m = problems({
      x: 0,
      y: 40,
      trigger_flags: ['flappy'],
      learn: { suppress: 1.5, x: { min: 6, max: 4 }, typo: true },
      idle_timeout: 'soon',
      severity: { rules: [{ severity: 'page', metric: '(' }] },
      alertname: '',
    });
    for (const needle of [
      'detection.x Too small: expected number to be >=1 (got 0)',
      'detection.y Too big: expected number to be <=32 (got 40)',
      'detection.trigger_flags.0 Invalid option',
      'detection.learn.suppress Too big: expected number to be <=1 (got 1.5)',
      'detection.learn.x.min must be <= max 4 (got 6)',
      'detection.learn has unknown key(s) "typo"',
      'detection.idle_timeout must be a duration like "500ms", "10s", "5m" (got "soon")',
      'detection.severity.rules.0.severity Invalid option',
      'detection.severity.rules.0.metric is not a valid regular expression',
      'detection.alertname Too small',
    ]) {
      assert.ok(m.includes(needle), `missing ${JSON.stringify(needle)} in:\n${m}`);
    }
  });

  it('checks fields against each other', () => {
    assert.match(problems({ x: 6 }), /detection\.x must be <= y 5 \(got 6\)/);
    assert.match(problems({ learn: { x: { min: 9, max: 9 }, y: { min: 2, max: 8 } } }), /detection\.learn\.x\.min must be <= learn\.y\.max 8 \(got 9\)/);
  });

  it('refuses unknown keys and non-objects; checkDetectionConfig returns the issues for an API answer', () => {
    assert.match(problems({ z: 1 }), /detection has unknown key\(s\) "z"/);
    assert.match(problems([1]), /detection Invalid input: expected object/);
    const r = checkDetectionConfig({ max_series: -1 }, 'body');
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.issues, [{ path: 'body.max_series', message: 'Too small: expected number to be >=1 (got -1)' }]);
  });
});
