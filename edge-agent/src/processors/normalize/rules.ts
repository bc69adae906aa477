// Pure normalization rules: metric and label names, units, counter rates. Kept apart from the
// processor so that each rule is tested on its own.

const NAME_OK = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_OK = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A Prometheus-valid metric name: invalid characters become `_`, a leading digit gets `_`. */
export function sanitizeMetricName(name: string): string {
  if (NAME_OK.test(name)) return name;
  let s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  if (!/^[a-zA-Z_:]/.test(s)) s = `_${s}`;
  return s;
}

/** A Prometheus-valid label name, or '' when nothing usable remains. */
export function sanitizeLabelName(name: string): string {
  if (LABEL_OK.test(name)) return name;
  let s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  if (s === '') return '';
  if (!/^[a-zA-Z_]/.test(s)) s = `_${s}`;
  return s;
}

export interface UnitRule {
  /** Multiply the value by this to get the base unit. */
  factor: number;
  /** Suffix the name gets when it does not end with it already ('' = none). */
  suffix: string;
}

/**
 * UCUM units (as OTLP sends them) and Prometheus-style unit words to base units. Annotations in
 * braces (`{requests}`) carry no unit. Unknown units leave the value alone.
 */
const UNITS: Record<string, UnitRule> = {
  ns: { factor: 1e-9, suffix: '_seconds' },
  us: { factor: 1e-6, suffix: '_seconds' },
  'μs': { factor: 1e-6, suffix: '_seconds' },
  ms: { factor: 1e-3, suffix: '_seconds' },
  s: { factor: 1, suffix: '_seconds' },
  seconds: { factor: 1, suffix: '_seconds' },
  min: { factor: 60, suffix: '_seconds' },
  h: { factor: 3600, suffix: '_seconds' },
  d: { factor: 86400, suffix: '_seconds' },
  By: { factor: 1, suffix: '_bytes' },
  bytes: { factor: 1, suffix: '_bytes' },
  kBy: { factor: 1e3, suffix: '_bytes' },
  KBy: { factor: 1e3, suffix: '_bytes' },
  KiBy: { factor: 1024, suffix: '_bytes' },
  MBy: { factor: 1e6, suffix: '_bytes' },
  MiBy: { factor: 1024 ** 2, suffix: '_bytes' },
  GBy: { factor: 1e9, suffix: '_bytes' },
  GiBy: { factor: 1024 ** 3, suffix: '_bytes' },
  TBy: { factor: 1e12, suffix: '_bytes' },
  TiBy: { factor: 1024 ** 4, suffix: '_bytes' },
  bit: { factor: 1 / 8, suffix: '_bytes' },
  '%': { factor: 0.01, suffix: '_ratio' },
  percent: { factor: 0.01, suffix: '_ratio' },
  '1': { factor: 1, suffix: '' },
};

export function unitRule(unit: string | undefined): UnitRule | undefined {
  if (!unit) return undefined;
  const u = unit.replace(/\{[^}]*\}/g, '').trim();
  if (u === '') return undefined;
  return UNITS[u];
}

/** Name in base units: `http_server_duration` + ms -> `http_server_duration_seconds`. */
export function nameWithUnit(name: string, rule: UnitRule | undefined): string {
  if (!rule || rule.suffix === '') return name;
  const stem = name.endsWith('_total') ? name.slice(0, -'_total'.length) : name;
  const tail = name.endsWith('_total') ? '_total' : '';
  if (stem.endsWith(rule.suffix)) return name;
  // A name already carrying another unit word (`_milliseconds`) keeps it rather than stacking.
  if (/_(milliseconds|microseconds|nanoseconds|kilobytes|megabytes|percent)$/.test(stem)) return name;
  return `${stem}${rule.suffix}${tail}`;
}

export interface CounterState {
  prevValue: number;
  prevTs: number;
}

export interface RateResult {
  /** Per-second rate, or undefined for the first sample of a series. */
  rate: number | undefined;
  /** The counter went down and it was not a plausible 32-bit wrap: it restarted from zero. */
  reset: boolean;
  /** The counter wrapped at 2^32. */
  wrapped: boolean;
}

const TWO32 = 4294967296;

/**
 * The rate between two cumulative samples. A decrease is a 32-bit wrap when the previous value
 * was in the top quarter of the 32-bit range and the new one in the bottom quarter (what
 * /proc counters on 32-bit kernels do); otherwise a reset: the counter restarted from 0, so the
 * increase is the new value itself (Prometheus' rate() does the same).
 */
export function counterRate(state: CounterState | undefined, value: number, ts: number): RateResult {
  if (!state) return { rate: undefined, reset: false, wrapped: false };
  const dt = (ts - state.prevTs) / 1000;
  if (!(dt > 0)) return { rate: undefined, reset: false, wrapped: false };
  let delta = value - state.prevValue;
  let reset = false;
  let wrapped = false;
  if (delta < 0) {
    if (state.prevValue < TWO32 && state.prevValue >= 0.75 * TWO32 && value >= 0 && value < 0.25 * TWO32) {
      delta = value + TWO32 - state.prevValue;
      wrapped = true;
    } else {
      delta = value;
      reset = true;
    }
  }
  return { rate: delta / dt, reset, wrapped };
}
