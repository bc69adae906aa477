// Issue #8 acceptance: `npm run correlate` scores as the online path would. One labelled alert
// stream from the simulators (random-mixed, noise level 1, the storm repeated to ~2,000
// alerts) goes both ways: through the offline CLI, and through a running central's REST API
// (PUT the topology, POST the alerts as their events happen). Every alert must land in the
// same incident (ids included), so the correlation scores are equal too.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { correlateInputLines, scenarioAlertStream } from '../../../simulators/alerts/index.js';
import { loadScenarioFile, shippedScenariosDir } from '../../../simulators/scenario/index.js';
import { scoreCorrelation } from '../../../simulators/scoring/index.js';
import { startTestCentral } from '../service/testing/index.js';
import type { TestCentral } from '../service/testing/index.js';
import { correlateCli, parseAlertLine } from './index.js';
import type { ReplayAlert } from './index.js';
import { declareTopology, feedCentral, storedAssignments } from './testing/online.js';

const DAY = 86_400_000;

describe('offline replay and the online path agree (issue #8)', () => {
  let dir: string;
  let tc: TestCentral | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'aiops-correlate-'));
  });
  after(async () => {
    await tc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts every alert of the same stream in the same incident both ways', { timeout: 600_000 }, async (t) => {
    const scenario = await loadScenarioFile(join(shippedScenariosDir(), 'random-mixed.yaml'));
    const stream = scenarioAlertStream(scenario, { noise: { level: 1 } }, 7);
    // In the future: central's clock-driven resolution then never runs ahead of the stream's
    // event time (as with live alerts, which arrive as they happen).
    const shift = Date.now() + DAY - stream.alerts[0]!.startsAtMs;
    const storm = stream.alerts.map((a) => ({ ...a, startsAtMs: a.startsAtMs + shift, endsAtMs: a.endsAtMs === null ? null : a.endsAtMs + shift }));
    const lines = correlateInputLines(storm);
    assert.ok(lines.length >= 1500, `stream of ${lines.length} alerts`);
    const alertsFile = join(dir, 'alerts.jsonl');
    const topoFile = join(dir, 'topology.json');
    const outFile = join(dir, 'assignments.jsonl');
    await writeFile(alertsFile, `${lines.join('\n')}\n`);
    await writeFile(topoFile, JSON.stringify(stream.topology));

    // Offline.
    const err: string[] = [];
    const code = await correlateCli(['--alerts', alertsFile, '--topology', topoFile, '--out', outFile], { stdout: { write: () => true }, stderr: { write: (s: string) => err.push(s) } });
    assert.equal(code, 0, err.join(''));
    const offline = (await readFile(outFile, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { incident: string | null }).incident);
    assert.equal(offline.length, lines.length);

    // Online: a running central, its REST API.
    tc = await startTestCentral({ api: { rate_per_second: 10_000, burst: 10_000 } }, 'aiops-correlate-central-');
    const { central, api } = tc;
    const token = (await tc.key('feed', ['write', 'read', 'admin'])).token;
    await declareTopology(api, token, stream.topology);
    const parsed: ReplayAlert[] = lines.map((l, i) => parseAlertLine(l, i + 1)!);
    const fed = await feedCentral(api, token, parsed);
    const online = await storedAssignments(central.stores.incidents, 'default', parsed);

    let differ = 0;
    for (let i = 0; i < online.length; i++) if (online[i] !== offline[i]) differ++;
    assert.equal(differ, 0, `${differ} of ${online.length} alerts in different incidents (first at line ${online.findIndex((x, i) => x !== offline[i]) + 1})`);
    const truth = storm.map((a) => a.faultId);
    const score = (assigned: Array<string | null>) => scoreCorrelation(assigned.map((incident, i) => ({ incident, truth: truth[i]! })));
    const off = score(offline);
    const on = score(online);
    for (const k of ['incidents', 'compressionRatio', 'purity', 'inversePurity', 'ari', 'nmi'] as const) assert.equal(on[k], off[k], k);
    assert.ok(off.purity >= 0.9 && off.ari > 0.5, `a stream the engine handles well (purity ${off.purity}, ARI ${off.ari})`);
    t.diagnostic(`${lines.length} alerts (${fed.requests} requests): ${off.incidents} incidents, compression ${off.compressionRatio.toFixed(1)}x, purity ${off.purity.toFixed(3)}, ARI ${off.ari.toFixed(3)} - identical online and offline`);
  });
});
