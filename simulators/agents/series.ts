// What a virtual host measures: M series in node_exporter / cAdvisor / HTTP shapes (names as the
// edge agent's normaliser emits them, counters as `<name>:rate`), and a stateless, seeded value
// generator. A row is a pure function of (seed, agent, series, window): nothing is stored per
// agent, and a frame resent after a reconnect carries exactly the rows it carried before.
//
// Values: a log-uniform level per series, a slow sinusoid (period 10 minutes to a day of
// windows), per-window noise, rare level shifts flagged as anomalies; min/max/last rounded to
// the family's decimals (as exposed by exporters), the derived statistics consistent with them
// (min <= p50, mean <= p95 <= max). Cost: a few integer hashes, one pow and one sin per row.
import { FeatureFlags } from '../../shared-schemas/src/index.js';
import type { FeatureRow, Labels } from '../../shared-schemas/src/index.js';

export interface SeriesFamily {
  /** __name__ as the agent's normaliser writes it. */
  name: string;
  job: string;
  /** The label that tells this family's series apart, and its value prefix. */
  label: string;
  valuePrefix: string;
  /** Levels are log-uniform in [lo, hi]. */
  lo: number;
  hi: number;
  /** Decimals of min/max/last (as exposed). */
  decimals: number;
  /** Values are a ratio: clipped to [0, 1]. */
  ratio: boolean;
}

export const SERIES_FAMILIES: readonly SeriesFamily[] = Object.freeze([
  { name: 'node_cpu_seconds_total:rate', job: 'node', label: 'cpu', valuePrefix: '', lo: 0.01, hi: 0.7, decimals: 4, ratio: true },
  { name: 'node_network_receive_bytes_total:rate', job: 'node', label: 'device', valuePrefix: 'eth', lo: 1e3, hi: 5e7, decimals: 1, ratio: false },
  { name: 'node_network_transmit_bytes_total:rate', job: 'node', label: 'device', valuePrefix: 'eth', lo: 1e3, hi: 5e7, decimals: 1, ratio: false },
  { name: 'node_disk_read_bytes_total:rate', job: 'node', label: 'device', valuePrefix: 'sd', lo: 1e2, hi: 2e8, decimals: 0, ratio: false },
  { name: 'node_disk_io_time_seconds_total:rate', job: 'node', label: 'device', valuePrefix: 'sd', lo: 0.001, hi: 0.9, decimals: 4, ratio: true },
  { name: 'node_filesystem_avail_bytes', job: 'node', label: 'mountpoint', valuePrefix: '/data', lo: 1e9, hi: 2e12, decimals: 0, ratio: false },
  { name: 'container_memory_working_set_bytes', job: 'cadvisor', label: 'container', valuePrefix: 'c', lo: 1e7, hi: 8e9, decimals: 0, ratio: false },
  { name: 'container_cpu_usage_seconds_total:rate', job: 'cadvisor', label: 'container', valuePrefix: 'c', lo: 0.001, hi: 4, decimals: 4, ratio: false },
  { name: 'http_requests_total:rate', job: 'app', label: 'handler', valuePrefix: '/api/v1/r', lo: 0.1, hi: 2000, decimals: 3, ratio: false },
  { name: 'http_request_duration_seconds', job: 'app', label: 'handler', valuePrefix: '/api/v1/r', lo: 0.001, hi: 2.5, decimals: 4, ratio: false },
] satisfies SeriesFamily[]);

const F = SERIES_FAMILIES.length;
const POW10 = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000];
const INV_2_32 = 1 / 4_294_967_296;
const TWO_PI = 2 * Math.PI;

// State of the per-row noise stream (module level: no closure per row on the hot path).
let noiseState = 0;

/** Next uniform in [0, 1) of the noise stream (mulberry32). */
function u(): number {
  noiseState = (noiseState + 0x6d2b79f5) | 0;
  let t = Math.imul(noiseState ^ (noiseState >>> 15), 1 | noiseState);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) * INV_2_32;
}

/** murmur3's 32-bit finaliser: a cheap, well-mixed hash of an integer. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A fresh row object (the pool reuses these). */
export function emptyRow(seriesId: number): FeatureRow {
  return { seriesId, count: 0, min: 0, max: 0, mean: 0, std: 0, last: 0, p50: 0, p95: 0, tier1MaxScore: 0, flags: 0, bandLower: 0, bandUpper: 0 };
}

