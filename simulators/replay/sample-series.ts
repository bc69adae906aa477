// A seeded sample series for the first-run demo (npm start) and the replay tests: one minute
// resolution, a daily cycle, noise, and four labelled incidents, so that a newcomer sees the
// detector find known things. Reproducible: the same seed gives the same series.
import { mulberry32 } from '../../shared-schemas/src/runtime/index.js';

export interface SampleIncident {
  kind: 'spike' | 'level-shift' | 'dip' | 'missing-data';
  /** Row index where it starts, and how many rows it lasts. */
  start: number;
  length: number;
  description: string;
}

export interface SampleSeries {
  name: string;
  timestamps: Float64Array; // epoch ms
  values: Float64Array;
  incidents: SampleIncident[];
}

/** Mulberry32: a small, well-known seeded PRNG (shared-schemas runtime). */
export { mulberry32 };

/** Standard normal by Box-Muller. */
function gaussian(rnd: () => number): number {
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

/**
 * CPU utilisation (%) of a web server over `days` days at one-minute resolution: a daily cycle
 * between ~20 % and ~60 %, noise, and the incidents listed in the result.
 */
export function makeSampleSeries(seed = 7, days = 4, startMs = Date.UTC(2026, 10, 2)): SampleSeries {
  const rnd = mulberry32(seed);
  const n = days * 1440;
  const timestamps = new Float64Array(n);
  const values = new Float64Array(n);
  const at = (dayFrac: number): number => Math.floor(dayFrac * 1440);
  const incidents: SampleIncident[] = [
    { kind: 'spike', start: at(1.40), length: 3, description: 'runaway batch job: CPU pegged for 3 minutes' },
    { kind: 'missing-data', start: at(1.9), length: 20, description: 'exporter restart: 20 minutes of NaN samples' },
    { kind: 'level-shift', start: at(2.55), length: at(0.35), description: 'bad deploy: CPU up by 25 points for ~8 hours' },
    { kind: 'dip', start: at(3.6), length: 30, description: 'traffic lost behind a broken load balancer: CPU drops to ~3 %' },
  ];
  for (let i = 0; i < n; i++) {
    timestamps[i] = startMs + i * 60_000;
    const dayPhase = (i % 1440) / 1440;
    let v = 40 - 20 * Math.cos(2 * Math.PI * dayPhase) + gaussian(rnd) * 2.5;
    for (const inc of incidents) {
      if (i < inc.start || i >= inc.start + inc.length) continue;
      if (inc.kind === 'spike') v = 97 + rnd() * 3;
      else if (inc.kind === 'level-shift') v += 25;
      else if (inc.kind === 'dip') v = 3 + rnd();
      else v = NaN;
    }
    values[i] = Number.isNaN(v) ? v : Math.min(100, Math.max(0, v));
  }
  return { name: 'web-1 cpu_utilization', timestamps, values, incidents };
}
