// Remote-write ingest: samples per second accepted AND stored by central's
// POST /api/v1/metrics/write (a real gateway, the metric routes, the SQLite file store, an API
// key with write scope: what central runs), side by side with Debian's Prometheus (remote-write
// receiver on) and VictoriaMetrics on this machine, on identical bodies.
//
// Shape: `--bodies` pre-encoded remote-write 1.0 bodies per round (snappy WriteRequest, each
// `--series` series x `--samples` samples, node-exporter/HTTP-like label sets), identical bytes
// to every target. `--concurrency` lanes post in parallel; each lane owns its series (its own
// label sets) and sends its bodies in time order, so no TSDB sees a series go back in time
// (Prometheus refuses that). Timestamps lie in the last hour (Prometheus accepts nothing older
// than an hour before its newest sample). Every round sends new timestamps to each target in
// turn, the order rotating per round; medians over rounds and their ratios are reported. At the
// end the samples each target STORED are counted back (central: its SQLite file; Prometheus and
// VictoriaMetrics: count_over_time queries) and must equal what was sent.
//
// Targets run as separate processes started fresh for the run (throw-away state under a temp
// folder): central in a child process of this script, the TSDBs through deploy/dev/*.sh. The
// client shares the 2 cores with them: the ratios are the figures to read. `--profile-central`
// then repeats one round against a profiled central (node --cpu-prof) and reports where its
// time goes (decode, label normalisation, SQLite, hashing, HTTP, GC).
//
// usage: npx tsx bench/remote-write-ingest.ts --help
import { spawnSync, fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, appendFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import snappy from 'snappy';
import { decodeRemoteWriteBody, decodeRemoteWriteColumns } from '../edge-agent/src/receivers/remotewrite/index.js';
import { registerMetricRoutes } from '../central/src/api/index.js';
import { createGateway } from '../central/src/gateway/index.js';
import { openSqliteStores } from '../central/src/storage/index.js';
import { encodeWriteRequest, prepareSeries } from '../central/src/tsdb/index.js';
import { mulberry32 } from '../simulators/replay/index.js';

const SELF = fileURLToPath(import.meta.url);
const REPO = fileURLToPath(new URL('..', import.meta.url));
const MiB = 1024 * 1024;

const { values: args } = parseArgs({
  options: {
    bodies: { type: 'string', default: '200' },
    series: { type: 'string', default: '1000' },
    samples: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '4' },
    groups: { type: 'string', default: '5' },
    'interval-ms': { type: 'string', default: '1000' },
    targets: { type: 'string', default: 'central,prometheus,victoria-metrics' },
    'prometheus-port': { type: 'string', default: '19097' },
    'vm-port': { type: 'string', default: '18431' },
    markdown: { type: 'string' },
    'profile-central': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    'serve-central': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const HELP = `usage: npx tsx bench/remote-write-ingest.ts [options]

Remote-write ingest, samples/s accepted and stored: central (POST /api/v1/metrics/write, SQLite)
vs Prometheus (--web.enable-remote-write-receiver) vs VictoriaMetrics, identical bodies.

  --bodies N           bodies per round (default 200)
  --series N           series per body (default 1000)
  --samples N          samples per series per body (default 100)
  --rounds N           rounds; each sends new timestamps to every target in turn (default 3, >= 1)
  --concurrency N      client lanes posting in parallel, each owning its series (default 4)
  --groups N           series groups per lane (bodies of a lane cycle through them; default 5)
  --interval-ms N      time between a series' samples (default 1000)
  --targets LIST       central,prometheus,victoria-metrics (default: all three)
  --prometheus-port N  loopback port of the benchmark's Prometheus (default 19097)
  --vm-port N          loopback port of the benchmark's VictoriaMetrics (default 18431)
  --markdown FILE      append the result section (command, machine, table) to FILE
  --profile-central    afterwards, one more round against central under --cpu-prof: where time goes
  --keep               keep the temp folder (databases, TSDB data, profiles)
  -h, --help           this text

All samples of a run must fit in Prometheus' one-hour window:
rounds x bodies / concurrency / groups x samples x interval-ms <= 50 min.
Progress goes to stderr; the report (markdown) to stdout.`;

const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

// -------------------------------------------------------------------------------------------
// The central child: gateway + metric routes + SQLite file store, as central runs them.

async function serveCentral(dir: string): Promise<void> {
  const stores = openSqliteStores(join(dir, 'central.db'), { now: () => Date.now() });
  const { token } = await stores.apiKeys.create({ name: 'bench', tenant: 'default', scopes: ['write'] }, Date.now());
  const devNull = pino.destination({ dest: '/dev/null', sync: false });
  const gateway = createGateway({
    // Central's api defaults except the per-key rate limit (50/s, burst 100), which would
    // throttle a bulk writer: raised so the store, not the limiter, is measured.
    config: { listen: { host: '127.0.0.1', port: 0 }, rateLimit: { ratePerSecond: 100_000, burst: 100_000 } },
    keys: stores.apiKeys,
    audit: stores.audit,
    logger: pino({ level: 'info', base: { svc: 'aiops-central' } }, devNull),
    registry: new Registry(),
    clock: { now: () => Date.now() },
  });
  registerMetricRoutes(gateway, { metrics: stores.metrics, maxRemoteWriteBytes: 16 * MiB, defaultTenant: 'default' });
  await gateway.start();
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'count') {
      const h = stores.db.handle;
      // Raw samples live in chunks (decision 019); `samples` holds rows of older databases only.
      const samples = h.prepare('SELECT (SELECT COALESCE(SUM(count), 0) FROM sample_chunks) + (SELECT COUNT(*) FROM samples)').pluck().get();
      process.send!({ samples, series: h.prepare('SELECT COUNT(*) FROM series').pluck().get() });
    } else if (m.cmd === 'stop') {
      void gateway.shutdown().then(async () => {
        await stores.close();
        process.exit(0);
      });
    }
  });
  process.send!({ port: gateway.address!.port, token, pid: process.pid });
}

