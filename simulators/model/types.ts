// The data every simulator exchanges: simulated metric series, injected faults and their exact
// ground truth. The topology itself is shared-schemas' TopologyDocument (the same JSON that
// `PUT /api/v1/config/topology` accepts).
import type { TopologyDocument } from '../../shared-schemas/src/index.js';

export type { TopologyDocument };

/** Service-level metrics (every Service, Database, Cache, Queue and LoadBalancer node). */
export const SERVICE_METRICS = [
  'request_rate', // requests per second served
  'latency_p50', // seconds
  'latency_p95',
  'latency_p99',
  'error_rate', // fraction of requests failing, 0..1
  'cpu', // cores in use
  'memory', // bytes resident
  'gc_pause', // seconds of GC pause per second, 0..1
  'saturation', // utilisation of the busiest resource (pool, queue, threads), 0..1
] as const;
export type ServiceMetric = (typeof SERVICE_METRICS)[number];

/** Host-level metrics (every Host node). */
export const HOST_METRICS = [
  'cpu', // fraction of all cores busy, 0..1
  'memory', // fraction of memory used, 0..1
  'disk', // fraction of the root filesystem used, 0..1
  'network_rx', // bytes per second received
  'network_tx', // bytes per second sent
] as const;
export type HostMetric = (typeof HOST_METRICS)[number];

export const METRIC_UNITS: Readonly<Record<ServiceMetric | HostMetric, string>> = {
  request_rate: 'requests/s',
  latency_p50: 's',
  latency_p95: 's',
  latency_p99: 's',
  error_rate: 'ratio',
  cpu: 'cores or ratio (hosts)',
  memory: 'bytes or ratio (hosts)',
  gc_pause: 's/s',
  saturation: 'ratio',
  disk: 'ratio',
  network_rx: 'bytes/s',
  network_tx: 'bytes/s',
};

/** One simulated series: an entity (node name) and a metric, one value per step. */
export interface SimSeries {
  /** Node name (TopologyNode.name), e.g. "cart" or "node-3". */
  entity: string;
  /** Node id (TopologyNode.id), e.g. "service:cart". */
  nodeId: string;
  metric: ServiceMetric | HostMetric;
  /** Value per step; NaN = no sample (e.g. the entity was down and reported nothing). */
  values: Float64Array;
}

/** A simulated metric set on a regular grid. */
export interface SimMetrics {
  /** Time of step 0, ms since epoch (UTC). */
  startMs: number;
  stepMs: number;
  /** Steps per series. */
  length: number;
  series: SimSeries[];
}

export const FAULT_TYPES = [
  'cpu_hog',
  'memory_leak',
  'disk_fill',
  'network_delay',
  'packet_loss',
  'error_injection',
  'dependency_outage',
  'bad_deploy',
  'config_change',
  'traffic_surge',
] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/** A fault as a scenario asks for it. */
export interface FaultSpec {
  type: FaultType;
  /** Node name the fault starts at (a Service, Database, Cache, Queue, LoadBalancer or Host). */
  target: string;
  /** Onset, ms after the simulation start. */
  onsetMs: number;
  durationMs: number;
  /** Strength multiplier, 1 = the fault type's typical strength. */
  severity: number;
}

/** Where and when an injected fault showed, per affected entity (ground truth). */
export interface AffectedEntity {
  entity: string;
  nodeId: string;
  /** Metrics of this entity that the fault moved. */
  metrics: Array<ServiceMetric | HostMetric>;
  /** When the effect begins at this entity, ms since epoch (root: the fault's onset). */
  onsetMs: number;
  /** Hops from the root along the propagation path (0 = root). */
  hops: number;
  /**
   * Size of the effect here relative to the root's (1 at the root; usually below 1, above 1 when
   * a caller calls the root several times per request).
   */
  attenuation: number;
}

export interface GroundTruthFault {
  /** Stable id within a scenario, e.g. "f1"; alerts carry it in their hidden label. */
  id: string;
  type: FaultType;
  rootEntity: string;
  rootNodeId: string;
  /** The metric the fault moves first at the root. */
  rootMetric: ServiceMetric | HostMetric;
  /** Epoch ms (FaultSpec.onsetMs is relative to the simulation start; this is absolute). */
  onsetMs: number;
  /** Epoch ms. */
  endMs: number;
  severity: number;
  /** Root first, then every entity the fault reached, by onset. */
  affected: AffectedEntity[];
}

export interface GroundTruth {
  scenario: string;
  seed: number;
  faults: GroundTruthFault[];
  /** Benign events that are not faults (deploys without effect, level shifts): not causes. */
  benign: Array<{ kind: 'deploy' | 'level_shift'; entity: string; metric?: ServiceMetric | HostMetric; atMs: number }>;
}

/** Label on every simulated alert saying which fault caused it ("none" for noise). Scorers read it; engines must not. */
export const HIDDEN_FAULT_LABEL = 'sim_fault';
