import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, sep } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { validateTopologyDocument } from '../../shared-schemas/src/index.js';
import { FAULT_TYPES } from '../model/index.js';
import type { GroundTruth } from '../model/index.js';
import { loadNabCorpus } from '../scoring/index.js';
import { PRESET_NAMES } from '../topology/index.js';
import { runSimulateCli } from '../cli.js';
import { ScenarioError, listShippedScenarios, loadScenarioFile, parseDuration, parseScenarioText, prepareScenario, runScenario } from './index.js';
import type { Scenario, ScenarioRunContext, ScenarioWriter } from './index.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-scenario-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function tree(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p).split(sep).join('/'), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(root);
  return out;
}

const SMALL = `
name: small
topology: { preset: online-boutique, hosts: 3 }
seed: 7
start: 2024-03-04T06:00:00Z
duration: 1h
step: 10s
faults:
  - { type: network_delay, target: currency, onset: 20m, duration: 10m }
`;

describe('scenario files', () => {
  it('parses durations', () => {
    assert.equal(parseDuration('10s'), 10_000);
    assert.equal(parseDuration('1h30m'), 5_400_000);
    assert.equal(parseDuration('1d'), 86_400_000);
    assert.equal(parseDuration('250ms'), 250);
    assert.ok(Number.isNaN(parseDuration('10')), 'a bare number has no unit');
    assert.ok(Number.isNaN(parseDuration('ten minutes')), 'words are not durations');
  });

  it('validates every shipped scenario, targets included', async () => {
    const files = await listShippedScenarios();
    assert.ok(files.length >= 12, `${files.length} shipped scenarios`);
    const scenarios: Scenario[] = [];
    for (const f of files) {
      const s = await loadScenarioFile(f);
      assert.equal(`${s.name}.yaml`, basename(f), 'file named after the scenario');
      prepareScenario(s);
      assert.ok(s.durationMs / s.stepMs <= 1500, `${s.name}: ${s.durationMs / s.stepMs} steps keeps a run to seconds`);
      scenarios.push(s);
    }
    // The library covers every fault type, every preset, a random topology, a fault-free run,
    // and concurrent faults (overlapping in time) next to sequential ones.
    const types = new Set(scenarios.flatMap((s) => s.faults.map((f) => f.type)));
    assert.deepEqual([...types].sort(), [...FAULT_TYPES].sort());
    assert.deepEqual([...new Set(scenarios.map((s) => s.topology.preset).filter((p) => p !== undefined))].sort(), [...PRESET_NAMES].sort());
    assert.ok(scenarios.some((s) => s.topology.random !== undefined), 'a random topology');
    assert.ok(scenarios.some((s) => s.faults.length === 0), 'a fault-free scenario');
    const overlapping = scenarios.filter((s) => s.faults.some((a, i) => s.faults.some((b, j) => i !== j && a.onsetMs < b.onsetMs + b.durationMs && b.onsetMs < a.onsetMs + a.durationMs)));
    assert.ok(overlapping.length >= 2, 'scenarios with overlapping faults');
    assert.ok(scenarios.some((s) => s.faults.length >= 2 && !overlapping.includes(s)), 'sequential faults');
  });

  it('names the path and the bad value in errors', () => {
    const bad: Array<[string, RegExp]> = [
      [SMALL.replace('duration: 1h', 'duration: 1 hour'), /duration must be a duration like "90s", "15m", "2h" or "1h30m" \(got "1 hour"\)/],
      [SMALL.replace('onset: 20m', 'onset: 95s'), /faults\[0\]\.onset must be a multiple of step 10s \(got "95s"\)/],
      [SMALL.replace('onset: 20m', 'onset: 2h'), /faults\[0\]\.onset must be after the start and before the end/],
      [SMALL.replace('type: network_delay', 'type: net_delay'), /faults\[0\]\.type .*\(got "net_delay"\)/],
      [SMALL.replace('seed: 7', 'seed: -7'), /seed .*\(got -7\)/],
      [SMALL.replace('seed: 7', 'seed: 7\ncolour: red'), /\(root\) has unknown key\(s\) "colour"/],
      [SMALL.replace('preset: online-boutique', 'preset: petshop'), /topology\.preset .*\(got "petshop"\)/],
      [SMALL.replace('start: 2024-03-04T06:00:00Z', 'start: yesterday'), /start must be an ISO 8601 time .*\(got "yesterday"\)/],
      [SMALL.replace('step: 10s', 'step: 7s'), /duration must be a positive multiple of step 7s \(got "1h"\)/],
      [SMALL.replace('name: small', 'name: "bad name"'), /name must be letters, digits/],
      [SMALL.replace('duration: 10m }', 'duration: 10m, variant: errors }'), /faults\[0\]\.variant applies to config_change faults only/],
    ];
    for (const [text, re] of bad) {
      assert.throws(() => parseScenarioText(text, 'x.yaml'), (e: unknown) => e instanceof ScenarioError && e.code === 'BAD_SCENARIO' && re.test(e.message), `expected ${re}`);
    }
    assert.throws(() => parseScenarioText('name: [unclosed\n', 'y.yaml'), (e: unknown) => e instanceof ScenarioError && e.code === 'BAD_YAML' && /^y\.yaml:\d+:\d+: not valid YAML/.test(e.message));
    // Targets are checked before anything runs.
    assert.throws(() => prepareScenario(parseScenarioText(SMALL.replace('target: currency', 'target: currencies'))), (e: unknown) => e instanceof ScenarioError && /faults\[0\]\.target "currencies" is not a node/.test(e.message));
  });
});

