import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { alertFingerprint } from '../../shared-schemas/src/index.js';
import type { GroundTruth, GroundTruthFault } from '../model/index.js';
import { attributeFault } from './causality.js';
import { alertStormOptionsSchema, resolveAlertStormOptions } from './config.js';
import { dispatchAlerts } from './dispatch.js';
import type { DispatchAlert, RouteOptions } from './dispatch.js';
import { AlertStormError } from './errors.js';
import { generateAlertStorm, serializeAlertStorm, writeAlertStorm } from './index.js';
import type { AlertStorm } from './index.js';
import { MIN, shopFixture, T0 } from './testdata/fixtures.js';
import { buildWebhookPayload, GO_ZERO_TIME, goTime, groupKeyOf } from './webhook.js';

const QUIET = { noise: { level: 0 } };

function fault(id: string, onset: number, end: number, affected: Array<[string, number, number]>): GroundTruthFault {
  return {
    id,
    type: 'cpu_hog',
    rootEntity: affected[0]![0],
    rootNodeId: `service:${affected[0]![0]}`,
    rootMetric: 'cpu',
    onsetMs: onset,
    endMs: end,
    severity: 1,
    affected: affected.map(([entity, on, hops]) => ({ entity, nodeId: `service:${entity}`, metrics: ['cpu'], onsetMs: on, hops, attenuation: 1 })),
  };
}

describe('causality (sim_fault)', () => {
  it('labels every rule alert of the fixture with the fault that caused it', () => {
    const { topology, metrics, truth } = shopFixture();
    const storm = generateAlertStorm(metrics, truth, topology, QUIET);
    const got = storm.alerts.map((a) => `${a.labels['alertname']}/${a.entity}=${a.labels['sim_fault']}`).sort();
    assert.deepEqual(got, ['HighErrorRate/cart=f1', 'HighLatencyP95/cart=f1', 'HighLatencyP95/frontend=f1', 'HostDiskFilling/node-2=f2', 'RequestsAbsent/cartdb=f3']);
    for (const a of storm.alerts) {
      assert.equal(a.faultId, a.labels['sim_fault']);
      assert.equal(a.fingerprint, alertFingerprint(a.labels));
      assert.equal(a.source, 'rule');
    }
    assert.deepEqual(storm.stats.byFault, { f1: 3, f2: 1, f3: 1, none: 0 });
    assert.deepEqual(storm.stats.faultsWithoutAlerts, []);
    // Alerts fire `for` after the pending start: cart at onset + 2m, frontend a minute later.
    const cart = storm.alerts.find((a) => a.rule === 'services/HighLatencyP95' && a.entity === 'cart')!;
    assert.equal(cart.activeAtMs, T0 + 30 * MIN);
    assert.equal(cart.startsAtMs, T0 + 32 * MIN);
    assert.equal(cart.endsAtMs, T0 + 50 * MIN);
  });

  it('gives "none" outside [entity onset, end + settle], off the affected set, or without an entity', () => {
    const truth: GroundTruth = { scenario: 's', seed: 1, faults: [fault('f1', 1000, 5000, [['a', 1000, 0], ['b', 2000, 1]])], benign: [] };
    assert.equal(attributeFault('a', 1000, truth, 0), 'f1', 'at the onset');
    assert.equal(attributeFault('a', 999, truth, 0), 'none', 'before the onset');
    assert.equal(attributeFault('b', 1500, truth, 0), 'none', 'before the effect reached b');
    assert.equal(attributeFault('b', 2000, truth, 0), 'f1');
    assert.equal(attributeFault('a', 5000, truth, 0), 'f1', 'at the end');
    assert.equal(attributeFault('a', 5001, truth, 0), 'none', 'after the end without settle');
    assert.equal(attributeFault('a', 8000, truth, 3000), 'f1', 'inside the settle period');
    assert.equal(attributeFault('a', 8001, truth, 3000), 'none');
    assert.equal(attributeFault('c', 2000, truth, 0), 'none', 'not affected');
    assert.equal(attributeFault(undefined, 2000, truth, 0), 'none', 'no entity label');
  });

  it('breaks overlaps: latest onset at the entity, then active over settling, then hops, then id', () => {
    const t = (...faults: GroundTruthFault[]): GroundTruth => ({ scenario: 's', seed: 1, faults, benign: [] });
    // Latest onset at the entity wins.
    assert.equal(attributeFault('x', 5000, t(fault('f1', 0, 9000, [['x', 0, 0]]), fault('f2', 3000, 9000, [['x', 3000, 0]])), 0), 'f2');
    // Same onset: the one still active beats the one settling.
    assert.equal(attributeFault('x', 5000, t(fault('f1', 1000, 4000, [['x', 1000, 0]]), fault('f2', 1000, 9000, [['x', 1000, 0]])), 2000), 'f2');
    // Same onset, both active: fewer hops.
    assert.equal(attributeFault('x', 5000, t(fault('f1', 0, 9000, [['r', 0, 0], ['x', 1000, 2]]), fault('f2', 0, 9000, [['q', 0, 0], ['x', 1000, 1]])), 0), 'f2');
    // Full tie: the smaller id.
    assert.equal(attributeFault('x', 5000, t(fault('f9', 1000, 9000, [['x', 1000, 0]]), fault('f10', 1000, 9000, [['x', 1000, 0]])), 0), 'f10');
  });
});

