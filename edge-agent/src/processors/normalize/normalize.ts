// The normalizer: one schema for every source. Metric and label names made valid, values in base
// units, NaN/Inf, out-of-order, duplicate and clock-skewed samples dropped, label sets bounded,
// cumulative counters turned into per-second rates (wrap and reset handled), series limits per
// metric and overall. Every drop is counted by reason and logged once per burst.

import { FeatureFlags } from '../../../../shared-schemas/src/index.js';
import type { ComponentSettings, MetricsConsumer, Processor } from '../../component.js';
import type { Labels, MetricBatch, MetricSample } from '../../pdata.js';
import { seriesKey } from '../features/index.js';
import type { NormalizeConfig } from './config.js';
import { counterRate, nameWithUnit, sanitizeLabelName, sanitizeMetricName, unitRule } from './rules.js';

interface SeriesState {
  metric: string;
  lastTs: number;
  /** For counters: the previous cumulative value. */
  prevValue: number;
  prevTs: number;
  lastSeenMs: number;
}

export type DropReason =
  | 'non_finite'
  | 'out_of_order'
  | 'duplicate'
  | 'future'
  | 'too_old'
  | 'series_limit'
  | 'metric_series_limit'
  | 'bad_name';

export class Normalizer implements Processor {
  private readonly series = new Map<string, SeriesState>();
  private readonly perMetric = new Map<string, number>();
  private readonly labelCache = new WeakMap<Labels, Labels>();
  /** Series key per (cleaned label object, metric name): receivers keep label objects stable. */
  private readonly keyCache = new WeakMap<Labels, Map<string, string>>();
  private timer: unknown;
  private readonly dropped;
  private readonly fixed;
  private readonly tracked;
  private readonly resets;
  private dropBurst = 0;
  private lastDropLog = -Infinity;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly cfg: NormalizeConfig,
    private readonly next: MetricsConsumer,
  ) {
    const m = settings.metrics;
    this.dropped = m.counter('aiops_agent_normalize_dropped_samples_total', 'Samples dropped by the normalizer, by reason.', ['reason']);
    this.fixed = m.counter('aiops_agent_normalize_fixed_total', 'Names, labels or values the normalizer had to change, by what.', ['what']);
    this.tracked = m.gauge('aiops_agent_normalize_series', 'Series the normalizer tracks (the limits apply to these).');
    this.resets = m.counter('aiops_agent_normalize_counter_resets_total', 'Counter resets and 32-bit wraps seen.', ['kind']);
  }

  async start(): Promise<void> {
    if (this.timer) return;
    this.timer = this.settings.clock.setInterval(() => this.evictStale(), Math.max(1000, Math.floor(this.cfg.stale_after / 2)));
    (this.timer as { unref?(): void }).unref?.();
  }

  async shutdown(): Promise<void> {
    if (this.timer) this.settings.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  get trackedSeries(): number {
    return this.series.size;
  }

  /** Forgets series not seen for stale_after (their limit slots free up). */
  evictStale(): number {
    const cutoff = this.settings.clock.now() - this.cfg.stale_after;
    let n = 0;
    for (const [key, st] of this.series) {
      if (st.lastSeenMs < cutoff) {
        this.series.delete(key);
        const c = (this.perMetric.get(st.metric) ?? 1) - 1;
        if (c <= 0) this.perMetric.delete(st.metric);
        else this.perMetric.set(st.metric, c);
        n++;
      }
    }
    this.tracked.set(this.series.size);
    return n;
  }

  private drop(reason: DropReason): void {
    this.dropped.inc(1, { reason });
    this.dropBurst++;
    const now = this.settings.clock.now();
    if (now - this.lastDropLog >= 60_000) {
      this.settings.logger.warn({ dropped: this.dropBurst, lastReason: reason }, 'normalizer dropped samples (counted in aiops_agent_normalize_dropped_samples_total)');
      this.lastDropLog = now;
      this.dropBurst = 0;
    }
  }

  private cleanLabels(labels: Labels): Labels {
    const cached = this.labelCache.get(labels);
    if (cached) return cached;
    const names = Object.keys(labels).sort();
    const out: Labels = {};
    let changed = false;
    let count = 0;
    for (const raw of names) {
      if (raw === '__name__') {
        changed = true;
        continue;
      }
      const name = sanitizeLabelName(raw);
      if (name === '' || name.startsWith('__') || Object.prototype.hasOwnProperty.call(out, name)) {
        this.fixed.inc(1, { what: 'label_dropped' });
        changed = true;
        continue;
      }
      if (count >= this.cfg.max_labels) {
        this.fixed.inc(1, { what: 'label_over_limit' });
        changed = true;
        continue;
      }
      if (name !== raw) {
        this.fixed.inc(1, { what: 'label_name' });
        changed = true;
      }
      let value = String(labels[raw]);
      if (value.length > this.cfg.max_label_value_length) {
        value = value.slice(0, this.cfg.max_label_value_length);
        this.fixed.inc(1, { what: 'label_value_truncated' });
        changed = true;
      }
      if (value === '') {
        changed = true; // Prometheus semantics: an empty label is no label
        continue;
      }
      out[name] = value;
      count++;
    }
    const result = changed ? out : labels;
    this.labelCache.set(labels, result);
    return result;
  }

  private keyOf(name: string, labels: Labels): string {
    let byName = this.keyCache.get(labels);
    if (!byName) {
      byName = new Map();
      this.keyCache.set(labels, byName);
    }
    let key = byName.get(name);
    if (key === undefined) {
      key = seriesKey(name, labels);
      byName.set(name, key);
    }
    return key;
  }

  async consumeMetrics(batch: MetricBatch): Promise<void> {
    const now = this.settings.clock.now();
    const maxFuture = now + this.cfg.max_future;
    const minTs = now - this.cfg.max_age;
    const out: MetricSample[] = [];
    for (const s of batch.samples) {
      if (!Number.isFinite(s.value) || !Number.isFinite(s.ts)) {
        this.drop('non_finite');
        continue;
      }
      if (s.ts > maxFuture) {
        this.drop('future');
        continue;
      }
      if (s.ts < minTs) {
        this.drop('too_old');
        continue;
      }
      if (typeof s.name !== 'string' || s.name.length === 0 || s.name.length > this.cfg.max_name_length) {
        this.drop('bad_name');
        continue;
      }
      let name = sanitizeMetricName(s.name);
      if (name !== s.name) this.fixed.inc(1, { what: 'metric_name' });
      let value = s.value;
      if (this.cfg.base_units) {
        const rule = unitRule(s.unit);
        if (rule) {
          value *= rule.factor;
          name = nameWithUnit(name, rule);
        }
      }
      const isCounter = s.kind === 'counter';
      if (isCounter && !/_(total|count|sum|bucket)$/.test(name)) name = `${name}_total`;
      const labels = this.cleanLabels(s.labels);
      const key = this.keyOf(name, labels);
      let st = this.series.get(key);
      if (!st) {
        if (this.series.size >= this.cfg.max_series) {
          this.drop('series_limit');
          continue;
        }
        const perMetric = this.perMetric.get(name) ?? 0;
        if (perMetric >= this.cfg.max_series_per_metric) {
          this.drop('metric_series_limit');
          continue;
        }
        this.perMetric.set(name, perMetric + 1);
        st = { metric: name, lastTs: -Infinity, prevValue: NaN, prevTs: NaN, lastSeenMs: now };
        this.series.set(key, st);
      }
      if (s.ts < st.lastTs) {
        this.drop('out_of_order');
        continue;
      }
      if (s.ts === st.lastTs) {
        this.drop('duplicate');
        continue;
      }
      const hadPrev = st.lastTs !== -Infinity;
      st.lastTs = s.ts;
      st.lastSeenMs = now;
      if (isCounter && this.cfg.rate_counters) {
        const r = counterRate(hadPrev ? { prevValue: st.prevValue, prevTs: st.prevTs } : undefined, value, s.ts);
        st.prevValue = value;
        st.prevTs = s.ts;
        if (r.rate === undefined) continue; // the first point of a counter only primes it
        if (r.reset) this.resets.inc(1, { kind: 'reset' });
        if (r.wrapped) this.resets.inc(1, { kind: 'wrap32' });
        const rateName = `${name}:rate`;
        const sample: MetricSample = {
          name: rateName,
          labels,
          ts: s.ts,
          value: r.rate,
          kind: 'gauge',
          key: this.keyOf(rateName, labels),
        };
        if (r.reset) sample.featureFlags = (s.featureFlags ?? 0) | FeatureFlags.COUNTER_RESET;
        else if (s.featureFlags) sample.featureFlags = s.featureFlags;
        out.push(sample);
        continue;
      }
      const sample: MetricSample = { name, labels, ts: s.ts, value, kind: s.kind, key };
      if (s.featureFlags) sample.featureFlags = s.featureFlags;
      out.push(sample);
    }
    this.tracked.set(this.series.size);
    if (out.length > 0) await this.next.consumeMetrics({ source: batch.source, samples: out });
  }
}