describe('running scenarios', () => {
  it('writes every export; the same seed gives byte-identical files, another seed different ones', async () => {
    const file = (await listShippedScenarios()).find((f) => f.endsWith('ob-network-delay.yaml'))!;
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    const c = join(dir, 'c');
    const progress: string[] = [];
    const summary = await runScenario(await loadScenarioFile(file), a, { onProgress: (e) => progress.push(`${e.phase}: ${e.message}`) });
    await runScenario(await loadScenarioFile(file), b);
    const other = await loadScenarioFile(file);
    other.seed += 1;
    await runScenario(other, c);

    const ta = await tree(a);
    assert.deepEqual(ta, await tree(b), 'same seed, same bytes');
    const tc = await tree(c);
    for (const f of ['metrics.csv', 'topology.json', 'ground-truth.json']) assert.notEqual(ta.get(f), tc.get(f), `${f} differs across seeds`);

    for (const f of ['scenario.json', 'topology.json', 'ground-truth.json', 'changes.json', 'metrics.csv', 'manifest.json', 'nab/labels/combined_windows.json', 'nab/config/profiles.json', 'rcaeval/index.json', 'rcaeval/currency_delay/1/data.csv', 'rcaeval/currency_delay/1/inject_time.txt']) {
      assert.ok(ta.has(f), `wrote ${f}`);
    }
    assert.deepEqual([...ta.keys()].sort(), summary.files);
    const manifest = JSON.parse(await readFile(join(a, 'manifest.json'), 'utf8')) as { files: string[] };
    assert.deepEqual([...manifest.files, 'manifest.json'].sort(), summary.files);
    validateTopologyDocument(JSON.parse(await readFile(join(a, 'topology.json'), 'utf8')));
    const gt = JSON.parse(await readFile(join(a, 'ground-truth.json'), 'utf8')) as GroundTruth;
    assert.equal(gt.scenario, 'ob-network-delay');
    assert.equal(gt.faults[0]!.rootEntity, 'currency');
    const corpus = await loadNabCorpus(join(a, 'nab'));
    assert.equal(corpus.files.length, summary.series);
    assert.equal(corpus.windowCount, summary.nabWindows);
    assert.ok(progress.some((p) => p.startsWith('simulate:')) && progress.at(-1)!.startsWith('done:'), progress.join('\n'));
  });

  it('hands the run to extra writers with the alerts section untouched, and replaces a previous run', async () => {
    const text = `${SMALL}alerts:\n  storms: [{ at: 25m, fanout: 3 }]\n  noise: { perHour: 12 }\n`;
    const scenario = parseScenarioText(text);
    assert.deepEqual(scenario.alerts, { storms: [{ at: '25m', fanout: 3 }], noise: { perHour: 12 } });
    const seen: ScenarioRunContext[] = [];
    const writer: ScenarioWriter = {
      name: 'alert-storm',
      async write(ctx) {
        seen.push(ctx);
        await mkdir(join(ctx.outDir, 'alerts'), { recursive: true });
        await writeFile(join(ctx.outDir, 'alerts', 'storm.json'), JSON.stringify({ draw: ctx.rng.uniform(), faults: ctx.groundTruth.faults.length }));
        return ['alerts/storm.json'];
      },
    };
    const out = join(dir, 'with-writer');
    const summary = await runScenario(scenario, out, { extraWriters: [writer] });
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.scenario.alerts, scenario.alerts, 'the same object, untouched');
    assert.equal(seen[0]!.metrics.series.length, summary.series);
    assert.ok(summary.files.includes('alerts/storm.json'), 'writer files in the summary');
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as { outputs: string[]; writers: string[] };
    assert.ok(manifest.outputs.includes('alerts') && manifest.writers.includes('alert-storm'), 'manifest lists the writer');

    // Running again into the same folder replaces the previous run (without the writer now).
    await runScenario(scenario, out);
    const after2 = await tree(out);
    assert.ok(!after2.has('alerts/storm.json'), 'previous outputs removed');
    // A folder with foreign files is refused.
    const foreign = join(dir, 'foreign');
    await mkdir(foreign);
    await writeFile(join(foreign, 'notes.txt'), 'mine');
    await assert.rejects(runScenario(scenario, foreign), (e: unknown) => e instanceof ScenarioError && e.code === 'OUT_DIR_NOT_EMPTY');
    assert.equal(await readFile(join(foreign, 'notes.txt'), 'utf8'), 'mine');
  });
});