describe('Alertmanager dispatch model', () => {
  const route: RouteOptions = { receiver: 'r', groupBy: ['alertname'], groupWaitMs: 30_000, groupIntervalMs: 300_000, repeatIntervalMs: 3_600_000, externalURL: 'http://am:9093' };
  const alert = (name: string, svc: string, start: number, end?: number): DispatchAlert => {
    const labels = { alertname: name, service: svc };
    return { labels, annotations: {}, startsAtMs: T0 + start, endsAtMs: end === undefined ? undefined : T0 + end, generatorURL: '', fingerprint: alertFingerprint(labels) };
  };
  const view = (n: { sentAtMs: number; payload: { groupKey: string; status: string; alerts: Array<{ status: string; labels: Record<string, string> }> } }) =>
    `${(n.sentAtMs - T0) / 1000}s ${n.payload.groupKey} ${n.payload.status}: ${n.payload.alerts.map((a) => `${a.labels['service']}=${a.status}`).join(',')}`;

  it('waits group_wait, batches by group_by, re-notifies on change at group_interval and on repeat_interval', () => {
    const sent = dispatchAlerts(
      [
        alert('Lat', 'a', 0, 600_000), // fires at 0, resolved at 10 min
        alert('Lat', 'b', 10_000), // joins the group before the first flush
        alert('Err', 'a', 20_000, 40_000), // own group; resolved before its flush: never sent
        alert('Lat', 'c', 100_000), // new firing: sent at the next group_interval tick
      ],
      route,
      T0 + 2 * 3_600_000,
    );
    assert.deepEqual(sent.map(view), [
      '30s {}:{alertname="Lat"} firing: a=firing,b=firing',
      '330s {}:{alertname="Lat"} firing: a=firing,b=firing,c=firing',
      '630s {}:{alertname="Lat"} firing: a=resolved,b=firing,c=firing',
      // Nothing changes afterwards: the repeat goes at the first tick strictly more than
      // repeat_interval after the last notification (630 + 3600 = 4230 is not "before").
      '4530s {}:{alertname="Lat"} firing: b=firing,c=firing',
    ]);
    assert.equal(sent[2]!.payload.alerts[0]!.endsAt, goTime(T0 + 600_000));
    assert.equal(sent[2]!.payload.alerts[1]!.endsAt, GO_ZERO_TIME);
  });

  it('sends the all-resolved notification, and a re-fire after it as a new notification', () => {
    const sent = dispatchAlerts([alert('Lat', 'a', 0, 100_000), alert('Lat', 'a', 1_000_000, 1_100_000)], route, T0 + 3_600_000);
    assert.deepEqual(sent.map(view), [
      '30s {}:{alertname="Lat"} firing: a=firing',
      '330s {}:{alertname="Lat"} resolved: a=resolved',
      '1030s {}:{alertname="Lat"} firing: a=firing',
      '1330s {}:{alertname="Lat"} resolved: a=resolved',
    ]);
  });

  it("groups by '...' per alert, and stops at the horizon", () => {
    const sent = dispatchAlerts([alert('Lat', 'a', 0), alert('Lat', 'b', 0)], { ...route, groupBy: ['...'] }, T0 + 60_000);
    assert.deepEqual(sent.map(view), ['30s {}:{alertname="Lat", service="a"} firing: a=firing', '30s {}:{alertname="Lat", service="b"} firing: b=firing']);
  });
});