// -------------------------------------------------------------------------------------------

interface Shape {
  bodies: number;
  series: number;
  samples: number;
  rounds: number;
  lanes: number;
  groups: number;
  intervalMs: number;
}

/** One host's 50 series: node-exporter CPU, network and filesystem families, an HTTP service. */
const HOST_TEMPLATE: Array<{ name: string; labels: Record<string, string>; kind: 'counter' | 'gauge'; scale: number }> = (() => {
  const out: Array<{ name: string; labels: Record<string, string>; kind: 'counter' | 'gauge'; scale: number }> = [];
  for (let cpu = 0; cpu < 4; cpu++) {
    for (const mode of ['idle', 'iowait', 'irq', 'nice', 'softirq', 'steal', 'system', 'user']) out.push({ name: 'node_cpu_seconds_total', labels: { cpu: String(cpu), mode }, kind: 'counter', scale: 0.01 });
  }
  for (const device of ['eth0', 'lo']) {
    for (const dir of ['receive', 'transmit']) out.push({ name: `node_network_${dir}_bytes_total`, labels: { device }, kind: 'counter', scale: 1 });
  }
  out.push({ name: 'node_memory_MemAvailable_bytes', labels: {}, kind: 'gauge', scale: 4096 });
  out.push({ name: 'node_load1', labels: {}, kind: 'gauge', scale: 0.01 });
  for (const mountpoint of ['/', '/var']) out.push({ name: 'node_filesystem_avail_bytes', labels: { device: mountpoint === '/' ? '/dev/vda1' : '/dev/vdb1', fstype: 'ext4', mountpoint }, kind: 'gauge', scale: 4096 });
  for (const handler of ['/api/v1/orders', '/api/v1/users', '/healthz']) {
    for (const code of ['200', '500']) out.push({ name: 'http_requests_total', labels: { handler, method: 'GET', code }, kind: 'counter', scale: 1 });
  }
  return out.slice(0, 50);
})();

interface SeriesState {
  labelBytes: Buffer;
  value: number;
  kind: 'counter' | 'gauge';
  scale: number;
}

