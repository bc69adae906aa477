// NAB-format series files: `timestamp,value` with timestamps `YYYY-MM-DD HH:MM:SS` (UTC), and the
// result files replay writes: `timestamp,value,anomaly_score`.

import { readFile, readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
  readonly retryable = false;
  constructor(
    readonly code: 'BAD_CSV' | 'NO_INPUT' | 'TOO_LARGE' | 'UNKNOWN_DETECTOR' | 'BAD_OPTION',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface NabSeries {
  /** Path relative to the data root, with '/' separators, e.g. `realTraffic/speed_6005.csv`. */
  relPath: string;
  /** Category folder (first path segment) and file name without `.csv`. */
  category: string;
  name: string;
  /** Original timestamp strings, written back verbatim. */
  timestampText: string[];
  /** Epoch milliseconds. */
  timestamps: Float64Array;
  values: Float64Array;
}

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** Parses `YYYY-MM-DD HH:MM:SS[.ffffff]` as UTC; NaN when malformed. */
export function parseNabTimestamp(text: string): number {
  const m = TS_RE.exec(text);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return NaN;
  const frac = m[7] ? Number(`0.${m[7]}`) * 1000 : 0;
  return Date.UTC(y, mo - 1, d, h, mi, s) + Math.floor(frac);
}

/** Refuse files larger than this (bytes) unless told otherwise: NAB files are < 1 MB. */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Parses one NAB data file. Errors name the file, the line and the field. */
export function parseNabCsv(text: string, relPath: string): Omit<NabSeries, 'category' | 'name' | 'relPath'> {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new ReplayInputError('BAD_CSV', `${relPath}: empty file (expected header "timestamp,value")`);
  const header = lines[0]!.replace(/^\uFEFF/, '').split(',').map((h) => h.trim());
  const tsCol = header.indexOf('timestamp');
  const valCol = header.indexOf('value');
  if (tsCol < 0 || valCol < 0) {
    throw new ReplayInputError('BAD_CSV', `${relPath}:1: header must name "timestamp" and "value" columns (got "${lines[0]!.slice(0, 80)}")`);
  }
  const rows = lines.length - 1;
  const timestampText: string[] = new Array<string>(rows);
  const timestamps = new Float64Array(rows);
  const values = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    const line = lines[r + 1]!;
    const cells = line.split(',');
    if (cells.length !== header.length) {
      throw new ReplayInputError('BAD_CSV', `${relPath}:${r + 2}: expected ${header.length} fields, got ${cells.length}`);
    }
    const tsText = cells[tsCol]!.trim();
    const ts = parseNabTimestamp(tsText);
    if (Number.isNaN(ts)) {
      throw new ReplayInputError('BAD_CSV', `${relPath}:${r + 2}: timestamp "${tsText.slice(0, 40)}" is not YYYY-MM-DD HH:MM:SS`);
    }
    const vText = cells[valCol]!.trim();
    const v = vText === '' ? NaN : Number(vText);
    if (Number.isNaN(v) && !/^(nan)?$/i.test(vText)) {
      throw new ReplayInputError('BAD_CSV', `${relPath}:${r + 2}: value "${vText.slice(0, 40)}" is not a number`);
    }
    timestampText[r] = tsText;
    timestamps[r] = ts;
    values[r] = v;
  }
  return { timestampText, timestamps, values };
}

async function walk(dir: string, out: string[]): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && e.name.toLowerCase().endsWith('.csv')) out.push(p);
  }
  return out;
}

/** Lists every `.csv` under `dataDir` (recursively), sorted, as paths relative to it. */
export async function listNabFiles(dataDir: string): Promise<string[]> {
  let files: string[];
  try {
    files = await walk(dataDir, []);
  } catch (cause) {
    throw new ReplayInputError('NO_INPUT', `cannot read data folder ${dataDir}: ${(cause as Error).message}`, { cause });
  }
  return files.map((f) => relative(dataDir, f).split(sep).join('/'));
}

export async function readNabSeries(dataDir: string, relPath: string, maxBytes = DEFAULT_MAX_FILE_BYTES): Promise<NabSeries> {
  const buf = await readFile(join(dataDir, relPath));
  if (buf.byteLength > maxBytes) {
    throw new ReplayInputError('TOO_LARGE', `${relPath}: ${buf.byteLength} bytes exceeds the limit of ${maxBytes}`);
  }
  const parsed = parseNabCsv(buf.toString('utf8'), relPath);
  const parts = relPath.split('/');
  const file = parts[parts.length - 1]!;
  const category = parts.length > 1 ? parts.slice(0, -1).join('/') : '.';
  return { relPath, category, name: file.replace(/\.csv$/i, ''), ...parsed };
}

/** Formats a result file: the data file's rows plus the detector's score per row. */
export function formatResultCsv(series: NabSeries, scores: Float64Array): string {
  const out: string[] = ['timestamp,value,anomaly_score'];
  for (let i = 0; i < series.values.length; i++) {
    const v = series.values[i]!;
    const s = scores[i]!;
    out.push(`${series.timestampText[i]},${Number.isNaN(v) ? '' : v},${Number.isFinite(s) ? s : 0}`);
  }
  return out.join('\n') + '\n';
}
