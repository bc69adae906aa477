// The Dynamic X-Y detector: persistence (X of Y), dedup and resolve, learning per series,
// bounded state, out-of-order and duplicate windows, evidence, live configuration, delivery.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { alertFingerprint, FeatureFlags } from '../../../../shared-schemas/src/index.js';
import type { Labels } from '../../../../shared-schemas/src/index.js';
import { DetectionConfigError, DynamicXyDetector, DynamicXyError, dynamicXyFactory, validateDetectionConfig } from './index.js';
import type { DetectionConfigInput } from './index.js';
import { CPU, feed, frame, ManualClock, metricValue, RecordingAlerts, row, T0, testSettings, WINDOW_MS } from './testdata/helpers.js';

function setup(config: DetectionConfigInput = {}, clock = new ManualClock()) {
  const settings = testSettings('alerts/dynamic-xy', clock);
  const sink = new RecordingAlerts();
  const det = new DynamicXyDetector(settings, validateDetectionConfig(config), sink);
  return { settings, sink, det, clock };
}

const series = (i: number): Labels => ({ __name__: 'http_latency_p95', host: `web-${i}`, service: 'cart' });
const clean = (n: number): string => '.'.repeat(n);

describe('DynamicXyDetector lifecycle', () => {
  it('shuts down without start, twice, and refuses frames afterwards', async () => {
    const { det } = setup();
    await det.shutdown();
    await det.shutdown();
    await assert.rejects(det.consumeFrame(frame(0, [{ labels: CPU, row: row(true) }])), (e: unknown) => e instanceof DynamicXyError && e.code === 'SHUT_DOWN');
  });

  it('start arms the idle sweep, shutdown stops it; the factory builds the component', async () => {
    const clock = new ManualClock();
    const settings = testSettings('alerts/dynamic-xy', clock);
    const sink = new RecordingAlerts();
    assert.equal(dynamicXyFactory.type, 'dynamic-xy');
    const det = dynamicXyFactory.create(settings, dynamicXyFactory.configSchema.parse({}), sink);
    await det.start();
    assert.equal(clock.intervals.size, 1);
    await feed(det, CPU, 'xxx');
    assert.equal(sink.firing().length, 1);
    await det.shutdown();
    assert.equal(clock.intervals.size, 0);
  });
});

