// Rule evaluation over simulated series with Prometheus' alerting semantics.
//
// Instant selection: at evaluation time t a series' sample is the value of the last grid step at
// or before t; NaN means "no sample" (as a Prometheus staleness marker: the series is absent at
// once, there is no 5-minute lookback). Range functions use the samples in (t - range, t].
//
// Alert states (rules/alerting.go): when the expression first returns a series the alert is
// pending with activeAt = t; at the first evaluation where t - activeAt >= for it fires
// (firedAt = t; with for 0 that is the same evaluation); the first evaluation that no longer
// returns the series resolves it (resolvedAt = t), or, still pending, drops it. A series that
// returns later starts a new pending alert.
import type { SimMetrics, TopologyDocument } from '../model/index.js';
import { AlertStormError } from './errors.js';
import { absentLabels, matchesSelector } from './expr.js';
import type { ExprNode, SelectorNode } from './expr.js';
import type { AlertRule } from './rules.js';

/** Label name carrying the node name, by topology kind. */
export function entityLabelOf(kind: string): 'host' | 'instance' | 'service' {
  return kind === 'Host' ? 'host' : kind === 'Instance' ? 'instance' : 'service';
}

/** Labels of each series (`metric`, `kind`, and `service`|`host`|`instance`), index-aligned. */
export function labelSeries(metrics: SimMetrics, topology: TopologyDocument): Array<Record<string, string>> {
  const kinds = new Map<string, string>();
  for (const n of topology.nodes) kinds.set(n.id, n.kind);
  const seen = new Set<string>();
  return metrics.series.map((s, i) => {
    const kind = kinds.get(s.nodeId);
    if (kind === undefined) {
      throw new AlertStormError('BAD_INPUT', `metrics.series[${i}].nodeId ${JSON.stringify(s.nodeId)} is not a node of topology ${JSON.stringify(topology.name)}`, {
        path: `metrics.series[${i}].nodeId`,
      });
    }
    const key = `${s.nodeId}\u0000${s.metric}`;
    if (seen.has(key)) {
      throw new AlertStormError('BAD_INPUT', `metrics.series[${i}] repeats metric ${s.metric} of ${s.nodeId}`, { path: `metrics.series[${i}]` });
    }
    seen.add(key);
    if (s.values.length !== metrics.length) {
      throw new AlertStormError('BAD_INPUT', `metrics.series[${i}].values has ${s.values.length} values, metrics.length is ${metrics.length}`, {
        path: `metrics.series[${i}].values`,
      });
    }
    return { metric: s.metric, kind, [entityLabelOf(kind)]: s.entity };
  });
}

/** Evaluation timestamps of an interval over the metrics' time span (aligned to its start). */
export function evaluationTimes(metrics: SimMetrics, intervalMs: number): Float64Array {
  if (metrics.length === 0) return new Float64Array(0);
  const span = (metrics.length - 1) * metrics.stepMs;
  const n = Math.floor(span / intervalMs) + 1;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) out[k] = metrics.startMs + k * intervalMs;
  return out;
}

export interface RangeVector {
  labels: Record<string, string>;
  /** One value per evaluation time; NaN = the series is not in the result there. */
  values: Float64Array;
}

/** Per-metrics evaluation state: series labels and lazily built prefix sums. */
export class SeriesIndex {
  private readonly selected = new WeakMap<SelectorNode, number[]>();
  private readonly prefix = new Map<number, { sum: Float64Array; count: Int32Array }>();

  constructor(
    readonly metrics: SimMetrics,
    readonly labels: ReadonlyArray<Readonly<Record<string, string>>>,
  ) {}

  select(sel: SelectorNode): number[] {
    let hit = this.selected.get(sel);
    if (!hit) {
      hit = [];
      for (let i = 0; i < this.labels.length; i++) if (matchesSelector(sel, this.labels[i] as Record<string, string>)) hit.push(i);
      this.selected.set(sel, hit);
    }
    return hit;
  }

