// The training job: reproducible (same files, same model bytes), trained on each file's head
// only (changing the rest changes nothing), registered as a shadow version with its metadata;
// the CLI has --help and refuses bad input with what to fix.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { train } from './index.js';

const repoRoot = new URL('../../', import.meta.url).pathname;

function csv(values: number[]): string {
  return ['timestamp,value', ...values.map((v, i) => `${new Date(Date.UTC(2026, 0, 1) + i * 300_000).toISOString().slice(0, 19).replace('T', ' ')},${v}`)].join('\n') + '\n';
}

describe('training jobs', () => {
  let dir: string;
  const series = (tail: number) =>
    Array.from({ length: 4000 }, (_, i) => (i < 1000 ? 40 + 5 * Math.sin((2 * Math.PI * i) / 96) + ((i * 7919) % 101) / 50 : tail + (i % 17)));
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-train-'));
    for (const [name, tail] of [
      ['a', 10],
      ['b', 90],
    ] as const) {
      await mkdir(join(dir, name, 'cat'), { recursive: true });
      await writeFile(join(dir, name, 'cat', 's1.csv'), csv(series(tail)));
      await writeFile(join(dir, name, 'cat', 's2.csv'), csv(series(tail).map((v) => v * 3)));
    }
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const tier of ['agile', 'robust'] as const) {
    it(`${tier}: the same head of the same files gives the same model; the rest of each file is never read`, async () => {
      const opts = { tier, head: 0.25, seed: 1, maxPeriod: 400, actor: 'test' };
      const one = await train({ ...opts, data: [join(dir, 'a')], out: join(dir, `reg-${tier}-1`) });
      const two = await train({ ...opts, data: [join(dir, 'b')], out: join(dir, `reg-${tier}-2`) });
      assert.equal(one.version.sha256, two.version.sha256, 'files that differ only after their head train the same model');
      assert.equal(one.version.metadata.training.dataDigest, two.version.metadata.training.dataDigest);
      assert.equal(one.version.stage, 'shadow');
      assert.equal(one.version.version, 1);
      assert.equal(one.files, 2);
      assert.deepEqual(one.version.metadata.training.sources, ['cat/s1.csv', 'cat/s2.csv']);
      assert.ok(one.version.metadata.inputs.length >= 2 && one.version.metadata.outputs.some((o) => o.name === 'score'));
      const again = await train({ ...opts, data: [join(dir, 'a')], out: join(dir, `reg-${tier}-1`) });
      assert.equal(again.version.version, 2, 'a second run registers the next version');
      assert.equal(again.version.sha256, one.version.sha256);
      const other = await train({ ...opts, head: 0.2, data: [join(dir, 'a')], out: join(dir, `reg-${tier}-1`) });
      assert.notEqual(other.version.metadata.training.dataDigest, one.version.metadata.training.dataDigest, 'another head is other data');
    });
  }

  it('multivariate: trains one model per service on a simulator run, up to its first fault only, reproducibly', async () => {
    const { loadScenarioFile, runScenario, shippedScenariosDir } = await import('../scenario/index.js');
    const { readFile } = await import('node:fs/promises');
    const run = join(dir, 'sim', 'ob-cpu-hog');
    await runScenario(await loadScenarioFile(join(shippedScenariosDir(), 'ob-cpu-hog.yaml')), run);
    const truth = JSON.parse(await readFile(join(run, 'ground-truth.json'), 'utf8')) as { faults: Array<{ onsetMs: number }> };
    const opts = { tier: 'multivariate' as const, head: 1, seed: 1, maxPeriod: 400, actor: 'test', data: [join(dir, 'sim')] };
    const one = await train({ ...opts, out: join(dir, 'reg-mv-1') });
    const two = await train({ ...opts, out: join(dir, 'reg-mv-2') });
    assert.equal(one.version.sha256, two.version.sha256, 'same runs, same model bytes');
    assert.equal(one.version.tier, 'multivariate');
    const bundle = one.version.metadata.params as unknown as { services: Array<{ service: string; params: { metrics: string[] } }> };
    assert.ok(bundle.services.some((s) => s.service === 'productcatalog'), 'productcatalog has a model');
    assert.equal(one.files, bundle.services.length);
    for (const s of bundle.services) assert.ok(s.params.metrics.every((m) => m.startsWith('sim_service_')), `${s.service}: live series names`);
    // Rows up to 30 steps before the fault's onset (1h30m into a run of 10 s steps).
    const end = Math.floor((truth.faults[0]!.onsetMs - Date.parse('2024-03-04T08:00:00Z')) / 10_000) - 30;
    assert.deepEqual(one.version.metadata.training.sources, [`ob-cpu-hog/metrics.csv (rows 0..${end})`]);
    assert.equal(one.rows, end * bundle.services.length);
    const half = await train({ ...opts, head: 0.25, out: join(dir, 'reg-mv-1') });
    assert.deepEqual(half.version.metadata.training.sources, [`ob-cpu-hog/metrics.csv (rows 0..${Math.floor(0.25 * 1080)})`], '--head cuts earlier than the fault');
    await assert.rejects(train({ ...opts, data: [join(dir, 'a')], out: join(dir, 'reg-mv-3') }), /no simulator run \(a folder with metrics.csv\) under/);
  });

  it('the CLI: --help, a bad tier, a bad fraction, a folder without CSV files', () => {
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'simulators/train/cli.ts', ...args], { cwd: repoRoot, encoding: 'utf8' });
    const help = run('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /agile \(Tier-2\), robust \(Tier-3\) or multivariate \(Tier-3\)/);
    assert.match(help.stdout, /--head <fraction>/);
    const bad = run('zzz', '--data', dir, '--out', join(dir, 'x'));
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /<tier> must be agile, robust or multivariate \(got "zzz"\)/);
    const frac = run('agile', '--data', dir, '--out', join(dir, 'x'), '--head', '2');
    assert.notEqual(frac.status, 0);
    assert.match(frac.stderr, /must be a fraction in \(0, 1\]/);
    const empty = run('agile', '--data', join(dir, 'a', 'none'), '--out', join(dir, 'x'));
    assert.equal(empty.status, 1);
    assert.match(empty.stderr, /\[NO_INPUT\] cannot read data folder/);
    assert.doesNotMatch(empty.stderr, /at .*\.ts:\d+/, 'no stack trace');
  });
});
