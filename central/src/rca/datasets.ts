// Readers of the public RCA benchmark layouts (../shared/data/README.md) into RCA cases:
//
// - RCAEval: one CSV per case, a `time` column (unix seconds) then `<service>_<metric>` columns;
//   the detection time comes from the command line (or the case folder's inject_time.txt).
// - PetShop (amazon-science/petshop-root-cause-analysis): per scenario a call graph
//   (`graph.csv`, an adjacency matrix: row calls column), normal operation
//   (`noissue/metrics.csv`) and issues (`{train,test}/issue_<n>/metrics.csv` + `target.json`).
//   Metrics files have three header rows (component, metric, statistic) and 5-minute rows. The
//   dataset's protocol compares an issue's rows with normal operation; the case built here puts
//   the normal rows right before the issue's (re-timed at the dataset's step: the normal run was
//   recorded months later) and gives the issue time (target.json) as the detection time. The
//   two temporal scenarios have no normal run here: their history is the rows of the scenario's
//   other issues that precede each one's own issue time (normal operation, like the normal run
//   the published baseline was given; never a row of the issue being analysed after its time).
//
// Malformed input is refused with the file, line and column; sizes are bounded.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { EntityGraph, EntityGraphError } from '../correlate/entities.js';
import type { RcaChange, RcaFrame, RcaSeries, RcaTopology } from './frame.js';
import { RcaError, reachable, splitColumn } from './frame.js';

export const MAX_CSV_BYTES = 512 * 1024 * 1024;
export const MAX_COLUMNS = 100_000;

