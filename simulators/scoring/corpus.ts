import { readFile, readdir } from 'node:fs/promises';
import { basename, join, posix, relative, sep } from 'node:path';
import { formatTimestamp, parseCsvColumns, parseTimestamp } from './csv.js';
import { NabScoringError } from './errors.js';

/** One labelled anomaly window of a data file (NAB labels/combined_windows.json). */
export interface NabWindow {
  /** Window limits in epoch microseconds (timestamps are naive, read as UTC). */
  readonly start: number;
  readonly end: number;
  /** Row indices of the limits (first row carrying that timestamp, as NAB's sweeper uses). */
  readonly startIndex: number;
  readonly endIndex: number;
  /** The limits exactly as written in the labels file. */
  readonly label: readonly [string, string];
}

export interface NabDataFile {
  /** `<category>/<name>.csv`, always `/`-separated: the key used by labels and results. */
  readonly relativePath: string;
  readonly path: string;
  /** Epoch microseconds per row, in file order (NAB files may repeat a timestamp). */
  readonly timestamps: Float64Array;
  readonly values: Float64Array;
  readonly windows: readonly NabWindow[];
}

export interface NabCorpus {
  readonly dataDir: string;
  readonly labelsPath: string;
  /** Sorted by `relativePath`. */
  readonly files: readonly NabDataFile[];
  /** Number of labelled windows over all files: the "perfect" detector's TP count. */
  readonly windowCount: number;
}

/** A detector's anomaly scores, one per data row, keyed by the corpus `relativePath`. */
export interface DetectorResults {
  readonly detector: string;
  readonly scores: ReadonlyMap<string, Float64Array>;
}

/** NAB cost matrix of one application profile (config/profiles.json). */
export interface CostMatrix {
  readonly tpWeight: number;
  readonly fpWeight: number;
  readonly fnWeight: number;
  /** Present in NAB's profiles but unused by its scorer (true negatives score 0). */
  readonly tnWeight: number;
}

/** Profiles by name, in file order. */
export type NabProfiles = Readonly<Record<string, CostMatrix>>;

export type NabLoadProgress = (event: {
  readonly phase: 'corpus' | 'results';
  readonly file: string;
  readonly done: number;
  readonly total: number;
}) => void;

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

async function readText(
  path: string,
  missingCode: 'MISSING_DATA_FILE' | 'MISSING_RESULT_FILE',
  what: string,
): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      throw new NabScoringError(missingCode, `${what} not found: ${path}`, { file: path, cause: err });
    }
    throw err;
  }
}

async function listCsvFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && e.name.endsWith('.csv')) out.push(full);
    }
  };
  try {
    await walk(root);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) {
      throw new NabScoringError('MISSING_DATA_FILE', `NAB data directory not found: ${root}`, {
        file: root,
        cause: err,
      });
    }
    throw err;
  }
  return out;
}

function toRelativeKey(root: string, file: string): string {
  return relative(root, file).split(sep).join(posix.sep);
}

function badLabels(file: string, field: string, message: string): NabScoringError {
  return new NabScoringError('BAD_LABELS', `${file}: ${field} ${message}`, { file, field });
}

type RawWindows = Map<string, Array<[string, string]>>;