describe('simulate CLI', () => {
  function io(): { out: string[]; err: string[]; io: { stdout: { write(s: string): void }; stderr: { write(s: string): void } } } {
    const out: string[] = [];
    const err: string[] = [];
    return { out, err, io: { stdout: { write: (s: string) => void out.push(s) }, stderr: { write: (s: string) => void err.push(s) } } };
  }

  it('runs a scenario with progress on stderr and a summary on stdout', async () => {
    const file = join(dir, 'small.yaml');
    await writeFile(file, SMALL);
    const t = io();
    const code = await runSimulateCli(['run', file, '--out', join(dir, 'cli-out')], t.io);
    assert.equal(code, 0, t.err.join(''));
    assert.match(t.err.join(''), /\[simulate\] simulating 360 steps/);
    assert.match(t.out.join(''), /fault f1: network_delay at currency/);
    const q = io();
    assert.equal(await runSimulateCli(['run', file, '--out', join(dir, 'cli-out'), '--quiet', '--seed', '9'], q.io), 0);
    assert.equal(q.err.join(''), '');
    assert.match(q.out.join(''), /seed 9/);
  });

  it('validates, lists, prints topologies and reports errors with exit codes', async () => {
    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, SMALL.replace('onset: 20m', 'onset: 95s'));
    const v = io();
    assert.equal(await runSimulateCli(['validate', bad], v.io), 1);
    assert.match(v.err.join(''), /simulate: error \[BAD_SCENARIO\] [\s\S]*faults\[0\]\.onset must be a multiple of step 10s/);
    const l = io();
    assert.equal(await runSimulateCli(['list'], l.io), 0);
    assert.equal(l.out.join('').trim().split('\n').length, (await listShippedScenarios()).length);
    const t = io();
    assert.equal(await runSimulateCli(['topology', '--preset', 'sock-shop', '--hosts', '2'], t.io), 0);
    validateTopologyDocument(JSON.parse(t.out.join('')));
    const h = io();
    assert.equal(await runSimulateCli(['--help'], h.io), 0);
    assert.match(h.out.join(''), /run \[options\] <scenario>/);
    assert.equal(await runSimulateCli(['run', 'x.yaml'], io().io), 2, 'missing --out');
    assert.equal(await runSimulateCli(['frobnicate'], io().io), 2);
    const missing = io();
    assert.equal(await runSimulateCli(['run', join(dir, 'nope.yaml'), '--out', join(dir, 'n')], missing.io), 1);
    assert.match(missing.err.join(''), /\[NOT_FOUND\] cannot read scenario file/);
  });

  it('takes extra subcommands', async () => {
    const t = io();
    const hello = new Command('hello').action(() => void t.out.push('hi\n'));
    assert.equal(await runSimulateCli(['hello'], t.io, { commands: [hello] }), 0);
    assert.deepEqual(t.out, ['hi\n']);
  });
});