/** Pre-encodes every body of every round: bodies[round][lane] = that lane's bodies in send order. */
function buildBodies(shape: Shape, runId: string, t0: number): { bodies: Buffer[][][]; bytes: number; samplesPerBody: number } {
  const rnd = mulberry32(42);
  const perLane = Math.ceil(shape.bodies / shape.lanes);
  const state: SeriesState[][][] = []; // [lane][group][series]
  for (let lane = 0; lane < shape.lanes; lane++) {
    state.push([]);
    for (let g = 0; g < shape.groups; g++) {
      const group: SeriesState[] = [];
      for (let i = 0; i < shape.series; i++) {
        const tpl = HOST_TEMPLATE[i % HOST_TEMPLATE.length]!;
        const host = Math.floor(i / HOST_TEMPLATE.length);
        const labels = {
          __name__: tpl.name,
          ...tpl.labels,
          instance: `10.${lane}.${g}.${host}:9100`,
          job: tpl.name.startsWith('http_') ? 'api' : 'node',
          env: 'prod',
          region: ['eu-west-1', 'us-east-1'][host % 2]!,
          bench_run: runId,
          bench_lane: String(lane),
          bench_group: String(g),
        };
        const p = prepareSeries(labels);
        if (typeof p === 'string') throw new Error(p);
        group.push({ labelBytes: p.labelBytes, value: Math.round(rnd() * 1e6) * tpl.scale, kind: tpl.kind, scale: tpl.scale });
      }
      state[lane]!.push(group);
    }
  }
  const blocksPerRound = Math.ceil(perLane / shape.groups);
  const bodies: Buffer[][][] = [];
  let bytes = 0;
  for (let round = 0; round < shape.rounds; round++) {
    const lanes: Buffer[][] = [];
    for (let lane = 0; lane < shape.lanes; lane++) {
      const list: Buffer[] = [];
      for (let k = 0; k < perLane && lane * perLane + k < shape.bodies; k++) {
        const g = k % shape.groups;
        const block = round * blocksPerRound + Math.floor(k / shape.groups);
        const tStart = t0 + block * shape.samples * shape.intervalMs;
        const series = state[lane]![g]!.map((s) => {
          const ts = new Array<number>(shape.samples);
          const values = new Array<number>(shape.samples);
          for (let j = 0; j < shape.samples; j++) {
            if (s.kind === 'counter') s.value += Math.round(rnd() * 100) * s.scale;
            else s.value = Math.max(0, s.value + Math.round((rnd() - 0.5) * 100) * s.scale);
            // Decimal values with few digits (what exporters produce): equal in every TSDB.
            ts[j] = tStart + j * shape.intervalMs;
            values[j] = Math.round(s.value * 100) / 100;
          }
          return { labelBytes: s.labelBytes, ts, values };
        });
        const body = snappy.compressSync(encodeWriteRequest(series));
        bytes += body.length;
        list.push(body);
      }
      lanes.push(list);
    }
    bodies.push(lanes);
  }
  return { bodies, bytes, samplesPerBody: shape.series * shape.samples };
}

// -------------------------------------------------------------------------------------------

type TargetName = 'central' | 'prometheus' | 'victoria-metrics';

interface Target {
  name: TargetName;
  url: string;
  headers: Record<string, string>;
  /** Server process ids (CPU accounting). */
  pids: () => number[];
  count: () => Promise<number>;
  stop: () => Promise<void>;
}

const RW_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };

