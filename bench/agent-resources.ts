// Agent CPU and memory at 1,000 and 10,000 active series collected every second, Tier-1 on,
// side by side with Netdata (Debian package) collecting the same number of series at the same
// interval, in one run. The agent is the single executable (dist/aiops-agent) scraping a
// synthetic Prometheus target and sending feature frames over MQTT to an in-process broker;
// Netdata gets the same number of series through its statsd plugin (gauges, one chart each) on
// top of its own host collectors. Only the agent's and Netdata's own processes are measured.
//
//   npx tsx bench/agent-resources.ts [--series 1000,10000] [--seconds 60] [--warmup 330] [--precision-bits N] [--json out.json]
//
// The default warm-up (330 s) is longer than Tier-1's 300-sample warm-up at 1 s, so the agent
// is measured in its steady state: every series scored, bands and scores in every row.
//
// Needs: gcc-free; netdata-core (deploy/dev/netdata.sh installs it). Linux /proc.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Aedes } from 'aedes';
import { measure } from './lib/proc-usage.js';
import { remoteWriteBytes } from './lib/remote-write.js';
import type { Usage } from './lib/proc-usage.js';

const { values: args } = parseArgs({
  options: {
    series: { type: 'string', default: '1000,10000' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '330' },
    'netdata-warmup': { type: 'string', default: '30' },
    'precision-bits': { type: 'string' },
    json: { type: 'string' },
    'skip-netdata': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (args.help) {
  console.log('usage: npx tsx bench/agent-resources.ts [--series 1000,10000] [--seconds 60] [--warmup 330] [--netdata-warmup 30] [--precision-bits 8..24] [--skip-netdata] [--json file]');
  process.exit(0);
}
const SERIES = args.series!.split(',').map(Number);
const STATUS_PORT = 19466;
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const NETDATA_WARMUP = Number(args['netdata-warmup']);
const root = new URL('..', import.meta.url).pathname;
const say = (s: string): void => void process.stderr.write(`[agent-resources] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------- a synthetic Prometheus target: N gauges, values move every second ----------
/** The target's values: a random walk per series with rare jumps, three decimals (as exposed). */
export function valueStepper(n: number): () => Float64Array {
  const values = new Float64Array(n).map((_, i) => 50 + (i % 17));
  let rnd = 12345;
  const next = () => ((rnd = (rnd * 1103515245 + 12345) % 2147483648) / 2147483648);
  return () => {
    for (let i = 0; i < n; i++) values[i] = Math.round(Math.max(0, values[i]! + (next() - 0.5) * 2 + (next() < 0.0002 ? 40 : 0)) * 1000) / 1000;
    return values;
  };
}

function startTarget(n: number): Promise<{ server: Server; port: number }> {
  const step = valueStepper(n);
  let values = step();
  const timer = setInterval(() => {
    values = step();
  }, 1000);
  timer.unref();
  const names = Array.from({ length: n }, (_, i) => `bench_value{series="s${i}",group="g${i % 50}"}`);
  const server = createServer((_req, res) => {
    const lines = ['# TYPE bench_value gauge'];
    for (let i = 0; i < n; i++) lines.push(`${names[i]} ${values[i]!.toFixed(3)}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port })));
}

// ---------- "central": an MQTT broker that acknowledges (PUBACK) every frame ----------
async function startBroker(): Promise<{ broker: Aedes; server: NetServer; port: number; frames: () => number; bytes: () => number }> {
  const broker = await Aedes.createBroker();
  let frames = 0;
  let bytes = 0;
  broker.on('publish', (packet, client) => {
    if (client && packet.topic.endsWith('/features')) {
      frames++;
      bytes += packet.payload.length;
    }
  });
  const server = createNetServer(broker.handle as (s: import('node:net').Socket) => void);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { broker, server, port: (server.address() as AddressInfo).port, frames: () => frames, bytes: () => bytes };
}