describe('persistence: X of the last Y windows', () => {
  it('never fires on a single isolated flag, and counts each suppressed flap episode', async () => {
    const { det, sink, settings } = setup();
    await feed(det, CPU, `....x${clean(40)}x${clean(40)}`);
    assert.equal(sink.alerts.length, 0);
    assert.equal(await metricValue(settings, 'aiops_central_detection_candidates_total'), 2);
    assert.equal(await metricValue(settings, 'aiops_central_detection_flaps_suppressed_total'), 2, 'two episodes ended (32 clean windows each) without an alert');
  });

  it('does not fire on 3 flags spread over more than 5 windows', async () => {
    const { det, sink } = setup();
    await feed(det, CPU, `..x..x..x${clean(10)}`);
    assert.equal(sink.alerts.length, 0);
  });

  it('fires once when 3 of the last 5 windows are flagged, starting at the first flagged window', async () => {
    const { det, sink, settings } = setup();
    await feed(det, CPU, '..x.x.x');
    const fired = sink.firing();
    assert.equal(fired.length, 1);
    assert.equal(fired[0]!.startsAtMs, T0 + 2 * WINDOW_MS, 'startsAt = the oldest flagged window counted');
    assert.equal(fired[0]!.endsAtMs, 0);
    assert.equal(await metricValue(settings, 'aiops_central_detection_alerts_fired_total'), 1);
  });

  it('deduplicates: nothing more while it stays firing', async () => {
    const { det, sink } = setup();
    await feed(det, CPU, 'xxxxxxxxxx.x.xxx..xxxx');
    assert.equal(sink.alerts.length, 1);
    assert.equal(det.stats().firing, 1);
  });

  it('resolves after Y clean windows (resolve_after unset), with the same fingerprint; then refires as a new episode', async () => {
    const { det, sink, settings } = setup();
    let w = await feed(det, CPU, 'xxx');
    w = await feed(det, CPU, '....', w);
    assert.equal(sink.resolved().length, 0, 'four clean windows: still firing');
    w = await feed(det, CPU, '.', w);
    const [firing, resolved] = sink.alerts;
    assert.equal(resolved?.status, 'resolved');
    assert.equal(resolved!.fingerprint, firing!.fingerprint);
    assert.deepEqual(resolved!.labels, firing!.labels);
    assert.equal(resolved!.startsAtMs, T0);
    assert.equal(resolved!.endsAtMs, T0 + 3 * WINDOW_MS, 'endsAt = end of the last flagged window');
    assert.equal(resolved!.annotations['resolved_reason'], 'clear');
    assert.equal(await metricValue(settings, 'aiops_central_detection_alerts_resolved_total', { reason: 'clear' }), 1);

    await feed(det, CPU, '..xxx', w);
    const refired = sink.alerts[2]!;
    assert.equal(refired.status, 'firing');
    assert.equal(refired.fingerprint, firing!.fingerprint);
    assert.equal(refired.startsAtMs, T0 + (w + 2) * WINDOW_MS, 'the new episode starts at its own first flag');
    assert.equal(sink.alerts.length, 3);
  });

  it('resolve_after sets the clean windows needed; a flag in between restarts the count', async () => {
    const { det, sink } = setup({ resolve_after: 2 });
    await feed(det, CPU, 'xxx.x.x..');
    assert.deepEqual(sink.alerts.map((a) => a.status), ['firing', 'resolved']);
    assert.equal(sink.resolved()[0]!.endsAtMs, T0 + 7 * WINDOW_MS);
  });

  it('counts windows a series skipped as clean', async () => {
    const a = setup();
    await feed(a.det, CPU, 'xx_x');
    assert.equal(a.sink.firing().length, 1, 'x x (skipped) x: 3 of the last 5');
    const b = setup();
    await feed(b.det, CPU, 'xx____x');
    assert.equal(b.sink.alerts.length, 0, 'the skipped windows pushed the first flags out of the last 5');
    const c = setup();
    await feed(c.det, CPU, `xxx${'_'.repeat(500)}x`);
    assert.deepEqual(c.sink.alerts.map((x) => x.status), ['firing', 'resolved'], 'a long silence resolves when the series comes back');
  });

  it('ignores windows flagged only while warming up, or with flags outside trigger_flags', async () => {
    const { det, sink } = setup({ trigger_flags: ['anomaly'] });
    for (let w = 0; w < 5; w++) await det.consumeFrame(frame(w, [{ labels: CPU, row: row(true, { flags: FeatureFlags.ANOMALY | FeatureFlags.WARMING_UP }) }]));
    for (let w = 5; w < 10; w++) await det.consumeFrame(frame(w, [{ labels: CPU, row: row(true, { flags: FeatureFlags.BAND_BREACH | FeatureFlags.GAP }) }]));
    assert.equal(sink.alerts.length, 0);
    for (let w = 10; w < 13; w++) await det.consumeFrame(frame(w, [{ labels: CPU, row: row(true, { flags: FeatureFlags.ANOMALY }) }]));
    assert.equal(sink.alerts.length, 1);
  });
});

describe('out-of-order and duplicate windows', () => {
  it('ignores windows not newer than the last one seen for the series, and counts them', async () => {
    const { det, sink, settings } = setup();
    await feed(det, CPU, 'x.x');
    // A resend after a reconnect (same windows), and a late frame from another agent.
    await det.consumeFrame(frame(2, [{ labels: CPU, row: row(true) }], { sequence: 3 }));
    await det.consumeFrame(frame(1, [{ labels: CPU, row: row(true) }], { agentId: 'agent-2', sequence: 9 }));
    assert.equal(sink.alerts.length, 0, 'the stale windows did not count as flags');
    assert.equal(await metricValue(settings, 'aiops_central_detection_windows_stale_total'), 2);
    await feed(det, CPU, 'x', 3);
    assert.equal(sink.firing().length, 1, 'x . x x = 3 of 5');
    await feed(det, CPU, 'x', 3);
    await feed(det, CPU, 'x', 4);
    assert.equal(sink.alerts.length, 1, 'a resent firing window does not fire twice');
    assert.equal(det.seriesInfo('acme', CPU)!.lastWindowStartMs, T0 + 4 * WINDOW_MS);
  });

  it('keeps the same label set of different tenants apart', async () => {
    const { det, sink } = setup();
    await feed(det, CPU, 'xx', 0, { tenant: 'a' });
    await feed(det, CPU, 'x', 2, { tenant: 'b' });
    assert.equal(sink.alerts.length, 0);
    await feed(det, CPU, 'x', 2, { tenant: 'a' });
    assert.equal(sink.alerts.length, 1);
    assert.equal(sink.alerts[0]!.tenant, 'a');
    assert.equal(sink.alerts[0]!.labels['tenant'], 'a');
    assert.equal(det.stats().series, 2);
  });
});