  /** Prefix sums over steps: sum[j] / count[j] cover steps [0, j). */
  sums(i: number): { sum: Float64Array; count: Int32Array } {
    let p = this.prefix.get(i);
    if (!p) {
      const v = (this.metrics.series[i] as { values: Float64Array }).values;
      const sum = new Float64Array(v.length + 1);
      const count = new Int32Array(v.length + 1);
      for (let j = 0; j < v.length; j++) {
        const x = v[j] as number;
        const ok = !Number.isNaN(x);
        sum[j + 1] = (sum[j] as number) + (ok ? x : 0);
        count[j + 1] = (count[j] as number) + (ok ? 1 : 0);
      }
      p = { sum, count };
      this.prefix.set(i, p);
    }
    return p;
  }

  /** Step index of the sample an instant query at t sees, or -1 before the first step. */
  stepAt(t: number): number {
    const m = this.metrics;
    if (t < m.startMs) return -1;
    return Math.min(m.length - 1, Math.floor((t - m.startMs) / m.stepMs));
  }

  /** Steps [lo, hi] inside (t - rangeMs, t]; lo > hi when empty. */
  window(t: number, rangeMs: number): [number, number] {
    const m = this.metrics;
    const hi = this.stepAt(t);
    const lo = Math.max(0, Math.floor((t - rangeMs - m.startMs) / m.stepMs) + 1);
    return [lo, hi];
  }
}

/** Evaluates an expression at every time in `times`. */
export function evaluateExpr(node: ExprNode, index: SeriesIndex, times: Float64Array): RangeVector[] {
  const n = times.length;
  switch (node.type) {
    case 'selector':
      return index.select(node).map((i) => {
        const src = (index.metrics.series[i] as { values: Float64Array }).values;
        const values = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const j = index.stepAt(times[k] as number);
          values[k] = j < 0 ? NaN : (src[j] as number);
        }
        return { labels: { ...index.labels[i] }, values };
      });
    case 'range_call': {
      const ids = index.select(node.selector);
      if (node.func === 'absent_over_time') {
        const values = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const [lo, hi] = index.window(times[k] as number, node.rangeMs);
          let present = false;
          for (const i of ids) {
            const c = index.sums(i).count;
            if (hi >= lo && (c[hi + 1] as number) - (c[lo] as number) > 0) {
              present = true;
              break;
            }
          }
          values[k] = present ? NaN : 1;
        }
        return [{ labels: absentLabels(node), values }];
      }
      return ids.map((i) => {
        const src = (index.metrics.series[i] as { values: Float64Array }).values;
        const { sum, count } = index.sums(i);
        const values = new Float64Array(n);
        for (let k = 0; k < n; k++) {
          const [lo, hi] = index.window(times[k] as number, node.rangeMs);
          const c = hi >= lo ? (count[hi + 1] as number) - (count[lo] as number) : 0;
          if (c === 0) {
            values[k] = NaN;
            continue;
          }
          if (node.func === 'avg_over_time') {
            values[k] = ((sum[hi + 1] as number) - (sum[lo] as number)) / c;
          } else {
            let best = node.func === 'max_over_time' ? -Infinity : Infinity;
            for (let j = lo; j <= hi; j++) {
              const x = src[j] as number;
              if (Number.isNaN(x)) continue;
              if (node.func === 'max_over_time' ? x > best : x < best) best = x;
            }
            values[k] = best;
          }
        }
        return { labels: { ...index.labels[i] }, values };
      });
    }
    case 'absent': {
      const inner = evaluateExpr(node.arg, index, times);
      const values = new Float64Array(n);
      for (let k = 0; k < n; k++) {
        let present = false;
        for (const s of inner) {
          if (!Number.isNaN(s.values[k] as number)) {
            present = true;
            break;
          }
        }
        values[k] = present ? NaN : 1;
      }
      return [{ labels: absentLabels(node.arg), values }];
    }
    case 'compare': {
      const inner = evaluateExpr(node.lhs, index, times);
      const t = node.threshold;
      for (const s of inner) {
        const v = s.values;
        for (let k = 0; k < n; k++) {
          const x = v[k] as number;
          let keep: boolean;
          switch (node.op) {
            case '>':
              keep = x > t;
              break;
            case '<':
              keep = x < t;
              break;
            case '>=':
              keep = x >= t;
              break;
            case '<=':
              keep = x <= t;
              break;
            case '==':
              keep = x === t;
              break;
            case '!=':
              keep = x !== t;
              break;
          }
          if (!keep) v[k] = NaN;
        }
      }
      return inner;
    }
  }
}

