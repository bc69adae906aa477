/**
 * Event-based detection scoring: did a detector catch each ground-truth event, how many false
 * alarms did it raise, and how late was it.
 *
 * Definitions (all times are numbers on one clock, normally ms since epoch):
 *
 * - **Event window.** Event e covers [startMs, endMs] (both ends inclusive, endMs >= startMs).
 *   With tolerances it is extended to [startMs - earlyToleranceMs, endMs + lateToleranceMs]
 *   (defaults 0): `earlyToleranceMs` accepts a detection that leads the labelled start, e.g.
 *   because the label marks a visible effect that the cause precedes; `lateToleranceMs` accepts
 *   one that lags the end.
 * - **Scope.** An event with a `series` is matched only by detections of that same series; an
 *   event without one is scenario-wide and is matched by every detection, whatever its series.
 *   When any event has a series, every detection must name one (otherwise it is ambiguous).
 * - **Detected event (TP).** An event with at least one matching detection inside its extended
 *   window. Several detections inside one window count once. A detection inside the windows of
 *   several events detects each of them.
 * - **Missed event (FN).** An event with no matching detection inside its extended window.
 * - **False positive (FP).** A detection inside no extended window of any event that it can
 *   match. Out-of-window detections of one series are grouped into false alarms: consecutive
 *   ones (in time order) at most `falsePositiveMergeMs` apart (default 0) belong to one alarm,
 *   and FP counts alarms. With the default, only repeats of the same timestamp are merged.
 * - **Recall** = TP / events (NaN when there are no events).
 *   **Precision** = TP / (TP + FP) (NaN when both are 0: no detection counted at all).
 *   **F1** = 2 TP / (2 TP + FP + FN), equal to 2PR / (P + R) whenever both are defined, 0 when
 *   TP = 0 and anything was missed or raised, NaN only with no events and no false positives.
 *   TP counts events and FP counts false alarms (the usual event-wise convention), so redundant
 *   detections inside a window are neither rewarded nor penalised.
 * - **Detection delay** of a detected event = (earliest matching detection inside its extended
 *   window) - startMs. It is negative when an early tolerance let a detection before the start
 *   count. The summary (count, mean, median, p95, min, max) is over detected events; quantiles
 *   are type-7 (see stats.ts).
 */
import type { GroundTruth } from '../model/index.js';
import { summarize, type SummaryStats } from './stats.js';
import {
  fail,
  nonNegativeOption,
  optionalString,
  ratio,
  requireArray,
  requireFinite,
  requireRecord,
} from './validate.js';