function readText(file: string, what: string): string {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (err) {
    throw new RcaError('BAD_INPUT', `cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, false, { cause: err });
  }
  if (size > MAX_CSV_BYTES) throw new RcaError('TOO_LARGE', `${what} ${file} is ${size} bytes, more than the limit ${MAX_CSV_BYTES}`);
  return readFileSync(file, 'utf8');
}

function parseRows(text: string, file: string): string[][] {
  try {
    return parse(text, { relax_column_count: false, skip_empty_lines: true, bom: true, trim: true }) as string[][];
  } catch (err) {
    const e = err as Error & { lines?: number };
    throw new RcaError('BAD_CSV', `${file}${e.lines !== undefined ? ` line ${e.lines}` : ''}: ${e.message}`, false, { cause: err });
  }
}

function cell(v: string, file: string, line: number, column: string): number {
  if (v === '' || v === 'nan' || v === 'NaN' || v === 'null' || v === 'None') return NaN;
  const x = Number(v);
  if (!Number.isFinite(x)) throw new RcaError('BAD_CSV', `${file} line ${line} column ${column}: not a number (${JSON.stringify(v.slice(0, 40))})`);
  return x;
}

/**
 * An RCAEval case CSV: a `time` (or `timestamp`) column in unix seconds, then one column per
 * `<service>_<metric>`. `known` (topology node names) splits columns whose service has "_".
 */
export function parseRcaevalCsv(text: string, file: string, known?: ReadonlySet<string>): RcaFrame {
  const rows = parseRows(text, file);
  if (rows.length === 0) throw new RcaError('BAD_CSV', `${file}: empty (expected a header "time,<service>_<metric>,...")`);
  const header = rows[0]!;
  if (header.length > MAX_COLUMNS) throw new RcaError('TOO_LARGE', `${file}: ${header.length} columns, more than the limit ${MAX_COLUMNS}`);
  const tcol = header.findIndex((h) => h === 'time' || h === 'timestamp');
  if (tcol < 0) throw new RcaError('BAD_CSV', `${file} line 1: no "time" column (header starts ${JSON.stringify(header.slice(0, 3))})`);
  const seen = new Set<string>();
  const cols: Array<{ at: number; entity: string; metric: string }> = [];
  header.forEach((h, i) => {
    if (i === tcol) return;
    if (h === '' || /^unnamed/i.test(h)) return;
    if (seen.has(h)) throw new RcaError('BAD_CSV', `${file} line 1: column ${JSON.stringify(h)} appears twice`);
    seen.add(h);
    cols.push({ at: i, ...splitColumn(h, known) });
  });
  const n = rows.length - 1;
  const times = new Float64Array(n);
  const values = cols.map(() => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    const row = rows[r + 1]!;
    const t = cell(row[tcol]!, file, r + 2, header[tcol]!);
    if (!Number.isFinite(t)) throw new RcaError('BAD_CSV', `${file} line ${r + 2}: the time is empty`);
    times[r] = t * 1000;
    if (r > 0 && times[r]! <= times[r - 1]!) throw new RcaError('BAD_CSV', `${file} line ${r + 2}: time ${t} is not after the previous row's`);
    cols.forEach((c, k) => {
      values[k]![r] = cell(row[c.at]!, file, r + 2, header[c.at]!);
    });
  }
  return { timesMs: times, series: cols.map((c, k) => ({ entity: c.entity, metric: c.metric, values: values[k]! })) };
}

export function readRcaevalCsv(file: string, known?: ReadonlySet<string>): RcaFrame {
  return parseRcaevalCsv(readText(file, 'case file'), file, known);
}

/** A topology document or node-link JSON (as `npm run correlate --topology`) as RCA dependencies. */
export function topologyFromJson(value: unknown, file: string): { topology: RcaTopology; names: Set<string> } {
  let g: EntityGraph;
  try {
    g = EntityGraph.parse(value);
  } catch (err) {
    if (err instanceof EntityGraphError) throw new RcaError('BAD_TOPOLOGY', `${file}: ${err.message}`, false, { cause: err });
    throw err;
  }
  return fromEntityGraph(g);
}

export function fromEntityGraph(g: EntityGraph): { topology: RcaTopology; names: Set<string> } {
  const dependsOn = new Map<string, string[]>();
  const hosts = new Set<string>();
  const names = new Set<string>();
  for (let i = 0; i < g.size; i++) {
    const e = g.entity(i)!;
    names.add(e.name);
    if (e.kind === 'Host') hosts.add(e.name);
    const deps = g.dependencies(i).map((j) => g.entity(j)!.name);
    if (deps.length > 0) dependsOn.set(e.name, [...new Set([...(dependsOn.get(e.name) ?? []), ...deps])]);
  }
  return { topology: { dependsOn, hosts }, names };
}

export function readJsonFile(file: string, what: string): unknown {
  const text = readText(file, what);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RcaError('BAD_INPUT', `${what} ${file} is not JSON: ${(err as Error).message}`, false, { cause: err });
  }
}

/** A change log: the simulator's changes.json ([{atMs, entity, kind, description}]) or {time (unix s), service, kind}. */
export function parseChanges(value: unknown, file: string): RcaChange[] {
  if (!Array.isArray(value)) throw new RcaError('BAD_INPUT', `${file}: a change log must be a JSON array`);
  return value.map((v, i) => {
    if (typeof v !== 'object' || v === null) throw new RcaError('BAD_INPUT', `${file}[${i}]: must be an object`);
    const r = v as Record<string, unknown>;
    const atMs = typeof r['atMs'] === 'number' ? r['atMs'] : typeof r['time'] === 'number' ? r['time'] * 1000 : NaN;
    const entity = r['entity'] ?? r['service'];
    if (!Number.isFinite(atMs)) throw new RcaError('BAD_INPUT', `${file}[${i}].atMs: must be a time in ms (or "time" in unix seconds)`);
    if (typeof entity !== 'string' || entity === '') throw new RcaError('BAD_INPUT', `${file}[${i}].entity: must be a non-empty string`);
    return { atMs, entity, kind: typeof r['kind'] === 'string' ? r['kind'] : 'change', ...(typeof r['description'] === 'string' ? { description: r['description'] } : {}) };
  });
}

// ---- PetShop ----

