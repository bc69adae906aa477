import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { close, throwsEval } from './eval-assert.js';
import { detectionEventsFromGroundTruth, scoreDetection, type Detection, type DetectionEvent } from './index.js';
import type { GroundTruth } from '../model/index.js';

// Three scenario-wide events and seven detections (given unsorted on purpose):
//   E1 [100, 200]   <- 150, 160 (counts once, first 150: delay 50)
//   E2 [500, 600]   <- 590 (delay 90)
//   E3 [1000, 1100] <- nothing: missed
//   outside every window: 50, 300, 310, 1200
const EVENTS: DetectionEvent[] = [
  { id: 'E1', startMs: 100, endMs: 200 },
  { id: 'E2', startMs: 500, endMs: 600 },
  { id: 'E3', startMs: 1000, endMs: 1100 },
];
const DETECTIONS: Detection[] = [590, 150, 50, 1200, 310, 160, 300].map((atMs) => ({ atMs }));

describe('event-based detection scoring', () => {
  test('counts TP/FN/FP by hand: precision 1/3, recall 2/3, F1 4/9', () => {
    const s = scoreDetection(EVENTS, DETECTIONS);
    assert.equal(s.events, 3);
    assert.equal(s.detections, 7);
    assert.equal(s.detectedEvents, 2);
    assert.equal(s.missedEvents, 1);
    assert.equal(s.inWindowDetections, 3);
    assert.equal(s.outOfWindowDetections, 4);
    assert.equal(s.falsePositives, 4); // 50, 300, 310, 1200: no merging by default
    close(s.precision, 2 / 6, 'precision'); // TP / (TP + FP) = 2 / (2 + 4)
    close(s.recall, 2 / 3, 'recall');
    close(s.f1, 4 / 9, 'F1'); // 2*2 / (2*2 + 4 + 1); also 2PR/(P+R) = 2(1/3)(2/3)/1
    assert.deepEqual(
      s.perEvent.map((e) => [e.id, e.detected, e.detectionsInWindow, e.firstDetectionMs, e.delayMs]),
      [
        ['E1', true, 2, 150, 50],
        ['E2', true, 1, 590, 90],
        ['E3', false, 0, null, null],
      ],
    );
    // Delays [50, 90]: mean 70, median 70, p95 = 50 + 0.95 * 40 = 88 (type 7), max 90.
    assert.deepEqual({ ...s.delay }, { count: 2, mean: 70, median: 70, p95: 88, min: 50, max: 90 });
  });

  test('false alarms within falsePositiveMergeMs merge: 300 and 310 become one', () => {
    const s = scoreDetection(EVENTS, DETECTIONS, { falsePositiveMergeMs: 10 });
    assert.equal(s.falsePositives, 3); // 50, {300, 310}, 1200
    assert.equal(s.outOfWindowDetections, 4);
    close(s.precision, 2 / 5, 'precision');
    close(s.f1, 4 / 8, 'F1'); // 2*2 / (4 + 3 + 1)
    // 9 ms is not enough: the gap is 10.
    assert.equal(scoreDetection(EVENTS, DETECTIONS, { falsePositiveMergeMs: 9 }).falsePositives, 4);
  });

  test('early and late tolerance extend the windows; an early hit gives a negative delay', () => {
    // Windows become E1 [40, 300], E2 [440, 700], E3 [940, 1200].
    // E1 <- 50 (first, delay -50), 150, 160, 300; E2 <- 590 (90); E3 <- 1200 (200); FP: 310.
    const s = scoreDetection(EVENTS, DETECTIONS, { earlyToleranceMs: 60, lateToleranceMs: 100 });
    assert.equal(s.detectedEvents, 3);
    assert.equal(s.missedEvents, 0);
    assert.equal(s.falsePositives, 1);
    close(s.precision, 3 / 4, 'precision');
    assert.equal(s.recall, 1);
    close(s.f1, 6 / 7, 'F1'); // 2*3 / (6 + 1 + 0)
    assert.deepEqual(s.perEvent.map((e) => e.delayMs), [-50, 90, 200]);
    // Delays sorted [-50, 90, 200]: mean 80, median 90, p95: h = 1.9 -> 90 + 0.9 * 110 = 189.
    close(s.delay.mean, 80, 'mean');
    assert.equal(s.delay.median, 90);
    close(s.delay.p95, 189, 'p95', 1e-9);
    assert.equal(s.delay.max, 200);
  });

  test('window limits are inclusive', () => {
    const s = scoreDetection([{ startMs: 10, endMs: 20 }], [{ atMs: 10 }, { atMs: 20 }, { atMs: 20.5 }, { atMs: 9.5 }]);
    assert.equal(s.perEvent[0]!.detectionsInWindow, 2);
    assert.equal(s.falsePositives, 2);
    // A zero-length window [5, 5] is detected by a detection at 5.
    assert.equal(scoreDetection([{ startMs: 5, endMs: 5 }], [{ atMs: 5 }]).recall, 1);
  });

  test('series-scoped events match only their series; scenario-wide events match any series', () => {
    // a [10,20] <- a@15 (delay 5); b [10,20]: b@30 is outside -> missed, FP;
    // scenario-wide [100,110] <- c@105 and a@105 (first 105, delay 5); c@15: no c event -> FP.
    const s = scoreDetection(
      [
        { id: 'a', series: 'a', startMs: 10, endMs: 20 },
        { id: 'b', series: 'b', startMs: 10, endMs: 20 },
        { id: 'all', startMs: 100, endMs: 110 },
      ],
      [
        { series: 'a', atMs: 15 },
        { series: 'b', atMs: 30 },
        { series: 'c', atMs: 105 },
        { series: 'a', atMs: 105 },
        { series: 'c', atMs: 15 },
      ],
    );
    assert.deepEqual(s.perEvent.map((e) => [e.id, e.series, e.detected, e.detectionsInWindow, e.delayMs]), [
      ['a', 'a', true, 1, 5],
      ['b', 'b', false, 0, null],
      ['all', null, true, 2, 5],
    ]);
    assert.equal(s.falsePositives, 2);
    close(s.precision, 0.5, 'precision');
    close(s.f1, 4 / 7, 'F1'); // 2*2 / (4 + 2 + 1)
  });

  test('false alarms merge per series, never across series', () => {
    const s = scoreDetection(
      [{ series: 'x', startMs: 0, endMs: 1 }],
      [
        { series: 'a', atMs: 100 },
        { series: 'b', atMs: 101 },
        { series: 'a', atMs: 102 },
      ],
      { falsePositiveMergeMs: 5 },
    );
    assert.equal(s.falsePositives, 2); // a: {100, 102}; b: {101}
  });

  test('a detection inside overlapping windows detects both events and is no false positive', () => {
    const s = scoreDetection(
      [
        { startMs: 0, endMs: 10 },
        { startMs: 5, endMs: 15 },
      ],
      [{ atMs: 7 }],
    );
    assert.equal(s.detectedEvents, 2);
    assert.equal(s.falsePositives, 0);
    assert.deepEqual(s.perEvent.map((e) => e.delayMs), [7, 2]);
  });

  test('repeats of one timestamp outside every window are one false alarm', () => {
    const s = scoreDetection([{ startMs: 0, endMs: 1 }], [{ atMs: 50 }, { atMs: 50 }, { atMs: 50 }]);
    assert.equal(s.outOfWindowDetections, 3);
    assert.equal(s.falsePositives, 1);
  });

  test('edge cases: no events, no detections, nothing at all', () => {
    const none = scoreDetection([], []);
    assert.equal(none.events, 0);
    assert.ok(Number.isNaN(none.precision) && Number.isNaN(none.recall) && Number.isNaN(none.f1));
    assert.equal(none.delay.count, 0);
    assert.ok(Number.isNaN(none.delay.mean) && Number.isNaN(none.delay.p95));

    // Only false alarms, no ground truth: precision 0, recall undefined, F1 0 = 0 / (0 + 2 + 0).
    const onlyFp = scoreDetection([], [{ atMs: 1 }, { atMs: 2 }]);
    assert.equal(onlyFp.precision, 0);
    assert.ok(Number.isNaN(onlyFp.recall));
    assert.equal(onlyFp.f1, 0);

    // A silent detector: recall 0, precision undefined, F1 0 = 0 / (0 + 0 + 3).
    const silent = scoreDetection(EVENTS, []);
    assert.equal(silent.recall, 0);
    assert.ok(Number.isNaN(silent.precision));
    assert.equal(silent.f1, 0);
    assert.equal(silent.missedEvents, 3);
  });

  test('bad input fails with the field named', () => {
    throwsEval(() => scoreDetection([{ startMs: 10, endMs: 5 }], []), 'BAD_INPUT', 'events[0].endMs', 'startMs 10', '(got 5)');
    throwsEval(() => scoreDetection([{ startMs: Number.NaN, endMs: 5 }], []), 'BAD_INPUT', 'events[0].startMs', 'NaN');
    throwsEval(() => scoreDetection(EVENTS, [{ atMs: 1 }, { atMs: Infinity }]), 'BAD_INPUT', 'detections[1].atMs');
    throwsEval(() => scoreDetection({} as never, []), 'BAD_INPUT', 'events', 'must be an array');
    throwsEval(() => scoreDetection([null as never], []), 'BAD_INPUT', 'events[0]', 'must be an object');
    throwsEval(() => scoreDetection([{ series: '', startMs: 0, endMs: 1 }], []), 'BAD_INPUT', 'events[0].series');
    throwsEval(
      () => scoreDetection([{ series: 'a', startMs: 0, endMs: 1 }], [{ series: 'a', atMs: 0 }, { atMs: 0 }]),
      'BAD_INPUT',
      'detections[1].series',
      'scoped to series',
    );
    throwsEval(
      () => scoreDetection([{ id: 'x', startMs: 0, endMs: 1 }, { id: 'x', startMs: 2, endMs: 3 }], []),
      'DUPLICATE_ID',
      'events[1].id',
      'events[0].id',
    );
    throwsEval(() => scoreDetection(EVENTS, [], { earlyToleranceMs: -1 }), 'BAD_OPTIONS', 'options.earlyToleranceMs');
    throwsEval(() => scoreDetection(EVENTS, [], { falsePositiveMergeMs: '5' as never }), 'BAD_OPTIONS', 'options.falsePositiveMergeMs');
  });

  test('events from a simulated ground truth at fault, entity and metric scope', () => {
    const truth: Pick<GroundTruth, 'faults'> = {
      faults: [
        {
          id: 'f1',
          type: 'cpu_hog',
          rootEntity: 'cart',
          rootNodeId: 'service:cart',
          rootMetric: 'cpu',
          onsetMs: 1000,
          endMs: 5000,
          severity: 1,
          affected: [
            { entity: 'cart', nodeId: 'service:cart', metrics: ['cpu', 'latency_p95'], onsetMs: 1000, hops: 0, attenuation: 1 },
            { entity: 'web', nodeId: 'service:web', metrics: ['latency_p95'], onsetMs: 1600, hops: 1, attenuation: 0.5 },
          ],
        },
      ],
    };
    assert.deepEqual(detectionEventsFromGroundTruth(truth), [{ id: 'f1', startMs: 1000, endMs: 5000 }]);
    assert.deepEqual(detectionEventsFromGroundTruth(truth, { scope: 'entity' }), [
      { id: 'f1/cart', series: 'cart', startMs: 1000, endMs: 5000 },
      { id: 'f1/web', series: 'web', startMs: 1600, endMs: 5000 },
    ]);
    assert.deepEqual(
      detectionEventsFromGroundTruth(truth, { scope: 'metric' }).map((e) => [e.id, e.series, e.startMs]),
      [
        ['f1/cart_cpu', 'cart_cpu', 1000],
        ['f1/cart_latency_p95', 'cart_latency_p95', 1000],
        ['f1/web_latency_p95', 'web_latency_p95', 1600],
      ],
    );
    const s = scoreDetection(detectionEventsFromGroundTruth(truth, { scope: 'entity' }), [
      { series: 'web', atMs: 2000 },
      { series: 'cart', atMs: 900 },
    ]);
    assert.equal(s.detectedEvents, 1); // web, delay 400; cart at 900 precedes the onset: FP
    assert.equal(s.falsePositives, 1);
    assert.equal(s.delay.mean, 400);
  });

  test('property: agrees with a brute-force count on random inputs', () => {
    const time = fc.integer({ min: 0, max: 200 });
    const series = fc.constantFrom('a', 'b', undefined);
    const event = fc.record({ series, startMs: time, len: fc.integer({ min: 0, max: 30 }) });
    fc.assert(
      fc.property(
        fc.array(event, { maxLength: 6 }),
        fc.array(fc.record({ series: fc.constantFrom('a', 'b'), atMs: time }), { maxLength: 12 }),
        fc.integer({ min: 0, max: 10 }),
        fc.integer({ min: 0, max: 10 }),
        (rawEvents, dets, early, late) => {
          const events = rawEvents.map((e) => ({
            ...(e.series === undefined ? {} : { series: e.series }),
            startMs: e.startMs,
            endMs: e.startMs + e.len,
          }));
          const matches = (e: DetectionEvent, d: Detection): boolean =>
            (e.series === undefined || e.series === d.series) && d.atMs >= e.startMs - early && d.atMs <= e.endMs + late;
          const hits = events.map((e) => dets.filter((d) => matches(e, d)).map((d) => d.atMs));
          const out = dets.filter((d) => !events.some((e) => matches(e, d)));
          // Merge 0: one false alarm per distinct (series, time) out of every window.
          const alarms = new Set(out.map((d) => `${d.series}@${d.atMs}`)).size;
          const s = scoreDetection(events, dets, { earlyToleranceMs: early, lateToleranceMs: late });
          assert.deepEqual(
            s.perEvent.map((e) => [e.detectionsInWindow, e.firstDetectionMs]),
            hits.map((h) => [h.length, h.length === 0 ? null : Math.min(...h)]),
          );
          assert.equal(s.outOfWindowDetections, out.length);
          assert.equal(s.falsePositives, alarms);
        },
      ),
      { numRuns: 300 },
    );
  });
});