/** A ground-truth event: a window on one series, or scenario-wide when `series` is absent. */
export interface DetectionEvent {
  /** Optional label echoed in the per-event outcome; must be unique when given. */
  readonly id?: string;
  readonly series?: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** One detection (an alert firing, an anomaly flag) at a point in time. */
export interface Detection {
  readonly atMs: number;
  readonly series?: string;
}

export interface DetectionScoringOptions {
  /** How long before an event's start a detection still counts for it. Default 0. */
  readonly earlyToleranceMs?: number;
  /** How long after an event's end a detection still counts for it. Default 0. */
  readonly lateToleranceMs?: number;
  /** Out-of-window detections of one series at most this far apart form one false alarm. Default 0. */
  readonly falsePositiveMergeMs?: number;
}

export type ResolvedDetectionScoringOptions = Required<DetectionScoringOptions>;

export interface DetectionEventOutcome {
  /** Position of the event in the input. */
  readonly index: number;
  readonly id: string | null;
  readonly series: string | null;
  readonly startMs: number;
  readonly endMs: number;
  readonly detected: boolean;
  /** Matching detections inside the extended window (all of them, though they count once). */
  readonly detectionsInWindow: number;
  /** The earliest of them, null when the event was missed. */
  readonly firstDetectionMs: number | null;
  /** firstDetectionMs - startMs, null when missed. */
  readonly delayMs: number | null;
}

export interface DetectionScore {
  readonly options: ResolvedDetectionScoringOptions;
  readonly events: number;
  readonly detections: number;
  /** TP: events with a detection in their window. */
  readonly detectedEvents: number;
  /** FN: events without one. */
  readonly missedEvents: number;
  /** Detections inside at least one window they can match. */
  readonly inWindowDetections: number;
  /** Detections inside no window they can match (before merging into false alarms). */
  readonly outOfWindowDetections: number;
  /** FP: false alarms (out-of-window detections after merging). */
  readonly falsePositives: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Detection delay over detected events. */
  readonly delay: SummaryStats;
  readonly perEvent: readonly DetectionEventOutcome[];
}

interface SortedDetections {
  /** Detection times ascending. */
  readonly times: Float64Array;
  /** +1 at the first index a window covers, -1 after its last (prefix sum > 0 = covered). */
  readonly cover: Int32Array;
}

function resolveOptions(input: unknown): ResolvedDetectionScoringOptions {
  const o = input === undefined ? {} : requireRecord(input, 'options');
  return Object.freeze({
    earlyToleranceMs: nonNegativeOption(o['earlyToleranceMs'], 'options.earlyToleranceMs', 0),
    lateToleranceMs: nonNegativeOption(o['lateToleranceMs'], 'options.lateToleranceMs', 0),
    falsePositiveMergeMs: nonNegativeOption(o['falsePositiveMergeMs'], 'options.falsePositiveMergeMs', 0),
  });
}

/** First index i with times[i] >= t (times ascending). */
function lowerBound(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index i with times[i] > t (times ascending). */
function upperBound(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedDetections(times: number[]): SortedDetections {
  const sorted = Float64Array.from(times).sort();
  return { times: sorted, cover: new Int32Array(sorted.length + 1) };
}

/**
 * Scores detections against ground-truth events (see the file header for every definition).
 * Pure: validates the whole input first, returns the counts, rates and delays as values.
 */
export function scoreDetection(
  events: readonly DetectionEvent[],
  detections: readonly Detection[],
  options: DetectionScoringOptions = {},
): DetectionScore {
  const opts = resolveOptions(options);
  const evs = requireArray(events, 'events').map((raw, i) => {
    const e = requireRecord(raw, `events[${i}]`);
    const startMs = requireFinite(e['startMs'], `events[${i}].startMs`);
    const endMs = requireFinite(e['endMs'], `events[${i}].endMs`);
    if (endMs < startMs) fail(`events[${i}].endMs`, `must be >= startMs ${startMs}`, endMs);
    return {
      id: optionalString(e['id'], `events[${i}].id`),
      series: optionalString(e['series'], `events[${i}].series`),
      startMs,
      endMs,
    };
  });
  const seenIds = new Map<string, number>();
  evs.forEach((e, i) => {
    if (e.id === undefined) return;
    const first = seenIds.get(e.id);
    if (first !== undefined) fail(`events[${i}].id`, `repeats events[${first}].id`, e.id, 'DUPLICATE_ID');
    seenIds.set(e.id, i);
  });
  const seriesScoped = evs.some((e) => e.series !== undefined);
  const dets = requireArray(detections, 'detections').map((raw, i) => {
    const d = requireRecord(raw, `detections[${i}]`);
    const atMs = requireFinite(d['atMs'], `detections[${i}].atMs`);
    const series = optionalString(d['series'], `detections[${i}].series`);
    if (seriesScoped && series === undefined) {
      fail(`detections[${i}].series`, 'must be set when events are scoped to series', series);
    }
    return { atMs, series };
  });

  // Every detection in one sorted list (scenario-wide events), and per series (scoped events).
  const all = sortedDetections(dets.map((d) => d.atMs));
  const bySeriesTimes = new Map<string | undefined, number[]>();
  for (const d of dets) {
    const list = bySeriesTimes.get(d.series);
    if (list === undefined) bySeriesTimes.set(d.series, [d.atMs]);
    else list.push(d.atMs);
  }
  const bySeries = new Map<string | undefined, SortedDetections>();
  for (const [series, times] of bySeriesTimes) bySeries.set(series, sortedDetections(times));

  const perEvent: DetectionEventOutcome[] = evs.map((e, index) => {
    const pool = e.series === undefined ? all : bySeries.get(e.series);
    let lo = 0;
    let hi = 0;
    if (pool !== undefined) {
      lo = lowerBound(pool.times, e.startMs - opts.earlyToleranceMs);
      hi = upperBound(pool.times, e.endMs + opts.lateToleranceMs);
      if (hi > lo) {
        pool.cover[lo]! += 1;
        pool.cover[hi]! -= 1;
      }
    }
    const detected = pool !== undefined && hi > lo;
    const first = detected ? pool.times[lo]! : null;
    return Object.freeze({
      index,
      id: e.id ?? null,
      series: e.series ?? null,
      startMs: e.startMs,
      endMs: e.endMs,
      detected,
      detectionsInWindow: Math.max(0, hi - lo),
      firstDetectionMs: first,
      delayMs: first === null ? null : first - e.startMs,
    });
  });

  // Which detections no window covers: walk each series' sorted times with both the series'
  // own cover and the scenario-wide cover (a detection at time t is scenario-covered iff some
  // scenario-wide window contains t, the same for every detection at t).
  const allCovered = new Uint8Array(all.times.length);
  for (let i = 0, run = 0; i < all.times.length; i++) {
    run += all.cover[i]!;
    allCovered[i] = run > 0 ? 1 : 0;
  }
  const scenarioCovered = (t: number): boolean => {
    const i = lowerBound(all.times, t);
    return i < all.times.length && allCovered[i] === 1;
  };
  let outOfWindow = 0;
  let falsePositives = 0;
  for (const pool of bySeries.values()) {
    let run = 0;
    let lastFp = Number.NaN;
    for (let i = 0; i < pool.times.length; i++) {
      run += pool.cover[i]!;
      const t = pool.times[i]!;
      if (run > 0 || scenarioCovered(t)) continue;
      outOfWindow++;
      if (!(t - lastFp <= opts.falsePositiveMergeMs)) falsePositives++;
      lastFp = t;
    }
  }

  const tp = perEvent.filter((e) => e.detected).length;
  const fn = evs.length - tp;
  return Object.freeze({
    options: opts,
    events: evs.length,
    detections: dets.length,
    detectedEvents: tp,
    missedEvents: fn,
    inWindowDetections: dets.length - outOfWindow,
    outOfWindowDetections: outOfWindow,
    falsePositives,
    precision: ratio(tp, tp + falsePositives),
    recall: ratio(tp, evs.length),
    f1: ratio(2 * tp, 2 * tp + falsePositives + fn),
    delay: summarize(perEvent.flatMap((e) => (e.delayMs === null ? [] : [e.delayMs]))),
    perEvent: Object.freeze(perEvent),
  });
}

export interface GroundTruthEventOptions {
  /**
   * `fault` (default): one scenario-wide event per fault, [onsetMs, endMs], id = fault id.
   * `entity`: one event per affected entity, series = entity name, [entity onset, fault end],
   * id = `<fault>/<entity>`.
   * `metric`: one event per affected entity and metric, series = seriesKey(entity, metric),
   * [entity onset, fault end], id = `<fault>/<series>`.
   */
  readonly scope?: 'fault' | 'entity' | 'metric';
  /** Series name of an entity's metric for scope `metric`. Default `<entity>_<metric>` (RCAEval). */
  readonly seriesKey?: (entity: string, metric: string) => string;
}

/** Ground-truth events of a simulated scenario, at fault, entity or metric granularity. */
export function detectionEventsFromGroundTruth(
  truth: Pick<GroundTruth, 'faults'>,
  options: GroundTruthEventOptions = {},
): DetectionEvent[] {
  const scope = options.scope ?? 'fault';
  const key = options.seriesKey ?? ((entity: string, metric: string) => `${entity}_${metric}`);
  const out: DetectionEvent[] = [];
  for (const f of truth.faults) {
    if (scope === 'fault') {
      out.push({ id: f.id, startMs: f.onsetMs, endMs: f.endMs });
      continue;
    }
    for (const a of f.affected) {
      // An effect that reaches an entity only after the fault ended still gets a point window.
      const endMs = Math.max(f.endMs, a.onsetMs);
      if (scope === 'entity') {
        out.push({ id: `${f.id}/${a.entity}`, series: a.entity, startMs: a.onsetMs, endMs });
      } else {
        for (const m of a.metrics) {
          const series = key(a.entity, m);
          out.push({ id: `${f.id}/${series}`, series, startMs: a.onsetMs, endMs });
        }
      }
    }
  }
  return out;
}