describe('webhook payload', () => {
  it('has Alertmanager field order, Go times, sorted labels and Alertmanager alert order', () => {
    const mk = (labels: Record<string, string>, end?: number) => ({ labels, annotations: { summary: 's', z: labels['service'] ?? '' }, startsAtMs: T0 + 500, endsAtMs: end, generatorURL: 'http://p/graph' });
    const p = buildWebhookPayload(
      { receiver: 'r', groupLabels: { alertname: 'A' }, externalURL: 'http://am' },
      [mk({ service: 'b', alertname: 'A' }), mk({ service: 'a', alertname: 'A', job: 'z' }, T0 + 1000), mk({ alertname: 'A', service: 'a' }), mk({ alertname: 'A', service: 'a', instance: 'i' })],
      T0 + 2000,
    );
    assert.deepEqual(Object.keys(p), ['receiver', 'status', 'alerts', 'groupLabels', 'commonLabels', 'commonAnnotations', 'externalURL', 'version', 'groupKey', 'truncatedAlerts']);
    assert.deepEqual(Object.keys(p.alerts[0]!), ['status', 'labels', 'annotations', 'startsAt', 'endsAt', 'generatorURL', 'fingerprint']);
    // job first, then instance, then fewer labels / label values.
    assert.deepEqual(
      p.alerts.map((a) => JSON.stringify(a.labels)),
      ['{"alertname":"A","job":"z","service":"a"}', '{"alertname":"A","instance":"i","service":"a"}', '{"alertname":"A","service":"a"}', '{"alertname":"A","service":"b"}'],
    );
    assert.equal(p.status, 'firing');
    assert.equal(p.alerts[0]!.status, 'resolved');
    assert.equal(p.alerts[0]!.startsAt, '2024-06-01T00:00:00.5Z');
    assert.equal(p.alerts[0]!.endsAt, '2024-06-01T00:00:01Z');
    assert.equal(p.alerts[1]!.endsAt, '0001-01-01T00:00:00Z');
    assert.deepEqual(p.commonLabels, { alertname: 'A' });
    assert.deepEqual(p.commonAnnotations, { summary: 's' });
    assert.equal(p.groupKey, '{}:{alertname="A"}');
    assert.equal(groupKeyOf({ b: 'x"y\n', a: 'é' }), '{}:{a="é", b="x\\"y\\n"}');
    assert.equal(goTime(T0 + 120), '2024-06-01T00:00:00.12Z');
  });
});