describe('evidence on the alert', () => {
  it('carries host, service, k8s identity, tenant, severity, the values, the band and the scores', async () => {
    const { det, sink } = setup({ severity: { default: 'info', rules: [{ severity: 'critical', metric: 'node_cpu_.*', labels: { service: 'check.*' } }] }, alertname: 'SeriesAnomaly' });
    await feed(det, CPU, 'x.x');
    await det.consumeFrame(frame(3, [{ labels: CPU, row: row(true, { last: 97.5, mean: 91.25, min: 80, max: 99, p95: 98, tier1MaxScore: 0.75, bandLower: 10, bandUpper: 60 }) }]));
    const a = sink.firing()[0]!;
    assert.deepEqual(a.labels, {
      alertname: 'SeriesAnomaly',
      metric: 'node_cpu_utilisation',
      host: 'web-1',
      service: 'checkout',
      k8s_namespace: 'shop',
      k8s_pod: 'checkout-7d9',
      namespace: 'shop',
      pod: 'checkout-7d9',
      tenant: 'acme',
      severity: 'critical',
    });
    assert.equal(a.fingerprint, alertFingerprint(a.labels));
    assert.equal(a.source, 'dynamic-xy');
    assert.equal(a.tenant, 'acme');
    const ann = a.annotations;
    assert.equal(ann['value_last'], '97.5');
    assert.equal(ann['value_mean'], '91.25');
    assert.equal(ann['value_min'], '80');
    assert.equal(ann['value_max'], '99');
    assert.equal(ann['value_p95'], '98');
    assert.equal(ann['band_lower'], '10');
    assert.equal(ann['band_upper'], '60');
    assert.equal(ann['tier1_max_score'], '0.75');
    assert.equal(ann['tier1_peak_score'], '0.9', 'the highest score of the episode');
    assert.equal(ann['x'], '3');
    assert.equal(ann['y'], '5');
    assert.equal(ann['xy_source'], 'config');
    assert.equal(ann['flagged_windows'], '3');
    assert.equal(ann['flags'], 'anomaly,band_breach');
    assert.equal(ann['window_start'], new Date(T0).toISOString());
    assert.equal(ann['window_end'], new Date(T0 + 4 * WINDOW_MS).toISOString());
    assert.match(ann['summary']!, /node_cpu_utilisation anomalous on host web-1, service checkout: 3 of the last 5 windows flagged/);
    assert.match(ann['description']!, /Last value 97\.5, expected band \[10, 60\], Tier-1 score 0\.75/);
  });

  it('keeps a series label that collides with its own as exported_<name>; the default severity applies without a matching rule', async () => {
    const { det, sink } = setup({ severity: { rules: [{ severity: 'critical', metric: 'other' }] } });
    const labels = { __name__: 'queue_depth', host: 'q-1', severity: 'low', alertname: 'Mine' };
    await feed(det, labels, 'xxx');
    const a = sink.firing()[0]!;
    assert.equal(a.labels['severity'], 'warning');
    assert.equal(a.labels['exported_severity'], 'low');
    assert.equal(a.labels['alertname'], 'MetricAnomaly');
    assert.equal(a.labels['exported_alertname'], 'Mine');
    assert.equal(a.labels['service'], undefined);
    assert.equal(a.labels['__name__'], undefined);
  });
});