function script(name: 'prometheus' | 'victoria-metrics', cmd: 'start' | 'stop', env: NodeJS.ProcessEnv): void {
  const res = spawnSync('bash', [join(REPO, 'deploy/dev', `${name}.sh`), cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
  if (res.status !== 0) throw new Error(`deploy/dev/${name}.sh ${cmd} failed (exit ${res.status})`);
}

function cpuTicks(pids: number[]): number {
  let t = 0;
  for (const pid of pids) {
    try {
      const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const rest = s.slice(s.lastIndexOf(')') + 2).split(' ');
      t += Number(rest[11]) + Number(rest[12]);
    } catch {
      // gone
    }
  }
  return t;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8').slice(0, 300) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function promCount(base: string, shape: Shape, runId: string): Promise<number> {
  // Per (lane, group): Prometheus refuses queries loading more than 50 M samples. Per metric
  // name: count_over_time drops __name__, and series differing only by name would collide.
  let total = 0;
  const names = [...new Set(HOST_TEMPLATE.map((t) => t.name))];
  for (let lane = 0; lane < shape.lanes; lane++) {
    for (let g = 0; g < shape.groups; g++) {
      const q = names.map((n) => `sum(count_over_time({__name__="${n}",bench_run="${runId}",bench_lane="${lane}",bench_group="${g}"}[4h]))`).join(' + ');
      const res = await fetch(`${base}/api/v1/query`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ query: q, time: String(Date.now() / 1000), nocache: '1' }).toString() });
      const j = (await res.json()) as { status: string; error?: string; data?: { result: Array<{ value: [number, string] }> } };
      if (j.status !== 'success') throw new Error(`${base}: count query failed: ${j.error}`);
      total += Number(j.data?.result[0]?.value[1] ?? 0);
    }
  }
  return total;
}

function childRequest<T>(child: ChildProcess, cmd: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send({ cmd });
  });
}

async function startCentral(dir: string, profileDir?: string): Promise<Target & { child: ChildProcess }> {
  mkdirSync(dir, { recursive: true });
  const execArgv = ['--import', 'tsx', ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const child = fork(SELF, ['--serve-central', dir], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; token: string; pid: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number; token: string; pid: number }));
    child.once('exit', (code) => reject(new Error(`central exited during start-up (${code})`)));
  });
  return {
    name: 'central',
    child,
    url: `http://127.0.0.1:${ready.port}/api/v1/metrics/write`,
    headers: { ...RW_HEADERS, authorization: `Bearer ${ready.token}` },
    pids: () => [ready.pid],
    count: async () => (await childRequest<{ samples: number }>(child, 'count')).samples,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'stop' });
      await exited;
    },
  };
}

function pidFrom(file: string): number[] {
  try {
    return [Number(readFileSync(file, 'utf8').trim())];
  } catch {
    return [];
  }
}

function startTsdb(name: 'prometheus' | 'victoria-metrics', devHome: string, port: number, shape: Shape, runId: string): Target {
  const env: NodeJS.ProcessEnv =
    name === 'prometheus'
      ? { AIOPS_DEV_HOME: devHome, PROMETHEUS_PORT: String(port), PROMETHEUS_REMOTE_WRITE_RECEIVER: '1', PROMETHEUS_REMOTE_WRITE_URL: '', PROMETHEUS_SCRAPE_INTERVAL: '15s' }
      : { AIOPS_DEV_HOME: devHome, VICTORIA_METRICS_PORT: String(port) };
  script(name, 'start', env);
  const base = `http://127.0.0.1:${port}`;
  const pidFile = join(devHome, `${name}-${port}`, `${name}.pid`);
  return {
    name,
    url: `${base}/api/v1/write`,
    headers: RW_HEADERS,
    pids: () => pidFrom(pidFile),
    count: async () => {
      if (name === 'victoria-metrics') await fetch(`${base}/internal/force_flush`);
      return promCount(base, shape, runId);
    },
    stop: async () => script(name, 'stop', env),
  };
}

interface RoundResult {
  target: TargetName;
  round: number;
  samples: number;
  seconds: number;
  rate: number;
  errors: number;
  firstError: string;
  serverCpuSeconds: number;
}