export interface SeriesModelOptions {
  seriesPerAgent: number;
  seed: number;
  samplesPerWindow: number;
}

export class SeriesModel {
  readonly seriesPerAgent: number;
  private readonly seed: number;
  private readonly samples: number;
  /** Rows of the frame being built; encodeFrame is synchronous, so one pool serves every agent. */
  private readonly pool: FeatureRow[];

  constructor(opts: SeriesModelOptions) {
    this.seriesPerAgent = opts.seriesPerAgent;
    this.seed = opts.seed >>> 0;
    this.samples = opts.samplesPerWindow;
    this.pool = Array.from({ length: opts.seriesPerAgent }, (_, i) => emptyRow(i + 1));
  }

  /** Label set of series `id` (1..seriesPerAgent) of an agent: id = position in the frame + 1. */
  labels(agentId: string, id: number): Labels {
    const i = id - 1;
    const fam = SERIES_FAMILIES[i % F] as SeriesFamily;
    return { __name__: fam.name, host: agentId, job: fam.job, [fam.label]: `${fam.valuePrefix}${Math.floor(i / F)}` };
  }

  /**
   * The rows of window `window` of agent `agentIndex` (seriesId i + 1 at position i). The array
   * and its objects are reused by the next call: encode before calling again.
   */
  rows(agentIndex: number, window: number): FeatureRow[] {
    const rows = this.pool;
    const agentSeed = fmix32(this.seed ^ Math.imul(agentIndex + 1, 0x9e3779b1));
    const wmix = Math.imul((window >>> 0) + 1, 0x27d4eb2d);
    const count = this.samples;
    for (let i = 0; i < rows.length; i++) {
      const fam = SERIES_FAMILIES[i % F] as SeriesFamily;
      // Static parameters of the series.
      const hs = fmix32(agentSeed ^ Math.imul(i + 1, 0x85ebca77));
      const h2 = fmix32(hs + 0x6a09e667);
      const h3 = fmix32(hs + 0x3c6ef372);
      const base = fam.lo * Math.pow(fam.hi / fam.lo, hs * INV_2_32);
      const relStd = 0.01 + 0.14 * ((h2 & 0xffff) / 65_536);
      const amp = 0.05 + 0.35 * ((h2 >>> 16) / 65_536);
      const period = 60 + (h3 % 8580); // windows: 10 minutes .. a day at 10 s
      const phase = (h3 >>> 16) / 65_536;
      // Per-window noise: a mulberry32 stream seeded by (series, window).
      noiseState = fmix32(hs ^ wmix);
      const expected = base * (1 + amp * Math.sin(TWO_PI * (window / period + phase)));
      let level = expected;
      const shift = u() < 0.0005;
      if (shift) level *= 2 + 2 * u();
      const noise = u() + u() - 1; // triangular in (-1, 1)
      const sd = level * relStd * (0.5 + u());
      let mean = level * (1 + relStd * 0.3 * noise);
      let lo = mean - sd * (1.2 + 0.8 * u());
      let hi = mean + sd * (1.2 + 0.8 * u());
      if (lo < 0) lo = 0;
      if (fam.ratio && hi > 1) hi = 1;
      if (mean < lo) mean = lo;
      if (mean > hi) mean = hi;
      const s = POW10[fam.decimals] as number;
      const min = Math.round(lo * s) / s;
      const max = Math.round(hi * s) / s;
      const last = Math.round((lo + (hi - lo) * u()) * s) / s;
      const r = rows[i] as FeatureRow;
      r.count = count;
      r.min = min;
      r.max = max;
      r.last = last;
      r.mean = mean;
      r.std = sd;
      r.p50 = Math.min(max, Math.max(min, mean + sd * 0.25 * noise));
      r.p95 = Math.min(max, mean + 1.645 * sd);
      r.tier1MaxScore = shift ? 4 + 3 * u() : Math.abs(noise) * 1.5 * u() * 2;
      r.flags = shift ? FeatureFlags.ANOMALY | FeatureFlags.ZSCORE | FeatureFlags.LEVEL_SHIFT : 0;
      r.bandLower = Math.max(0, expected * (1 - 3 * relStd));
      r.bandUpper = expected * (1 + 3 * relStd);
    }
    return rows;
  }
}
