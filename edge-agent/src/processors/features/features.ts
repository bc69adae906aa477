// The window aggregator: per series and per (wall-clock aligned) window, the features central
// receives instead of raw samples: count, min, max, mean, std, last, p50, p95, the highest
// Tier-1 score, flags and the Tier-1 band at window end. A window closes `graceMs` after its
// end; samples for a closed window are dropped and counted as late.

import { FeatureFlags, roundToPrecisionBits } from '../../../../shared-schemas/src/index.js';
import { FLAG_ANOMALY, FLAG_GAP, FLAG_LEVEL_SHIFT, FLAG_WARMUP } from '../../../../wasm-detectors/src/index.js';
import type { ComponentSettings, Processor, WindowConsumer } from '../../component.js';
import type { FeatureWindow, Labels, MetricBatch, MetricSample } from '../../pdata.js';
import type { FeaturesConfig } from './config.js';

interface Acc {
  key: string;
  labels: Labels;
  count: number;
  min: number;
  max: number;
  mean: number;
  m2: number;
  last: number;
  lastTs: number;
  values: number[];
  maxScore: number;
  flags: number;
  lower: number;
  upper: number;
}

/** Canonical key of a sample's series (name + labels sorted by name). */
export function seriesKey(name: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  // Built by join, not +=: a flat string, not a rope of 4 pieces per label kept alive for as
  // long as the key is (keys live as long as their series, in several stages' maps).
  const parts = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    parts[i] = `${n}=${JSON.stringify(labels[n])}`;
  }
  return `${name}{${parts.join(',')}}`;
}

/** Linear-interpolated quantile of sorted values (NaN when empty). */
export function quantileSorted(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export class WindowAggregator implements Processor {
  private readonly open = new Map<number, Map<string, Acc>>();
  private readonly seriesInOpen = new Map<string, number>();
  private timer: unknown;
  private closedUpTo = -Infinity;
  private readonly maxValues: number;
  /** Rounds a derived statistic to the configured precision (identity when unset). */
  private readonly round: (x: number) => number;
  private readonly pool: Acc[] = [];
  private readonly dropped;
  private readonly emitted;
  private readonly exportErrors;
  private readonly openSeries;
  private stopped = false;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly cfg: FeaturesConfig,
    private readonly next: WindowConsumer,
  ) {
    this.maxValues = cfg.maxValuesPerSeries ?? 256;
    const bits = cfg.precisionBits;
    if (bits !== undefined) roundToPrecisionBits(0, bits); // a bad value fails here, at construction
    this.round = bits === undefined ? (x) => x : (x) => roundToPrecisionBits(x, bits);
    const m = settings.metrics;
    this.dropped = m.counter('aiops_agent_features_dropped_samples_total', 'Samples not aggregated, by reason (late, series_limit, non_finite).', ['reason']);
    this.emitted = m.counter('aiops_agent_features_windows_total', 'Feature windows handed to the exporters.');
    this.exportErrors = m.counter('aiops_agent_features_export_errors_total', 'Windows an exporter refused (it logs why).');
    this.openSeries = m.gauge('aiops_agent_features_open_series', 'Series with samples in the open windows.');
  }

  async start(): Promise<void> {
    if (this.timer || this.stopped) return;
    const tick = Math.max(250, Math.min(1000, Math.floor(this.cfg.windowMs / 10)));
    this.timer = this.settings.clock.setInterval(() => void this.closeDue(this.settings.clock.now()), tick);
    (this.timer as { unref?(): void }).unref?.();
  }

  async shutdown(): Promise<void> {
    if (this.timer) this.settings.clock.clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    this.stopped = true;
    await this.closeDue(Infinity);
  }

  async consumeMetrics(batch: MetricBatch): Promise<void> {
    const w = this.cfg.windowMs;
    for (const s of batch.samples) {
      if (!Number.isFinite(s.value) || !Number.isFinite(s.ts)) {
        this.dropped.inc(1, { reason: 'non_finite' });
        continue;
      }
      const start = Math.floor(s.ts / w) * w;
      if (start <= this.closedUpTo) {
        this.dropped.inc(1, { reason: 'late' });
        continue;
      }
      let win = this.open.get(start);
      if (!win) {
        win = new Map();
        this.open.set(start, win);
      }
      const key = s.key ?? seriesKey(s.name, s.labels);
      let acc = win.get(key);
      if (!acc) {
        const inOpen = this.seriesInOpen.get(key) ?? 0;
        if (inOpen === 0 && this.seriesInOpen.size >= this.cfg.maxSeries) {
          this.dropped.inc(1, { reason: 'series_limit' });
          continue;
        }
        this.seriesInOpen.set(key, inOpen + 1);
        acc = newAcc(key, s, this.pool);
        win.set(key, acc);
      }
      add(acc, s, this.maxValues);
    }
    this.openSeries.set(this.seriesInOpen.size);
  }

  /** The passes in progress, if any, and the latest time a caller asked to close up to. */
  private closing: Promise<void> | undefined;
  private wantNow = -Infinity;

  /**
   * Closes every window whose end + grace is at or before `now`, oldest first. One pass at a
   * time: a call while a pass waits on the exporter (a backlog, a slow disk) is folded into a
   * next pass, so windows never go out of order nor race on the open map.
   */
  private closeDue(now: number): Promise<void> {
    this.wantNow = Math.max(this.wantNow, now);
    this.closing ??= (async () => {
      try {
        while (this.wantNow !== -Infinity) {
          const upTo = this.wantNow;
          this.wantNow = -Infinity;
          await this.closePass(upTo);
        }
      } finally {
        this.closing = undefined;
      }
    })();
    return this.closing;
  }

  private async closePass(now: number): Promise<void> {
    const w = this.cfg.windowMs;
    const due = [...this.open.keys()].filter((start) => start + w + this.cfg.graceMs <= now).sort((a, b) => a - b);
    for (const start of due) {
      const win = this.open.get(start);
      if (win === undefined) continue;
      this.open.delete(start);
      this.closedUpTo = Math.max(this.closedUpTo, start);
      const out: FeatureWindow = { windowStartMs: start, windowEndMs: start + w, series: [] };
      for (const acc of win.values()) {
        const left = (this.seriesInOpen.get(acc.key) ?? 1) - 1;
        if (left <= 0) this.seriesInOpen.delete(acc.key);
        else this.seriesInOpen.set(acc.key, left);
        out.series.push({ key: acc.key, labels: acc.labels, row: finish(acc, this.round) });
        // Accumulators live one window; reusing them keeps 10,000s of short-lived objects per
        // window out of the old generation.
        if (this.pool.length < this.cfg.maxSeries) this.pool.push(acc);
      }
      this.openSeries.set(this.seriesInOpen.size);
      if (out.series.length === 0) continue;
      try {
        await this.next.consumeWindow(out);
        this.emitted.inc();
      } catch (err) {
        this.exportErrors.inc();
        this.settings.logger.warn({ err: (err as Error).message, windowStartMs: start }, 'an exporter refused a feature window');
      }
    }
  }
}

