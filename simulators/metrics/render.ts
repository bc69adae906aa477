// Measurement noise: what a scraper would see. Every series gets its own seeded stream
// (fork `noise:<node id>:<metric>`), so the noise of a series is the same in every run of a
// seed whatever the faults: a fault run and its baseline differ exactly where the core differs.
// Noise is multiplicative (lognormal, AR(1) in log space): values stay positive, a zero stays
// zero, and a relative change in the core is the same relative change in the output.
import { HOST_METRICS, Rng, SERVICE_METRICS } from '../model/index.js';
import type { HostMetric, ServiceMetric, SimMetrics, SimSeries } from '../model/index.js';
import type { CoreRun, HostCore, WorkloadCore } from './engine.js';
import type { MetricModel } from './model.js';

/** Log-space standard deviation of the noise per metric at noise level 1. */
export const SERVICE_NOISE: Readonly<Record<ServiceMetric, number>> = {
  request_rate: 0.02,
  latency_p50: 0.04,
  latency_p95: 0.07,
  latency_p99: 0.12,
  error_rate: 0.3,
  cpu: 0.04,
  memory: 0.005,
  gc_pause: 0.1,
  saturation: 0.04,
};
export const HOST_NOISE: Readonly<Record<HostMetric, number>> = {
  cpu: 0.03,
  memory: 0.003,
  disk: 0.0005,
  network_rx: 0.04,
  network_tx: 0.04,
};

/** Metrics bounded by 1 (fractions). */
const CAPPED_SERVICE = new Set<ServiceMetric>(['error_rate', 'gc_pause', 'saturation']);
const CAPPED_HOST = new Set<HostMetric>(['cpu', 'memory', 'disk']);

export function workloadSeries(core: WorkloadCore, metric: ServiceMetric): Float64Array {
  switch (metric) {
    case 'request_rate': return core.rate;
    case 'latency_p50': return core.p50;
    case 'latency_p95': return core.p95;
    case 'latency_p99': return core.p99;
    case 'error_rate': return core.err;
    case 'cpu': return core.cpu;
    case 'memory': return core.mem;
    case 'gc_pause': return core.gc;
    case 'saturation': return core.sat;
  }
}

export function hostSeries(core: HostCore, metric: HostMetric): Float64Array {
  switch (metric) {
    case 'cpu': return core.cpu;
    case 'memory': return core.mem;
    case 'disk': return core.disk;
    case 'network_rx': return core.rx;
    case 'network_tx': return core.tx;
  }
}

function noisy(src: Float64Array, sigma: number, cap: boolean, rng: Rng): Float64Array {
  const out = new Float64Array(src.length);
  const phi = 0.6;
  const innov = sigma * Math.sqrt(1 - phi * phi);
  let z = sigma * rng.normal();
  for (let t = 0; t < src.length; t++) {
    if (t > 0) z = phi * z + innov * rng.normal();
    const v = src[t]! * Math.exp(z);
    out[t] = cap && v > 1 ? 1 : v;
  }
  return out;
}

/**
 * Renders a core run as SimMetrics: every workload's SERVICE_METRICS, then every host's
 * HOST_METRICS, in topology order.
 */
export function renderMetrics(model: MetricModel, core: CoreRun): SimMetrics {
  const rng = new Rng(model.seed).fork('metrics');
  const level = model.options.noise;
  const series: SimSeries[] = [];
  model.graph.workloads.forEach((node, i) => {
    for (const metric of SERVICE_METRICS) {
      const sigma = SERVICE_NOISE[metric] * level;
      series.push({ entity: node.name, nodeId: node.id, metric, values: noisy(workloadSeries(core.workloads[i]!, metric), sigma, CAPPED_SERVICE.has(metric), rng.fork(`noise:${node.id}:${metric}`)) });
    }
  });
  model.graph.hosts.forEach((node, j) => {
    for (const metric of HOST_METRICS) {
      const sigma = HOST_NOISE[metric] * level;
      series.push({ entity: node.name, nodeId: node.id, metric, values: noisy(hostSeries(core.hosts[j]!, metric), sigma, CAPPED_HOST.has(metric), rng.fork(`noise:${node.id}:${metric}`)) });
    }
  });
  return { startMs: model.options.startMs, stepMs: model.options.stepMs, length: model.length, series };
}
