import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { rcaConfig } from './config.js';
import { dependencyClosure, parseChanges, parseRcaevalCsv, petshopCase, readPetshopScenario, topologyFromJson } from './datasets.js';
import { RcaError } from './frame.js';
import { rankPetshopIssue } from './methods.js';

const MINI = fileURLToPath(new URL('./testdata/petshop-mini', import.meta.url));
const PETSHOP = fileURLToPath(new URL('../../../../shared/data/rca/petshop/dataset', import.meta.url));

const bad = (code: string, message: RegExp) => (err: unknown) => err instanceof RcaError && err.code === code && message.test(err.message);

describe('RCAEval case files', () => {
  it('reads time in unix seconds and <service>_<metric> columns; empty cells and "nan" are gaps', () => {
    const f = parseRcaevalCsv('time,carts_cpu,orders_latency-90,carts-db_mem\n1700000000,0.5,0.1,\n1700000010,0.6,nan,3\n', 'case.csv');
    assert.deepEqual(Array.from(f.timesMs), [1_700_000_000_000, 1_700_000_010_000]);
    assert.deepEqual(f.series.map((s) => `${s.entity}|${s.metric}`), ['carts|cpu', 'orders|latency-90', 'carts-db|mem']);
    assert.ok(Number.isNaN(f.series[1]!.values[1]!));
    assert.ok(Number.isNaN(f.series[2]!.values[0]!));
  });

  it('splits by the longest known service name when names contain "_"', () => {
    const f = parseRcaevalCsv('time,ts_auth_cpu,ts_cpu\n1,1,2\n2,1,2\n', 'c.csv', new Set(['ts_auth', 'ts']));
    assert.deepEqual(f.series.map((s) => `${s.entity}|${s.metric}`), ['ts_auth|cpu', 'ts|cpu']);
  });

  it('refuses malformed, truncated and hostile files with the file, line and column', () => {
    assert.throws(() => parseRcaevalCsv('', 'e.csv'), bad('BAD_CSV', /e\.csv: empty/));
    assert.throws(() => parseRcaevalCsv('when,a_cpu\n1,2\n', 'h.csv'), bad('BAD_CSV', /h\.csv line 1: no "time" column/));
    assert.throws(() => parseRcaevalCsv('time,a_cpu\n1,x\n', 'n.csv'), bad('BAD_CSV', /n\.csv line 2 column a_cpu: not a number \("x"\)/));
    assert.throws(() => parseRcaevalCsv('time,a_cpu\n1,2\n1,3\n', 'o.csv'), bad('BAD_CSV', /o\.csv line 3: time 1 is not after the previous row's/));
    assert.throws(() => parseRcaevalCsv('time,a_cpu,b_cpu\n1,2,3\n2,3\n', 't.csv'), bad('BAD_CSV', /t\.csv.*line 3/), 'a truncated row');
    assert.throws(() => parseRcaevalCsv('time,a_cpu,a_cpu\n1,2,3\n', 'd.csv'), bad('BAD_CSV', /column "a_cpu" appears twice/));
    assert.throws(() => parseRcaevalCsv('time,a_cpu\n1,"2\n', 'q.csv'), bad('BAD_CSV', /q\.csv/), 'an unterminated quote');
    assert.throws(() => parseRcaevalCsv('time,a_cpu\n,2\n', 'z.csv'), bad('BAD_CSV', /z\.csv line 2: the time is empty/));
    assert.throws(() => parseRcaevalCsv('time,a_cpu\n1,1e999\n', 'i.csv'), bad('BAD_CSV', /not a number/), 'an infinite value');
    const wide = `time,${Array.from({ length: 100_001 }, (_, i) => `s${i}_cpu`).join(',')}\n`;
    assert.throws(() => parseRcaevalCsv(wide, 'w.csv'), bad('TOO_LARGE', /100002 columns, more than the limit/));
  });

  it('topologies: node-link and the project document; a bad one names the field', () => {
    const t = topologyFromJson({ nodes: [{ id: 'a' }, { id: 'b' }, { id: 'n1', type: 'host' }], edges: [{ source: 'a', target: 'b' }, { source: 'b', target: 'n1' }] }, 'g.json');
    assert.deepEqual(t.topology.dependsOn.get('a'), ['b']);
    assert.ok(t.topology.hosts.has('n1'));
    assert.throws(() => topologyFromJson({ nodes: [{ id: 'a' }], edges: [{ source: 'a', target: 'zz' }] }, 'g.json'), bad('BAD_TOPOLOGY', /g\.json: edges\[0\] refers to an unknown node "zz"/));
  });

  it('change logs: the simulator form and {time, service}; bad entries name the index and field', () => {
    assert.deepEqual(parseChanges([{ atMs: 5, entity: 'a', kind: 'deploy' }, { time: 2, service: 'b' }], 'c.json'), [
      { atMs: 5, entity: 'a', kind: 'deploy' },
      { atMs: 2000, entity: 'b', kind: 'change' },
    ]);
    assert.throws(() => parseChanges({}, 'c.json'), bad('BAD_INPUT', /must be a JSON array/));
    assert.throws(() => parseChanges([{ entity: 'a' }], 'c.json'), bad('BAD_INPUT', /c\.json\[0\]\.atMs/));
    assert.throws(() => parseChanges([{ atMs: 1, entity: '' }], 'c.json'), bad('BAD_INPUT', /c\.json\[0\]\.entity/));
  });
});

describe('PetShop layout', () => {
  it('reads the graph, the normal run and the issues of a scenario folder', () => {
    const s = readPetshopScenario(MINI);
    assert.deepEqual(s.topology.dependsOn.get('site'), ['search']);
    assert.deepEqual([...(s.topology.observed ?? [])], [], 'no X-Ray remote node here');
    assert.deepEqual([...dependencyClosure(s.topology, 'site')].sort(), ['db', 'search', 'site']);
    assert.equal(s.issues.length, 1);
    const issue = s.issues[0]!;
    assert.equal(issue.rootCause, 'db');
    assert.equal(issue.targetStatistic, 'Average');
    const c = petshopCase(s, issue);
    assert.equal(c.historyRows, 60);
    assert.equal(c.frame.timesMs.length, 65);
    assert.equal(c.detectedAtMs, 1_690_000_610_000);
    // The normal run comes right before the issue window, at the dataset's step.
    assert.equal(c.frame.timesMs[60]! - c.frame.timesMs[59]!, 300_000);
    assert.equal(rankPetshopIssue('ours', s, issue, rcaConfig()).rank, 1);
  });

  it('a folder that is not a scenario says so', () => {
    assert.throws(() => readPetshopScenario(join(MINI, 'train')), bad('BAD_INPUT', /graph\.csv/));
  });

  it('the public dataset (../shared/data): every scenario reads and ranks', { skip: existsSync(PETSHOP) ? false : `SKIPPED: PetShop data not found at ${PETSHOP} (present in CI)` }, () => {
    for (const name of ['low_traffic', 'high_traffic', 'temporal_traffic1', 'temporal_traffic2']) {
      const s = readPetshopScenario(join(PETSHOP, name));
      assert.ok(s.issues.length >= 8, `${name}: ${s.issues.length} issues`);
      // X-Ray's remote nodes are seen only through their callers.
      assert.ok(s.topology.observed?.has('servi-searc.us-west-2.elb.amazonaws.com_remote'));
      assert.ok(!s.topology.observed?.has('PetSearch_AWS::ECS::Fargate'));
      let top1 = 0;
      let top3 = 0;
      for (const issue of s.issues) {
        const { rank } = rankPetshopIssue('ours', s, issue, rcaConfig());
        if (rank === 1) top1++;
        if (rank >= 1 && rank <= 3) top3++;
      }
      // The published baseline: top-1 0.571-1.0, top-3 0.571-1.0 per group; ours measured 0.885-1.0
      // and 0.923-1.0 per scenario (bench/RESULTS.md). A regression below the baseline's best fails.
      assert.ok(top1 / s.issues.length >= 0.85, `${name}: top-1 ${top1}/${s.issues.length}`);
      assert.ok(top3 / s.issues.length >= 0.9, `${name}: top-3 ${top3}/${s.issues.length}`);
    }
  });
});