async function agentCounter(name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${STATUS_PORT}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

interface AgentRun extends Usage {
  series: number;
  /** Feature-frame payload bytes the broker received per raw sample the agent scraped. */
  wireBytesPerSample: number;
}

async function runAgent(n: number, targetPort: number, brokerPort: number, frames: () => number, bytes: () => number): Promise<AgentRun> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-bench-'));
  const cfg = join(dir, 'agent.yaml');
  writeFileSync(
    cfg,
    `agent: { id: bench-agent, tenant: bench, data_dir: ${JSON.stringify(join(dir, 'data'))} }
telemetry: { listen: "127.0.0.1:${STATUS_PORT}", log_level: warn }
features: { window: 10s, max_series: ${n * 2 + 1000}${args['precision-bits'] ? `, precision_bits: ${Number(args['precision-bits'])}` : ''} }
receivers:
  prometheus/bench: { targets: ["127.0.0.1:${targetPort}"], interval: 1s, timeout: 900ms, max_samples: ${n * 2 + 1000} }
processors:
  normalize: { max_series: ${n * 2 + 1000}, max_series_per_metric: ${n * 2 + 1000} }
  enrich: { host_labels: [host] }
  tier1: { max_series: ${n * 2 + 1000} }
exporters:
  mqtt: { url: "mqtt://127.0.0.1:${brokerPort}" }
pipelines:
  metrics: { receivers: [prometheus/bench], processors: [normalize, enrich, tier1], exporters: [mqtt] }
`,
  );
  const child: ChildProcess = spawn(join(root, 'dist', 'aiops-agent'), ['--config', cfg], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const f0 = frames();
    const until = Date.now() + 60_000;
    while (frames() === f0) {
      if (Date.now() > until || child.exitCode !== null) throw new Error('the agent sent no frame within 60 s');
      await sleep(200);
    }
    say(`agent ${n} series: frames flowing; warming up ${WARMUP} s`);
    await sleep(WARMUP * 1000);
    say(`agent ${n} series: measuring ${SECONDS} s`);
    const b0 = bytes();
    const s0 = await agentCounter('aiops_agent_prometheus_samples_scraped_total');
    const u = await measure(child.pid!, SECONDS);
    const b1 = bytes();
    const s1 = await agentCounter('aiops_agent_prometheus_samples_scraped_total');
    return { ...u, series: n, wireBytesPerSample: (b1 - b0) / Math.max(1, s1 - s0) };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runNetdata(n: number): Promise<Usage & { series: number }> {
  const env = { ...process.env, NETDATA_PORT: '19999', NETDATA_STATSD_PORT: '18125', NETDATA_UPDATE_EVERY: '1' };
  const started = spawnSync('bash', [join(root, 'deploy/dev/netdata.sh'), 'start'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  if (started.status !== 0) throw new Error('netdata did not start');
  const sock = createSocket('udp4');
  const send = (): void => {
    let packet = '';
    for (let i = 0; i < n; i++) {
      const line = `bench.s${i}:${(50 + Math.random() * 10).toFixed(3)}|g\n`;
      if (packet.length + line.length > 1400) {
        sock.send(packet, 18125, '127.0.0.1');
        packet = '';
      }
      packet += line;
    }
    if (packet) sock.send(packet, 18125, '127.0.0.1');
  };
  const timer = setInterval(send, 1000);
  try {
    const pid = Number(spawnSync('bash', ['-c', 'cat "${AIOPS_DEV_HOME:-$HOME/.cache/aiops-dev}/netdata/netdata.pid"']).stdout.toString().trim());
    say(`netdata ${n} statsd series: warming up ${NETDATA_WARMUP} s`);
    await sleep(NETDATA_WARMUP * 1000);
    say(`netdata ${n} statsd series: measuring ${SECONDS} s`);
    const u = await measure(pid, SECONDS);
    const charts = (await (await fetch('http://127.0.0.1:19999/api/v1/charts')).json()) as { charts: Record<string, { dimensions: Record<string, unknown> }> };
    const dims = Object.values(charts.charts).reduce((a, c) => a + Object.keys(c.dimensions).length, 0);
    return { ...u, series: dims };
  } finally {
    clearInterval(timer);
    sock.close();
    spawnSync('bash', [join(root, 'deploy/dev/netdata.sh'), 'stop'], { env, stdio: 'inherit' });
  }
}

if (!existsSync(join(root, 'dist', 'aiops-agent'))) {
  say('building dist/aiops-agent');
  const b = spawnSync('npm', ['run', 'build:agent'], { cwd: root, stdio: 'inherit' });
  if (b.status !== 0) process.exit(1);
}
const broker = await startBroker();
const rows: Array<{ system: string; configured: number; wireBytesPerSample?: number } & Usage & { series: number }> = [];
for (const n of SERIES) {
  const target = await startTarget(n);
  rows.push({ system: 'aiops-agent', configured: n, ...(await runAgent(n, target.port, broker.port, broker.frames, broker.bytes)) });
  target.server.close();
  if (!args['skip-netdata']) rows.push({ system: 'netdata', configured: n, ...(await runNetdata(n)) });
}
broker.server.close();
await broker.broker.close();

console.log(`Agent vs Netdata, series collected every 1 s, ${SECONDS} s measured after ${WARMUP} s (agent) / ${NETDATA_WARMUP} s (Netdata) warm-up, precision_bits ${args['precision-bits'] ?? 'default (15)'} (node ${process.version})`);
console.log('');
console.log('| system | series asked | series collected | CPU % of one core | CPU % per 1,000 series | RSS median MB | RSS max MB |');
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.system} | ${r.configured} | ${r.series} | ${r.cpuPercent.toFixed(1)} | ${(r.cpuPercent / (r.series / 1000)).toFixed(2)} | ${r.rssMedianMb.toFixed(0)} | ${r.rssMaxMb.toFixed(0)} |`);
}
console.log('');
console.log('Bytes on the wire per raw sample observed at the edge: the agent (feature frames over MQTT, payload bytes the broker received,');
console.log('over the measured interval) against the same series and sample rate encoded as Prometheus remote-write 1.0 (protobuf + snappy).');
console.log('');
console.log('| series | agent bytes/sample | remote-write bytes/sample (max_samples_per_send 2000) | (500) | ratio (2000) |');
console.log('|---|---|---|---|---|');
for (const r of rows.filter((x) => x.system === 'aiops-agent')) {
  const n = r.configured;
  const labels = Array.from({ length: n }, (_, i) => ({
    labels: [
      { name: '__name__', value: 'bench_value' },
      { name: 'group', value: `g${i % 50}` },
      { name: 'instance', value: '127.0.0.1:9100' },
      { name: 'job', value: 'prometheus/bench' },
      { name: 'series', value: `s${i}` },
    ],
  }));
  const rw = (per: number) => {
    const step = valueStepper(n);
    const out = remoteWriteBytes(labels, 60, () => step(), per, Date.UTC(2026, 0, 1));
    return out.bytes / out.samples;
  };
  const a = rw(2000);
  const b = rw(500);
  console.log(`| ${n} | ${r.wireBytesPerSample!.toFixed(2)} | ${a.toFixed(2)} | ${b.toFixed(2)} | ${(a / r.wireBytesPerSample!).toFixed(1)}x fewer |`);
}
if (args.json) writeFileSync(args.json, JSON.stringify(rows, null, 2));
process.exit(0);
