// Self-metrics of the agent: one prom-client Registry per agent (no global registry), served at
// /metrics. Components ask for a metric by name; the same name is shared by every component of a
// type and told apart by the `component` label, so two Prometheus receivers do not collide.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type LabelValues = Record<string, string | number>;

export interface BoundCounter {
  inc(n?: number, labels?: LabelValues): void;
}
export interface BoundGauge {
  set(v: number, labels?: LabelValues): void;
  inc(n?: number, labels?: LabelValues): void;
  dec(n?: number, labels?: LabelValues): void;
}
export interface BoundHistogram {
  observe(v: number, labels?: LabelValues): void;
}

export class SelfMetrics {
  readonly registry: Registry;
  private readonly made = new Map<string, Counter | Gauge | Histogram>();

  constructor(registry = new Registry()) {
    this.registry = registry;
  }

  /** Adds the process metrics (CPU, RSS, heap, event-loop lag) to this registry: the agent does. */
  collectProcessMetrics(): void {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
  }

  /** A view of this registry whose metrics carry `component=<id>`. */
  forComponent(id: string): ComponentMetrics {
    return new ComponentMetrics(this, id);
  }

  /** @internal */
  get<T extends Counter | Gauge | Histogram>(kind: 'counter' | 'gauge' | 'histogram', name: string, help: string, labelNames: string[], buckets?: number[]): T {
    const existing = this.made.get(name);
    if (existing) return existing as T;
    const cfg = { name, help, labelNames, registers: [this.registry] };
    const m = kind === 'counter' ? new Counter(cfg) : kind === 'gauge' ? new Gauge(cfg) : new Histogram({ ...cfg, ...(buckets ? { buckets } : {}) });
    this.made.set(name, m);
    return m as T;
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * One metric's current value in `sm`, summed over the label sets that match every entry of
 * `labels` (values compared as strings); 0 when the metric was never created.
 */
export async function metricSum(sm: SelfMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = sm.registry.getSingleMetric(name);
  if (!m) return 0;
  const data = await m.get();
  let sum = 0;
  for (const v of data.values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, x]) => String(l[k]) === x)) sum += v.value;
  }
  return sum;
}

export class ComponentMetrics {
  constructor(
    private readonly root: SelfMetrics,
    readonly component: string,
  ) {}

  counter(name: string, help: string, extraLabels: string[] = []): BoundCounter {
    const c = this.root.get<Counter>('counter', name, help, ['component', ...extraLabels]);
    const component = this.component;
    return { inc: (n = 1, labels = {}) => c.inc({ component, ...labels }, n) };
  }

  gauge(name: string, help: string, extraLabels: string[] = []): BoundGauge {
    const g = this.root.get<Gauge>('gauge', name, help, ['component', ...extraLabels]);
    const component = this.component;
    return {
      set: (v, labels = {}) => g.set({ component, ...labels }, v),
      inc: (n = 1, labels = {}) => g.inc({ component, ...labels }, n),
      dec: (n = 1, labels = {}) => g.dec({ component, ...labels }, n),
    };
  }

  histogram(name: string, help: string, buckets?: number[], extraLabels: string[] = []): BoundHistogram {
    const h = this.root.get<Histogram>('histogram', name, help, ['component', ...extraLabels], buckets);
    const component = this.component;
    return { observe: (v, labels = {}) => h.observe({ component, ...labels }, v) };
  }
}