describe('noise', () => {
  const { topology, metrics, truth } = shopFixture();

  it('adds nothing at level 0, and each kind at a set rate with level 0', () => {
    const quiet = generateAlertStorm(metrics, truth, topology, QUIET).stats;
    assert.deepEqual([quiet.bySource.flapping, quiet.bySource.unrelated, quiet.flappedRuleAlerts, quiet.duplicates, quiet.late], [0, 0, 0, 0, 0]);
    const only = generateAlertStorm(metrics, truth, topology, { noise: { level: 0, unrelated: { ratePerHour: 30 } } }).stats;
    assert.ok(only.bySource.unrelated > 20, `unrelated ${only.bySource.unrelated}`);
    assert.deepEqual([only.bySource.flapping, only.flappedRuleAlerts, only.duplicates, only.late], [0, 0, 0, 0]);
  });

  it('counts per seed follow the configured rates, and the stats agree with the output', () => {
    const opts = { noise: { level: 1, flapping: { ratePerHour: 6, realFraction: 1 }, unrelated: { ratePerHour: 15 }, duplicates: { probability: 0.25 }, late: { probability: 0.25 } } };
    let unrelated = 0;
    let flapEpisodes = 0;
    let dup = 0;
    let late = 0;
    let sent = 0;
    const seeds = [1, 2, 3, 4, 5, 6];
    const perSeed: string[] = [];
    for (const seed of seeds) {
      const s = generateAlertStorm(metrics, truth, topology, { ...opts, seed });
      const st = s.stats;
      perSeed.push(JSON.stringify([st.bySource, st.duplicates, st.late]));
      // Stats agree with what is in the storm.
      assert.equal(st.alerts, s.alerts.length);
      assert.equal(st.notifications, s.notifications.length);
      assert.equal(st.duplicates, s.notifications.filter((n) => n.duplicate).length);
      assert.equal(st.sentNotifications, s.notifications.length - st.duplicates);
      assert.equal(st.byFault['none'], st.bySource.flapping + st.bySource.unrelated);
      // Delivery order, delays within bounds, duplicates repeat an earlier delivery.
      for (let i = 1; i < s.notifications.length; i++) assert.ok(s.notifications[i - 1]!.deliverAtMs <= s.notifications[i]!.deliverAtMs);
      for (const n of s.notifications) {
        const d = n.deliverAtMs - n.sentAtMs;
        if (!n.late && !n.duplicate) assert.equal(d, 0);
        if (n.late && !n.duplicate) assert.ok(d >= 30_000 && d <= 180_000, `late by ${d}`);
        if (n.duplicate) {
          const orig = s.notifications.find((o) => !o.duplicate && o.payload === n.payload)!;
          assert.ok(orig && n.deliverAtMs >= orig.deliverAtMs && n.deliverAtMs - orig.deliverAtMs <= 30_000);
        }
      }
      // Noise alerts: "none", low severity; flapped rule alerts keep their fault.
      for (const a of s.alerts) {
        if (a.source !== 'rule') {
          assert.equal(a.labels['sim_fault'], 'none');
          assert.ok(['info', 'warning'].includes(a.labels['severity']!), a.labels['severity']);
        }
      }
      const flapped = s.alerts.filter((a) => a.flapped);
      assert.equal(new Set(flapped.map((a) => a.fingerprint)).size, st.flappedRuleAlerts);
      assert.ok(flapped.every((a) => a.faultId !== 'none'));
      for (const fp of new Set(flapped.map((a) => a.fingerprint))) {
        const cycles = flapped.filter((a) => a.fingerprint === fp);
        assert.ok(cycles.length >= 2);
        for (let i = 1; i < cycles.length; i++) assert.ok(cycles[i]!.startsAtMs > (cycles[i - 1]!.endsAtMs as number), 'cycles do not overlap');
      }
      unrelated += st.bySource.unrelated;
      flapEpisodes += new Set(s.alerts.filter((a) => a.source === 'flapping').map((a) => `${a.fingerprint}@${Math.floor(a.startsAtMs)}`)).size;
      dup += st.duplicates;
      late += st.late;
      sent += st.sentNotifications;
    }
    // 2 hours x 15/h = 30 unrelated alerts per seed on average (Poisson; a few overlaps dropped).
    const meanUnrelated = unrelated / seeds.length;
    assert.ok(meanUnrelated > 20 && meanUnrelated < 40, `mean unrelated ${meanUnrelated}`);
    assert.ok(flapEpisodes / seeds.length > 10, `flapping cycles ${flapEpisodes}`);
    assert.ok(Math.abs(dup / sent - 0.25) < 0.1, `duplicate share ${dup / sent}`);
    assert.ok(Math.abs(late / sent - 0.25) < 0.1, `late share ${late / sent}`);
    assert.equal(new Set(perSeed).size, seeds.length, 'every seed gives different counts');
  });

  it('fixes the counts of one seed (regression guard for the random streams)', () => {
    const a = generateAlertStorm(metrics, truth, topology, { seed: 42, noise: { level: 1 } }).stats;
    const b = generateAlertStorm(metrics, truth, topology, { seed: 42, noise: { level: 1 } }).stats;
    assert.deepEqual(a, b);
    // Turning one kind up does not move another kind's draws (named streams).
    const c = generateAlertStorm(metrics, truth, topology, { seed: 42, noise: { level: 1, duplicates: { probability: 0.9 } } }).stats;
    assert.deepEqual(c.bySource, a.bySource);
    assert.equal(c.late, a.late);
    assert.ok(c.duplicates > a.duplicates);
  });
});

