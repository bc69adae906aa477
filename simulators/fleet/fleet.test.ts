// The live fleet: time mapping and host split as pure functions, option errors, and the whole
// fleet (real AgentServices, real MQTT exporters) against an in-process aedes broker with
// per-agent credentials, driven by a ManualClock through the backfill and past the fault.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestBroker } from '../../edge-agent/src/exporters/mqtt/testdata/aedes-broker.js';
import { ManualClock } from '../../edge-agent/src/testing/index.js';
import { FeatureFlags } from '../../shared-schemas/src/index.js';
import { DEFAULT_TIER1_CONFIG } from '../../wasm-detectors/src/index.js';
import { injectFaults } from '../faults/index.js';
import type { GroundTruthFault } from '../model/index.js';
import { loadScenarioFile, prepareScenario, shippedScenariosDir } from '../scenario/index.js';
import { validateTopologyDocument } from '../../shared-schemas/src/index.js';
import type { TopologyDocument } from '../../shared-schemas/src/index.js';
import { FleetError, HOST_METRIC_NAMES, LiveFleet, SERVICE_METRIC_NAMES, planAgents, planTimeline, resolveFleetOptions } from './index.js';
import type { FleetStatus, LiveFleetOptions } from './index.js';
import { FleetFrameRecorder } from './testdata/frames.js';

const QUICKSTART = join(shippedScenariosDir(), 'quickstart.yaml');
const MIN = 60_000;
/** Tier-1 evidence in a window: an anomaly flag, the value outside the Tier-1 band, or a level shift. */
const TIER1_FLAGS = FeatureFlags.ANOMALY | FeatureFlags.BAND_BREACH | FeatureFlags.LEVEL_SHIFT;

function isFleetError(code: string, option: string | undefined, message: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof FleetError, `a FleetError (got ${String(e)})`);
    assert.equal(e.code, code);
    assert.equal(e.option, option);
    assert.match(e.message, message);
    return true;
  };
}

