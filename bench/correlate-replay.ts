// `npm run correlate` on a 20,000-alert stream (issue #8 acceptance: under a minute):
//   npm run bench:correlate-replay [-- --alerts 20000 --scenario random-mixed]
// Builds a labelled stream from a shipped scenario (noise level 1), its storm repeated back to
// back with new storm seeds until it holds at least --alerts alerts, writes it as the
// command's input, runs the real command (`npm run correlate`, a child process: start-up
// included) and reports its wall time, then scores the assignments it wrote.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { correlateInputLines, scenarioAlertStream } from '../simulators/alerts/index.js';
import { loadScenarioFile, shippedScenariosDir } from '../simulators/scenario/index.js';
import { scoreCorrelation } from '../simulators/scoring/index.js';

const { values: args } = parseArgs({ options: { alerts: { type: 'string', default: '20000' }, scenario: { type: 'string', default: 'random-mixed' }, help: { type: 'boolean', short: 'h' } } });
if (args.help) {
  console.log('usage: npm run bench:correlate-replay [-- --alerts 20000 --scenario random-mixed]');
  process.exit(0);
}
const want = Number(args.alerts);
const scenario = await loadScenarioFile(join(shippedScenariosDir(), `${args.scenario}.yaml`));
const one = scenarioAlertStream(scenario, { noise: { level: 1 } }, 1).alerts.length;
const stream = scenarioAlertStream(scenario, { noise: { level: 1 } }, Math.ceil(want / one));
const dir = await mkdtemp(join(tmpdir(), 'aiops-correlate-bench-'));
try {
  const lines = correlateInputLines(stream.alerts);
  await writeFile(join(dir, 'alerts.jsonl'), `${lines.join('\n')}\n`);
  await writeFile(join(dir, 'topology.json'), JSON.stringify(stream.topology));
  const t0 = performance.now();
  const r = spawnSync('npm', ['run', '-s', 'correlate', '--', '--alerts', join(dir, 'alerts.jsonl'), '--topology', join(dir, 'topology.json'), '--out', join(dir, 'out.jsonl')], { encoding: 'utf8' });
  const secs = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`npm run correlate failed (${r.status}): ${r.stderr}`);
  const out = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { incident: string | null }).incident);
  const s = scoreCorrelation(out.map((incident, i) => ({ incident, truth: stream.alerts[i]!.faultId })));
  console.log(`npm run correlate: ${lines.length} alerts (${args.scenario} x ${stream.stats.length}, noise level 1) in ${secs.toFixed(1)} s wall (start-up included), ${Math.round(lines.length / secs)} alerts/s`);
  console.log(`  its own report: ${r.stderr.trim().split('\n').at(-1)}`);
  console.log(`  ${s.incidents} incidents, compression ${(100 * (1 - s.incidents / s.alerts)).toFixed(1)}%, purity ${s.purity.toFixed(3)}, ARI ${s.ari.toFixed(3)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