/**
 * Labels with `__name__` as frames carry them, one frozen object per (labels object, name),
 * reused across windows while the sample's labels object lives (receivers and the enricher keep
 * one per series): no new object per series and window, and the exporters' dictionaries see
 * the same object each time.
 */
const wireLabelsCache = new WeakMap<Labels, { name: string; labels: Labels }>();

function wireLabels(s: MetricSample): Labels {
  const hit = wireLabelsCache.get(s.labels);
  if (hit !== undefined && hit.name === s.name) return hit.labels;
  const labels = Object.freeze({ __name__: s.name, ...s.labels });
  wireLabelsCache.set(s.labels, { name: s.name, labels });
  return labels;
}

function newAcc(key: string, s: MetricSample, pool: Acc[]): Acc {
  const reused = pool.pop();
  if (reused !== undefined) {
    reused.key = key;
    reused.labels = wireLabels(s);
    reused.count = 0;
    reused.min = Infinity;
    reused.max = -Infinity;
    reused.mean = 0;
    reused.m2 = 0;
    reused.last = NaN;
    reused.lastTs = -Infinity;
    reused.values.length = 0;
    reused.maxScore = NaN;
    reused.flags = 0;
    reused.lower = NaN;
    reused.upper = NaN;
    return reused;
  }
  return {
    key,
    labels: wireLabels(s),
    count: 0,
    min: Infinity,
    max: -Infinity,
    mean: 0,
    m2: 0,
    last: NaN,
    lastTs: -Infinity,
    values: [],
    maxScore: NaN,
    flags: 0,
    lower: NaN,
    upper: NaN,
  };
}

function add(a: Acc, s: MetricSample, maxValues: number): void {
  const v = s.value;
  a.count++;
  if (v < a.min) a.min = v;
  if (v > a.max) a.max = v;
  const d = v - a.mean;
  a.mean += d / a.count;
  a.m2 += d * (v - a.mean);
  if (s.ts >= a.lastTs) {
    a.last = v;
    a.lastTs = s.ts;
  }
  if (a.values.length < maxValues) a.values.push(v);
  if (s.featureFlags) a.flags |= s.featureFlags;
  const t = s.tier1;
  if (t) {
    if (!(t.score <= a.maxScore)) a.maxScore = t.score;
    if (t.flags & FLAG_ANOMALY) a.flags |= FeatureFlags.ANOMALY;
    if (t.flags & FLAG_LEVEL_SHIFT) a.flags |= FeatureFlags.LEVEL_SHIFT;
    if (t.flags & FLAG_GAP) a.flags |= FeatureFlags.GAP;
    if (Number.isFinite(t.lower) && Number.isFinite(t.upper) && (v < t.lower || v > t.upper)) a.flags |= FeatureFlags.BAND_BREACH;
    if (s.ts >= a.lastTs) {
      a.lower = t.lower;
      a.upper = t.upper;
      if (t.flags & FLAG_WARMUP) a.flags |= FeatureFlags.WARMING_UP;
      else a.flags &= ~FeatureFlags.WARMING_UP;
    }
  }
}

function finish(a: Acc, r: (x: number) => number): FeatureWindow['series'][number]['row'] {
  const sorted = a.values.sort((x, y) => x - y);
  return {
    count: a.count,
    min: a.min,
    max: a.max,
    mean: r(a.mean),
    std: a.count >= 2 ? r(Math.sqrt(a.m2 / a.count)) : NaN,
    last: a.last,
    p50: r(quantileSorted(sorted, 0.5)),
    p95: r(quantileSorted(sorted, 0.95)),
    tier1MaxScore: r(a.maxScore),
    flags: a.flags,
    bandLower: r(a.lower),
    bandUpper: r(a.upper),
  };
}
