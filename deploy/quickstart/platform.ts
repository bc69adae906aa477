// `npm start`: the whole platform on this machine, for a first look (ARCHITECTURE section 4,
// embedded mode). It runs, in this process unless said otherwise:
//   1. central (aiops-central's CentralService, roles "all"): REST API, embedded MQTT broker,
//      gRPC ingest, SQLite storage, anomalies to alerts;
//   2. one REAL agent monitoring this host, as its own process (edge-agent/src/cli.ts), enrolled
//      with a one-time token the way an operator enrolls a host;
//   3. a simulated fleet (simulators/fleet): Online Boutique's hosts as real agent pipelines,
//      with 20 minutes of backfilled history and a CPU hog injected --fault-after (3 min) in.
// It prints the URLs and a one-time admin key, then the alerts, the incidents they are
// correlated into and each incident's ranked root causes as they appear. Ctrl-C stops everything
// cleanly. With --exit-after-alert (CI sets it) it exits 0 once an alert about the fault's
// service, an incident naming that service and a top root cause naming it are readable through
// the REST API; 1 when the root cause does not name it a minute after the incident appeared, or
// after --timeout.
//
// State lives in .aiops/quickstart/ (git-ignored) and is started fresh every run.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { createLogger, SelfMetrics, systemClock } from '../../shared-schemas/src/runtime/index.js';
import { positiveDurationArg } from '../../central/src/cli/duration-arg.js';
import { resolveCentralConfig } from '../../central/src/config/config.js';
import { CentralService } from '../../central/src/service/service.js';
import { LiveFleet } from '../../simulators/fleet/index.js';
import type { FleetStatus } from '../../simulators/fleet/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const STATE = join(ROOT, '.aiops', 'quickstart');
const SCENARIO = join(ROOT, 'simulators', 'scenarios', 'quickstart.yaml');

const say = (s: string) => process.stdout.write(`${s}\n`);
const warn = (s: string) => process.stderr.write(`${s}\n`);

async function freePort(preferred: number): Promise<number> {
  const tryPort = (p: number) =>
    new Promise<number | undefined>((res) => {
      const srv = createServer();
      srv.once('error', () => res(undefined));
      srv.listen(p, '127.0.0.1', () => {
        const a = srv.address();
        srv.close(() => res(typeof a === 'object' && a ? a.port : undefined));
      });
    });
  return (await tryPort(preferred)) ?? (await tryPort(0))!;
}

const durationArg = positiveDurationArg('3m or 90s');

/** The root cause must name the injected service this soon after its incident is first seen (issue #9). */
const ROOT_CAUSE_WAIT_MS = 60_000;

interface IncidentRow {
  id: string;
  representativeFingerprint: string;
  title: string;
  status: string;
  severity: string;
  services: string[];
  alertFingerprints: string[];
  rootCauses: Array<{ service: string; metric: string; probability: number; rank: number; method: string; evidence: string[]; onsetAt: string | null }>;
}

interface AlertRow {
  fingerprint: string;
  status: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
}

