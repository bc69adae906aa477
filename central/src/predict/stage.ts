// The predictive engine in central (issue #9, Deliver 5): every `interval` each target's series
// are read from the MetricStore over the last `window` (and the same window one seasonal period
// earlier, when stored), a robust trend forecasts when each reaches its capacity, and a forecast
// crossing within the target's horizon becomes an alert ("disk on host node-2 full in 3 h 10 m
// ± 25 m") sent down the alert chain like any other: stored, muted, correlated into incidents.
// It resolves when the forecast no longer crosses (or crosses beyond 1.25 x the horizon) for
// `resolve_after` refreshes in a row. An alert is sent when it fires, when its severity changes
// (critical within `critical_within`: a new alert, the warning resolves) and when it resolves.
//
// Bounded: one refresh at a time (a slow one skips the next tick, counted), capped series per
// query, firing state per series only.
import type { Alert, Labels } from '../../../shared-schemas/src/index.js';
import { escapeRegex, every, Serial } from '../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge } from '../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Component } from '../component.js';
import type { MetricStore, SeriesPoints } from '../storage/types.js';
import type { PredictConfig, PredictTarget } from './config.js';
import { Predictor, seriesKey } from './predictor.js';

const ENTITY_LABELS = ['service', 'host', 'database', 'queue', 'cache', 'instance', 'pod', 'container', 'device', 'mountpoint'] as const;

export interface PredictStageDeps {
  metrics: MetricStore;
  next: AlertConsumer;
  tenant: string;
}

/** Labels that identify a series' entity (what a capacity series must share). */
function entityKey(labels: Labels): string {
  return ENTITY_LABELS.map((l) => `${l}=${labels[l] ?? ''}`).join(',');
}

export class PredictStage implements Component {
  private readonly serial = new Serial();
  private readonly predictor: Predictor;
  private stopTicks: (() => void) | undefined;
  private closed = false;
  private busy = false;
  private readonly m: { fired: BoundCounter; resolved: BoundCounter; skipped: BoundCounter; series: BoundGauge; errors: BoundCounter };

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: PredictConfig,
    private readonly deps: PredictStageDeps,
  ) {
    this.predictor = new Predictor(config, deps.tenant);
    const mm = settings.metrics;
    this.m = {
      fired: mm.counter('aiops_central_predictive_alerts_fired_total', 'Predictive alerts raised, by target.', ['target']),
      resolved: mm.counter('aiops_central_predictive_alerts_resolved_total', 'Predictive alerts resolved (the forecast no longer crosses), by target.', ['target']),
      skipped: mm.counter('aiops_central_predictive_refreshes_skipped_total', 'Refreshes skipped because the previous one was still running.'),
      series: mm.gauge('aiops_central_predictive_series', 'Series forecast in the last refresh.'),
      errors: mm.counter('aiops_central_predictive_errors_total', 'Refreshes of a target that failed (store or downstream errors).'),
    };
  }

  async start(): Promise<void> {
    if (!this.config.enabled || this.config.targets.length === 0) return;
    this.stopTicks = every(this.settings.clock, this.config.interval, () => {
      if (this.busy) {
        this.m.skipped.inc();
        return;
      }
      return this.refresh();
    });
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTicks?.();
    await this.serial.idle();
  }

  /** The alerts currently firing (tests, the API). */
  firing(): Alert[] {
    return this.predictor.firing();
  }

  /** One refresh of every target at the clock's time; resolves when its alerts are handed on. */
  refresh(): Promise<void> {
    return this.serial.run(async () => {
      if (this.closed) return;
      this.busy = true;
      try {
        const now = this.settings.clock.now();
        let n = 0;
        for (const t of this.config.targets) {
          try {
            n += await this.refreshTarget(t, now);
          } catch (err) {
            this.m.errors.inc();
            this.settings.logger.warn({ target: t.name, err: (err as Error).message }, 'predictive refresh of a target failed');
          }
        }
        this.m.series.set(n);
      } finally {
        this.busy = false;
      }
    });
  }

  private async query(metric: string, startMs: number, endMs: number): Promise<SeriesPoints[]> {
    return this.deps.metrics.query({ selector: { matchers: [{ name: '__name__', op: '=~', value: metric }] }, startMs, endMs, resolution: 'raw', maxSeries: this.config.max_series });
  }

  private async refreshTarget(t: PredictTarget, now: number): Promise<number> {
    const c = this.config;
    const from = now - c.window;
    const series = await this.query(t.metric, from, now + 1);
    let capacities: Map<string, number> | undefined;
    if (t.capacity_metric !== undefined) {
      capacities = new Map();
      for (const s of await this.query(escapeRegex(t.capacity_metric), from, now + 1)) {
        const v = s.values[s.values.length - 1];
        if (v !== undefined && Number.isFinite(v) && v > 0) capacities.set(entityKey(s.labels), v);
      }
    }
    let seasonal: Map<string, SeriesPoints> | undefined;
    if (c.seasonal_period > 0 && series.length > 0) {
      seasonal = new Map();
      for (const s of await this.query(t.metric, from - c.seasonal_period, now + 1 - c.seasonal_period)) seasonal.set(seriesKey(t.name, s.labels), s);
    }
    const out: Alert[] = [];
    const seen = new Set<string>();
    for (const s of series) {
      const capacity = t.capacity ?? capacities?.get(entityKey(s.labels));
      const key = seriesKey(t.name, s.labels);
      seen.add(key);
      if (capacity === undefined) continue;
      const ref = seasonal?.get(key);
      this.predictor.observe(t, s.labels, s.timestamps, s.values, capacity, now, out, ref ? this.align(s, ref) : undefined);
    }
    this.predictor.forgetExcept(t, seen, now, out);
    for (const a of out) (a.status === 'firing' ? this.m.fired : this.m.resolved).inc(1, { target: a.labels['prediction'] ?? t.name });
    if (out.length > 0) await this.deps.next.consumeAlerts(out);
    return series.length;
  }

  /** The seasonal reference on the series' own timestamps (NaN where it has no sample within half a step). */
  private align(s: SeriesPoints, ref: SeriesPoints): Float64Array {
    const out = new Float64Array(s.timestamps.length).fill(NaN);
    const p = this.config.seasonal_period;
    let hits = 0;
    let j = 0;
    for (let i = 0; i < s.timestamps.length; i++) {
      const t = s.timestamps[i]! - p;
      while (j + 1 < ref.timestamps.length && ref.timestamps[j + 1]! <= t) j++;
      const step = i > 0 ? s.timestamps[i]! - s.timestamps[i - 1]! : 60_000;
      if (ref.timestamps.length > 0 && Math.abs(ref.timestamps[j]! - t) <= step / 2) {
        out[i] = ref.values[j]!;
        hits++;
      }
    }
    // A reference covering little of the window would distort more than it corrects.
    if (hits < 0.8 * s.timestamps.length) out.fill(NaN);
    return out;
  }
}