export interface PetshopIssue {
  /** `<split>/issue_<n>`. */
  name: string;
  split: string;
  targetNode: string;
  targetMetric: string;
  /** The target's statistic (Average, p90 ...): with targetMetric, the SLO that was violated. */
  targetStatistic: string;
  /** The issue's time (target.json), ms. */
  issueMs: number;
  rootCause: string;
  rows: PetshopRows;
}

interface PetshopRows {
  timesMs: Float64Array;
  columns: Array<{ entity: string; metric: string }>;
  values: Float64Array[];
}

export interface PetshopScenario {
  name: string;
  topology: RcaTopology;
  names: Set<string>;
  normal: PetshopRows | null;
  issues: PetshopIssue[];
}

function parsePetshopMetrics(file: string): PetshopRows {
  const rows = parseRows(readText(file, 'metrics file'), file);
  if (rows.length < 4) throw new RcaError('BAD_CSV', `${file}: expected three header rows (component, metric, statistic) and data rows, got ${rows.length} rows`);
  const [comp, metric, stat] = [rows[0]!, rows[1]!, rows[2]!];
  if (comp.length > MAX_COLUMNS) throw new RcaError('TOO_LARGE', `${file}: ${comp.length} columns, more than the limit ${MAX_COLUMNS}`);
  const columns = comp.slice(1).map((c, i) => ({ entity: c, metric: `${metric[i + 1] ?? ''}-${stat[i + 1] ?? ''}` }));
  const data = rows.slice(3).filter((r) => r[0] !== '' && !/^[A-Za-z_]/.test(r[0]!));
  const timesMs = new Float64Array(data.length);
  const values = columns.map(() => new Float64Array(data.length));
  data.forEach((r, k) => {
    const t = cell(r[0]!, file, k + 5, 'timestamp');
    if (!Number.isFinite(t)) throw new RcaError('BAD_CSV', `${file} data row ${k + 1}: the timestamp is empty`);
    timesMs[k] = t * 1000;
    for (let i = 0; i < columns.length; i++) values[i]![k] = cell(r[i + 1] ?? '', file, k + 5, comp[i + 1]!);
  });
  return { timesMs, columns, values };
}

function parseGraphCsv(file: string): { topology: RcaTopology; names: Set<string> } {
  const rows = parseRows(readText(file, 'graph file'), file);
  if (rows.length < 2) throw new RcaError('BAD_CSV', `${file}: expected an adjacency matrix with a header row`);
  const cols = rows[0]!.slice(1);
  const dependsOn = new Map<string, string[]>();
  const names = new Set<string>(cols);
  rows.slice(1).forEach((r, k) => {
    const from = r[0]!;
    names.add(from);
    r.slice(1).forEach((v, i) => {
      const w = cell(v, file, k + 2, cols[i] ?? String(i));
      if (w !== 0 && Number.isFinite(w) && cols[i] !== from) {
        const l = dependsOn.get(from);
        if (l) l.push(cols[i]!);
        else dependsOn.set(from, [cols[i]!]);
      }
    });
  });
  // X-Ray's remote nodes (name suffix "_remote") are the callers' view of calls to endpoints
  // that are not instrumented (load balancers, external APIs).
  const observed = new Set([...names].filter((n) => n.endsWith('_remote')));
  return { topology: { dependsOn, hosts: new Set(), observed }, names };
}

