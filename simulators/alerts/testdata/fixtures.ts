// Hand-made simulated inputs for the alert-storm tests: a small topology, two hours of series on
// a 30 s grid with known faults, and helpers to build one-series metrics value by value.
import { HOST_METRICS, Rng, SERVICE_METRICS } from '../../model/index.js';
import type { GroundTruth, GroundTruthFault, HostMetric, ServiceMetric, SimMetrics, SimSeries, TopologyDocument } from '../../model/index.js';

export const T0 = Date.UTC(2024, 5, 1, 0, 0, 0);
export const STEP = 30_000;
export const MIN = 60_000;

export const TOPOLOGY: TopologyDocument = {
  version: 1,
  name: 'mini-shop',
  nodes: [
    { id: 'service:frontend', kind: 'Service', name: 'frontend' },
    { id: 'service:cart', kind: 'Service', name: 'cart' },
    { id: 'service:checkout', kind: 'Service', name: 'checkout' },
    { id: 'database:cartdb', kind: 'Database', name: 'cartdb' },
    { id: 'host:node-1', kind: 'Host', name: 'node-1' },
    { id: 'host:node-2', kind: 'Host', name: 'node-2' },
  ],
  edges: [
    { from: 'service:frontend', to: 'service:cart', kind: 'CALLS' },
    { from: 'service:frontend', to: 'service:checkout', kind: 'CALLS' },
    { from: 'service:cart', to: 'database:cartdb', kind: 'CALLS' },
    { from: 'service:frontend', to: 'host:node-1', kind: 'RUNS_ON' },
    { from: 'service:cart', to: 'host:node-1', kind: 'RUNS_ON' },
    { from: 'service:checkout', to: 'host:node-2', kind: 'RUNS_ON' },
    { from: 'database:cartdb', to: 'host:node-2', kind: 'RUNS_ON' },
  ],
};

const SERVICE_BASE: Record<ServiceMetric, number> = {
  request_rate: 100,
  latency_p50: 0.05,
  latency_p95: 0.12,
  latency_p99: 0.2,
  error_rate: 0.002,
  cpu: 0.5,
  memory: 400e6,
  gc_pause: 0.01,
  saturation: 0.4,
};
const HOST_BASE: Record<HostMetric, number> = { cpu: 0.3, memory: 0.5, disk: 0.6, network_rx: 1e6, network_tx: 8e5 };

/** Step index of minute m. */
export const at = (minute: number): number => (minute * MIN) / STEP;

/**
 * Two hours of series for TOPOLOGY with three faults:
 *   f1 cart latency/errors, minutes 30-50 (cart from 30, frontend from 31, one hop);
 *   f2 node-2 disk fill, minutes 70-100 (disk climbs to 0.97);
 *   f3 cartdb outage, minutes 60-66 (cartdb reports nothing: NaN request_rate).
 */
export function shopFixture(seed = 7): { topology: TopologyDocument; metrics: SimMetrics; truth: GroundTruth } {
  const length = 240;
  const rng = new Rng(seed).fork('fixture');
  const series: SimSeries[] = [];
  for (const n of TOPOLOGY.nodes) {
    const metrics = n.kind === 'Host' ? HOST_METRICS : SERVICE_METRICS;
    for (const m of metrics) {
      const base = n.kind === 'Host' ? HOST_BASE[m as HostMetric] : SERVICE_BASE[m as ServiceMetric];
      const values = new Float64Array(length);
      for (let i = 0; i < length; i++) values[i] = base * (1 + 0.03 * rng.normal());
      series.push({ entity: n.name, nodeId: n.id, metric: m, values });
    }
  }
  const get = (node: string, metric: string): Float64Array => (series.find((s) => s.entity === node && s.metric === metric) as SimSeries).values;
  // f1: cart p95 x6 and errors 10% (frontend x3 a minute later)
  for (let i = at(30); i < at(50); i++) {
    get('cart', 'latency_p95')[i] = 0.72 * (1 + 0.02 * rng.normal());
    get('cart', 'error_rate')[i] = 0.1;
    if (i >= at(31)) get('frontend', 'latency_p95')[i] = 0.36;
  }
  // f3: cartdb silent
  for (let i = at(60); i < at(66); i++) for (const s of series) if (s.entity === 'cartdb') s.values[i] = NaN;
  // f2: node-2 disk 0.6 -> 0.97
  for (let i = at(70); i < length; i++) get('node-2', 'disk')[i] = i < at(100) ? 0.6 + (0.37 * (i - at(70))) / (at(100) - at(70)) : 0.97;
  const fault = (f: Omit<GroundTruthFault, 'severity'>): GroundTruthFault => ({ ...f, severity: 1 });
  const truth: GroundTruth = {
    scenario: 'mini-shop-test',
    seed,
    faults: [
      fault({
        id: 'f1',
        type: 'error_injection',
        rootEntity: 'cart',
        rootNodeId: 'service:cart',
        rootMetric: 'latency_p95',
        onsetMs: T0 + 30 * MIN,
        endMs: T0 + 50 * MIN,
        affected: [
          { entity: 'cart', nodeId: 'service:cart', metrics: ['latency_p95', 'error_rate'], onsetMs: T0 + 30 * MIN, hops: 0, attenuation: 1 },
          { entity: 'frontend', nodeId: 'service:frontend', metrics: ['latency_p95'], onsetMs: T0 + 31 * MIN, hops: 1, attenuation: 0.5 },
        ],
      }),
      fault({
        id: 'f2',
        type: 'disk_fill',
        rootEntity: 'node-2',
        rootNodeId: 'host:node-2',
        rootMetric: 'disk',
        onsetMs: T0 + 70 * MIN,
        endMs: T0 + 100 * MIN,
        affected: [{ entity: 'node-2', nodeId: 'host:node-2', metrics: ['disk'], onsetMs: T0 + 70 * MIN, hops: 0, attenuation: 1 }],
      }),
      fault({
        id: 'f3',
        type: 'dependency_outage',
        rootEntity: 'cartdb',
        rootNodeId: 'database:cartdb',
        rootMetric: 'request_rate',
        onsetMs: T0 + 60 * MIN,
        endMs: T0 + 66 * MIN,
        affected: [{ entity: 'cartdb', nodeId: 'database:cartdb', metrics: ['request_rate'], onsetMs: T0 + 60 * MIN, hops: 0, attenuation: 1 }],
      }),
    ],
    benign: [],
  };
  return { topology: TOPOLOGY, metrics: { startMs: T0, stepMs: STEP, length, series }, truth };
}

/** Metrics holding one series of `cart` (kind Service) with the given values on a 30 s grid. */
export function oneSeries(metric: ServiceMetric, values: ReadonlyArray<number>, entity = 'cart'): SimMetrics {
  return { startMs: T0, stepMs: STEP, length: values.length, series: [{ entity, nodeId: `service:${entity}`, metric, values: Float64Array.from(values) }] };
}

export const NO_TRUTH: GroundTruth = { scenario: 'none', seed: 1, faults: [], benign: [] };
