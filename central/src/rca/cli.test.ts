import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadScenarioFile, runScenario, shippedScenariosDir } from '../../../simulators/scenario/index.js';
import { rcaCli } from './cli.js';

const MINI = fileURLToPath(new URL('./testdata/petshop-mini', import.meta.url));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await rcaCli(args, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
}

describe('npm run rca', () => {
  let dir: string;
  let caseDir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'aiops-rca-cli-'));
    // The simulator's CPU hog on productcatalog, exported in RCAEval's layout.
    await runScenario(await loadScenarioFile(join(shippedScenariosDir(), 'ob-cpu-hog.yaml')), join(dir, 'ob'));
    const index = JSON.parse(readFileSync(join(dir, 'ob', 'rcaeval', 'index.json'), 'utf8')) as Array<{ case: string }>;
    caseDir = join(dir, 'ob', 'rcaeval', index[0]!.case);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ranks an RCAEval case (detection time from inject_time.txt) and prints JSON ranks, best first', async () => {
    const r = await run(['--case', join(caseDir, 'data.csv'), '--topology', join(dir, 'ob', 'topology.json'), '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { method: string; detectedAt: string; ranks: Array<{ service: string; metric: string; score: number; probability: number; onsetAt: string | null; evidence: string[] }>; metrics: Array<{ service: string; metric: string; score: number }> };
    assert.equal(j.method, 'ours');
    assert.equal(j.ranks[0]!.service, 'productcatalog');
    assert.ok(j.ranks[0]!.evidence.length > 0);
    assert.ok(j.ranks[0]!.onsetAt !== null);
    assert.ok(j.ranks.every((x, i) => i === 0 || x.probability <= j.ranks[i - 1]!.probability), 'best first');
    assert.equal(j.metrics[0]!.service, 'productcatalog');
    assert.equal(j.detectedAt, new Date(Number(readFileSync(join(caseDir, 'inject_time.txt'), 'utf8')) * 1000).toISOString());
  });

  it('runs the baselines behind the same command, with an explicit detection time', async () => {
    const at = readFileSync(join(caseDir, 'inject_time.txt'), 'utf8').trim();
    for (const method of ['baro', 'nsigma']) {
      const r = await run(['--case', join(caseDir, 'data.csv'), '--detected-at', at, '--method', method, '--json']);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { method: string; ranks: Array<{ service: string }> };
      assert.equal(j.method, method);
      assert.ok(j.ranks.length > 5);
    }
    const text = await run(['--case', join(caseDir, 'data.csv'), '--top', '2']);
    assert.equal(text.code, 0);
    assert.match(text.out, /^\s+1\. \S+ +\S+ +score/m);
    assert.match(text.err, /ranked \d+ services from \d+ series/);
  });

  it('runs a PetShop scenario folder and scores it against its root causes', async () => {
    const r = await run(['--petshop', MINI, '--json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { top1: number; issues: Array<{ rank: number; rootCause: string; ranks: Array<{ service: string }> }> };
    assert.equal(j.issues[0]!.rootCause, 'db');
    assert.equal(j.issues[0]!.rank, 1);
    assert.equal(j.top1, 1);
  });

  it('bad input exits 1 with the file and line; a bad command line exits 2; --help exits 0', async () => {
    const f = join(dir, 'bad.csv');
    writeFileSync(f, 'time,a_cpu\n1,2\n2,oops\n');
    const bad = await run(['--case', f, '--detected-at', '1']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /rca: .*bad\.csv line 3 column a_cpu: not a number/);
    assert.equal((await run(['--case', join(dir, 'missing.csv'), '--detected-at', '1'])).code, 1);
    const both = await run(['--case', f, '--petshop', MINI]);
    assert.equal(both.code, 2);
    assert.match(both.err, /exactly one of --case/);
    assert.equal((await run(['--case', f])).code, 2, 'no detection time and no inject_time.txt');
    assert.equal((await run(['--case', f, '--detected-at', 'soon'])).code, 2);
    assert.equal((await run(['--case', f, '--detected-at', '1', '--method', 'pagerank'])).code, 2);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.out, /--method <name>/);
  });
});