export function readPetshopScenario(dir: string): PetshopScenario {
  const { topology, names } = parseGraphCsv(join(dir, 'graph.csv'));
  let normal: PetshopRows | null = null;
  try {
    statSync(join(dir, 'noissue', 'metrics.csv'));
    normal = parsePetshopMetrics(join(dir, 'noissue', 'metrics.csv'));
  } catch (err) {
    if (err instanceof RcaError) throw err;
  }
  const issues: PetshopIssue[] = [];
  for (const split of ['train', 'test']) {
    let entries: string[];
    try {
      entries = readdirSync(join(dir, split));
    } catch {
      continue;
    }
    for (const issue of entries.filter((e) => e.startsWith('issue_')).sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)))) {
      const base = join(dir, split, issue);
      const target = readJsonFile(join(base, 'target.json'), 'target') as Record<string, Record<string, unknown>>;
      const t = target['target'];
      const rc = target['root_cause'];
      if (!t || typeof t['node'] !== 'string' || typeof t['timestamp'] !== 'number' || !rc || typeof rc['node'] !== 'string') {
        throw new RcaError('BAD_INPUT', `${join(base, 'target.json')}: expected target.node, target.timestamp and root_cause.node`);
      }
      issues.push({ name: `${split}/${issue}`, split, targetNode: t['node'], targetMetric: String(t['metric'] ?? ''), targetStatistic: String(t['agg'] ?? ''), issueMs: t['timestamp'] * 1000, rootCause: rc['node'], rows: parsePetshopMetrics(join(base, 'metrics.csv')) });
    }
  }
  if (issues.length === 0) throw new RcaError('NO_DATA', `${dir}: no train/issue_* or test/issue_* folders (is this a PetShop scenario folder?)`);
  return { name: dir.split(/[\\/]/).filter(Boolean).pop() ?? dir, topology, names, normal, issues };
}

/** The entities an issue's cause may be: the target and everything it depends on, transitively. */
export function dependencyClosure(topology: RcaTopology, start: string): Set<string> {
  return reachable(start, (n) => topology.dependsOn.get(n));
}

/**
 * The frame of one PetShop issue: normal history, then the issue's rows (those before the issue
 * time included); detection at the issue time of target.json (the published baseline analyses the
 * first row from there on). Returns the step so callers can size `before`/`after`.
 */
export function petshopCase(s: PetshopScenario, issue: PetshopIssue): { frame: RcaFrame; detectedAtMs: number; stepMs: number; historyRows: number } {
  const rows = issue.rows;
  const stepMs = rows.timesMs.length > 1 ? rows.timesMs[1]! - rows.timesMs[0]! : 300_000;
  let history: PetshopRows[] = [];
  if (s.normal) history = [s.normal];
  else {
    // The other issues' rows from before their own issue time (normal operation), in time order.
    history = s.issues
      .filter((o) => o !== issue)
      .sort((a, b) => a.issueMs - b.issueMs)
      .map((o) => {
        const keep: number[] = [];
        o.rows.timesMs.forEach((t, i) => {
          if (t + stepMs <= o.issueMs) keep.push(i);
        });
        return { timesMs: Float64Array.from(keep.map((i) => o.rows.timesMs[i]!)), columns: o.rows.columns, values: o.rows.values.map((v) => Float64Array.from(keep.map((i) => v[i]!))) };
      });
  }
  const key = (c: { entity: string; metric: string }): string => `${c.entity}\u0000${c.metric}`;
  const cols = rows.columns;
  const index = new Map(cols.map((c, i) => [key(c), i]));
  const histRows = history.reduce((n, h) => n + h.timesMs.length, 0);
  const n = histRows + rows.timesMs.length;
  const start = rows.timesMs[0]!;
  const timesMs = new Float64Array(n);
  for (let i = 0; i < n; i++) timesMs[i] = start + (i - histRows) * stepMs;
  const values = cols.map(() => new Float64Array(n).fill(NaN));
  let at = 0;
  for (const h of history) {
    h.columns.forEach((c, j) => {
      const k = index.get(key(c));
      if (k === undefined) return;
      values[k]!.set(h.values[j]!, at);
    });
    at += h.timesMs.length;
  }
  rows.values.forEach((v, k) => values[k]!.set(v, histRows));
  const series: RcaSeries[] = cols.map((c, k) => ({ entity: c.entity, metric: c.metric, values: values[k]! }));
  return { frame: { timesMs, series }, detectedAtMs: issue.issueMs, stepMs, historyRows: histRows };
}
