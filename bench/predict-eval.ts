// The predictive engine on the simulators (issue #9, Deliver 5): lead time before disks fill and
// leaking services run out of memory, and false predictive alerts on fault-free runs.
//
//   npm run bench:predict -- [--runs 3] [--seed 9300] [--days 2] [--write-results]
//
// For each of three presets the simulator runs (a) a scenario with disk fills on hosts and memory
// leaks in services (varied severities and durations: the fill or the leak reaches its capacity
// 1.5-6 h after onset), (b) fault-free days with the presets' benign deploys and level shifts.
// The engine's Predictor (the same state machine central's stage runs, default `predict:`
// config) is refreshed every `interval` on each resource series' last `window`, with the same
// window one day earlier as seasonal reference when the run has it. A service's memory limit is
// the simulator's own (what a container's limit series gives central).
//
// Lead time = when the capacity is reached (the disk full; the memory at its limit: the OOM kill)
// minus the first predictive alert for that series after the onset; also reported against the
// first user-visible effect (the first other entity the ground truth says the fault reached).
// False alerts = predictive alerts on the fault-free runs, per 100 host-days.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Alert } from '../shared-schemas/src/index.js';
import { predictConfig } from '../central/src/predict/config.js';
import type { PredictTarget } from '../central/src/predict/config.js';
import { Predictor } from '../central/src/predict/predictor.js';
import { parseScenarioText, prepareScenario, runScenario } from '../simulators/scenario/index.js';
import type { ScenarioRunContext } from '../simulators/scenario/index.js';
import { generateTopology } from '../simulators/topology/index.js';
import { Rng } from '../simulators/model/index.js';
import { replaceResultsSection } from './lib/results.js';
import { medianOf } from '../central/src/detect/stats.js';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const SECTION = '## Predictive alerts: lead time and false alarms (issue #9)';
const PRESETS = ['online-boutique', 'sock-shop', 'train-ticket'] as const;
const HOST_METRIC_NAME: Record<string, string> = { disk: 'sim_host_disk_ratio', memory: 'sim_host_memory_ratio' };

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '1' },
    seed: { type: 'string', default: '9400' },
    days: { type: 'string', default: '5' },
    'write-results': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  process.stdout.write(`Usage: npm run bench:predict -- [options]

Lead time of predictive alerts before simulated disk fills and memory leaks reach capacity, and
false predictive alerts per 100 host-days on fault-free runs (three presets).

  --runs <n>        fault scenarios per preset (default 1; each has 4 disk fills and 4 leaks)
  --seed <n>        first scenario seed (default 9400; the defaults were tuned on 9300)
  --days <n>        fault-free days per preset (default 5: 100 host-days over the three presets)
  --write-results   put the table in bench/RESULTS.md
`);
  process.exit(0);
}
const say = (m: string): void => {
  process.stderr.write(`[predict-eval] ${m}\n`);
};
const cfg = predictConfig();
const target = (name: string): PredictTarget => cfg.targets.find((t) => t.name === name)!;

interface Run {
  ctx: ScenarioRunContext;
  memLimit: Map<string, number>;
}

async function simulate(spec: Record<string, unknown>, dir: string): Promise<Run> {
  const scenario = parseScenarioText(JSON.stringify(spec), String(spec['name']));
  let ctx: ScenarioRunContext | undefined;
  await runScenario(scenario, dir, { extraWriters: [{ name: 'capture', write: async (c) => ((ctx = c), []) }] });
  const prepared = prepareScenario(scenario);
  const memLimit = new Map<string, number>();
  prepared.model.graph.workloads.forEach((w, i) => memLimit.set(w.name, prepared.model.profiles.workloads[i]!.memLimit));
  return { ctx: ctx!, memLimit };
}

interface Observation {
  entity: string;
  target: string;
  alerts: Alert[];
}