/** One firing of one alert (an alert that was only ever pending is not an episode). */
export interface RuleEpisode {
  rule: AlertRule;
  /** Labels of the sample that raised it (what `$labels` sees). */
  sampleLabels: Record<string, string>;
  /** The alert's labels: sample labels, then the rule's labels, then alertname (no sim_fault). */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When it became pending. */
  activeAtMs: number;
  /** When it fired: the alert's startsAt. */
  firedAtMs: number;
  /** When it resolved: the alert's endsAt; undefined = still firing at the end of the metrics. */
  resolvedAtMs: number | undefined;
  /** The sample value at firedAtMs (what `$value` prints). */
  value: number;
}

export interface RuleEvaluation {
  episodes: RuleEpisode[];
  /** Alerts that went pending and never fired (the condition did not hold for `for`). */
  pendingOnly: number;
  /** Evaluations run (rules x evaluation times). */
  evaluations: number;
}

/**
 * Runs every rule over the metrics. `intervalMs` is the evaluation interval for rules whose group
 * has none. Episodes come out ordered by (firedAtMs, rule order, labels) for determinism.
 */
export function evaluateRules(rules: readonly AlertRule[], metrics: SimMetrics, topology: TopologyDocument, intervalMs: number): RuleEvaluation {
  const index = new SeriesIndex(metrics, labelSeries(metrics, topology));
  const timesByInterval = new Map<number, Float64Array>();
  const episodes: Array<RuleEpisode & { order: number }> = [];
  let pendingOnly = 0;
  let evaluations = 0;
  rules.forEach((rule, order) => {
    const iv = rule.intervalMs ?? intervalMs;
    let times = timesByInterval.get(iv);
    if (!times) timesByInterval.set(iv, (times = evaluationTimes(metrics, iv)));
    evaluations += times.length;
    for (const s of evaluateExpr(rule.expr, index, times)) {
      let activeAt = NaN;
      let firedAt = NaN;
      let fireValue = NaN;
      const emit = (resolvedAt: number | undefined): void => {
        if (Number.isNaN(firedAt)) {
          pendingOnly++;
          return;
        }
        episodes.push({ ...materialise(rule, s.labels, fireValue), activeAtMs: activeAt, firedAtMs: firedAt, resolvedAtMs: resolvedAt, order });
      };
      for (let k = 0; k < times.length; k++) {
        const t = times[k] as number;
        const v = s.values[k] as number;
        if (Number.isNaN(v)) {
          if (!Number.isNaN(activeAt)) emit(t);
          activeAt = NaN;
          firedAt = NaN;
          continue;
        }
        if (Number.isNaN(activeAt)) activeAt = t;
        if (Number.isNaN(firedAt) && t - activeAt >= rule.forMs) {
          firedAt = t;
          fireValue = v;
        }
      }
      if (!Number.isNaN(activeAt)) emit(undefined);
    }
  });
  episodes.sort((a, b) => a.firedAtMs - b.firedAtMs || a.order - b.order || compareLabelKeys(a.labels, b.labels));
  return { episodes: episodes.map(({ order: _o, ...e }) => e), pendingOnly, evaluations };
}

function materialise(rule: AlertRule, sample: Record<string, string>, value: number): Omit<RuleEpisode, 'activeAtMs' | 'firedAtMs' | 'resolvedAtMs'> {
  const labels: Record<string, string> = { ...sample };
  for (const l of rule.labels) labels[l.name] = l.template.render(sample, value);
  labels['alertname'] = rule.name;
  // As Prometheus: an empty label value is the same as no label.
  for (const k of Object.keys(labels)) if (labels[k] === '') delete labels[k];
  const annotations: Record<string, string> = {};
  for (const a of rule.annotations) annotations[a.name] = a.template.render(sample, value);
  return { rule, sampleLabels: sample, labels, annotations, value };
}

function compareLabelKeys(a: Record<string, string>, b: Record<string, string>): number {
  const ka = JSON.stringify(Object.entries(a).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  const kb = JSON.stringify(Object.entries(b).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
