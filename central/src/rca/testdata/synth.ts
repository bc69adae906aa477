// Small synthetic cases for the engine's tests: a chain of services with noisy metrics and a
// fault whose effect travels along the chain one step per hop (latency up to callers, load down
// to callees), so each test states exactly what moved where and when.
import { mulberry32 } from '../../../../shared-schemas/src/runtime/index.js';
import type { RcaCase, RcaSeries, RcaTopology } from '../frame.js';

export const STEP_MS = 10_000;
export const T0 = Date.UTC(2026, 0, 1);

export interface SynthSeries {
  entity: string;
  metric: string;
  base: number;
  /** Relative noise (standard deviation / base). */
  noise?: number;
  /** Added from `from` (a row index) on: `add(k)` for the k-th row after it. */
  shifts?: Array<{ from: number; add: (k: number) => number }>;
  /** Rows with no sample. */
  gaps?: { from: number; to: number };
}

export function synthCase(rows: number, detectRow: number, spec: readonly SynthSeries[], topology?: RcaTopology, seed = 7): RcaCase {
  const r = mulberry32(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(Math.max(1e-12, r()))) * Math.cos(2 * Math.PI * r());
  const timesMs = Float64Array.from({ length: rows }, (_, i) => T0 + i * STEP_MS);
  const series: RcaSeries[] = spec.map((s) => {
    const values = new Float64Array(rows);
    for (let i = 0; i < rows; i++) {
      let v = s.base * (1 + (s.noise ?? 0.02) * gauss());
      for (const sh of s.shifts ?? []) if (i >= sh.from) v += sh.add(i - sh.from);
      values[i] = s.gaps && i >= s.gaps.from && i < s.gaps.to ? NaN : v;
    }
    return { entity: s.entity, metric: s.metric, values };
  });
  return { frame: { timesMs, series }, detectedAtMs: T0 + detectRow * STEP_MS, ...(topology ? { topology } : {}) };
}

/** frontend -> checkout -> payment -> db, every workload on host-1. */
export function chainTopology(): RcaTopology {
  return {
    dependsOn: new Map([
      ['frontend', ['checkout', 'host-1']],
      ['checkout', ['payment', 'host-1']],
      ['payment', ['db', 'host-1']],
      ['db', ['host-1']],
    ]),
    hosts: new Set(['host-1']),
  };
}

export const CHAIN = ['frontend', 'checkout', 'payment', 'db'] as const;

/** Latency, errors, load and CPU of every chain service, and the host's CPU and disk. */
export function chainSeries(extra: (entity: string, metric: string) => SynthSeries['shifts'] = () => undefined): SynthSeries[] {
  const out: SynthSeries[] = [];
  for (const e of CHAIN) {
    out.push({ entity: e, metric: 'latency-95', base: 0.05, noise: 0.05, shifts: extra(e, 'latency-95') });
    out.push({ entity: e, metric: 'error', base: 0.001, noise: 0.3, shifts: extra(e, 'error') });
    out.push({ entity: e, metric: 'workload', base: 100, noise: 0.03, shifts: extra(e, 'workload') });
    out.push({ entity: e, metric: 'cpu', base: 0.5, noise: 0.05, shifts: extra(e, 'cpu') });
  }
  out.push({ entity: 'host-1', metric: 'cpu', base: 0.3, noise: 0.05, shifts: extra('host-1', 'cpu') });
  out.push({ entity: 'host-1', metric: 'disk', base: 0.5, noise: 0.005, shifts: extra('host-1', 'disk') });
  return out;
}