/** Walks the run at `interval`, refreshing the predictor on every resource series. */
function walk(run: Run): Observation[] {
  const { metrics } = run.ctx;
  const p = new Predictor(cfg, 'default');
  const step = metrics.stepMs;
  const windowSteps = Math.round(cfg.window / step);
  const seasonSteps = Math.round(cfg.seasonal_period / step);
  const every = Math.max(1, Math.round(cfg.interval / step));
  const plan: Array<{ t: PredictTarget; entity: string; values: Float64Array; capacity: number; labels: Record<string, string> }> = [];
  for (const s of metrics.series) {
    const isHost = s.nodeId.startsWith('host:');
    if (isHost && (s.metric === 'disk' || s.metric === 'memory')) {
      plan.push({ t: target(s.metric === 'disk' ? 'disk_full' : 'memory_exhausted'), entity: s.entity, values: s.values, capacity: 1, labels: { __name__: HOST_METRIC_NAME[s.metric]!, host: s.entity } });
    } else if (!isHost && s.metric === 'memory') {
      plan.push({ t: target('memory_limit'), entity: s.entity, values: s.values, capacity: run.memLimit.get(s.entity)!, labels: { __name__: 'sim_service_memory_bytes', service: s.entity } });
    }
  }
  const obs: Observation[] = plan.map((x) => ({ entity: x.entity, target: x.t.name, alerts: [] }));
  const times = Float64Array.from({ length: metrics.length }, (_, i) => metrics.startMs + i * step);
  for (let end = windowSteps; end <= metrics.length; end += every) {
    const now = times[end - 1]!;
    plan.forEach((x, k) => {
      const out: Alert[] = [];
      const from = end - windowSteps;
      const seasonal = from - seasonSteps >= 0 ? x.values.subarray(from - seasonSteps, end - seasonSteps) : undefined;
      p.observe(x.t, x.labels, times.subarray(from, end), x.values.subarray(from, end), x.capacity, now, out, seasonal);
      obs[k]!.alerts.push(...out);
    });
  }
  return obs;
}