describe('learning X and Y per series', () => {
  const learnCfg: DetectionConfigInput = { learn: { min_history: 50, min_flaps: 5 } };
  // A flap: 3 flagged windows in a row, then quiet long enough (40 > 32) to end the episode.
  const flap = `xxx${clean(40)}`;

  it('learns a stricter rule from a history of short flaps: they stop firing, a sustained anomaly still fires', async () => {
    const { det, sink, settings } = setup(learnCfg);
    let w = await feed(det, CPU, flap.repeat(5));
    assert.equal(sink.firing().length, 5, 'with the configured 3 of 5 every flap fired');
    const info = det.seriesInfo('acme', CPU)!;
    assert.deepEqual({ x: info.x, y: info.y, learnt: info.learnt, episodes: info.episodes }, { x: 4, y: 6, learnt: true, episodes: 5 }, 'smallest X no flap reached, Y = floor(X / 0.6): never sparser than the configured 3 of 5');
    assert.equal(await metricValue(settings, 'aiops_central_detection_series_learnt'), 1);

    w = await feed(det, CPU, flap.repeat(5), w);
    assert.equal(sink.firing().length, 5, 'the next 5 flaps were suppressed by the learnt 4 of 6');
    assert.equal(await metricValue(settings, 'aiops_central_detection_flaps_suppressed_total'), 5);

    await feed(det, CPU, 'xxxxxxxxxx', w);
    const sustained = sink.firing()[5];
    assert.ok(sustained, 'a sustained anomaly still fires');
    assert.equal(sustained.startsAtMs, T0 + w * WINDOW_MS);
    assert.equal(sustained.annotations['xy_source'], 'learnt');
    assert.equal(sustained.annotations['x'], '4');
    assert.equal(sustained.annotations['y'], '6');
    assert.equal(sustained.annotations['flagged_windows'], '4', 'fired at the 4th flagged window');
  });

  it('the same flaps keep firing with learning off (control)', async () => {
    const { det, sink } = setup({ learn: { enabled: false } });
    await feed(det, CPU, flap.repeat(10));
    assert.equal(sink.firing().length, 10);
    assert.equal(det.seriesInfo('acme', CPU)!.learnt, false);
  });

  it('uses the configured x and y without enough history: too few flaps, or too few windows', async () => {
    const few = setup(learnCfg);
    await feed(few.det, CPU, flap.repeat(4));
    assert.deepEqual(pick(few.det.seriesInfo('acme', CPU)!), { x: 3, y: 5, learnt: false });
    const short = setup({ learn: { min_history: 100_000, min_flaps: 5 } });
    await feed(short.det, CPU, flap.repeat(8));
    assert.deepEqual(pick(short.det.seriesInfo('acme', CPU)!), { x: 3, y: 5, learnt: false });
    const quiet = setup(learnCfg);
    await feed(quiet.det, CPU, clean(500));
    assert.deepEqual(pick(quiet.det.seriesInfo('acme', CPU)!), { x: 3, y: 5, learnt: false });
  });

  it('leaves persistent episodes (a run of learn.x.max flags) out of the flaps it learns from', async () => {
    const { det } = setup(learnCfg);
    const sustained = `${'x'.repeat(12)}${clean(40)}`;
    await feed(det, CPU, (flap + sustained).repeat(3) + flap.repeat(2));
    const info = det.seriesInfo('acme', CPU)!;
    assert.equal(info.episodes, 8);
    assert.deepEqual(pick(info), { x: 4, y: 6, learnt: true }, 'learnt from the 5 flaps; the 3 long episodes would fire under any admissible rule');
  });

  it('never loosens the configured rule unless learn.loosen: single-window flaps then learn 2 of 3', async () => {
    const singles = `x${clean(40)}`.repeat(6);
    const kept = setup(learnCfg);
    await feed(kept.det, CPU, singles);
    assert.deepEqual(pick(kept.det.seriesInfo('acme', CPU)!), { x: 3, y: 5, learnt: true }, 'the history confirms the configured rule');

    const { det, sink } = setup({ learn: { min_history: 50, min_flaps: 5, loosen: true } });
    let w = await feed(det, CPU, singles);
    assert.deepEqual(pick(det.seriesInfo('acme', CPU)!), { x: 2, y: 3, learnt: true });
    w = await feed(det, CPU, `x${clean(40)}`.repeat(3), w);
    assert.equal(sink.alerts.length, 0, 'isolated flags never fire (learn.x.min = 2)');
    await feed(det, CPU, 'x.x', w);
    assert.equal(sink.firing().length, 1, '2 of 3 fires');
  });

  it('respects the suppression target (a distribution-free bound on the share of new flaps that fire)', async () => {
    // Four flaps of 2 flags, two of 4. suppress 0.5 over 6 flaps lets 2 of them fire: 3 of 5.
    const history = `${`xx${clean(40)}`.repeat(4)}${`xxxx${clean(40)}`.repeat(2)}`;
    const lax = setup({ learn: { min_history: 50, min_flaps: 4, suppress: 0.5 } });
    await feed(lax.det, CPU, history);
    assert.deepEqual(pick(lax.det.seriesInfo('acme', CPU)!), { x: 3, y: 5, learnt: true });
    const strict = setup({ learn: { min_history: 50, min_flaps: 4, suppress: 1 } });
    await feed(strict.det, CPU, history);
    assert.deepEqual(pick(strict.det.seriesInfo('acme', CPU)!), { x: 5, y: 8, learnt: true }, 'no remembered flap may fire');
  });

  it('learns from endless flapping too (episodes are cut at 128 windows)', async () => {
    const { det, sink } = setup(learnCfg);
    // Two flags in every 6 windows, forever: never 32 clean windows in a row.
    await feed(det, CPU, 'xx....'.repeat(150));
    const info = det.seriesInfo('acme', CPU)!;
    assert.ok(info.episodes >= 5, `episodes ${info.episodes}`);
    assert.equal(info.learnt, true);
    assert.equal(sink.alerts.length, 0, 'xx.... never reaches 3 of 5');
  });

  it('prime() rebuilds flag history, learnt rules and firing state from stored history without emitting', async () => {
    const { det, sink } = setup(learnCfg);
    const pattern = `${flap.repeat(6)}xxxx`;
    const windows = [...pattern].map((ch, i) => ({ windowStartMs: T0 + i * WINDOW_MS, windowEndMs: T0 + (i + 1) * WINDOW_MS, row: row(ch === 'x') }));
    assert.equal(det.prime('acme', [{ labels: CPU, windows }]), pattern.length);
    assert.equal(sink.alerts.length, 0);
    const info = det.seriesInfo('acme', CPU)!;
    assert.deepEqual(pick(info), { x: 4, y: 6, learnt: true });
    assert.equal(info.firing, true, 'the primed series was firing when central stopped');
    await feed(det, CPU, clean(5), pattern.length);
    assert.equal(sink.alerts.length, 0);
    await feed(det, CPU, clean(1), pattern.length + 5);
    assert.deepEqual(sink.alerts.map((a) => a.status), ['resolved'], 'its resolve still comes');
    assert.equal(sink.alerts[0]!.startsAtMs, T0 + (pattern.length - 4) * WINDOW_MS);
  });
});