describe('determinism and output files', () => {
  const { topology, metrics, truth } = shopFixture();
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('gives byte-identical files for the same seed and different ones for another seed', async () => {
    const opts = { noise: { level: 1 } };
    const s1 = generateAlertStorm(metrics, truth, topology, opts);
    const s2 = generateAlertStorm(shopFixture().metrics, truth, topology, opts);
    const s3 = generateAlertStorm(metrics, truth, topology, { ...opts, seed: 8 });
    const d1 = await mkdtemp(join(tmpdir(), 'storm-a-'));
    const d2 = await mkdtemp(join(tmpdir(), 'storm-b-'));
    dirs.push(d1, d2);
    const f1 = await writeAlertStorm(s1, d1);
    const f2 = await writeAlertStorm(s2, d2);
    for (const k of ['notifications', 'alerts', 'stats'] as const) {
      const a = await readFile(f1[k]);
      const b = await readFile(f2[k]);
      assert.ok(a.length > 0);
      assert.ok(a.equals(b), `${k} differs between two runs with one seed`);
    }
    assert.notEqual(serializeAlertStorm(s3).notifications, serializeAlertStorm(s1).notifications);
    assert.equal(s1.stats.seed, truth.seed);
    assert.equal(s3.stats.seed, 8);
    // JSON lines: one object per line, in delivery order, each payload a webhook v4 message.
    const lines = (await readFile(f1.notifications, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, s1.notifications.length);
    const first = JSON.parse(lines[0]!) as { deliverAtMs: number; payload: { version: string } };
    assert.deepEqual(Object.keys(first), ['deliverAtMs', 'sentAtMs', 'duplicate', 'late', 'payload']);
    assert.equal(first.payload.version, '4');
    assert.equal((await readFile(f1.alerts, 'utf8')).trimEnd().split('\n').length, s1.alerts.length);
  });

  it('uses user rules instead of the defaults, with group intervals', () => {
    const rules = 'groups:\n  - name: mine\n    interval: 1m\n    rules:\n      - alert: AnyHighLatency\n        expr: latency_p95{service=~"cart|frontend"} > 0.3\n        labels: { severity: critical }\n        annotations: { summary: "{{ $labels.service }}: {{ $value }}" }\n';
    const s: AlertStorm = generateAlertStorm(metrics, truth, topology, { ...QUIET, rules });
    assert.deepEqual(
      s.alerts.map((a) => [a.entity, a.faultId, (a.startsAtMs - T0) / MIN]),
      [
        ['cart', 'f1', 30],
        ['frontend', 'f1', 31],
      ],
    );
    assert.equal(s.alerts[1]!.annotations['summary'], 'frontend: 0.36');
    assert.equal(s.alerts[0]!.generatorURL, 'http://prometheus.sim:9090/graph?g0.expr=latency_p95%7Bservice%3D~%22cart%7Cfrontend%22%7D+%3E+0.3&g0.tab=1');
    assert.equal(s.stats.rules, 1);
    // Both fire into one group (alertname); the second waits for the next group_interval.
    assert.deepEqual(
      s.notifications.map((n) => [(n.sentAtMs - T0) / 1000, n.payload.alerts.length, n.payload.status]),
      [
        [1830, 1, 'firing'],
        [2130, 2, 'firing'],
        [3030, 2, 'resolved'],
      ],
    );
  });
});

describe('options', () => {
  it('validate as a whole and name the path and the bad value', () => {
    const bad = (input: unknown, re: RegExp, path: string) =>
      assert.throws(
        () => resolveAlertStormOptions(input),
        (e: unknown) => e instanceof AlertStormError && e.code === 'BAD_OPTIONS' && re.test(e.message) && e.path === path,
      );
    bad({ noise: { level: 3 } }, /alerts\.noise\.level Too big: expected number to be <=1 \(got 3\)/, 'alerts.noise.level');
    bad({ evaluationInterval: '5x' }, /alerts\.evaluationInterval must be a duration such as "30s".*\(got "5x"\)/, 'alerts.evaluationInterval');
    bad({ evaluationInterval: '100ms' }, /must be between 1s and 1h \(got "100ms"\)/, 'alerts.evaluationInterval');
    bad({ route: { groupBy: ['ok', 'bad-label'] } }, /alerts\.route\.groupBy\[1\] must be a label name or "\.\.\." \(got "bad-label"\)/, 'alerts.route.groupBy[1]');
    bad({ noise: { flapping: { minCycles: 5, maxCycles: 2 } } }, /alerts\.noise\.flapping\.maxCycles must be >= minCycles \(5\) \(got 2\)/, 'alerts.noise.flapping.maxCycles');
    bad({ nosie: {} }, /alerts has unknown key\(s\) "nosie"/, 'alerts');
    bad({ seed: -1 }, /alerts\.seed/, 'alerts.seed');
    bad({ externalURL: 'ftp://x' }, /alerts\.externalURL/, 'alerts.externalURL');
    // Level-derived knobs, explicit knobs win.
    const c = resolveAlertStormOptions({ noise: { level: 0.5, late: { probability: 0.9 } } });
    assert.equal(c.noise.unrelated.ratePerHour, 6);
    assert.equal(c.noise.late.probability, 0.9);
    assert.equal(c.route.groupWaitMs, 30_000);
    assert.ok(alertStormOptionsSchema.safeParse({}).success);
  });

  it('reports rule errors under alerts.rules and bad inputs', () => {
    const { topology, metrics, truth } = shopFixture();
    assert.throws(
      () => generateAlertStorm(metrics, truth, topology, { rules: 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: cpu >\n' }),
      (e: unknown) => e instanceof AlertStormError && e.code === 'BAD_EXPR' && e.path === 'alerts.rules.groups[0].rules[0].expr',
    );
    assert.throws(
      () => generateAlertStorm({ ...metrics, stepMs: 0 }, truth, topology, QUIET),
      (e: unknown) => e instanceof AlertStormError && e.code === 'BAD_INPUT' && /metrics\.stepMs must be a positive integer \(got 0\)/.test(e.message),
    );
    assert.throws(
      () => generateAlertStorm(metrics, { ...truth, faults: [...truth.faults, truth.faults[0]!] }, topology, QUIET),
      (e: unknown) => e instanceof AlertStormError && /truth\.faults\[3\]\.id must be unique/.test(e.message),
    );
  });
});