function parseLabels(text: string, file: string): RawWindows {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NabScoringError('BAD_LABELS', `${file}: not valid JSON (${(err as Error).message})`, {
      file,
      cause: err,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badLabels(file, '(root)', 'must be an object of "<category>/<file>.csv": [[start, end], ...]');
  }
  const out: RawWindows = new Map();
  for (const [key, value] of Object.entries(json)) {
    if (!Array.isArray(value)) {
      throw badLabels(file, `"${key}"`, `must be a list of [start, end] pairs (got ${JSON.stringify(value)})`);
    }
    const windows: Array<[string, string]> = [];
    value.forEach((w: unknown, i) => {
      if (
        !Array.isArray(w) ||
        w.length !== 2 ||
        typeof w[0] !== 'string' ||
        typeof w[1] !== 'string'
      ) {
        throw badLabels(file, `"${key}"[${i}]`, `must be [start, end] timestamps (got ${JSON.stringify(w)})`);
      }
      windows.push([w[0], w[1]]);
    });
    out.set(key, windows);
  }
  return out;
}

/**
 * Resolves window limits to rows the way NAB does: every limit must match exactly one row's
 * timestamp (nab/labeler.py CorpusLabel.getWindows), and windows must be ordered and disjoint
 * (the sweeper walks them in order and NAB's label combiner guarantees no overlap).
 */
function resolveWindows(
  labelsPath: string,
  key: string,
  raw: ReadonlyArray<readonly [string, string]>,
  timestamps: Float64Array,
): NabWindow[] {
  if (raw.length === 0) return [];
  const firstIndex = new Map<number, number>();
  const count = new Map<number, number>();
  for (let i = 0; i < timestamps.length; i++) {
    const t = timestamps[i]!;
    if (!firstIndex.has(t)) firstIndex.set(t, i);
    count.set(t, (count.get(t) ?? 0) + 1);
  }
  const windows: NabWindow[] = [];
  raw.forEach(([s, e], w) => {
    const limits = [s, e].map((text, j) => {
      const field = `"${key}"[${w}][${j}]`;
      const t = parseTimestamp(text);
      if (t === undefined) throw badLabels(labelsPath, field, `is not a timestamp (got "${text}")`);
      const n = count.get(t) ?? 0;
      if (n !== 1) {
        throw badLabels(
          labelsPath,
          field,
          `must match exactly one row of the data file (got "${text}", found ${n} rows)`,
        );
      }
      return { t, index: firstIndex.get(t)! };
    });
    const [start, end] = limits as [{ t: number; index: number }, { t: number; index: number }];
    if (end.index < start.index) {
      throw badLabels(labelsPath, `"${key}"[${w}]`, `ends before it starts (got ["${s}", "${e}"])`);
    }
    const prev = windows[windows.length - 1];
    if (prev !== undefined && start.index <= prev.endIndex) {
      throw badLabels(
        labelsPath,
        `"${key}"[${w}]`,
        `overlaps or precedes the previous window (got ["${s}", "${e}"])`,
      );
    }
    windows.push({
      start: start.t,
      end: end.t,
      startIndex: start.index,
      endIndex: end.index,
      label: [s, e],
    });
  });
  return windows;
}

export interface LoadNabCorpusOptions {
  /** Default `<nabRoot>/data`. */
  readonly dataDir?: string;
  /** Default `<nabRoot>/labels/combined_windows.json`. */
  readonly labelsPath?: string;
  readonly onProgress?: NabLoadProgress;
}

/**
 * Loads every `*.csv` under `<nabRoot>/data` with its windows from the labels file. Every data
 * file needs a labels entry (possibly `[]`); a labels entry with windows needs its data file.
 */
export async function loadNabCorpus(
  nabRoot: string,
  options: LoadNabCorpusOptions = {},
): Promise<NabCorpus> {
  const dataDir = options.dataDir ?? join(nabRoot, 'data');
  const labelsPath = options.labelsPath ?? join(nabRoot, 'labels', 'combined_windows.json');
  const labels = parseLabels(await readText(labelsPath, 'MISSING_DATA_FILE', 'NAB labels file'), labelsPath);
  const paths = (await listCsvFiles(dataDir)).sort((a, b) =>
    toRelativeKey(dataDir, a) < toRelativeKey(dataDir, b) ? -1 : 1,
  );
  const keys = new Set(paths.map((p) => toRelativeKey(dataDir, p)));
  for (const [key, windows] of labels) {
    if (windows.length > 0 && !keys.has(key)) {
      throw new NabScoringError(
        'MISSING_DATA_FILE',
        `${labelsPath}: labels name "${key}" but ${join(dataDir, key)} does not exist`,
        { file: join(dataDir, key), field: key },
      );
    }
  }
  const files: NabDataFile[] = [];
  let windowCount = 0;
  for (const path of paths) {
    const key = toRelativeKey(dataDir, path);
    const raw = labels.get(key);
    if (raw === undefined) {
      throw new NabScoringError(
        'MISSING_LABELS',
        `${path}: no entry "${key}" in labels file ${labelsPath}`,
        { file: path, field: key },
      );
    }
    const csv = parseCsvColumns(await readText(path, 'MISSING_DATA_FILE', 'NAB data file'), path, [
      { name: 'timestamp', kind: 'timestamp' },
      { name: 'value', kind: 'number' },
    ]);
    const [timestamps, values] = csv.columns as [Float64Array, Float64Array];
    const windows = resolveWindows(labelsPath, key, raw, timestamps);
    windowCount += windows.length;
    files.push({ relativePath: key, path, timestamps, values, windows });
    options.onProgress?.({ phase: 'corpus', file: key, done: files.length, total: paths.length });
  }
  return { dataDir, labelsPath, files, windowCount };
}

/** `<resultsDir>/<detector>/<category>/<detector>_<name>.csv`, NAB's results layout. */
export function resultFilePath(resultsDir: string, detector: string, relativePath: string): string {
  const parts = relativePath.split('/');
  const name = basename(relativePath);
  return join(resultsDir, detector, ...parts.slice(0, -1), `${detector}_${name}`);
}

function checkDetectorName(detector: string): void {
  if (typeof detector !== 'string' || detector.length === 0 || /[\\/]/.test(detector)) {
    throw new NabScoringError(
      'BAD_CONFIG',
      `detector must be a non-empty name without path separators (got ${JSON.stringify(detector)})`,
      { field: 'detector' },
    );
  }
}

/**
 * Reads the detector's result file for every corpus file. Only `timestamp` and `anomaly_score`
 * are used (scores must lie in [0, 1]); rows must match the data file one for one.
 */
export async function loadDetectorResults(
  resultsDir: string,
  detector: string,
  corpus: NabCorpus,
  options: { readonly onProgress?: NabLoadProgress } = {},
): Promise<DetectorResults> {
  checkDetectorName(detector);
  const scores = new Map<string, Float64Array>();
  let done = 0;
  for (const file of corpus.files) {
    const path = resultFilePath(resultsDir, detector, file.relativePath);
    const text = await readText(path, 'MISSING_RESULT_FILE', `result file of detector "${detector}"`);
    const csv = parseCsvColumns(text, path, [
      { name: 'timestamp', kind: 'timestamp' },
      { name: 'anomaly_score', kind: 'number', min: 0, max: 1 },
    ]);
    const [timestamps, anomaly] = csv.columns as [Float64Array, Float64Array];
    if (csv.rowCount !== file.timestamps.length) {
      throw new NabScoringError(
        'ROW_MISMATCH',
        `${path}: has ${csv.rowCount} data rows but data file ${file.path} has ${file.timestamps.length}`,
        { file: path },
      );
    }
    for (let i = 0; i < timestamps.length; i++) {
      if (timestamps[i] !== file.timestamps[i]) {
        const line = csv.lines[i]!;
        throw new NabScoringError(
          'ROW_MISMATCH',
          `${path}:${line}: timestamp "${formatTimestamp(timestamps[i]!)}" does not match row ${i + 1} ` +
            `of data file ${file.path} ("${formatTimestamp(file.timestamps[i]!)}")`,
          { file: path, line, field: 'timestamp' },
        );
      }
    }
    scores.set(file.relativePath, anomaly);
    options.onProgress?.({ phase: 'results', file: path, done: ++done, total: corpus.files.length });
  }
  return { detector, scores };
}

/** NAB's null detector: the same constant score on every row (0.5 in NAB). */
export function constantDetectorResults(
  corpus: NabCorpus,
  score: number,
  detector = 'null',
): DetectorResults {
  const scores = new Map<string, Float64Array>();
  for (const f of corpus.files) scores.set(f.relativePath, new Float64Array(f.timestamps.length).fill(score));
  return { detector, scores };
}

function badProfiles(file: string, field: string, message: string): NabScoringError {
  return new NabScoringError('BAD_PROFILES', `${file}: ${field} ${message}`, { file, field });
}

/** Parses NAB's `config/profiles.json`: `{ name: { CostMatrix: { tpWeight, fpWeight, fnWeight, tnWeight } } }`. */
export function parseProfiles(text: string, file = '<profiles>'): NabProfiles {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NabScoringError('BAD_PROFILES', `${file}: not valid JSON (${(err as Error).message})`, {
      file,
      cause: err,
    });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw badProfiles(file, '(root)', 'must be an object of profile name -> { CostMatrix }');
  }
  const out: Record<string, CostMatrix> = {};
  for (const [name, profile] of Object.entries(json)) {
    const cm: unknown = (profile as { CostMatrix?: unknown } | null)?.CostMatrix;
    if (typeof cm !== 'object' || cm === null) {
      throw badProfiles(file, `${name}.CostMatrix`, 'must be an object');
    }
    const weight = (k: keyof CostMatrix, optional = false): number => {
      const v = (cm as Record<string, unknown>)[k];
      if (v === undefined && optional) return 0;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw badProfiles(file, `${name}.CostMatrix.${k}`, `must be a finite number (got ${JSON.stringify(v)})`);
      }
      return v;
    };
    out[name] = Object.freeze({
      tpWeight: weight('tpWeight'),
      fpWeight: weight('fpWeight'),
      fnWeight: weight('fnWeight'),
      tnWeight: weight('tnWeight', true),
    });
  }
  if (Object.keys(out).length === 0) throw badProfiles(file, '(root)', 'defines no profiles');
  return Object.freeze(out);
}

export async function loadProfiles(path: string): Promise<NabProfiles> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      throw new NabScoringError('BAD_PROFILES', `NAB profiles file not found: ${path}`, { file: path, cause: err });
    }
    throw err;
  }
  return parseProfiles(text, path);
}