function pick(i: { x: number; y: number; learnt: boolean }): { x: number; y: number; learnt: boolean } {
  return { x: i.x, y: i.y, learnt: i.learnt };
}

describe('bounded state', () => {
  it('evicts the least recently seen series beyond max_series, counted, resolving its firing alert', async () => {
    const { det, sink, settings } = setup({ max_series: 3 });
    await feed(det, series(0), 'xxx');
    for (let i = 1; i <= 4; i++) await feed(det, series(i), '.', 3);
    assert.equal(det.stats().series, 3);
    assert.equal(await metricValue(settings, 'aiops_central_detection_series_evicted_total', { reason: 'capacity' }), 2);
    assert.equal(await metricValue(settings, 'aiops_central_detection_series'), 3);
    assert.deepEqual(sink.alerts.map((a) => [a.status, a.labels['host'], a.annotations['resolved_reason']]), [
      ['firing', 'web-0', undefined],
      ['resolved', 'web-0', 'evicted'],
    ]);
    assert.equal(det.seriesInfo('acme', series(1)), undefined, 'web-1 was the least recently seen');
    assert.ok(det.seriesInfo('acme', series(4)));
  });

  it('a touched series is no longer the least recently seen one', async () => {
    const { det } = setup({ max_series: 2 });
    await feed(det, series(0), '.', 0);
    await feed(det, series(1), '.', 0);
    await feed(det, series(0), '.', 1);
    await feed(det, series(2), '.', 1);
    assert.ok(det.seriesInfo('acme', series(0)));
    assert.equal(det.seriesInfo('acme', series(1)), undefined);
  });

  it('drops series idle for idle_timeout on the sweep timer, resolving their alerts', async () => {
    const clock = new ManualClock();
    const { det, sink, settings } = setup({ idle_timeout: '5m' }, clock);
    await det.start();
    await feed(det, series(0), 'xxx');
    clock.advance(2 * 60_000);
    await feed(det, series(1), '.');
    clock.advance(4 * 60_000);
    clock.runIntervals();
    await new Promise((r) => setImmediate(r));
    assert.equal(det.stats().series, 1);
    assert.equal(await metricValue(settings, 'aiops_central_detection_series_evicted_total', { reason: 'idle' }), 1);
    assert.deepEqual(sink.alerts.map((a) => [a.status, a.annotations['resolved_reason']]), [
      ['firing', undefined],
      ['resolved', 'idle'],
    ]);
    clock.advance(60 * 60_000);
    assert.equal(await det.sweep(), 1);
    assert.equal(det.stats().series, 0);
    await det.shutdown();
  });
});