const mins = (ms: number): string => (Number.isFinite(ms) ? `${Math.round(ms / 60_000)} min` : '-');

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'aiops-predict-eval-'));
  const began = performance.now();
  const rows: Array<{ preset: string; type: string; entity: string; severity: number; leadFull: number; leadImpact: number; detected: boolean }> = [];
  let falseAlerts = 0;
  let hostDays = 0;
  const falseList: string[] = [];
  try {
    let seed = Number(args.seed);
    for (const preset of PRESETS) {
      const doc = generateTopology({ preset }, 0);
      const hosts = doc.nodes.filter((n) => n.kind === 'Host').map((n) => n.name);
      const services = doc.nodes.filter((n) => n.kind === 'Service').map((n) => n.name);
      for (let r = 0; r < Number(args.runs); r++) {
        const s = seed++;
        const rng = new Rng(s).fork('faults');
        // 8 faults, 7 h apart: 4 disk fills (on distinct hosts), 4 leaks; capacity reached 1.5-6 h after onset.
        const faults = Array.from({ length: 8 }, (_, i) => {
          const disk = i % 2 === 0;
          const hours = 2.5 + rng.uniform() * 7.5; // fault duration
          return disk
            ? { type: 'disk_fill', target: hosts[(i / 2 + r) % hosts.length]!, onset: `${26 + i * 7}h`, duration: `${Math.round(hours * 60)}m`, severity: 1 }
            : { type: 'memory_leak', target: services[Math.floor(rng.uniform() * services.length)]!, onset: `${26 + i * 7}h`, duration: `${Math.round(hours * 60)}m`, severity: 1 };
        });
        const spec = { name: `predict-${preset}-${r}`, topology: { preset }, seed: s, start: '2024-06-03T00:00:00Z', duration: `${26 + 8 * 7 + 4}h`, step: '60s', noise: 1, benign: { deploysPerDay: 2, levelShiftsPerDay: 1 }, exports: { metricsCsv: false, nab: { enabled: false }, rcaeval: { enabled: false } }, faults };
        const run = await simulate(spec, join(root, spec.name));
        const obs = walk(run);
        for (const f of run.ctx.groundTruth.faults) {
          const isDisk = f.type === 'disk_fill';
          const series = run.ctx.metrics.series.find((x) => x.entity === f.rootEntity && x.metric === (isDisk ? 'disk' : 'memory'))!;
          const cap = isDisk ? 0.999 : run.memLimit.get(f.rootEntity)! * 0.999;
          let fullAt = NaN;
          for (let i = 0; i < series.values.length; i++) {
            const tm = run.ctx.metrics.startMs + i * run.ctx.metrics.stepMs;
            if (tm >= f.onsetMs && tm <= f.endMs && series.values[i]! >= cap) {
              fullAt = tm;
              break;
            }
          }
          if (!Number.isFinite(fullAt)) fullAt = f.onsetMs + (isDisk ? 0.6 : 0.7) * (f.endMs - f.onsetMs);
          const impact = f.affected.filter((a) => a.entity !== f.rootEntity).map((a) => a.onsetMs).sort((a, b) => a - b)[0] ?? fullAt;
          const o = obs.find((x) => x.entity === f.rootEntity && x.target === (isDisk ? 'disk_full' : 'memory_limit'));
          const first = o?.alerts.find((a) => a.status === 'firing' && a.startsAtMs >= f.onsetMs && a.startsAtMs <= fullAt);
          rows.push({ preset, type: f.type, entity: f.rootEntity, severity: f.severity, leadFull: first ? fullAt - first.startsAtMs : 0, leadImpact: first ? impact - first.startsAtMs : 0, detected: first !== undefined });
        }
        say(`${spec.name}: ${run.ctx.groundTruth.faults.length} faults`);
      }
      // Fault-free days (the same preset, benign deploys and level shifts only).
      const spec = { name: `predict-${preset}-clean`, topology: { preset }, seed: seed++, start: '2024-06-03T00:00:00Z', duration: `${Number(args.days) * 24 + 1}h`, step: '60s', noise: 1, benign: { deploysPerDay: 2, levelShiftsPerDay: 1 }, exports: { metricsCsv: false, nab: { enabled: false }, rcaeval: { enabled: false } }, faults: [] };
      const run = await simulate(spec, join(root, spec.name));
      for (const o of walk(run)) for (const a of o.alerts) if (a.status === 'firing') {
        falseAlerts++;
        falseList.push(`${preset} ${o.target} ${o.entity} at ${new Date(a.startsAtMs).toISOString()}: ${a.annotations['summary']}`);
      }
      hostDays += hosts.length * Number(args.days);
      say(`${spec.name}: ${hosts.length} hosts x ${args.days} days`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const given = process.argv.slice(2).filter((a) => a !== '--write-results').join(' ');
  const lines = [SECTION, '', `Command: \`npm run bench:predict -- ${given ? `${given} ` : ''}--write-results\` (${args.runs} fault runs per preset, ${args.days} fault-free days per preset, seeds from ${args.seed}, 60-second steps, default \`predict:\` config). Run ${new Date().toISOString().slice(0, 10)}, ${Math.round((performance.now() - began) / 1000)} s.`, ''];
  lines.push('| fault | faults | warned before full | median lead before full | min lead | median lead before first user-visible effect |', '|---|---|---|---|---|---|');
  for (const type of ['disk_fill', 'memory_leak']) {
    const rs = rows.filter((x) => x.type === type);
    const hit = rs.filter((x) => x.detected);
    lines.push(`| ${type} | ${rs.length} | ${hit.length} | **${mins(medianOf(hit.map((x) => x.leadFull)))}** | ${mins(Math.min(...hit.map((x) => x.leadFull)))} | ${mins(medianOf(hit.map((x) => x.leadImpact)))} |`);
  }
  const all = rows.filter((x) => x.detected);
  lines.push(`| **all** | ${rows.length} | ${all.length} | **${mins(medianOf(all.map((x) => x.leadFull)))}** | ${mins(Math.min(...all.map((x) => x.leadFull)))} | ${mins(medianOf(all.map((x) => x.leadImpact)))} |`, '');
  lines.push(`False predictive alerts on fault-free runs: **${falseAlerts}** over ${hostDays} host-days = **${((falseAlerts / hostDays) * 100).toFixed(2)} per 100 host-days** (every disk, host memory and service memory series forecast; ${PRESETS.join(', ')}).`);
  if (falseList.length > 0) lines.push('', ...falseList.slice(0, 10).map((x) => `- ${x}`));
  lines.push('');
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  if (args['write-results']) {
    replaceResultsSection(join(REPO, 'bench', 'RESULTS.md'), SECTION, `${text}\n<!-- analysis -->\n<!-- /analysis -->\n`);
    say('bench/RESULTS.md updated');
  }
}

await main();
