// The compact metrics file: one wide CSV, a `timestamp_ms` column (ms since epoch, UTC) then
// one column per series named `<node id>:<metric>` (e.g. `service:cart:latency_p95`; node ids
// may contain ":" themselves, metric names never do, so the metric is after the last ":").
// Empty cell = no sample. parseMetricsCsv reads it back.
import { HOST_METRICS, SERVICE_METRICS } from '../model/index.js';
import type { HostMetric, ServiceMetric, SimMetrics, SimSeries, TopologyDocument } from '../model/index.js';
import { ExportError } from './errors.js';
import { formatValue, writeText } from './format.js';

const METRICS = new Set<string>([...SERVICE_METRICS, ...HOST_METRICS]);

export function metricsColumn(s: Pick<SimSeries, 'nodeId' | 'metric'>): string {
  return `${s.nodeId}:${s.metric}`;
}

export function formatMetricsCsv(m: SimMetrics): string {
  const cols = m.series.map(metricsColumn);
  if (new Set(cols).size !== cols.length) throw new ExportError('NAME_COLLISION', 'metrics CSV: two series share a node id and metric');
  const lines: string[] = [`timestamp_ms,${cols.join(',')}`];
  const row: string[] = new Array<string>(m.series.length + 1);
  for (let t = 0; t < m.length; t++) {
    row[0] = String(m.startMs + t * m.stepMs);
    for (let k = 0; k < m.series.length; k++) row[k + 1] = formatValue(m.series[k]!.values[t]!);
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}

export async function writeMetricsCsv(path: string, m: SimMetrics): Promise<void> {
  await writeText(path, formatMetricsCsv(m));
}

/**
 * Parses a metrics CSV written by formatMetricsCsv. Entity names come from the topology when
 * given, else from the node id (the part after `<kind>:`). Errors name the line and column.
 */
export function parseMetricsCsv(text: string, topology?: TopologyDocument, file = 'metrics.csv'): SimMetrics {
  const lines = text.split('\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const header = (lines[0] ?? '').split(',');
  if (header[0] !== 'timestamp_ms') throw new ExportError('BAD_CSV', `${file}:1: first column must be "timestamp_ms" (got ${JSON.stringify(header[0] ?? '')})`);
  const names = new Map(topology?.nodes.map((n) => [n.id, n.name]) ?? []);
  const rows = lines.length - 1;
  const series: SimSeries[] = header.slice(1).map((col, k) => {
    const at = col.lastIndexOf(':');
    const nodeId = col.slice(0, at);
    const metric = col.slice(at + 1);
    if (at <= 0 || !METRICS.has(metric)) throw new ExportError('BAD_CSV', `${file}:1: column ${k + 2} ${JSON.stringify(col)} is not "<node id>:<metric>"`);
    const entity = names.get(nodeId) ?? nodeId.slice(nodeId.indexOf(':') + 1);
    return { entity, nodeId, metric: metric as ServiceMetric | HostMetric, values: new Float64Array(rows) };
  });
  const times = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const cells = lines[r + 1]!.split(',');
    if (cells.length !== header.length) throw new ExportError('BAD_CSV', `${file}:${r + 2}: expected ${header.length} fields, got ${cells.length}`);
    times[r] = Number(cells[0]);
    if (!Number.isFinite(times[r]!)) throw new ExportError('BAD_CSV', `${file}:${r + 2}: timestamp_ms ${JSON.stringify(cells[0])} is not a number`);
    for (let k = 0; k < series.length; k++) {
      const cell = cells[k + 1]!;
      const v = cell === '' ? NaN : Number(cell);
      if (cell !== '' && !Number.isFinite(v)) throw new ExportError('BAD_CSV', `${file}:${r + 2}: column ${header[k + 1]} value ${JSON.stringify(cell)} is not a number`);
      series[k]!.values[r] = v;
    }
  }
  const stepMs = rows > 1 ? times[1]! - times[0]! : 0;
  for (let r = 2; r < rows; r++) {
    if (times[r]! - times[r - 1]! !== stepMs) throw new ExportError('BAD_CSV', `${file}:${r + 2}: rows must be evenly spaced (${stepMs} ms)`);
  }
  return { startMs: rows > 0 ? times[0]! : 0, stepMs, length: rows, series };
}
