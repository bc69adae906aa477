// Test helpers of the Dynamic X-Y detector: settings with a silent logger and a private metrics
// registry, a manual clock, a recording alert consumer, and frame builders. Test-only.
import type { Alert, Labels } from '../../../../../shared-schemas/src/index.js';
import { FeatureFlags } from '../../../../../shared-schemas/src/index.js';
import { SelfMetrics, silentLogger } from '../../../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Clock, IngestedFrame } from '../../../component.js';

export const WINDOW_MS = 10_000;
export const T0 = Date.UTC(2026, 2, 4, 8, 0, 0);

/** A clock moved by hand; intervals run only when a test calls runIntervals(). */
export class ManualClock implements Clock {
  readonly intervals = new Map<number, { fn: () => void; ms: number }>();
  private nextId = 1;
  constructor(public ms = T0) {}
  now(): number {
    return this.ms;
  }
  advance(ms: number): void {
    this.ms += ms;
  }
  setInterval(fn: () => void, ms: number): { id: number; unref(): void } {
    const id = this.nextId++;
    this.intervals.set(id, { fn, ms });
    return { id, unref: () => undefined };
  }
  clearInterval(handle: unknown): void {
    this.intervals.delete((handle as { id: number }).id);
  }
  setTimeout(fn: () => void, ms: number): { id: number; unref(): void } {
    return this.setInterval(fn, ms);
  }
  clearTimeout(handle: unknown): void {
    this.clearInterval(handle);
  }
  runIntervals(): void {
    for (const t of this.intervals.values()) t.fn();
  }
}

export interface TestSettings extends CentralSettings {
  selfMetrics: SelfMetrics;
}

export function testSettings(id = 'alerts/dynamic-xy', clock: Clock = new ManualClock()): TestSettings {
  const selfMetrics = new SelfMetrics();
  return { id, logger: silentLogger(), metrics: selfMetrics.forComponent(id), clock, dataDir: '/nonexistent', selfMetrics };
}

/** One self-metric's value, summed over the label sets matching `labels` (the shared test toolkit's). */
export { metricValue } from '../../../../../edge-agent/src/testing/index.js';

export class RecordingAlerts implements AlertConsumer {
  readonly alerts: Alert[] = [];
  batches = 0;
  failWith: Error | undefined;
  async consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    if (this.failWith) throw this.failWith;
    this.batches++;
    this.alerts.push(...alerts);
  }
  firing(): Alert[] {
    return this.alerts.filter((a) => a.status === 'firing');
  }
  resolved(): Alert[] {
    return this.alerts.filter((a) => a.status === 'resolved');
  }
}

export type Row = IngestedFrame['rows'][number]['row'];

/** A feature row; `flagged` sets ANOMALY | BAND_BREACH, as the agent does for a value outside the band. */
export function row(flagged: boolean, over: Partial<Row> = {}): Row {
  const value = flagged ? 250 : 100;
  return {
    count: 10,
    min: value - 5,
    max: value + 5,
    mean: value,
    std: 2,
    last: value,
    p50: value,
    p95: value + 4,
    tier1MaxScore: flagged ? 0.9 : 0.05,
    flags: flagged ? FeatureFlags.ANOMALY | FeatureFlags.BAND_BREACH : FeatureFlags.NONE,
    bandLower: 90,
    bandUpper: 110,
    ...over,
  };
}

export const CPU: Labels = Object.freeze({ __name__: 'node_cpu_utilisation', host: 'web-1', service: 'checkout', k8s_namespace: 'shop', k8s_pod: 'checkout-7d9' });

export function frame(windowIndex: number, rows: Array<{ labels: Labels; row: Row }>, opts: { tenant?: string; agentId?: string; sequence?: number } = {}): IngestedFrame {
  const start = T0 + windowIndex * WINDOW_MS;
  return {
    tenant: opts.tenant ?? 'acme',
    agentId: opts.agentId ?? 'agent-1',
    sequence: opts.sequence ?? windowIndex + 1,
    windowStartMs: start,
    windowEndMs: start + WINDOW_MS,
    rows,
  };
}

/**
 * Feeds one series a flag pattern, one frame per character from window `from`: `x` flagged,
 * `.` clean, `_` no row (the series skipped that window). Returns the next window index.
 */
export async function feed(det: { consumeFrame(f: IngestedFrame): Promise<void> }, labels: Labels, pattern: string, from = 0, opts: { tenant?: string } = {}): Promise<number> {
  let w = from;
  for (const ch of pattern) {
    if (ch === ' ') continue;
    if (ch !== '_') await det.consumeFrame(frame(w, [{ labels, row: row(ch === 'x') }], opts));
    w++;
  }
  return w;
}