async function main(): Promise<number> {
  const program = new Command()
    .name('npm start')
    .description('Runs the AIOps platform on this machine: central, a real agent for this host and a simulated fleet with an injected fault.')
    .option('--fault-after <duration>', 'when the simulated fault starts', durationArg, 3 * 60_000)
    .option('--exit-after-alert', 'exit 0 once an alert, an incident and a root cause naming the fault\'s service are readable through the API (default under CI=true)', process.env.CI === 'true')
    .option('--timeout <duration>', 'with --exit-after-alert: give up (exit 1) after this long', durationArg, 12 * 60_000)
    .option('--no-agent', 'do not start the real agent for this host')
    .option('--log-level <level>', "central's log level", 'warn')
    .parse(process.argv.slice(2), { from: 'user' });
  const o = program.opts<{ faultAfter: number; exitAfterAlert: boolean; timeout: number; agent: boolean; logLevel: string }>();

  // Fresh state every run: the fleet's frame sequences and central's database start together.
  if (existsSync(STATE)) rmSync(STATE, { recursive: true, force: true });
  mkdirSync(STATE, { recursive: true, mode: 0o700 });

  const [apiPort, mqttPort, grpcPort] = [await freePort(8080), await freePort(1883), await freePort(7443)];
  const cfg = resolveCentralConfig({
    data_dir: join(STATE, 'central'),
    log_level: o.logLevel,
    api: { listen: `127.0.0.1:${apiPort}`, rate_per_second: 200, burst: 400 },
    mqtt: { mode: 'embedded', listen: `127.0.0.1:${mqttPort}` },
    grpc: { listen: `127.0.0.1:${grpcPort}` },
  });
  const logger = createLogger(cfg.log_level as 'warn', undefined, 'aiops-central');
  const metrics = new SelfMetrics();
  metrics.collectProcessMetrics();
  say('starting central (embedded mode) ...');
  const central = new CentralService(cfg, { logger, metrics, clock: systemClock });
  await central.start();
  const api = `http://127.0.0.1:${apiPort}`;
  const now = Date.now();
  const admin = await central.stores.apiKeys.create({ name: 'quickstart-admin', tenant: cfg.tenant, scopes: ['admin'] }, now);
  await central.stores.audit.append({ atMs: now, actor: 'quickstart', action: 'key.create', target: admin.record.id, details: { name: 'quickstart-admin', scopes: ['admin'] } });

  let agent: ChildProcess | undefined;
  if (o.agent) {
    const { token } = await central.stores.agents.createEnrollmentToken({ tenant: cfg.tenant, expiresAtMs: now + 10 * 60_000, createdBy: 'quickstart' }, now);
    const agentDir = join(STATE, 'agent');
    mkdirSync(agentDir, { recursive: true, mode: 0o700 });
    const agentId = `quickstart-${hostname().toLowerCase().replace(/[^a-z0-9_.-]/g, '-').slice(0, 60) || 'host'}`;
    const agentConfig = join(STATE, 'agent.yaml');
    writeFileSync(
      agentConfig,
      [
        '# Generated by npm start (deploy/quickstart/platform.ts): the real agent for this host.',
        'agent:',
        `  id: ${agentId}`,
        `  tenant: ${cfg.tenant}`,
        `  data_dir: ${JSON.stringify(agentDir)}`,
        '  enrollment:',
        `    url: ${api}`,
        'telemetry: { listen: null, log_level: warn }',
        'receivers:',
        '  hostmetrics: { interval: 10s }',
        'processors:',
        '  normalize: {}',
        '  enrich: {}',
        '  tier1: {}',
        'exporters:',
        `  mqtt: { url: "mqtt://127.0.0.1:${mqttPort}" }`,
        'pipelines:',
        '  metrics: { receivers: [hostmetrics], processors: [normalize, enrich, tier1], exporters: [mqtt] }',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    agent = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'edge-agent', 'src', 'cli.ts'), '--config', agentConfig], {
      cwd: ROOT,
      env: { ...process.env, AIOPS_ENROLLMENT_TOKEN: token },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    agent.once('exit', (code, signal) => {
      if (!stopping) warn(`!! the agent for this host exited (code ${code}, signal ${signal}); the fleet goes on`);
    });
  }

  // The fleet's hosts are enrolled here as an operator would, one token each.
  const fleet = new LiveFleet(
    { scenario: SCENARIO, target: `mqtt://127.0.0.1:${mqttPort}`, faultAfterMs: o.faultAfter, dataDir: join(STATE, 'fleet'), tenant: cfg.tenant, statusIntervalMs: 30_000 },
    {
      credentials: async (agentId) => {
        const t = Date.now();
        const { token } = await central.stores.agents.createEnrollmentToken({ tenant: cfg.tenant, expiresAtMs: t + 60_000, createdBy: 'quickstart' }, t);
        const e = await central.stores.agents.enroll(token, agentId, t);
        if (!e) throw new Error(`could not enroll simulated host ${agentId}`);
        return { username: agentId, password: e.secret };
      },
      onStatus: (s: FleetStatus) => {
        if (s.event === 'fault_onset') say(`\n>> ${new Date(s.atMs).toISOString()} fault injected: ${s.timeline.fault?.type} on ${s.timeline.fault?.root} (simulated)`);
        else if (s.event === 'progress') say(`   fleet: ${s.connected}/${s.agents.length} hosts connected, ${s.framesAcked} frames acknowledged by central${s.faultActive ? ', fault active' : ''}`);
      },
    },
  );
  say('starting the simulated fleet (20 minutes of history first) ...');
  const timeline = await fleet.start();
  const faultAt = timeline.fault ? new Date(timeline.fault.onsetMs) : undefined;
  // The simulated system's topology, declared through the API as an operator would.
  let topologyLine = '';
  if (fleet.topology) {
    const res = await fetch(`${api}/api/v1/config/topology`, { method: 'PUT', headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' }, body: JSON.stringify(fleet.topology) });
    if (res.ok) topologyLine = `${fleet.topology.name}: ${fleet.topology.nodes.length} nodes, ${fleet.topology.edges.length} edges (PUT /api/v1/config/topology)`;
    else warn(`!! the topology was not loaded (HTTP ${res.status}: ${(await res.text()).slice(0, 300)}); the platform runs without it`);
  }

  say('');
  say('AIOps platform running (Ctrl-C stops it)');
  say(`  REST API        ${api}/api/v1   (OpenAPI: ${api}/api/v1/openapi.json, health: ${api}/healthz)`);
  say(`  MQTT (agents)   mqtt://127.0.0.1:${mqttPort}      gRPC (agents) 127.0.0.1:${grpcPort}`);
  say(`  admin API key   ${admin.token}`);
  say('                  (shown once; create more with `npm run aiops -- keys create --data-dir .aiops/quickstart/central --name me --scope read`)');
  say(`  agents          ${fleet.agents.length} simulated hosts${agent ? ' + this host' : ''}`);
  if (topologyLine) say(`  topology        ${topologyLine}`);
  if (faultAt) say(`  fault           ${timeline.fault!.type} on ${timeline.fault!.root} at ${faultAt.toISOString()} (in ${Math.round((faultAt.getTime() - Date.now()) / 1000)} s)`);
  say('');
  say('List the alerts (from another terminal):');
  say(`  AIOPS_URL=${api} AIOPS_API_KEY=${admin.token} npm run aiops -- alerts list`);
  say(`  curl -s -H 'Authorization: Bearer ${admin.token}' '${api}/api/v1/alerts?status=firing'`);
  say('and the incidents they were correlated into:');
  say(`  AIOPS_URL=${api} AIOPS_API_KEY=${admin.token} npm run aiops -- incidents list`);
  say('');

  let stopping = false;
  const seen = new Set<string>();
  const alertsByFingerprint = new Map<string, AlertRow>();
  let sawFaultAlert = false;
  const poll = async () => {
    try {
      const res = await fetch(`${api}/api/v1/alerts?status=firing&limit=200`, { headers: { authorization: `Bearer ${admin.token}` } });
      if (!res.ok) return;
      const { alerts } = (await res.json()) as { alerts: AlertRow[] };
      for (const a of alerts) {
        const key = JSON.stringify(a.labels);
        if (seen.has(key)) continue;
        seen.add(key);
        alertsByFingerprint.set(a.fingerprint, a);
        say(`!! ALERT ${a.labels.alertname ?? ''} ${a.labels.metric ?? ''} service=${a.labels.service ?? '-'} host=${a.labels.host ?? '-'} since ${a.startsAt}: ${a.annotations.summary ?? ''}`);
        if (timeline.fault && a.labels.service === timeline.fault.root) sawFaultAlert = true;
      }
    } catch {
      // central is stopping, or busy: the next poll tries again
    }
  };
  // Incidents: printed when new and whenever their alerts, services or status change.
  const shown = new Map<string, string>();
  const listed = new Map<string, Set<string>>();
  let sawFaultIncident = false;
  /** When the fault's incident was first seen, and when its top root cause named the fault's service (ms). */
  let faultIncidentAt = 0;
  let faultRootCauseAt = 0;
  const describeAlert = (fp: string): string => {
    const a = alertsByFingerprint.get(fp);
    return a ? `${a.labels.alertname ?? ''} ${a.labels.metric ?? ''} service=${a.labels.service ?? '-'} host=${a.labels.host ?? '-'}` : `alert ${fp}`;
  };
  const pollIncidents = async () => {
    try {
      const res = await fetch(`${api}/api/v1/incidents?limit=50`, { headers: { authorization: `Bearer ${admin.token}` } });
      if (!res.ok) return;
      const { incidents } = (await res.json()) as { incidents: IncidentRow[] };
      for (const inc of incidents.reverse()) {
        if (inc.alertFingerprints.length === 0) continue;
        const top = inc.rootCauses[0];
        const key = `${inc.status}|${inc.alertFingerprints.length}|${inc.services.join(',')}|${top ? `${top.service}/${top.metric}` : ''}`;
        if (shown.get(inc.id) === key) continue;
        const first = !shown.has(inc.id);
        shown.set(inc.id, key);
        say(`== INCIDENT ${inc.id} ${first ? 'opened' : 'updated'} [${inc.severity}, ${inc.status}] ${inc.title}`);
        say(`   ${inc.alertFingerprints.length} alert(s) on services: ${inc.services.join(', ') || '-'}; details: npm run aiops -- incidents show ${inc.id}`);
        // Its alerts (those not listed under it before), the representative first.
        const done = listed.get(inc.id) ?? new Set<string>();
        listed.set(inc.id, done);
        const fresh = [inc.representativeFingerprint, ...inc.alertFingerprints].filter((fp, i, all) => !done.has(fp) && all.indexOf(fp) === i && inc.alertFingerprints.includes(fp));
        for (const fp of fresh.slice(0, 40)) say(`     ${fp === inc.representativeFingerprint ? '*' : '-'} ${describeAlert(fp)}`);
        if (fresh.length > 40) say(`     ... and ${fresh.length - 40} more`);
        for (const fp of fresh) done.add(fp);
        if (inc.rootCauses.length > 0) {
          say(`   root causes (npm run aiops -- incidents show ${inc.id} for the evidence):`);
          for (const c of inc.rootCauses.slice(0, 3)) say(`     ${c.rank}. ${c.service} ${c.metric} p=${c.probability.toFixed(2)} (${c.method})${c.onsetAt ? ` from ${c.onsetAt.replace(/\.\d{3}Z$/, 'Z')}` : ''}`);
          for (const e of top!.evidence.slice(0, 4)) say(`        - ${e}`);
        }
        if (timeline.fault && inc.services.includes(timeline.fault.root)) {
          sawFaultIncident = true;
          if (faultIncidentAt === 0) faultIncidentAt = Date.now();
          if (faultRootCauseAt === 0 && top?.service === timeline.fault.root) {
            faultRootCauseAt = Date.now();
            say(`   -> the top root cause names ${timeline.fault.root}, the injected fault's service, ${Math.round((faultRootCauseAt - faultIncidentAt) / 1000)} s after the incident was first seen`);
          }
        }
      }
    } catch {
      // central is stopping, or busy: the next poll tries again
    }
  };
  const pollTimer = setInterval(() => void poll().then(pollIncidents), 5000);

  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(pollTimer);
    say(`\nstopping (${why}) ...`);
    await fleet.stop().catch((e: unknown) => warn(`fleet stop: ${(e as Error).message}`));
    if (agent && agent.exitCode === null) {
      agent.kill('SIGTERM');
      await new Promise<void>((r) => {
        const t = setTimeout(() => {
          agent?.kill('SIGKILL');
          r();
        }, 15_000);
        agent!.once('exit', () => {
          clearTimeout(t);
          r();
        });
      });
    }
    await central.shutdown();
    say('stopped.');
  };

  return new Promise<number>((resolveExit) => {
    // Ctrl-C in a terminal reaches npm, tsx and this process at once, and npm and tsx relay it
    // again: the first signal stops cleanly and the echoes are ignored; a signal more than two
    // seconds later (Ctrl-C pressed again) exits without waiting for the clean stop.
    let firstSignalAt = 0;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        if (firstSignalAt === 0) {
          firstSignalAt = Date.now();
          void stop(sig).then(() => resolveExit(0));
        } else if (Date.now() - firstSignalAt > 2000) {
          warn(`${sig} again: exiting without waiting for the clean stop`);
          process.exit(130);
        }
      });
    }
    if (o.exitAfterAlert) {
      const started = Date.now();
      const check = setInterval(() => {
        if (sawFaultAlert && sawFaultIncident && faultRootCauseAt > 0) {
          clearInterval(check);
          say(`\nan alert, an incident and its root cause about ${timeline.fault?.root} are readable through the API ${Math.round((Date.now() - (faultAt?.getTime() ?? started)) / 1000)} s after the fault began`);
          void stop('--exit-after-alert').then(() => resolveExit(0));
        } else if (faultIncidentAt > 0 && faultRootCauseAt === 0 && Date.now() - faultIncidentAt > ROOT_CAUSE_WAIT_MS) {
          clearInterval(check);
          warn(`!! the incident about ${timeline.fault?.root} has no root cause naming it ${Math.round(ROOT_CAUSE_WAIT_MS / 1000)} s after it opened: the quickstart FAILED`);
          void stop('timeout').then(() => resolveExit(1));
        } else if (Date.now() - started > o.timeout) {
          clearInterval(check);
          warn(`!! no ${sawFaultAlert ? (sawFaultIncident ? 'root cause' : 'incident') : 'alert'} about ${timeline.fault?.root} within ${Math.round(o.timeout / 1000)} s: the quickstart FAILED`);
          void stop('timeout').then(() => resolveExit(1));
        }
      }, 1000);
    }
  });
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    warn(`npm start failed: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
