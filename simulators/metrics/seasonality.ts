// External demand: what the outside world sends to the entry points. A daily cycle, a weekly
// cycle (busy midweek, quiet weekend), a linear trend and slow random wander, all seeded. This
// is the only exogenous load: every other node's load follows from the call graph.
import type { Rng } from '../model/index.js';

const DAY_MS = 86_400_000;

export interface SeasonProfile {
  /** Relative amplitude of the daily cycle (0.25..0.5) and the UTC hour of its peak. */
  dailyAmplitude: number;
  peakHourUtc: number;
  /** Relative amplitude of the weekly cycle (peak Wednesday noon, trough Sunday noon). */
  weeklyAmplitude: number;
  /** Relative growth per day. */
  trendPerDay: number;
}

export function drawSeason(rng: Rng): SeasonProfile {
  return {
    dailyAmplitude: rng.between(0.25, 0.5),
    peakHourUtc: rng.between(12, 17),
    weeklyAmplitude: rng.between(0.06, 0.18),
    trendPerDay: rng.between(-0.01, 0.03),
  };
}

/** Deterministic demand factor at an absolute time (1 = mean level at the start). */
export function seasonalFactor(p: SeasonProfile, tMs: number, startMs: number): number {
  const hour = ((tMs % DAY_MS) + DAY_MS) % DAY_MS / 3_600_000;
  // 1970-01-01 was a Thursday: days since a Monday 00:00 UTC.
  const dayOfWeek = ((tMs / DAY_MS + 3) % 7 + 7) % 7;
  const daily = 1 + p.dailyAmplitude * Math.cos((2 * Math.PI * (hour - p.peakHourUtc)) / 24);
  const weekly = 1 + p.weeklyAmplitude * Math.cos((2 * Math.PI * (dayOfWeek - 2.5)) / 7);
  const trend = Math.max(0.1, 1 + (p.trendPerDay * (tMs - startMs)) / DAY_MS);
  return daily * weekly * trend;
}

/** Largest factor over a run (for sizing capacities so the peak stays healthy). */
export function peakFactor(p: SeasonProfile, durationMs: number): number {
  const days = durationMs / DAY_MS;
  const trend = Math.max(1, 1 + p.trendPerDay * days);
  return (1 + p.dailyAmplitude) * (1 + p.weeklyAmplitude) * trend;
}

/**
 * External demand per step for one entry: base * seasonal factor * slow multiplicative wander
 * (AR(1) in log space, phi 0.9, marginal sd `wander`).
 */
export function demandSeries(p: SeasonProfile, base: number, startMs: number, stepMs: number, length: number, wander: number, rng: Rng): Float64Array {
  const out = new Float64Array(length);
  const phi = 0.9;
  const innov = wander * Math.sqrt(1 - phi * phi);
  let z = wander * rng.normal();
  for (let t = 0; t < length; t++) {
    if (t > 0) z = phi * z + innov * rng.normal();
    out[t] = base * seasonalFactor(p, startMs + t * stepMs, startMs) * Math.exp(z);
  }
  return out;
}