async function sendRound(target: Target, lanes: Buffer[][], samplesPerBody: number, round: number): Promise<RoundResult> {
  let errors = 0;
  let firstError = '';
  let ok = 0;
  const c0 = cpuTicks(target.pids());
  const t0 = performance.now();
  await Promise.all(
    lanes.map(async (list) => {
      for (const body of list) {
        const r = await post(target.url, target.headers, body);
        if (r.status >= 200 && r.status < 300) ok++;
        else {
          errors++;
          firstError ||= `HTTP ${r.status}: ${r.text}`;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuSeconds = (cpuTicks(target.pids()) - c0) / 100;
  const samples = ok * samplesPerBody;
  return { target: target.name, round, samples, seconds, rate: samples / seconds, errors, firstError, serverCpuSeconds };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// -------------------------------------------------------------------------------------------
// Profile: self time of a .cpuprofile by category.

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

/** Store functions that are JS work; the rest of metric-store.ts are the statement loops. */
const STORE_JS = new Set(['writeSamples', 'writeSeries', 'storeGroups', 'sortedGroup', 'isColumn', 'seriesOf', 'get', 'set', 'checkTs', 'checkBatch', 'checkBatchId', 'checkValue', 'isPlainObject', 'ensureOpen']);

function categorise(fn: string, url: string): string {
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'GC';
  if (url.includes('remotewrite/') || url.includes('protobufjs') || url.includes('otlp/convert')) return 'decode (snappy + protobuf)';
  // The route's snappy call (native addon): its time is counted in the JS function calling it.
  if (url.includes('api/metrics') && fn === 'nativeUncompress') return 'decode (snappy + protobuf)';
  if (url.includes('storage/chunk-codec')) return 'chunk encoding (storage/chunk-codec.ts)';
  if (url.includes('storage/labels')) return 'label normalisation (storage/labels.ts)';
  // better-sqlite3's statement calls are C++ functions: the profiler counts their time (SQLite's
  // B-tree and WAL work) in the JS function calling them, i.e. the store's insert loops.
  if (url.includes('storage/metric-store') && STORE_JS.has(fn)) return 'metric store JS (validation, series cache)';
  if (url.includes('storage/metric-store') || url.includes('storage/sample-chunks') || url.includes('better-sqlite3') || url.includes('storage/database')) return 'SQLite: inserts, series lookups, commits (native time counted in the calling loop)';
  if (fn === 'digest' || fn === 'update' || url.includes('node:internal/crypto')) return 'SHA-256 of the body (batch id)';
  if (url.includes('api/metrics')) return 'route (columns per series, parts of 50,000 samples)';
  if (url.includes('fastify') || url.includes('gateway/') || url.includes('node:_http') || url.includes('node:net') || url.includes('node:internal/stream') || url.includes('light-my-request') || url.includes('avvio') || url.includes('find-my-way')) return 'HTTP + gateway';
  if (url.includes('pino') || url.includes('sonic-boom')) return 'logging';
  if (url.includes('node:internal/modules') || url.includes('source_map') || url.includes('tsx') || url.includes('esbuild')) return 'process start-up (module loading)';
  if (fn === '(program)') return 'V8/native other';
  return 'other';
}

/**
 * The route's steps timed one by one in this process on `list` (what central does per body):
 * decode, one object per sample + SHA-256, writeSamples into a fresh file store; and, as the
 * floor of the same schema, the same rows as bare single-row and 100-row INSERTs.
 */
async function breakdown(list: Buffer[], dir: string): Promise<Array<[string, number, number]>> {
  const limits = { maxRequestBytes: 16 * MiB, maxSeries: 1_000_000, maxSamples: 1_000_000, maxLabelsPerSeries: 64, maxLabelNameBytes: 128, maxLabelValueBytes: 2048, maxMetadata: 10_000 };
  const out: Array<[string, number, number]> = [];
  let t = performance.now();
  // What the route does since decision 019: native snappy, samples as columns per series.
  const native = (b: Uint8Array) => snappy.uncompressSync(b as Buffer, { asBuffer: true }) as Buffer;
  const columns = list.map((b) => decodeRemoteWriteColumns(b, limits, { uncompress: native }));
  const n = columns.reduce((a, d) => a + d.samples, 0);
  const time = (label: string) => {
    const ms = performance.now() - t;
    out.push([label, (ms / n) * 1e6, n / (ms / 1000)]);
    t = performance.now();
  };
  time('decode: native snappy + protobuf walk to columns (decodeRemoteWriteColumns)');
  const hashes = list.map((b) => createHash('sha256').update(b).digest('base64url'));
  time('route: SHA-256 of the body');
  const stores = openSqliteStores(join(dir, 'breakdown.db'), { now: () => Date.now() });
  t = performance.now();
  for (let k = 0; k < columns.length; k++) {
    const series = columns[k]!.series;
    // The route's parts of 50,000 samples (500 series of 100 here).
    for (let i = 0; i < series.length; i += 500) await stores.metrics.writeSeries(series.slice(i, i + 500), `rw/default/${hashes[k]}/${i / 500}`);
  }
  time('store: writeSeries (validation, labels, series ids, chunk encoding, chunk INSERTs, batch id, commit)');
  await stores.close();
  const decoded = list.map((b) => decodeRemoteWriteBody(b, limits));
  for (const rowsPerStatement of [1, 100]) {
    const bare = openSqliteStores(join(dir, `bare-${rowsPerStatement}.db`), { now: () => Date.now() });
    const h = bare.db.handle;
    const ids = new Map<object, number>();
    const byKey = new Map<string, number>();
    const insSeries = h.prepare('INSERT INTO series (key, name, created_ms) VALUES (?, ?, ?)');
    for (const d of decoded) {
      for (const s of d.series) {
        const key = JSON.stringify(s.labels);
        let id = byKey.get(key);
        if (id === undefined) {
          id = Number(insSeries.run(key, s.labels['__name__'] ?? '', 0).lastInsertRowid);
          byKey.set(key, id);
        }
        ids.set(s.labels, id);
      }
    }
    const one = h.prepare('INSERT INTO samples (series_id, ts, value) VALUES (?, ?, ?)');
    const many = h.prepare(`INSERT INTO samples (series_id, ts, value) VALUES ${Array.from({ length: rowsPerStatement }, () => '(?, ?, ?)').join(', ')}`);
    const params = new Array<number>(rowsPerStatement * 3);
    t = performance.now();
    for (const d of decoded) {
      h.transaction(() => {
        for (const s of d.series) {
          const id = ids.get(s.labels)!;
          let k = 0;
          for (const p of s.samples) {
            if (rowsPerStatement === 1) {
              one.run(id, p.tsMs, p.value);
              continue;
            }
            params[k++] = id;
            params[k++] = p.tsMs;
            params[k++] = p.value;
            if (k === params.length) {
              many.run(params);
              k = 0;
            }
          }
          for (let j = 0; j < k; j += 3) one.run(params[j], params[j + 1], params[j + 2]);
        }
      }).immediate();
    }
    time(rowsPerStatement === 1 ? 'before decision 019, floor: bare single-row INSERTs into `samples` (row per sample, WAL)' : 'before decision 019, floor: bare 100-row INSERTs into `samples`');
    await bare.close();
  }
  return out;
}

function analyseProfile(dir: string): Array<[string, number]> {
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir}`);
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]!);
    if (!n) continue;
    const cat = categorise(n.callFrame.functionName, n.callFrame.url);
    self.set(cat, (self.get(cat) ?? 0) + (p.timeDeltas[i] ?? 0) / 1e6);
  }
  return [...self.entries()].sort((a, b) => b[1] - a[1]);
}

// -------------------------------------------------------------------------------------------

function machineFacts(): string {
  const cpus = os.cpus();
  const pkg = (name: string) => spawnSync('dpkg-query', ['-W', '-f=${Version}', name], { encoding: 'utf8' }).stdout.trim() || 'not installed';
  return `node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 1024 ** 3)} GB RAM, ${os.type()} ${os.release()}; prometheus ${pkg('prometheus')}, victoria-metrics ${pkg('victoria-metrics')}; load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

async function main(): Promise<void> {
  if (args.help) {
    console.log(HELP);
    return;
  }
  if (args['serve-central'] !== undefined) {
    await serveCentral(args['serve-central']);
    return;
  }
  const int = (k: keyof typeof args, min: number) => {
    const v = Number(args[k]);
    if (!Number.isSafeInteger(v) || v < min) throw new Error(`--${k} must be an integer >= ${min} (got ${String(args[k])})`);
    return v;
  };
  const shape: Shape = { bodies: int('bodies', 1), series: int('series', 1), samples: int('samples', 1), rounds: int('rounds', 1), lanes: int('concurrency', 1), groups: int('groups', 1), intervalMs: int('interval-ms', 1) };
  const names = String(args.targets).split(',').map((s) => s.trim()) as TargetName[];
  for (const n of names) if (!['central', 'prometheus', 'victoria-metrics'].includes(n)) throw new Error(`unknown target ${n}`);
  const perLane = Math.ceil(shape.bodies / shape.lanes);
  const spanMs = shape.rounds * Math.ceil(perLane / shape.groups) * shape.samples * shape.intervalMs;
  if (spanMs > 50 * 60_000) throw new Error(`the run spans ${Math.round(spanMs / 60_000)} min of sample time; Prometheus accepts one hour: lower --rounds/--bodies/--samples/--interval-ms or raise --groups`);
  const facts = machineFacts();
  const runId = createHash('sha256').update(String(Date.now())).digest('hex').slice(0, 8);
  const t0 = Math.floor((Date.now() - 55 * 60_000) / 1000) * 1000;

  log(`encoding ${shape.rounds} x ${shape.bodies} bodies of ${shape.series} series x ${shape.samples} samples...`);
  const enc0 = performance.now();
  const { bodies, bytes, samplesPerBody } = buildBodies(shape, runId, t0);
  const totalBodies = bodies.reduce((a, r) => a + r.reduce((b, l) => b + l.length, 0), 0);
  log(`encoded ${totalBodies} bodies, ${(bytes / MiB).toFixed(0)} MiB (${(bytes / totalBodies / 1024).toFixed(0)} KiB per body, ${(bytes / (totalBodies * samplesPerBody)).toFixed(2)} bytes per sample) in ${((performance.now() - enc0) / 1000).toFixed(1)} s`);

  const tmp = mkdtempSync(join(os.tmpdir(), 'aiops-rw-bench-'));
  const devHome = join(tmp, 'dev');
  const targets: Target[] = [];
  const results: RoundResult[] = [];
  const stored = new Map<TargetName, number>();
  let profile: Array<[string, number]> | undefined;
  let profiled: RoundResult | undefined;
  let steps: Array<[string, number, number]> | undefined;
  try {
    for (const n of names) {
      log(`starting ${n}`);
      if (n === 'central') targets.push(await startCentral(join(tmp, 'central')));
      else targets.push(startTsdb(n, devHome, Number(n === 'prometheus' ? args['prometheus-port'] : args['vm-port']), shape, runId));
    }
    for (let round = 0; round < shape.rounds; round++) {
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const target of order) {
        const r = await sendRound(target, bodies[round]!, samplesPerBody, round);
        results.push(r);
        log(`round ${round + 1}/${shape.rounds} ${target.name}: ${fmt(r.rate)} samples/s (${fmt(r.samples)} in ${r.seconds.toFixed(1)} s, server CPU ${r.serverCpuSeconds.toFixed(1)} s${r.errors ? `, ${r.errors} errors, first: ${r.firstError}` : ''})`);
      }
    }
    log('counting stored samples');
    for (const t of targets) stored.set(t.name, await t.count());
    if (args['profile-central'] && names.includes('central')) {
      const profDir = join(tmp, 'profile');
      mkdirSync(profDir, { recursive: true });
      log('profiling central on round 1 bodies (fresh store, --cpu-prof)');
      const c = await startCentral(join(tmp, 'central-profiled'), profDir);
      profiled = await sendRound(c, bodies[0]!, samplesPerBody, 0);
      log(`profiled central: ${fmt(profiled.rate)} samples/s`);
      await c.stop();
      profile = analyseProfile(profDir);
      log('timing the route steps in-process on 20 bodies');
      steps = await breakdown(bodies[0]!.flat().slice(0, 20), tmp).catch((e: unknown) => {
        log(`step timing failed: ${(e as Error).message}`);
        return undefined;
      });
    }
  } finally {
    for (const t of targets) await t.stop().catch((e: unknown) => log(`stopping ${t.name}: ${(e as Error).message}`));
    agent.destroy();
    if (args.keep) log(`kept ${tmp}`);
    else rmSync(tmp, { recursive: true, force: true });
  }

  // ----------------------------------------------------------------------------- report
  const sent = totalBodies * samplesPerBody;
  const med = new Map(names.map((n) => [n, median(results.filter((r) => r.target === n).map((r) => r.rate))]));
  const lines: string[] = [];
  lines.push(`## Remote-write ingest: central vs Prometheus vs VictoriaMetrics (decision 017)`);
  lines.push('');
  lines.push(`Command: \`npx tsx bench/remote-write-ingest.ts ${process.argv.slice(2).join(' ')}\`${process.argv.length <= 2 ? ' (the defaults)' : ''}`);
  lines.push('');
  lines.push(`Shape: ${shape.rounds} rounds x ${totalBodies / shape.rounds} bodies of ${shape.series} series x ${shape.samples} samples (${fmt(samplesPerBody)} samples, ${(bytes / totalBodies / 1024).toFixed(0)} KiB snappy per body, ${(bytes / (totalBodies * samplesPerBody)).toFixed(2)} bytes/sample); ${shape.lanes} client lanes in parallel, ${shape.lanes * shape.groups * shape.series} series in all. Machine: ${facts}.`);
  lines.push('');
  lines.push('| target | median samples/s | per round | server CPU s per 1M samples (median) | stored / sent | errors |');
  lines.push('|---|---|---|---|---|---|');
  for (const n of names) {
    const rs = results.filter((r) => r.target === n);
    const cpu = median(rs.map((r) => (r.serverCpuSeconds / Math.max(1, r.samples)) * 1e6));
    lines.push(`| ${n} | **${fmt(med.get(n)!)}** | ${rs.map((r) => fmt(r.rate)).join(', ')} | ${cpu.toFixed(2)} | ${fmt(stored.get(n) ?? 0)} / ${fmt(sent)} | ${rs.reduce((a, r) => a + r.errors, 0)}${rs.find((r) => r.errors)?.firstError ? ` (${rs.find((r) => r.errors)!.firstError})` : ''} |`);
  }
  lines.push('');
  const c = med.get('central');
  const ratio = (other: TargetName, target: number) => {
    const o = med.get(other);
    if (c === undefined || o === undefined) return undefined;
    return `central / ${other} = **${(c / o).toFixed(2)}** (target >= ${target.toFixed(1)}: ${c / o >= target ? 'met' : 'missed'})`;
  };
  const ratios = [ratio('prometheus', 1), ratio('victoria-metrics', 0.5)].filter((x) => x !== undefined);
  if (ratios.length > 0) lines.push(`Ratios of the medians: ${ratios.join('; ')}.`);
  if (profile && profiled) {
    const busy = profile.filter(([k]) => k !== 'idle').reduce((a, [, v]) => a + v, 0);
    lines.push('');
    lines.push(`Where central's time goes (one more round under \`--cpu-prof\`, fresh store: ${fmt(profiled.rate)} samples/s profiled; self time, ${busy.toFixed(1)} s busy):`);
    lines.push('');
    lines.push('| category | self time s | share of busy |');
    lines.push('|---|---|---|');
    for (const [k, v] of profile) if (k !== 'idle') lines.push(`| ${k} | ${v.toFixed(2)} | ${((v / busy) * 100).toFixed(1)}% |`);
  }
  if (steps) {
    lines.push('');
    lines.push(`The route's steps timed one by one in one process (20 bodies, ${fmt(20 * samplesPerBody)} samples, fresh file stores):`);
    lines.push('');
    lines.push('| step | ms per 1M samples | samples/s alone |');
    lines.push('|---|---|---|');
    for (const [k, ms, rate] of steps) lines.push(`| ${k} | ${fmt(ms)} | ${fmt(rate)} |`);
  }
  const report = lines.join('\n');
  console.log(report);
  if (args.markdown) appendFileSync(args.markdown, `\n${report}\n`);
}

main().catch((err: unknown) => {
  log(`FAILED: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
