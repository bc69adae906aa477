// Alert correlation against Prometheus Alertmanager's grouping (issue #8, Deliver 9):
//   npm run bench:correlation [-- --speed 600 --rounds 3 --scenarios a,b --repeat 1]
//
// The same labelled alert storms (shipped scenarios of four presets and the random topology,
// 1 to 3 faults, noise level 1) go
//   - to a REAL Alertmanager (deploy/dev/alertmanager.sh, a fresh instance per run) as
//     Prometheus would send them, replayed in real time sped up --speed times (group_wait 30s,
//     group_interval 5m and repeat_interval 4h scaled by the same factor), grouped by
//     (alertname, service) and by (service); an alert's "incident" is the aggregation group
//     that first notified it firing: its group key and the group's lifetime (a group that
//     emptied and formed again is a new incident); alerts never notified firing count as
//     left out (null);
//   - through this project's correlation engine (`npm run correlate`'s replay, which a test
//     shows equal to central's online path alert by alert), with the scenario's topology.
// Both are scored by the simulators' correlation scorer on the fault-caused alerts
// (simulators/scoring/correlation.ts): compression = 1 - incidents / alerts (every alert and
// every incident counted, noise included), purity, ARI.
// Throughput, side by side and interleaved over --rounds: each scenario's storm repeated to at
// least 3,000 alerts and POSTed as fast as it is accepted, 100 alerts per request, in event order, to Alertmanager's API v2 and to central's
// /api/v1/alerts/ingest (which returns once the alerts are stored AND correlated); alerts/s by
// wall time until the last request is answered (Alertmanager: and until GET /api/v2/alerts
// lists them all). Medians over rounds and the ratio.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { correlateInputLines, goTime, scenarioAlertStream } from '../simulators/alerts/index.js';
import type { LabelledAlertStream, WebhookV4 } from '../simulators/alerts/index.js';
import { loadScenarioFile, shippedScenariosDir } from '../simulators/scenario/index.js';
import { scoreCorrelation } from '../simulators/scoring/index.js';
import type { CorrelationScore } from '../simulators/scoring/index.js';
import { startTestCentral } from '../central/src/service/testing/index.js';
import { declareTopology, feedCentral } from '../central/src/correlate/testing/online.js';
import { correlationConfig, EntityGraph, eventOrder, parseAlertLine, replayAlerts } from '../central/src/correlate/index.js';
import type { ReplayAlert } from '../central/src/correlate/index.js';

const { values: args } = parseArgs({
  options: {
    speed: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '3' },
    repeat: { type: 'string', default: '1' },
    scenarios: { type: 'string', default: 'ob-cpu-hog,ob-concurrent-overlapping,ss-disk-fill,ss-packet-loss,sn-neighbouring,tt-concurrent-unrelated,random-mixed' },
    port: { type: 'string', default: '19193' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: npm run bench:correlation [-- --speed 600 --rounds 3 --repeat 1 --scenarios ob-cpu-hog,... --port 19193]');
  process.exit(0);
}
const SPEED = Number(args.speed);
const ROUNDS = Number(args.rounds);
const REPEAT = Number(args.repeat);
const AM_PORT = Number(args.port);
const THROUGHPUT_ALERTS = 3000;
const SCRIPT = fileURLToPath(new URL('../deploy/dev/alertmanager.sh', import.meta.url));
const GROUPINGS: ReadonlyArray<{ name: string; groupBy: string[] }> = [
  { name: 'AM by alertname,service', groupBy: ['alertname', 'service'] },
  { name: 'AM by service', groupBy: ['service'] },
];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (s: string) => process.stderr.write(`${s}\n`);
const dur = (ms: number) => `${Math.max(1, Math.round(ms))}ms`;

// ------------------------------------------------------------------ webhook receiver
const received: Array<{ at: number; payload: WebhookV4 }> = [];
const hook = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      received.push({ at: Date.now(), payload: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookV4 });
      res.writeHead(200).end('ok');
    } catch {
      res.writeHead(400).end('bad json');
    }
  });
});
await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
const HOOK = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;

