// Offline replay: runs a detector over every NAB-format CSV under a folder, online, and writes
// NAB result files (`timestamp,value,anomaly_score`) that the NAB scorer reads.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { validateReplayOptions } from './config.js';
import type { ReplayOptions } from './config.js';
import { REPLAY_DETECTORS } from './detectors.js';
import type { ReplayDetectorOptions } from './detectors.js';
import { ReplayInputError, formatResultCsv, listNabFiles, readNabSeries } from './nab-csv.js';

export interface ReplayFileResult {
  relPath: string;
  outPath: string;
  rows: number;
  /** Rows whose score is at least `flagThreshold` of the detector. */
  maxScore: number;
}

export interface ReplaySummary {
  detector: string;
  files: ReplayFileResult[];
  rows: number;
  elapsedMs: number;
}

export interface ReplayHooks {
  /** Called after each file (progress output). */
  onFile?(done: number, total: number, file: ReplayFileResult): void;
  now?(): number;
}

/** The path NAB expects: `<out>/<detector>/<category>/<detector>_<name>.csv`. */
export function resultPath(outDir: string, detector: string, relPath: string): string {
  const parts = relPath.split('/');
  const file = parts.pop()!;
  return join(outDir, detector, ...parts, `${detector}_${file}`);
}

export async function runReplay(
  partial: Partial<ReplayOptions>,
  detectorOptions: ReplayDetectorOptions = {},
  hooks: ReplayHooks = {},
): Promise<ReplaySummary> {
  const opts = validateReplayOptions(partial);
  const now = hooks.now ?? (() => performance.now());
  const start = now();
  const files = await listNabFiles(opts.dataDir);
  if (files.length === 0) throw new ReplayInputError('NO_INPUT', `no .csv files under ${opts.dataDir}`);
  const detector = REPLAY_DETECTORS[opts.detector]!(detectorOptions);
  const results: ReplayFileResult[] = [];
  let rows = 0;
  for (const rel of files) {
    const series = await readNabSeries(opts.dataDir, rel, opts.maxFileBytes);
    const scores = await detector.scoreSeries(series.timestamps, series.values);
    const outPath = resultPath(opts.outDir, opts.detector, rel);
    await mkdir(dirname(outPath), { recursive: true });
    await writeFile(outPath, formatResultCsv(series, scores));
    let maxScore = 0;
    for (const s of scores) if (s > maxScore) maxScore = s;
    const r = { relPath: rel, outPath, rows: series.values.length, maxScore };
    results.push(r);
    rows += r.rows;
    hooks.onFile?.(results.length, files.length, r);
  }
  return { detector: opts.detector, files: results, rows, elapsedMs: now() - start };
}