describe('live configuration: update()', () => {
  it('applies new x and y to the next windows and keeps the history', async () => {
    const { det, sink } = setup();
    const w = await feed(det, CPU, 'xx');
    const applied = det.update({ x: 2, y: 2 });
    assert.equal(applied.x, 2);
    assert.equal(det.config.y, 2);
    assert.equal(sink.alerts.length, 0, 'a new rule alone fires nothing');
    await feed(det, CPU, 'x', w);
    assert.equal(sink.firing().length, 1);
    assert.equal(sink.firing()[0]!.annotations['x'], '2');
  });

  it('turning learning off brings back the configured rule; resizing the memory keeps what was learnt', async () => {
    const { det, settings } = setup({ learn: { min_history: 50, min_flaps: 5 } });
    await feed(det, CPU, `xxx${clean(40)}`.repeat(6));
    assert.equal(det.seriesInfo('acme', CPU)!.learnt, true);
    det.update({ learn: { min_history: 50, min_flaps: 5, history_flaps: 5 } });
    assert.deepEqual(pick(det.seriesInfo('acme', CPU)!), { x: 4, y: 6, learnt: true }, 'the newest 5 episodes kept');
    det.update({ learn: { enabled: false } });
    assert.deepEqual(pick(det.seriesInfo('acme', CPU)!), { x: 3, y: 5, learnt: false });
    assert.equal(await metricValue(settings, 'aiops_central_detection_series_learnt'), 0);
  });

  it('refuses a bad document with field errors and keeps the running configuration', async () => {
    const { det } = setup({ x: 2 });
    assert.throws(
      () => det.update({ x: 9, y: 4, learn: { suppress: 0 } } as DetectionConfigInput),
      (e: unknown) => e instanceof DetectionConfigError && e.code === 'INVALID_CONFIG' && /detection\.learn\.suppress/.test(e.message),
    );
    assert.equal(det.config.x, 2);
  });

  it('lowering max_series evicts at once and resolves what was firing', async () => {
    const { det, sink, settings } = setup();
    await feed(det, series(0), 'xxx');
    await feed(det, series(1), '...');
    await feed(det, series(2), '...');
    det.update({ max_series: 1 });
    await new Promise((r) => setImmediate(r));
    assert.equal(det.stats().series, 1);
    assert.equal(await metricValue(settings, 'aiops_central_detection_series_evicted_total', { reason: 'capacity' }), 2);
    assert.deepEqual(sink.alerts.map((a) => a.status), ['firing', 'resolved']);
  });
});

describe('delivery to the next stage', () => {
  it('keeps alerts while the next stage fails, rejects with a retryable error, and sends them in order later', async () => {
    const { det, sink, settings } = setup();
    sink.failWith = new Error('store busy');
    const w = await feed(det, CPU, 'xx');
    await assert.rejects(feed(det, CPU, 'x', w), (e: unknown) => e instanceof DynamicXyError && e.code === 'DELIVERY_FAILED' && e.retryable === true && /store busy/.test(e.message));
    assert.equal(det.stats().pending, 1);
    assert.equal(await metricValue(settings, 'aiops_central_detection_alerts_pending'), 1);
    sink.failWith = undefined;
    await feed(det, CPU, '.....', w + 1);
    assert.deepEqual(sink.alerts.map((a) => a.status), ['firing', 'resolved']);
    assert.equal(det.stats().pending, 0);
    assert.equal(await metricValue(settings, 'aiops_central_detection_delivery_failures_total'), 1);
  });

  it('drops the oldest pending alerts beyond max_pending, counted', async () => {
    const { det, sink, settings } = setup({ max_pending: 2 });
    sink.failWith = new Error('down');
    // Every frame tries to deliver what is pending (and fails): catch each one.
    for (let i = 0; i < 4; i++) for (let w = 0; w < 3; w++) await det.consumeFrame(frame(w, [{ labels: series(i), row: row(true) }])).catch(() => undefined);
    assert.equal(det.stats().pending, 2);
    assert.equal(await metricValue(settings, 'aiops_central_detection_alerts_dropped_total'), 2);
    sink.failWith = undefined;
    await det.shutdown();
    assert.deepEqual(sink.alerts.map((a) => a.labels['host']), ['web-2', 'web-3'], 'shutdown flushed what was left');
  });
});