async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * Moves the clock `ms` forward one second at a time (the window aggregator's tick), letting I/O
 * run between steps, and every 10 clock seconds waits (real time, a readiness wait) until every
 * frame created so far is acknowledged, so the clock never outruns the exporters' ack_timeout.
 */
async function drive(fleet: LiveFleet, clock: ManualClock, ms: number): Promise<void> {
  for (let t = 1000; t <= ms; t += 1000) {
    clock.advance(1000);
    await new Promise((r) => setImmediate(r));
    if (t % 10_000 === 0) {
      await until(async () => {
        const s = (await fleet.status())!;
        return s.framesAcked === s.framesCreated;
      }, 'frames acknowledged');
    }
  }
}

const fakeFault = (startMs: number, onsetMin: number, endMin: number): GroundTruthFault => ({
  id: 'f1',
  type: 'cpu_hog',
  rootEntity: 'productcatalog',
  rootNodeId: 'service:productcatalog',
  rootMetric: 'cpu',
  onsetMs: startMs + onsetMin * MIN,
  endMs: startMs + endMin * MIN,
  severity: 1,
  affected: [],
});

describe('fleet time mapping (planTimeline)', () => {
  const S = Date.UTC(2024, 2, 4, 9);
  const grid = { startMs: S, stepMs: 2000, length: 1500 };
  const now = Date.UTC(2026, 0, 1, 12, 0, 1, 500);

  it('puts the fault onset faultAfter after the live start, with backfill of history before it', () => {
    const t = planTimeline(grid, fakeFault(S, 25, 45), now, 20 * MIN, 3 * MIN);
    assert.equal(t.liveStartMs, Date.UTC(2026, 0, 1, 12, 0, 0), 'live start = now floored to the step');
    assert.equal(t.fault!.onsetMs - t.liveStartMs, 3 * MIN);
    assert.equal(t.fault!.endMs - t.fault!.onsetMs, 20 * MIN);
    assert.equal(t.liveStartMs - t.backfillStartMs, 20 * MIN);
    assert.equal(t.fault!.onsetStep, 750);
    assert.equal(t.liveStep, 750 - 90, 'the live start is 3 minutes (90 steps) before the onset');
    assert.equal(t.firstStep, 660 - 600, '20 minutes (600 steps) of backfill');
    assert.equal(t.endStep, 1500);
    assert.equal(S + t.firstStep * 2000 + t.shiftMs, t.backfillStartMs);
    assert.equal(t.endMs, S + 1499 * 2000 + t.shiftMs);
  });

  it('rounds fault-after up and the backfill down to the step', () => {
    const t = planTimeline(grid, fakeFault(S, 25, 45), now, 20 * MIN + 1999, 3 * MIN + 1);
    assert.equal(t.fault!.onsetMs - t.liveStartMs, 3 * MIN + 2000);
    assert.equal(t.liveStartMs - t.backfillStartMs, 20 * MIN);
  });

  it('without a fault, the backfill starts at the scenario start', () => {
    const t = planTimeline(grid, undefined, now, 20 * MIN, 3 * MIN);
    assert.equal(t.firstStep, 0);
    assert.equal(t.liveStep, 600);
    assert.equal(t.fault, undefined);
  });

  it('refuses history the scenario does not have, and a run with nothing live, naming --backfill', () => {
    assert.throws(
      () => planTimeline(grid, fakeFault(S, 25, 45), now, 23 * MIN, 3 * MIN, 'quickstart'),
      isFleetError('BAD_OPTION', '--backfill', /^--backfill 23m \+ --fault-after 3m = 26m must not exceed the onset of fault f1 in quickstart \(25m after its start\)/),
    );
    assert.throws(() => planTimeline({ ...grid, length: 600 }, undefined, now, 20 * MIN, 0, 'short'), isFleetError('BAD_OPTION', '--backfill', /--backfill 20m leaves nothing of short \(20m\) to run live/));
  });
});

describe('fleet hosts (planAgents)', () => {
  it('runs one agent per Host node with its own series and those of the workloads RUNS_ON it', async () => {
    const scenario = await loadScenarioFile(QUICKSTART);
    const { topology, model } = prepareScenario(scenario);
    const run = injectFaults(model, scenario.faults);
    const { agents, unplaced } = planAgents(run.metrics, model.graph);
    const hosts = topology.nodes.filter((n) => n.kind === 'Host');
    assert.deepEqual(agents.map((a) => a.agentId), hosts.map((h) => `sim-${h.name}`));
    assert.deepEqual(unplaced, []);
    const runsOn = new Map(topology.edges.filter((e) => e.kind === 'RUNS_ON').map((e) => [topology.nodes.find((n) => n.id === e.from)!.name, topology.nodes.find((n) => n.id === e.to)!.name]));
    for (const a of agents) {
      for (const svc of a.services) assert.equal(runsOn.get(svc), a.host, `${svc} RUNS_ON ${a.host}`);
      for (const s of a.series) {
        if (s.labels.service !== undefined) {
          assert.deepEqual(s.labels, { service: s.entity, host: a.host });
          assert.equal(s.name, SERVICE_METRIC_NAMES[s.metric as keyof typeof SERVICE_METRIC_NAMES]);
        } else {
          assert.deepEqual(s.labels, { host: a.host });
          assert.equal(s.entity, a.host);
          assert.equal(s.name, HOST_METRIC_NAMES[s.metric as keyof typeof HOST_METRIC_NAMES]);
        }
        assert.match(s.name, /^sim_(service|host)_[a-z0-9_]+$/);
      }
    }
    // Every simulated series is sent by exactly one agent.
    assert.equal(agents.reduce((n, a) => n + a.series.length, 0), run.metrics.series.length);
    assert.equal(new Set(agents.flatMap((a) => a.series.map((s) => `${s.entity}:${s.metric}`))).size, run.metrics.series.length);
  });
});

describe('fleet options', () => {
  const ok: LiveFleetOptions = { scenario: QUICKSTART, target: 'mqtt://127.0.0.1:1883' };
  it('applies defaults', () => {
    const o = resolveFleetOptions(ok);
    assert.equal(o.backfillMs, 20 * MIN);
    assert.equal(o.faultAfterMs, 3 * MIN);
    assert.equal(o.tenant, 'default');
    assert.equal(o.agentIdPrefix, 'sim-');
    assert.equal(resolveFleetOptions({ ...ok, target: 'mqtt://central' }).target, 'mqtt://central:1883');
  });

  it('refuses bad options with a message naming the option', () => {
    const cases: Array<[Partial<LiveFleetOptions>, string, RegExp]> = [
      [{ target: 'http://127.0.0.1:1883' }, '--target', /^--target must be mqtt:\/\/host:port or mqtts:\/\/host:port \(got "http:\/\/127\.0\.0\.1:1883"\)/],
      [{ target: 'mqtt://agent:secret@127.0.0.1:1883' }, '--target', /^--target must not contain credentials.*\(got "mqtt:\/\/\*\*\*@127\.0\.0\.1:1883"\)/],
      [{ target: 'mqtt://127.0.0.1:99999' }, '--target', /port outside 1\.\.65535/],
      [{ backfillMs: 2 * 3_600_000 }, '--backfill', /^--backfill must be a duration from 0s to 55m: .*normalize max_age \(1h\) \(got 7200000 ms\)/],
      [{ backfillMs: -1 }, '--backfill', /^--backfill must be/],
      [{ faultAfterMs: Number.NaN }, '--fault-after', /^--fault-after must be a duration from 0s to 24h \(got null\)/],
      [{ statusIntervalMs: 10 }, '--status-interval', /at least 100ms/],
      [{ tenant: 'a/b' }, '--tenant', /^--tenant must be 1-128 characters/],
      [{ agentIdPrefix: '-x' }, '--agent-prefix', /^--agent-prefix must be empty or/],
      [{ seed: 1.5 }, '--seed', /^--seed must be an integer/],
      [{ scenario: '' }, '--scenario', /^--scenario must name a scenario YAML file/],
      [{ caFile: '/ca.pem' }, '--ca-file', /needs an mqtts:\/\/ --target/],
    ];
    for (const [over, option, message] of cases) {
      assert.throws(() => resolveFleetOptions({ ...ok, ...over }), isFleetError('BAD_OPTION', option, message), JSON.stringify(over));
    }
  });

  it('refuses a scenario that cannot hold backfill + fault-after before its fault, before starting anything', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aiops-fleet-test-'));
    try {
      const fleet = new LiveFleet({ ...ok, backfillMs: 23 * MIN, dataDir }, { clock: new ManualClock() });
      await assert.rejects(fleet.start(), isFleetError('BAD_OPTION', '--backfill', /--backfill 23m \+ --fault-after 3m = 26m must not exceed the onset of fault cpu-hog-productcatalog in quickstart \(25m after its start\)/));
      assert.equal(existsSync(join(dataDir, 'fleet.lock')), false);
      await assert.rejects(new LiveFleet({ ...ok, scenario: join(dataDir, 'missing.yaml'), dataDir }).start(), isFleetError('SCENARIO', '--scenario', /cannot read scenario file/));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('the quickstart scenario', () => {
  it('has one fault, long enough, late enough for the default backfill and fault-after, and warms Tier-1 within the backfill', async () => {
    const s = await loadScenarioFile(QUICKSTART);
    assert.equal(s.faults.length, 1);
    const f = s.faults[0]!;
    assert.ok(f.durationMs >= 10 * MIN, 'the fault lasts at least 10 minutes');
    assert.ok(f.onsetMs >= 23 * MIN, 'onset >= default backfill (20m) + fault-after (3m)');
    assert.ok(Math.floor((20 * MIN) / s.stepMs) + 1 >= 2 * DEFAULT_TIER1_CONFIG.warmup, 'the default backfill holds twice the Tier-1 warm-up');
    assert.ok(s.durationMs - f.onsetMs - f.durationMs >= 5 * MIN, 'some recovery after the fault');
    assert.deepEqual(s.benign, { deploysPerDay: 0, levelShiftsPerDay: 0 });
  });
});

describe('live fleet against an aedes broker (ManualClock)', () => {
  const secrets: Record<string, string> = { 'sim-node-1': 'secret-one', 'sim-node-2': 'secret-two', 'sim-node-3': 'secret-three', 'sim-node-4': 'secret-four' };
  let broker: TestBroker;
  let port: number;
  let rec: FleetFrameRecorder;
  const dirs: string[] = [];
  const dataDir = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'aiops-fleet-test-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    broker = new TestBroker({ users: secrets, tenant: 'default' });
    port = await broker.start();
    rec = new FleetFrameRecorder();
    await rec.attach(broker.broker);
  });
  after(async () => {
    await broker.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('backfills, goes live, and the fault root carries Tier-1 flags after the onset, not before', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 12, 0, 0, 700));
    const events: FleetStatus[] = [];
    const asked: string[] = [];
    const dir = dataDir();
    const fleet = new LiveFleet(
      { scenario: QUICKSTART, target: `mqtt://127.0.0.1:${port}`, dataDir: dir, statusIntervalMs: 0 },
      {
        clock,
        credentials: async (agentId) => {
          asked.push(agentId);
          return { username: agentId, password: secrets[agentId]! };
        },
        onStatus: (s) => events.push(s),
      },
    );
    assert.equal(fleet.topology, undefined, 'the topology is known once started');
    const t = await fleet.start();
    assert.deepEqual(asked.sort(), Object.keys(secrets));
    // What an operator declares to central: the scenario's topology, valid for PUT /api/v1/config/topology.
    const topo = (fleet as { topology: TopologyDocument | undefined }).topology;
    assert.ok(topo && topo.nodes.some((n) => n.kind === 'Host') && topo.edges.length > 0);
    validateTopologyDocument(topo);
    assert.equal(t.liveStartMs, Date.UTC(2026, 0, 1, 12, 0, 0));
    assert.equal(t.fault!.onsetMs, t.liveStartMs + 3 * MIN);
    assert.deepEqual(events.map((e) => e.event), ['started']);
    const started = events[0]!;
    assert.equal(started.stepsFed, 601, 'the backfill: 20 minutes of 2 s steps, both ends included');
    assert.deepEqual(started.warnings, []);
    assert.ok(existsSync(join(dir, 'fleet.lock')), 'the data folder is locked while the fleet runs');
    // A second fleet on the same data folder is refused.
    await assert.rejects(
      new LiveFleet({ scenario: QUICKSTART, target: `mqtt://127.0.0.1:${port}`, dataDir: dir }, { clock }).start(),
      isFleetError('DATA_DIR_LOCKED', '--data-dir', /is in use by another fleet \(pid \d+/),
    );
    await assert.rejects(fleet.start(), isFleetError('STATE', undefined, /start\(\) on a fleet that is running/));

    await until(async () => (await fleet.status())!.connected === 4, 'every agent connected');
    await drive(fleet, clock, 8 * MIN); // the 3 minutes before the onset, then 5 after
    const last = (await fleet.stop())!;
    assert.deepEqual(events.map((e) => e.event), ['started', 'fault_onset', 'stopped']);
    assert.equal(existsSync(join(dir, 'fleet.lock')), false, 'unlocked at stop');

    // Every simulated host connected under its own id with its own credentials; nothing refused.
    const connects = broker.connects.filter((c) => c.clientId in secrets);
    assert.deepEqual([...new Set(connects.map((c) => `${c.clientId}/${c.username}`))].sort(), Object.keys(secrets).map((id) => `${id}/${id}`));
    assert.equal(broker.authFailures, 0);
    assert.deepEqual(broker.deniedPublishes, []);

    // Frames decode, per agent, with that agent's id and tenant; all of them were acknowledged.
    assert.deepEqual(rec.decodeErrors, []);
    assert.equal(last.framesCreated, last.framesAcked, 'every frame acknowledged by the stop');
    assert.equal(last.framesDropped, 0);
    assert.equal(last.droppedSamples, 0, 'no sample dropped as too old or late');
    assert.equal(rec.count(), last.framesAcked);
    for (const a of last.agents) {
      const frames = [...(rec.frames.get(a.agentId)?.values() ?? [])];
      assert.ok(frames.length > 0, `${a.agentId} sent frames`);
      assert.ok(frames.every((f) => f.agentId === a.agentId && f.tenant === 'default'));
      const series = new Set(rec.rows.filter((r) => r.agentId === a.agentId).map((r) => JSON.stringify(r.labels)));
      assert.equal(series.size, a.series, `${a.agentId}: every series of the host arrived`);
      const history = frames.filter((f) => f.windowEndMs <= t.liveStartMs);
      assert.ok(history.length >= 115, `${a.agentId}: ${history.length} backfilled windows (20 minutes = 120)`);
    }
    assert.ok(rec.rows.every((r) => r.agentId === `sim-${r.labels.host}`), 'each series comes from the agent of its host');

    // The fault: its root's series carry Tier-1 flags in the windows after the onset.
    const f = t.fault!;
    const root = rec.rows.filter((r) => r.labels.service === f.root);
    assert.ok(root.length > 0);
    const flagged = (rows: typeof root): number => rows.filter((r) => (r.row.flags & TIER1_FLAGS) !== 0).length;
    const beforeRows = root.filter((r) => r.windowStartMs >= f.onsetMs - 3 * MIN && r.windowEndMs <= f.onsetMs);
    const afterRows = root.filter((r) => r.windowEndMs > f.onsetMs && r.windowStartMs < f.onsetMs + 5 * MIN);
    const nBefore = flagged(beforeRows);
    const nAfter = flagged(afterRows);
    const msg = `${f.root}: ${nBefore}/${beforeRows.length} series-windows flagged in the 3 minutes before the onset, ${nAfter}/${afterRows.length} in the 5 minutes after`;
    assert.ok(nAfter >= 30, msg);
    assert.ok(nBefore * 10 <= nAfter, msg);
    const anomalies = afterRows.filter((r) => (r.row.flags & FeatureFlags.ANOMALY) !== 0).map((r) => String(r.labels.__name__));
    assert.ok(anomalies.includes(SERVICE_METRIC_NAMES.cpu), `${f.root}'s CPU is flagged ANOMALY at the onset (flagged: ${anomalies.join(', ')})`);
    // Tier-1 is warm by the live start: no window after it is still warming up.
    const warming = rec.rows.filter((r) => r.windowStartMs >= t.liveStartMs && (r.row.flags & FeatureFlags.WARMING_UP) !== 0).length;
    assert.equal(warming, 0, `${warming} series-windows still warming up after the live start`);
    assert.equal(await fleet.stop(), last, 'stop() is idempotent');
  });

  it('an agent whose credentials the broker refuses stays disconnected; a failing credentials hook stops the start', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 2));
    const before = broker.authFailures;
    const fleet = new LiveFleet(
      { scenario: QUICKSTART, target: `mqtt://127.0.0.1:${port}`, dataDir: dataDir(), statusIntervalMs: 0, agentIdPrefix: 'sim-' },
      { clock, credentials: (agentId) => ({ username: agentId, password: agentId === 'sim-node-2' ? 'wrong' : secrets[agentId]! }) },
    );
    await fleet.start();
    await until(() => broker.authFailures > before, 'the broker refused sim-node-2');
    await until(async () => (await fleet.status())!.connected === 3, 'the three others connected');
    const s = (await fleet.status())!;
    assert.deepEqual(s.agents.filter((a) => !a.connected).map((a) => a.agentId), ['sim-node-2']);
    await fleet.stop();

    const dir = dataDir();
    const failing = new LiveFleet({ scenario: QUICKSTART, target: `mqtt://127.0.0.1:${port}`, dataDir: dir }, {
      clock,
      credentials: (agentId) => {
        if (agentId === 'sim-node-3') throw new Error('central refused the enrollment');
        return { username: agentId, password: secrets[agentId]! };
      },
    });
    await assert.rejects(failing.start(), isFleetError('CREDENTIALS', undefined, /credentials for agent sim-node-3 \(host node-3\): central refused the enrollment/));
    assert.equal(existsSync(join(dir, 'fleet.lock')), false);
    assert.equal(await failing.stop(), undefined, 'stop after a failed start is a no-op');
  });
});