function am(cmd: 'start' | 'stop', groupBy: readonly string[], timing: { wait: number; interval: number; repeat: number }): void {
  const r = spawnSync('bash', [SCRIPT, cmd], {
    env: { ...process.env, ALERTMANAGER_PORT: String(AM_PORT), ALERTMANAGER_WEBHOOK_URL: HOOK, ALERTMANAGER_GROUP_BY: groupBy.join(','), ALERTMANAGER_GROUP_WAIT: dur(timing.wait), ALERTMANAGER_GROUP_INTERVAL: dur(timing.interval), ALERTMANAGER_REPEAT_INTERVAL: dur(timing.repeat) },
    stdio: ['ignore', 'ignore', 'inherit'],
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`deploy/dev/alertmanager.sh ${cmd} failed (exit ${r.status}): is apt available to install prometheus-alertmanager?`);
}
const AM = `http://127.0.0.1:${AM_PORT}`;
const SCALED = { wait: 30_000 / SPEED, interval: 300_000 / SPEED, repeat: 4 * 3_600_000 / SPEED };

/** fetch, retried on a dropped connection (a pooled keep-alive socket of the previous instance). */
async function amFetch(path: string, init?: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(`${AM}${path}`, init);
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

async function postAm(body: unknown[]): Promise<void> {
  const res = await amFetch('/api/v2/alerts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`Alertmanager POST /api/v2/alerts answered ${res.status}: ${await res.text()}`);
}

/** Replays the stream into a fresh Alertmanager in real time / SPEED; returns each alert's incident. */
async function alertmanagerGrouping(alerts: readonly ReplayAlert[], groupBy: readonly string[]): Promise<Array<string | null>> {
  am('stop', groupBy, SCALED);
  am('start', groupBy, SCALED);
  received.length = 0;
  const order = eventOrder(alerts);
  const t0 = order[0]!.t;
  const wall0 = Date.now() + 500;
  const wall = (t: number) => Math.round(wall0 + (t - t0) / SPEED);
  const key = (fp: string, startsAt: string) => `${fp}@${startsAt}`;
  const index = new Map<string, number>();
  alerts.forEach((a, i) => index.set(key(a.fingerprint, goTime(wall(a.startsAtMs))), i));
  for (let k = 0; k < order.length; ) {
    const due = wall(order[k]!.t);
    const lag = due - Date.now();
    if (lag > 0) await sleep(lag);
    const body: unknown[] = [];
    // Everything due by now goes in one request (as Prometheus batches what one evaluation fires).
    while (k < order.length && wall(order[k]!.t) <= Date.now()) {
      const ev = order[k]!;
      const a = alerts[ev.i]!;
      // Firing: endsAt far ahead (Prometheus re-sends firing alerts; one post stands for them).
      const endsAt = ev.kind === 'resolve' ? goTime(wall(a.endsAtMs)) : goTime(Date.now() + 3_600_000);
      body.push({ labels: a.labels, annotations: a.annotations, startsAt: goTime(wall(a.startsAtMs)), endsAt, generatorURL: 'http://prometheus.bench/graph' });
      k++;
    }
    if (body.length > 0) await postAm(body);
  }
  // Drain: every group flushes at least twice more.
  await sleep(2 * SCALED.wait + 4 * SCALED.interval + 1000);
  // Per group key, lifetimes: a notification with nothing firing ends the group.
  const out: Array<string | null> = new Array(alerts.length).fill(null);
  const lifetime = new Map<string, number>();
  const ended = new Set<string>();
  for (const { payload } of received.sort((x, y) => x.at - y.at)) {
    if (ended.has(payload.groupKey)) {
      ended.delete(payload.groupKey);
      lifetime.set(payload.groupKey, (lifetime.get(payload.groupKey) ?? 0) + 1);
    }
    const incident = `${payload.groupKey}#${lifetime.get(payload.groupKey) ?? 0}`;
    for (const a of payload.alerts) {
      if (a.status !== 'firing') continue;
      const i = index.get(key(a.fingerprint, a.startsAt));
      if (i !== undefined && out[i] === null) out[i] = incident;
    }
    if (payload.status === 'resolved') ended.add(payload.groupKey);
  }
  am('stop', groupBy, SCALED);
  return out;
}

// ------------------------------------------------------------------ throughput
async function amThroughput(alerts: readonly ReplayAlert[]): Promise<number> {
  am('stop', ['alertname', 'service'], SCALED);
  am('start', ['alertname', 'service'], SCALED);
  const order = eventOrder(alerts);
  const now = Date.now();
  const t0 = performance.now();
  for (let k = 0; k < order.length; k += 100) {
    const body = order.slice(k, k + 100).map((ev) => {
      const a = alerts[ev.i]!;
      return { labels: a.labels, annotations: a.annotations, startsAt: goTime(now - 3_600_000 + (a.startsAtMs - order[0]!.t) / 1000), endsAt: goTime(ev.kind === 'resolve' ? now - 1000 : now + 3_600_000), generatorURL: 'http://prometheus.bench/graph' };
    });
    await postAm(body);
  }
  // Done when the dispatcher holds every alert still firing at the end in its groups.
  const last = new Map<string, 'fire' | 'resolve'>();
  for (const ev of order) last.set(alerts[ev.i]!.fingerprint, ev.kind);
  const expected = [...last].filter(([, k]) => k === 'fire').map(([fp]) => fp);
  for (let tries = 0; ; tries++) {
    const groups = (await (await amFetch('/api/v2/alerts/groups')).json()) as Array<{ alerts: Array<{ fingerprint: string }> }>;
    const held = new Set(groups.flatMap((g) => g.alerts.map((a) => a.fingerprint)));
    if (expected.every((fp) => held.has(fp))) break;
    if (tries > 10_000) throw new Error('Alertmanager never grouped every firing alert');
    await sleep(5);
  }
  const secs = (performance.now() - t0) / 1000;
  am('stop', ['alertname', 'service'], SCALED);
  return alerts.length / secs;
}

async function centralThroughput(alerts: readonly ReplayAlert[], topology: unknown): Promise<number> {
  const tc = await startTestCentral({ api: { rate_per_second: 100_000, burst: 100_000 } }, 'aiops-bench-corr-');
  try {
    const api = tc.api;
    const token = (await tc.key('bench', ['write', 'admin'])).token;
    await declareTopology(api, token, topology);
    // A day ahead: central's clock never runs ahead of the stream (as with live alerts).
    const shift = Date.now() + 86_400_000 - Math.min(...alerts.map((a) => a.startsAtMs));
    const shifted = alerts.map((a) => ({ ...a, startsAtMs: a.startsAtMs + shift, endsAtMs: a.endsAtMs > 0 ? a.endsAtMs + shift : 0 }));
    const t0 = performance.now();
    await feedCentral(api, token, shifted, 100);
    return alerts.length / ((performance.now() - t0) / 1000);
  } finally {
    await tc.stop();
  }
}

// ------------------------------------------------------------------ main
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const f3 = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(3));

interface Row {
  scenario: string;
  alerts: number;
  faultAlerts: number;
  faults: number;
  ours: CorrelationScore;
  am: Array<{ name: string; score: CorrelationScore }>;
  oursRate: number[];
  amRate: number[];
  throughputAlerts: number;
}

const rows: Row[] = [];
const config = correlationConfig();
for (const name of args.scenarios.split(',')) {
  const scenario = await loadScenarioFile(join(shippedScenariosDir(), `${name}.yaml`));
  const stream: LabelledAlertStream = scenarioAlertStream(scenario, { noise: { level: 1 } }, REPEAT);
  const lines = correlateInputLines(stream.alerts);
  const alerts = lines.map((l, i) => parseAlertLine(l, i + 1)!);
  const truth = stream.alerts.map((a) => a.faultId);
  const score = (assigned: Array<string | null>) => scoreCorrelation(assigned.map((incident, i) => ({ incident, truth: truth[i]! })));
  log(`${name}: ${alerts.length} alerts, ${new Set(truth.filter((x) => x !== 'none')).size} faults`);
  const ours = score(replayAlerts(alerts, config, EntityGraph.fromTopology(stream.topology)).assignments);
  const amScores = [];
  for (const g of GROUPINGS) {
    log(`  ${g.name}: replaying ${Math.round(stream.durationMs / SPEED / 1000)} s into a real Alertmanager`);
    amScores.push({ name: g.name, score: score(await alertmanagerGrouping(alerts, g.groupBy)) });
  }
  // Throughput on a longer stream (the storm repeated to >= 3,000 alerts): both sides warm up.
  const big = scenarioAlertStream(scenario, { noise: { level: 1 } }, Math.ceil(THROUGHPUT_ALERTS / alerts.length));
  const bigAlerts = correlateInputLines(big.alerts).map((l, i) => parseAlertLine(l, i + 1)!);
  const oursRate: number[] = [];
  const amRate: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    amRate.push(await amThroughput(bigAlerts));
    oursRate.push(await centralThroughput(bigAlerts, stream.topology));
  }
  rows.push({ scenario: name, alerts: alerts.length, faultAlerts: truth.filter((x) => x !== 'none').length, faults: new Set(truth.filter((x) => x !== 'none')).size, ours, am: amScores, oursRate, amRate, throughputAlerts: bigAlerts.length });
}
am('stop', ['alertname', 'service'], SCALED);
hook.close();

const compression = (s: CorrelationScore) => 1 - s.incidents / s.alerts;
console.log(`\nAlert correlation vs Alertmanager (real Alertmanager, replay sped up ${SPEED}x; noise level 1; ${ROUNDS} throughput rounds)\n`);
console.log('| scenario | alerts (fault) | faults | grouping | incidents | compression | purity | inverse purity | ARI |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const line = (who: string, s: CorrelationScore) => console.log(`| ${r.scenario} | ${r.alerts} (${r.faultAlerts}) | ${r.faults} | ${who} | ${s.incidents} | ${pct(compression(s))} | ${f3(s.purity)} | ${f3(s.inversePurity)} | ${f3(s.ari)} |`);
  line('**this engine**', r.ours);
  for (const a of r.am) line(a.name, a.score);
}
console.log('\n| scenario | throughput stream (alerts) | this engine alerts/s (median) | Alertmanager alerts/s (median) | ratio | ARI vs best AM | targets met |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  const bestAm = Math.max(...r.am.map((a) => (Number.isNaN(a.score.ari) ? -1 : a.score.ari)));
  const ours = median(r.oursRate);
  const amr = median(r.amRate);
  const met = [compression(r.ours) >= 0.95 ? '' : 'compression', r.ours.purity >= 0.95 ? '' : 'purity', r.ours.ari > bestAm ? '' : 'ARI', ours >= amr ? '' : 'throughput'].filter((x) => x !== '');
  console.log(`| ${r.scenario} | ${r.throughputAlerts} | ${Math.round(ours)} | ${Math.round(amr)} | ${(ours / amr).toFixed(2)} | ${f3(r.ours.ari)} vs ${f3(bestAm)} | ${met.length === 0 ? 'all' : `missed: ${met.join(', ')}`} |`);
}
