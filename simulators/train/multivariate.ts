// Training data of the multivariate tier: the windows of each service, from simulator runs (a
// folder holding `metrics.csv`, and `ground-truth.json` when the run injected faults). A run's
// rows are used from its start up to `head` of its length and never past the onset of its first
// fault (minus a margin), so a model learns the service's normal relations only. Columns are
// named as the live agents name the series (`sim_service_cpu_cores`, ...), so the model trained
// here scores the live rows of the same service. Metrics that do not vary in the training rows
// (an error ratio that stayed 0) are left out: they carry no relation, and a scale fitted to no
// spread would turn any later value into an anomaly; the dropped names are reported.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fitMultivariate } from '../../central/src/detect/multivariate/index.js';
import type { MultivariateBundle } from '../../central/src/detect/multivariate/index.js';
import { medianOf } from '../../central/src/detect/stats.js';
import { parseMetricsCsv } from '../exports/index.js';
import { SERVICE_METRIC_NAMES } from '../fleet/index.js';
import type { ServiceMetric } from '../model/index.js';
import { ReplayInputError } from '../replay/index.js';

/** Steps before a fault's onset that are not trained on (the fault's lead-in). */
const FAULT_MARGIN_STEPS = 30;

export interface ServiceWindows {
  service: string;
  /** Live series names (`__name__`), in column order. */
  metrics: string[];
  rows: number[][];
}

/** Finds `metrics.csv` files under a folder (the folder itself included), sorted. */
async function findRuns(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch (err) {
      throw new ReplayInputError('NO_INPUT', `cannot read data folder ${d}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else if (e.name === 'metrics.csv') out.push(d);
    }
  };
  await walk(dir);
  return out;
}

export async function loadServiceWindows(dirs: readonly string[], head: number, onFile?: (path: string) => void): Promise<{ services: ServiceWindows[]; digest: string; sources: string[] }> {
  if (!(head > 0 && head <= 1)) throw new ReplayInputError('BAD_OPTION', `--head must be a fraction in (0, 1] (got ${head})`);
  const byService = new Map<string, ServiceWindows>();
  const sources: string[] = [];
  const h = createHash('sha256');
  for (const dir of dirs) {
    const runs = await findRuns(dir);
    if (runs.length === 0) throw new ReplayInputError('NO_INPUT', `no simulator run (a folder with metrics.csv) under ${dir}: make one with \`npm run simulate -- run <scenario> --out <dir>\``);
    for (const run of runs) {
      const file = join(run, 'metrics.csv');
      const rel = relative(dir, file) || 'metrics.csv';
      const bytes = await readFile(file);
      let m;
      try {
        m = parseMetricsCsv(bytes.toString('utf8'), undefined, file);
      } catch (err) {
        throw new ReplayInputError('BAD_CSV', (err as Error).message);
      }
      let end = Math.floor(m.length * head);
      const truth = join(run, 'ground-truth.json');
      if (await stat(truth).then(() => true, () => false)) {
        const gt = JSON.parse(await readFile(truth, 'utf8')) as { faults?: Array<{ onsetMs?: unknown }> };
        for (const f of gt.faults ?? []) {
          if (typeof f.onsetMs !== 'number' || m.stepMs <= 0) continue;
          end = Math.min(end, Math.max(0, Math.floor((f.onsetMs - m.startMs) / m.stepMs) - FAULT_MARGIN_STEPS));
        }
      }
      const cols = new Map<string, Array<{ name: string; values: Float64Array }>>();
      for (const s of m.series) {
        if (!s.nodeId.startsWith('service:')) continue;
        const name = SERVICE_METRIC_NAMES[s.metric as ServiceMetric];
        if (name === undefined) continue;
        const list = cols.get(s.entity) ?? [];
        list.push({ name, values: s.values });
        cols.set(s.entity, list);
      }
      for (const [service, list] of cols) {
        list.sort((a, b) => (a.name < b.name ? -1 : 1));
        let w = byService.get(service);
        if (w === undefined) {
          w = { service, metrics: list.map((c) => c.name), rows: [] };
          byService.set(service, w);
        }
        const at = w.metrics.map((name) => list.find((c) => c.name === name));
        for (let t = 0; t < end; t++) w.rows.push(at.map((c) => (c ? c.values[t]! : NaN)));
      }
      h.update(rel).update('\0').update(String(end)).update('\0');
      h.update(bytes); // the whole file: its rows past `end` are not trained on, but name the data
      sources.push(`${rel} (rows 0..${end})`);
      onFile?.(`${rel}: ${end} of ${m.length} rows`);
    }
  }
  return { services: [...byService.values()].sort((a, b) => (a.service < b.service ? -1 : 1)), digest: `sha256:${h.digest('hex')}`, sources };
}

export interface BundleFit {
  bundle: MultivariateBundle;
  rows: number;
  metrics: { services: Record<string, { rows: number; k: number; metrics: number; explained: number; dropped: string[] }>; skipped: Record<string, string> };
}

/** Fits one model per service that has at least two varying metrics and enough complete rows. */
export function fitBundle(services: readonly ServiceWindows[], seed: number): BundleFit {
  const bundle: MultivariateBundle = { services: [] };
  const metrics: BundleFit['metrics'] = { services: {}, skipped: {} };
  let rows = 0;
  for (const s of services) {
    const complete = s.rows.filter((r) => r.every(Number.isFinite));
    const keep: number[] = [];
    const dropped: string[] = [];
    s.metrics.forEach((name, i) => {
      const v = complete.map((r) => r[i]!);
      const med = v.length > 0 ? medianOf(v) : 0;
      const mad = v.length > 0 ? medianOf(v.map((x) => Math.abs(x - med))) : 0;
      if (mad > 0) keep.push(i);
      else dropped.push(name);
    });
    if (keep.length < 2) {
      metrics.skipped[s.service] = `${keep.length} varying metric(s) in ${complete.length} complete rows (needs 2)`;
      continue;
    }
    try {
      const r = fitMultivariate(
        keep.map((i) => s.metrics[i]!),
        complete.map((row) => keep.map((i) => row[i]!)),
        { seed },
      );
      bundle.services.push({ service: s.service, params: r.params });
      const explained = r.metrics.explained.slice(0, r.params.k).reduce((a, b) => a + b, 0);
      metrics.services[s.service] = { rows: r.metrics.rows, k: r.params.k, metrics: keep.length, explained: Number(explained.toFixed(4)), dropped };
      rows += r.metrics.rows;
    } catch (err) {
      metrics.skipped[s.service] = (err as Error).message;
    }
  }
  if (bundle.services.length === 0) throw new ReplayInputError('NO_INPUT', `no service could be trained: ${Object.entries(metrics.skipped).map(([k, v]) => `${k}: ${v}`).join('; ') || 'the runs hold no service metrics'}`);
  return { bundle, rows, metrics };
}
