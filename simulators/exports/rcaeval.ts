// RCAEval-format export: one case per fault, in RCAEval's layout
//
//   rcaeval/<root>_<fault>/<n>/data.csv        time (unix s), then <entity>_<metric> columns
//   rcaeval/<root>_<fault>/<n>/inject_time.txt  the fault's onset, unix seconds
//   rcaeval/<root>_<fault>/<n>/case.json        the fault's ground truth and the window
//   rcaeval/index.json, rcaeval/columns.json    every case; every column's entity and metric
//
// `<fault>` is RCAEval's short fault name (cpu, mem, disk, delay, loss, ...) so that
// `case_dir.split("_")` gives (root, fault) as RCAEval's loaders expect; `<n>` numbers the
// cases of one (root, fault) pair from 1. Metric names follow RCAEval's column style
// (`carts_cpu`, `orders_latency-50`); the simulator has p95 where RCAEval has p90, so the
// column is `latency-95`, not a relabelled `latency-90`. Host series are included: a host
// can be a root cause (disk_fill).
import { join, posix } from 'node:path';
import type { FaultType, GroundTruth, HostMetric, ServiceMetric, SimMetrics } from '../model/index.js';
import type { RcaevalExportOptions } from './config.js';
import { ExportError } from './errors.js';
import { formatUnixSeconds, formatValue, jsonText, safeName, writeText } from './format.js';

/** RCAEval column suffix per simulator metric (workloads). */
export const RCAEVAL_SERVICE_METRIC: Readonly<Record<ServiceMetric, string>> = {
  request_rate: 'workload',
  latency_p50: 'latency-50',
  latency_p95: 'latency-95',
  latency_p99: 'latency-99',
  error_rate: 'error',
  cpu: 'cpu',
  memory: 'mem',
  gc_pause: 'gc',
  saturation: 'saturation',
};
/** RCAEval column suffix per simulator metric (hosts). */
export const RCAEVAL_HOST_METRIC: Readonly<Record<HostMetric, string>> = {
  cpu: 'cpu',
  memory: 'mem',
  disk: 'disk',
  network_rx: 'net-rx',
  network_tx: 'net-tx',
};
/** RCAEval's short fault names (its datasets use cpu, mem, disk, delay, loss, socket). */
export const RCAEVAL_FAULT_NAME: Readonly<Record<FaultType, string>> = {
  cpu_hog: 'cpu',
  memory_leak: 'mem',
  disk_fill: 'disk',
  network_delay: 'delay',
  packet_loss: 'loss',
  error_injection: 'error',
  dependency_outage: 'outage',
  bad_deploy: 'deploy',
  config_change: 'config',
  traffic_surge: 'surge',
};

export interface RcaevalColumn {
  column: string;
  entity: string;
  nodeId: string;
  metric: ServiceMetric | HostMetric;
}

export interface RcaevalCase {
  /** `<root>_<fault>/<n>`, relative to the rcaeval folder. */
  case: string;
  faultId: string;
  type: FaultType;
  injectTime: number;
  rootCauseService: string;
  rootCauseColumn: string;
  rows: number;
}

export interface RcaevalExportResult {
  files: string[];
  cases: RcaevalCase[];
}

/** Column name of a series: `<entity>_<suffix>` (entity made file-safe). */
export function rcaevalColumn(entity: string, metric: ServiceMetric | HostMetric, isHost: boolean): string {
  const suffix = isHost ? RCAEVAL_HOST_METRIC[metric as HostMetric] : RCAEVAL_SERVICE_METRIC[metric as ServiceMetric];
  return `${safeName(entity)}_${suffix}`;
}

export async function writeRcaevalCases(dir: string, metrics: SimMetrics, truth: GroundTruth, options: RcaevalExportOptions): Promise<RcaevalExportResult> {
  const columns: RcaevalColumn[] = metrics.series.map((s) => ({ column: rcaevalColumn(s.entity, s.metric, s.nodeId.startsWith('host:')), entity: s.entity, nodeId: s.nodeId, metric: s.metric }));
  const seen = new Map<string, string>();
  for (const c of columns) {
    const prev = seen.get(c.column);
    if (prev !== undefined) throw new ExportError('NAME_COLLISION', `RCAEval export: ${prev} and ${c.nodeId} ${c.metric} both map to column ${c.column}`);
    seen.set(c.column, `${c.nodeId} ${c.metric}`);
  }
  const isHostRoot = (nodeId: string): boolean => nodeId.startsWith('host:');
  const header = `time,${columns.map((c) => c.column).join(',')}`;
  const files: string[] = [];
  const cases: RcaevalCase[] = [];
  const counters = new Map<string, number>();
  const before = Math.floor(options.beforeMs / metrics.stepMs);
  const after = Math.ceil(options.afterMs / metrics.stepMs);
  for (const f of truth.faults) {
    const base = `${safeName(f.rootEntity)}_${RCAEVAL_FAULT_NAME[f.type]}`;
    const n = (counters.get(base) ?? 0) + 1;
    counters.set(base, n);
    const rel = `${base}/${n}`;
    const onStep = Math.round((f.onsetMs - metrics.startMs) / metrics.stepMs);
    const from = Math.max(0, onStep - before);
    const to = Math.min(metrics.length, onStep + after);
    const lines: string[] = [header];
    const row: string[] = new Array<string>(columns.length + 1);
    for (let t = from; t < to; t++) {
      row[0] = formatUnixSeconds(metrics.startMs + t * metrics.stepMs);
      for (let k = 0; k < metrics.series.length; k++) row[k + 1] = formatValue(metrics.series[k]!.values[t]!);
      lines.push(row.join(','));
    }
    const injectTime = Math.floor(f.onsetMs / 1000);
    const windowStart = metrics.startMs + from * metrics.stepMs;
    const windowEnd = metrics.startMs + to * metrics.stepMs;
    const rootCauseColumn = rcaevalColumn(f.rootEntity, f.rootMetric, isHostRoot(f.rootNodeId));
    const others = truth.faults.filter((g) => g.id !== f.id && g.onsetMs < windowEnd && g.endMs > windowStart).map((g) => g.id);
    const caseJson = {
      case: rel,
      inject_time: injectTime,
      root_cause: { service: f.rootEntity, node_id: f.rootNodeId, metric: rootCauseColumn, fault: RCAEVAL_FAULT_NAME[f.type] },
      window: { start: windowStart / 1000, end: windowEnd / 1000, rows: to - from },
      other_faults_in_window: others,
      ground_truth: f,
    };
    await writeText(join(dir, rel, 'data.csv'), `${lines.join('\n')}\n`);
    await writeText(join(dir, rel, 'inject_time.txt'), `${injectTime}\n`);
    await writeText(join(dir, rel, 'case.json'), jsonText(caseJson));
    files.push(posix.join(rel, 'data.csv'), posix.join(rel, 'inject_time.txt'), posix.join(rel, 'case.json'));
    cases.push({ case: rel, faultId: f.id, type: f.type, injectTime, rootCauseService: f.rootEntity, rootCauseColumn, rows: to - from });
  }
  await writeText(join(dir, 'index.json'), jsonText(cases));
  await writeText(join(dir, 'columns.json'), jsonText(columns));
  files.push('index.json', 'columns.json');
  return { files, cases };
}
