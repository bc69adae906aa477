// What root-cause analysis reads: a frame of aligned series (one time axis, one column per
// entity and metric), the detection time, the topology around the incident and recent changes.
// The offline CLI builds frames from RCAEval CSV files and the PetShop dataset, the online stage
// from the MetricStore; the engine and the baselines see only this shape.
import { CodedError } from '../../../shared-schemas/src/runtime/index.js';

export type RcaErrorCode = 'BAD_INPUT' | 'BAD_CSV' | 'BAD_TOPOLOGY' | 'TOO_LARGE' | 'NO_DATA';

export class RcaError extends CodedError<RcaErrorCode> {
  override name = 'RcaError';
}

/** How a metric's anomaly travels along the topology (see engine.ts). */
export type MetricClass = 'latency' | 'errors' | 'load' | 'resource' | 'other';

export interface RcaSeries {
  /** The topology entity (service, database, host ...) the series is about. */
  readonly entity: string;
  /** Metric name within the entity (`cpu`, `latency-95`, `sim_service_cpu_cores` ...). */
  readonly metric: string;
  /** Values on the frame's time axis; NaN = no sample. ArrayLike so a test can watch the reads. */
  readonly values: ArrayLike<number>;
}

export interface RcaFrame {
  /** Sample times, ms, ascending. */
  readonly timesMs: ArrayLike<number>;
  readonly series: readonly RcaSeries[];
}

/** A deploy, rollback or configuration change of an entity (a prior for the cause). */
export interface RcaChange {
  readonly atMs: number;
  readonly entity: string;
  readonly kind: string;
  readonly description?: string;
}

/**
 * Dependencies among entities: `dependsOn[a]` lists what a calls or runs on (a caller CALLS its
 * callee; a workload RUNS_ON its host). `hosts` names the entities that are hosts.
 */
export interface RcaTopology {
  readonly dependsOn: ReadonlyMap<string, readonly string[]>;
  readonly hosts: ReadonlySet<string>;
  /**
   * Entities seen only through their callers' client-side measurements (an X-Ray remote node,
   * a blackbox probe of an uninstrumented endpoint): they report no health of their own.
   */
  readonly observed?: ReadonlySet<string>;
}

export interface RcaCase {
  readonly frame: RcaFrame;
  /** When the anomaly was detected (ms). The engine reads no sample at or after detectedAtMs + after. */
  readonly detectedAtMs: number;
  readonly topology?: RcaTopology;
  readonly changes?: readonly RcaChange[];
  /**
   * Where the trouble shows (the incident's services, an SLO's target). A cause is expected at
   * the end of a chain of deviating dependencies that starts here; candidates off every such
   * chain keep `disconnected_weight` of their weight.
   */
  readonly focus?: readonly string[];
}

export interface RankedMetric {
  readonly entity: string;
  readonly metric: string;
  readonly score: number;
}

/** One ranked candidate cause. */
export interface RankedCause {
  readonly entity: string;
  /** The metric that moved (the strongest unexplained one). */
  readonly metric: string;
  readonly score: number;
  /** Posterior P(cause | evidence) over the candidates, 0..1. */
  readonly probability: number;
  /** First sustained deviation of that metric (ms), null when none was found. */
  readonly onsetMs: number | null;
  /** "bayesian" or "rule:<name>" (a known failure mode matched). */
  readonly method: string;
  /** The evidence chain in words, strongest first. */
  readonly evidence: readonly string[];
}

export interface RcaResult {
  /** One entry per entity, best first. */
  readonly causes: readonly RankedCause[];
  /** Every scored entity_metric, best first (metric-level ranking). */
  readonly metrics: readonly RankedMetric[];
  /** The part of the frame that was read: [fromMs, toMs). */
  readonly window: { readonly fromMs: number; readonly toMs: number };
  readonly method: string;
}

/** The class of a metric by its name: decides which way its anomaly propagates. */
export function metricClass(metric: string): MetricClass {
  const m = metric.toLowerCase();
  if (/lat|duration|delay|response.?time|_seconds$|p9\d|p50/.test(m)) return 'latency';
  if (/err|fail|5xx|avail|drop|loss/.test(m)) return 'errors';
  if (/work|request|req|rate|qps|tps|throughput|count|calls|traffic|sum/.test(m)) return 'load';
  if (/cpu|mem|disk|fs|gc|sat|thread|conn|net|io|heap|swap|queue|pool|load/.test(m)) return 'resource';
  return 'other';
}

/**
 * Which way a metric goes when things are bad: 1 up (latency, errors), -1 down (availability,
 * success ratio), 0 either (load, resources: a drop can be the symptom of a stalled service).
 */
export function badDirection(metric: string): 1 | -1 | 0 {
  const m = metric.toLowerCase();
  if (/avail|success|uptime|apdex|healthy/.test(m)) return -1;
  const c = metricClass(m);
  return c === 'latency' || c === 'errors' ? 1 : 0;
}

/**
 * Splits an RCAEval column `<service>_<metric>`: the longest known entity that the column
 * starts with followed by "_", else the text before the first "_" (RCAEval's own convention).
 */
export function splitColumn(column: string, known: ReadonlySet<string> | undefined): { entity: string; metric: string } {
  if (known && known.size > 0) {
    let best = '';
    for (let i = column.indexOf('_'); i > 0; i = column.indexOf('_', i + 1)) {
      const head = column.slice(0, i);
      if (known.has(head) && head.length > best.length) best = head;
    }
    if (best !== '') return { entity: best, metric: column.slice(best.length + 1) };
  }
  const i = column.indexOf('_');
  if (i <= 0 || i === column.length - 1) return { entity: column, metric: 'value' };
  return { entity: column.slice(0, i), metric: column.slice(i + 1) };
}

/** The entities within `hops` of `seeds` (either direction; hosts end a path, never relay it). */
export function neighbourhood(topology: RcaTopology, seeds: Iterable<string>, hops: number): Set<string> {
  const adj = new Map<string, string[]>();
  const link = (a: string, b: string): void => {
    const l = adj.get(a);
    if (l) l.push(b);
    else adj.set(a, [b]);
  };
  for (const [a, deps] of topology.dependsOn) for (const b of deps) {
    link(a, b);
    link(b, a);
  }
  const seen = new Set<string>(seeds);
  let frontier = [...seen];
  for (let h = 0; h < hops && frontier.length > 0; h++) {
    const next: string[] = [];
    for (const n of frontier) {
      if (h > 0 && topology.hosts.has(n)) continue;
      for (const m of adj.get(n) ?? []) {
        if (seen.has(m)) continue;
        seen.add(m);
        next.push(m);
      }
    }
    frontier = next;
  }
  return seen;
}

/**
 * Every entity reachable from `start` by `next` (start included); `relays(n)` false stops the
 * walk at n (n is still reached: hosts end paths, they do not relay them).
 */
export function reachable(start: string, next: (n: string) => Iterable<string> | undefined, relays: (n: string) => boolean = () => true): Set<string> {
  const seen = new Set<string>([start]);
  const stack = [start];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (n !== start && !relays(n)) continue;
    for (const m of next(n) ?? []) if (!seen.has(m)) {
      seen.add(m);
      stack.push(m);
    }
  }
  return seen;
}
