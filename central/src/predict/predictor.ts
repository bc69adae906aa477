// The forecast-to-alert state machine of the predictive engine, pure (the stage feeds it from
// the MetricStore; the benchmark feeds it simulated series): per series, a forecast crossing
// within the target's horizon for `fire_after` refreshes fires an alert; `resolve_after`
// refreshes without one (or beyond 1.25 x the horizon) resolve it; a change of severity
// (critical within `critical_within`) resolves the old alert and fires the new one.
import type { Alert, Labels } from '../../../shared-schemas/src/index.js';
import { alertFingerprint, canonicalLabelKey } from '../../../shared-schemas/src/index.js';
import type { PredictConfig, PredictTarget } from './config.js';
import { forecastCrossing, formatSpan } from './forecast.js';
import type { Forecast } from './forecast.js';

export const PREDICT_SOURCE = 'predictive';

interface SeriesState {
  firing: Alert | undefined;
  streak: number;
  quiet: number;
}

/** The resolved form of a firing alert, saying why. */
function resolvedOf(a: Alert, now: number, why: string): Alert {
  return { ...a, status: 'resolved', endsAtMs: Math.max(now, a.startsAtMs), annotations: { ...a.annotations, resolved_reason: why } };
}

export function seriesKey(target: string, labels: Labels): string {
  return `${target}|${canonicalLabelKey(labels)}`;
}

export class Predictor {
  private readonly state = new Map<string, SeriesState>();

  constructor(
    private readonly config: PredictConfig,
    private readonly tenant: string,
  ) {}

  firing(): Alert[] {
    return [...this.state.values()].map((s) => s.firing).filter((a): a is Alert => a !== undefined);
  }

  /** One refresh of one series at `now`: its alerts (fired, resolved) are appended to `out`. */
  observe(t: PredictTarget, labels: Labels, timesMs: ArrayLike<number>, values: ArrayLike<number>, capacity: number, now: number, out: Alert[], seasonal?: ArrayLike<number>): Forecast {
    // A "free" metric (bytes available) runs out as capacity - free fills up.
    const used = (v: ArrayLike<number>): ArrayLike<number> => (t.free ? Float64Array.from(v, (x) => capacity - x) : v);
    const f = forecastCrossing(timesMs, used(values), capacity * t.threshold, now, { minPoints: this.config.min_points, minSpanMs: this.config.window / 2 }, seasonal ? used(seasonal) : undefined);
    this.step(t, seriesKey(t.name, labels), labels, f, capacity, now, out);
    return f;
  }

  /** Series of target `t` not in `seen` stopped reporting: their alerts resolve, their state goes. */
  forgetExcept(t: PredictTarget, seen: ReadonlySet<string>, now: number, out: Alert[]): void {
    for (const [key, st] of this.state) {
      if (!key.startsWith(`${t.name}|`) || seen.has(key)) continue;
      if (st.firing) this.resolve(st, now, 'the series stopped reporting', out);
      this.state.delete(key);
    }
  }

  private step(t: PredictTarget, key: string, labels: Labels, f: Forecast, capacity: number, now: number, out: Alert[]): void {
    let st = this.state.get(key);
    if (!st) {
      st = { firing: undefined, streak: 0, quiet: 0 };
      this.state.set(key, st);
    }
    // Fire only on a confident forecast: the slow end of its range (the slope's lower quartile)
    // within max_spread x the expected time; once firing, the expected time alone keeps it.
    const confident = f.crossesAtMs !== null && f.latestMs !== null && (st.firing !== undefined || f.latestMs - now <= this.config.max_spread * (f.crossesAtMs - now));
    const crosses = confident && f.crossesAtMs! - now <= t.horizon * (st.firing ? 1.25 : 1);
    if (crosses) {
      st.streak++;
      st.quiet = 0;
    } else {
      st.streak = 0;
      st.quiet++;
    }
    if (crosses && (st.firing || st.streak >= this.config.fire_after)) {
      const alert = this.alertOf(t, labels, f, capacity, now, st.firing);
      const before = st.firing;
      if (before && before.fingerprint === alert.fingerprint) {
        st.firing = alert;
        return;
      }
      // First firing, or a new severity (a new fingerprint: the old alert resolves).
      if (before) out.push(resolvedOf(before, now, `now ${alert.labels['severity']}`));
      st.firing = alert;
      out.push(alert);
      return;
    }
    if (st.firing && st.quiet >= this.config.resolve_after) this.resolve(st, now, f.reason === 'not_rising' ? 'the trend stopped rising' : f.reason === 'not_steady' ? 'the rise was a step, not a trend' : 'the forecast no longer crosses within the horizon', out);
  }

  private resolve(st: SeriesState, now: number, why: string, out: Alert[]): void {
    out.push(resolvedOf(st.firing!, now, why));
    st.firing = undefined;
  }

  private alertOf(t: PredictTarget, series: Labels, f: Forecast, capacity: number, now: number, previous: Alert | undefined): Alert {
    const within = f.crossesAtMs! - now;
    const severity = within <= t.critical_within ? 'critical' : 'warning';
    const labels: Labels = {};
    for (const [k, v] of Object.entries(series)) if (k !== '__name__') labels[k] = v;
    labels['alertname'] = t.alertname;
    labels['metric'] = series['__name__'] ?? '';
    labels['severity'] = severity;
    labels['kind'] = 'predictive';
    labels['prediction'] = t.name;
    const where = [series['host'] !== undefined ? `host ${series['host']}` : '', series['service'] !== undefined ? `service ${series['service']}` : '', series['mountpoint'] !== undefined ? `${series['mountpoint']}` : ''].filter(Boolean).join(', ');
    const spread = f.earliestMs !== null && f.latestMs !== null ? Math.max(f.crossesAtMs! - f.earliestMs, f.latestMs - f.crossesAtMs!) : 0;
    const fingerprint = alertFingerprint(labels);
    const startsAtMs = previous && previous.fingerprint === fingerprint ? previous.startsAtMs : now;
    return {
      status: 'firing',
      labels,
      annotations: {
        summary: `${t.resource}${where ? ` on ${where}` : ''} full in ${formatSpan(within)}${spread > 0 && Number.isFinite(spread) ? ` ± ${formatSpan(spread)}` : ''}`,
        description: `${labels['metric']} is at ${(f.level / capacity * 100).toFixed(1)}% of its capacity ${capacity} and rising ${formatSpan(3_600_000)} by ${((f.slope * 3_600_000) / capacity * 100).toFixed(2)}% of it (robust trend over the last ${formatSpan(this.config.window)}); it reaches ${Math.round(t.threshold * 100)}% around ${new Date(f.crossesAtMs!).toISOString()}.`,
        predicted_full_at: new Date(f.crossesAtMs!).toISOString(),
        predicted_earliest: f.earliestMs !== null ? new Date(f.earliestMs).toISOString() : '',
        predicted_latest: f.latestMs !== null && Number.isFinite(f.latestMs) ? new Date(f.latestMs).toISOString() : '',
        level_ratio: (f.level / capacity).toFixed(4),
        slope_per_hour: String(f.slope * 3_600_000),
        capacity: String(capacity),
      },
      startsAtMs,
      endsAtMs: 0,
      generatorUrl: '',
      fingerprint,
      tenant: this.tenant,
      source: PREDICT_SOURCE,
    };
  }
}
