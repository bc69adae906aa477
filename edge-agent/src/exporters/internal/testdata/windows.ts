// Test windows: `series` series per window with deterministic values.
import type { FeatureWindow } from '../../../pdata.js';

export const T0 = Date.UTC(2026, 0, 1);

export function makeWindow(index: number, series = 5, opts: { labelBytes?: number; windowMs?: number } = {}): FeatureWindow {
  const windowMs = opts.windowMs ?? 10_000;
  const pad = opts.labelBytes ? 'x'.repeat(opts.labelBytes) : undefined;
  return {
    windowStartMs: T0 + index * windowMs,
    windowEndMs: T0 + (index + 1) * windowMs,
    series: Array.from({ length: series }, (_, i) => {
      const labels: Record<string, string> = { __name__: 'node_cpu_usage_ratio', cpu: String(i), host: 'h1' };
      if (pad !== undefined) labels['pad'] = `${pad}${i}`;
      return {
        key: `node_cpu_usage_ratio{cpu="${i}",host="h1"}`,
        labels,
        row: { count: 10, min: i, max: i + 1, mean: i + 0.5, std: 0.25, last: i + index, p50: i + 0.5, p95: i + 0.9, tier1MaxScore: 0.5, flags: 0, bandLower: i - 1, bandUpper: i + 2 },
      };
    }),
  };
}
