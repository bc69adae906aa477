// NAB-format export: one `timestamp,value` file per series under data/<category>/, the
// labelled windows in labels/combined_windows.json (NAB's shape: file -> [[start, end], ...]),
// the anomaly points in labels/combined_labels.json, and NAB's three scoring profiles in
// config/profiles.json, so the folder is a NAB root the scorer (`npm run score -- --data`)
// reads as is.
//
// Windows follow NAB's labelling rule: for a file with k labelled onsets, each window is
// `windowFraction` x rows / k rows wide, centred on the onset's row, clipped to the file;
// overlapping windows merge (NAB's combiner does the same). A series is labelled at an onset
// when the ground truth lists that metric for that entity. Rows without a sample are left out
// (NAB files have no empty values), so window limits always fall on existing rows.
import { join, posix } from 'node:path';
import type { GroundTruth, SimMetrics } from '../model/index.js';
import type { NabExportOptions } from './config.js';
import { ExportError } from './errors.js';
import { formatNabLabelTimestamp, formatNabTimestamp, formatValue, jsonText, safeName, writeText } from './format.js';

/** NAB's scoring profiles (numenta/NAB config/profiles.json). */
export const NAB_PROFILES = {
  standard: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.11, tnWeight: 1.0 } },
  reward_low_FP_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 1.0, fpWeight: 0.22, tnWeight: 1.0 } },
  reward_low_FN_rate: { CostMatrix: { tpWeight: 1.0, fnWeight: 2.0, fpWeight: 0.11, tnWeight: 1.0 } },
} as const;

export interface NabFile {
  /** `<category>/<entity>_<metric>.csv`, the key in the labels files. */
  key: string;
  entity: string;
  metric: string;
  rows: number;
  windows: Array<[string, string]>;
}

export interface NabExportResult {
  /** Paths written, relative to the output folder. */
  files: string[];
  series: NabFile[];
  windowCount: number;
}

/** Writes the NAB corpus under `<dir>` (data/, labels/, config/). */
export async function writeNabCorpus(dir: string, metrics: SimMetrics, truth: GroundTruth, category: string, options: NabExportOptions): Promise<NabExportResult> {
  const cat = safeName(category);
  const wanted = options.metrics === undefined ? undefined : new Set<string>(options.metrics);
  const stamps = Array.from({ length: metrics.length }, (_, t) => formatNabTimestamp(metrics.startMs + t * metrics.stepMs));
  if (metrics.stepMs % 1000 !== 0) throw new ExportError('BAD_OPTION', `NAB timestamps have whole seconds: stepMs must be a multiple of 1000 (got ${metrics.stepMs})`);

  // Onsets per (entity, metric) from the ground truth.
  const onsets = new Map<string, number[]>();
  for (const f of truth.faults) {
    for (const a of f.affected) {
      for (const m of a.metrics) {
        const key = `${a.nodeId}\u0000${m}`;
        onsets.set(key, [...(onsets.get(key) ?? []), a.onsetMs]);
      }
    }
  }

  const files: string[] = [];
  const series: NabFile[] = [];
  const windows: Record<string, Array<[string, string]>> = {};
  const labels: Record<string, string[]> = {};
  const seen = new Set<string>();
  let windowCount = 0;
  for (const s of metrics.series) {
    if (wanted !== undefined && !wanted.has(s.metric)) continue;
    const key = `${cat}/${safeName(s.entity)}_${s.metric}.csv`;
    if (seen.has(key)) throw new ExportError('NAME_COLLISION', `NAB export: two series map to ${key} (entity names differ only in characters outside [A-Za-z0-9._-])`);
    seen.add(key);
    const rowsAt: number[] = [];
    const lines: string[] = ['timestamp,value'];
    for (let t = 0; t < metrics.length; t++) {
      const v = s.values[t]!;
      if (Number.isNaN(v)) continue;
      rowsAt.push(t);
      lines.push(`${stamps[t]},${formatValue(v)}`);
    }
    const marks = [...new Set(onsets.get(`${s.nodeId}\u0000${s.metric}`) ?? [])].sort((a, b) => a - b);
    const fileWindows: Array<[number, number]> = [];
    const points: string[] = [];
    if (rowsAt.length > 0 && marks.length > 0) {
      const half = Math.floor(Math.max(1, Math.floor((options.windowFraction * rowsAt.length) / marks.length)) / 2);
      for (const ms of marks) {
        const step = Math.round((ms - metrics.startMs) / metrics.stepMs);
        let c = rowsAt.findIndex((t) => t >= step);
        if (c < 0) c = rowsAt.length - 1;
        points.push(`${stamps[rowsAt[c]!]!}.000000`);
        const lo = Math.max(0, c - half);
        const hi = Math.min(rowsAt.length - 1, c + half);
        const prev = fileWindows[fileWindows.length - 1];
        if (prev !== undefined && lo <= prev[1]) prev[1] = Math.max(prev[1], hi);
        else fileWindows.push([lo, hi]);
      }
    }
    const labelled = fileWindows.map(([lo, hi]): [string, string] => [
      formatNabLabelTimestamp(metrics.startMs + rowsAt[lo]! * metrics.stepMs),
      formatNabLabelTimestamp(metrics.startMs + rowsAt[hi]! * metrics.stepMs),
    ]);
    windows[key] = labelled;
    labels[key] = [...new Set(points)];
    windowCount += labelled.length;
    const rel = posix.join('data', key);
    await writeText(join(dir, rel), `${lines.join('\n')}\n`);
    files.push(rel);
    series.push({ key, entity: s.entity, metric: s.metric, rows: rowsAt.length, windows: labelled });
  }
  const sortedKeys = Object.keys(windows).sort();
  const sortBy = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(sortedKeys.map((k) => [k, o[k]!]));
  await writeText(join(dir, 'labels', 'combined_windows.json'), jsonText(sortBy(windows)));
  await writeText(join(dir, 'labels', 'combined_labels.json'), jsonText(sortBy(labels)));
  await writeText(join(dir, 'config', 'profiles.json'), jsonText(NAB_PROFILES));
  files.push('labels/combined_windows.json', 'labels/combined_labels.json', 'config/profiles.json');
  return { files, series, windowCount };
}
