// Central ingest end to end: virtual agents -> MQTT -> central -> SQLite, and the delay from a
// Tier-1 flag leaving an agent to its alert being readable through the API.
//
// 1. A fresh data dir: N agents (and one probe agent) enrolled and a read API key created
//    directly in central's SQLite database BEFORE central starts (storage/openSqliteStores).
// 2. Central runs as a CHILD process (`node --import tsx central/src/cli/central-cli.ts`, one
//    process, so its pid is central's), loopback ports, log_level warn; ready = GET /readyz 200.
// 3. The virtual agents (simulators/agents, one MQTT connection per agent, its own enrolled
//    secret) run in a second child process (default) or in this one (--agents-process inline)
//    at count x series x rate series-windows/s for --duration. A frame counts when its PUBACK
//    arrives: central's embedded broker sends PUBACK only once the frame is stored (and has
//    passed detection). Acks are bucketed per second of arrival, then per 10 s interval.
// 4. A probe agent (own connection and secret, in this process) starts a new series every
//    --probe-interval: X frames whose single row carries Tier-1 flags (ANOMALY | BAND_BREACH |
//    LEVEL_SHIFT), sent back to back; from frame X, which completes the X-of-Y condition,
//    GET /api/v1/alerts?label=probe=<name> is polled (a new request 50 ms after the previous
//    one started, or as soon as it answered if that took longer). Delay = arrival of the first
//    answer listing the alert - the moment frame X was handed to the socket. Nothing is
//    subtracted: the delay includes up to one poll period. Probes start on a fixed schedule
//    after the warm-up and overlap when central is slow (at most 60 probe frames unacknowledged,
//    below central's per-connection limit of 64); the probe's connection has keepalive off, so
//    a saturated central delays it instead of ending it. A probe whose alert is not readable
//    within --probe-timeout counts as missed. The warm-up (every agent's first frame defines its
//    series: central creates agents x series of them) is reported apart.
// 5. Central's RSS (VmRSS) and CPU are sampled every 10 s from /proc, with its own count of
//    stored rows (GET /metrics, aiops_central_frame_rows_accepted_total).
// 6. Verification: /metrics counters, GET /api/v1/metrics/features for one agent, and, once
//    central has stopped, the feature rows in its database (log, chunks and legacy rows; all, and that agent's).
// 7. A results table on stdout; --write-results puts it in bench/RESULTS.md (its own section,
//    keeping the hand-written analysis between the section's analysis markers).
//
//   npx tsx bench/central-ingest.ts --help
import { replaceResultsSection } from './lib/results.js';
import { fork, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import Database from 'better-sqlite3';
import { encodeFrame, FeatureFlags, SeriesDictionaryEncoder } from '../shared-schemas/src/index.js';
import type { FeatureRow } from '../shared-schemas/src/index.js';
import { openSqliteStores } from '../central/src/storage/index.js';
import { agentIdOf, credentialsFromMap, loadCredentialsFile, parseDurationMs, runVirtualAgents } from '../simulators/agents/index.js';
import type { ProgressSnapshot, VirtualAgentsOptions, VirtualAgentsSummary } from '../simulators/agents/index.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SECTION_TITLE = '## Central ingest: virtual agents -> MQTT -> central';
const ANALYSIS_BEGIN = '<!-- central-ingest:analysis -->';
const ANALYSIS_END = '<!-- /central-ingest:analysis -->';
const TARGET_RATE = 200_000;
const TARGET_P99_MS = 1000;
const SLO_MS = 5000;
const TICKS = 100; // USER_HZ
/** Probe frames unacknowledged at once: below central's mqtt.max_in_flight_per_agent (64). */
const PROBE_MAX_FRAMES_IN_FLIGHT = 60;
/** Probes at once (a bound on memory and on concurrent polls; frames are bounded separately). */
const PROBE_CONCURRENCY = 100;

const HELP = `Central ingest benchmark: virtual agents -> MQTT -> central (child process) -> SQLite.

usage: npx tsx bench/central-ingest.ts [options]

Load
  --agents <n>             virtual agents, one MQTT connection and enrolled secret each (1000)
  --series <m>             series per agent, rows per frame (200)
  --rate <r>               windows (frames) per second per agent (1); offered = agents x series x rate
  --window <time>          simulated window length (default 1000/rate ms: simulated time = real time)
  --duration <time>        send phase (5m)
  --codec <name>           frame codec (brotli); --brotli-quality <q> (5)
  --max-in-flight <n>      unacknowledged frames per agent (8)
  --agents-process <where> child (a second process, default) or inline (this process)
Probe
  --probe-interval <time>  a new probe series this often (3s)
  --warmup <time>          the first part of the send phase, reported apart: every agent's first frame
                           defines its series and central creates them all (200,000 at the defaults) (30s)
  --probe-start <time>     first probe after this much of the send phase (30s, the warm-up)
  --probe-poll <time>      alert poll period (50ms)
  --probe-timeout <time>   a probe whose alert is not readable by then counts as missed (120s)
Central
  --detection-x <n> --detection-y <n>   the X-of-Y rule written to central's config (3, 5)
  --detection-max-series <n>            detection.max_series (default agents x series + 10,000)
  --compact-interval <time> storage.compact_interval (rollups and retention; central's default 1m)
  --bus <kind>             in-process (default: one central process, role all) or kafka: central runs
                           roles ingest and api, --detect-processes processes run role detect, joined
                           by a private Kafka broker (deploy/dev/kafka.sh, 6 partitions, own state dir)
  --detect-processes <n>   detect processes with --bus kafka (1)
  --cpu-prof               run central with --cpu-prof (profile written to the data dir at exit)
  --keep                   keep the data dir (database, central log, profile)
Output
  --json <file>            everything measured, as JSON
  --write-results          append or replace the "${SECTION_TITLE.slice(3)}" section of bench/RESULTS.md
                           (text between ${ANALYSIS_BEGIN} and ${ANALYSIS_END} in it is kept)
  -h, --help

Progress goes to stderr, the results table to stdout.`;

const { values: args } = parseArgs({
  options: {
    role: { type: 'string', default: 'bench' },
    agents: { type: 'string', default: '1000' },
    series: { type: 'string', default: '200' },
    rate: { type: 'string', default: '1' },
    window: { type: 'string' },
    duration: { type: 'string', default: '5m' },
    codec: { type: 'string', default: 'brotli' },
    'brotli-quality': { type: 'string', default: '5' },
    'max-in-flight': { type: 'string', default: '8' },
    'agents-process': { type: 'string', default: 'child' },
    'probe-interval': { type: 'string', default: '3s' },
    'probe-start': { type: 'string', default: '30s' },
    warmup: { type: 'string', default: '30s' },
    'probe-poll': { type: 'string', default: '50ms' },
    'probe-timeout': { type: 'string', default: '120s' },
    'detection-x': { type: 'string', default: '3' },
    'detection-y': { type: 'string', default: '5' },
    'detection-max-series': { type: 'string' },
    'compact-interval': { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    bus: { type: 'string', default: 'in-process' },
    'detect-processes': { type: 'string', default: '1' },
    keep: { type: 'boolean', default: false },
    json: { type: 'string' },
    'write-results': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

// ------------------------------------------------------------------------------ small helpers

const say = (s: string): void => void process.stderr.write(`[central-ingest] ${s}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const n0 = (x: number): string => (Number.isNaN(x) ? '-' : nf.format(x));
const f1 = (x: number): string => x.toFixed(1);
const msf = (x: number): string => (Number.isNaN(x) ? '-' : x === Number.POSITIVE_INFINITY ? 'no answer' : x >= 100 ? n0(x) : x.toFixed(1));

function intArg(name: string, min: number, max: number): number {
  const v = Number(args[name as keyof typeof args]);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`--${name} must be an integer ${min}..${max} (got ${String(args[name as keyof typeof args])})`);
  return v;
}
function numArg(name: string): number {
  const v = Number(args[name as keyof typeof args]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a number > 0 (got ${String(args[name as keyof typeof args])})`);
  return v;
}
function durArg(name: string, min: number): number {
  const v = parseDurationMs(String(args[name as keyof typeof args]), `--${name}`);
  if (v < min) throw new Error(`--${name} must be at least ${min} ms (got ${String(args[name as keyof typeof args])})`);
  return v;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
}
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return Number.NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

function procSample(pid: number): { cpuS: number; rssMb: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuS: (Number(f[11]) + Number(f[12])) / TICKS, rssMb: m ? Number(m[1]) / 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Bytes the process caused to be read from / written to storage (/proc/<pid>/io), MB. */
function procIo(pid: number): { readMb: number; writeMb: number } | undefined {
  try {
    const t = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)$`, 'm').exec(t)?.[1] ?? Number.NaN) / 2 ** 20;
    return { readMb: get('read_bytes'), writeMb: get('write_bytes') };
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

function machine(): { nproc: number; cpuModel: string; memGiB: number; node: string; loadAvg: number[] } {
  return { nproc: cpus().length, cpuModel: cpus()[0]?.model ?? '?', memGiB: Math.round(totalmem() / 2 ** 30), node: process.version, loadAvg: loadavg().map((x) => Math.round(x * 100) / 100) };
}

/** Value of a Prometheus text-format sample (summed over label sets matching `labels`). */
function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== '{' && rest[0] !== ' ') continue;
    if (!Object.entries(labels).every(([k, v]) => rest.includes(`${k}="${v}"`))) continue;
    const v = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(v)) {
      sum += v;
      found = true;
    }
  }
  return found ? sum : Number.NaN;
}

/** A counter: prom-client leaves out labelled counters never incremented, so absent = 0. */
function promCount(text: string, name: string, labels: Record<string, string> = {}): number {
  const v = promValue(text, name, labels);
  return Number.isNaN(v) ? 0 : v;
}

// ------------------------------------------------------------------------------ agents child

interface AgentsJob {
  options: Omit<VirtualAgentsOptions, 'credentials'>;
  credentialsFile: string;
}
type AgentsMessage = { type: 'progress'; p: ProgressSnapshot } | { type: 'summary'; summary: VirtualAgentsSummary } | { type: 'error'; message: string };

async function agentsChildMain(): Promise<void> {
  const job = await new Promise<AgentsJob>((r) => process.once('message', (m) => r(m as AgentsJob)));
  const ac = new AbortController();
  process.on('message', (m) => {
    if ((m as { cmd?: string }).cmd === 'abort') ac.abort();
  });
  // The benchmark went away: stop sending (the summary has nobody to go to).
  process.on('disconnect', () => ac.abort());
  const send = (m: AgentsMessage): Promise<void> =>
    new Promise((r) => {
      if (!process.connected) return r();
      process.send!(m, undefined, {}, () => r());
    });
  try {
    const credentials = await loadCredentialsFile(job.credentialsFile);
    const summary = await runVirtualAgents({ ...job.options, credentials }, { signal: ac.signal, onProgress: (p) => void send({ type: 'progress', p }) });
    await send({ type: 'summary', summary });
  } catch (err) {
    await send({ type: 'error', message: (err as Error).stack ?? String(err) });
  }
  if (process.connected) process.disconnect();
}

interface AgentsRun {
  pid: number;
  done: Promise<VirtualAgentsSummary>;
  abort(): void;
}

function startAgents(job: AgentsJob, where: 'child' | 'inline', onProgress: (p: ProgressSnapshot) => void): AgentsRun {
  if (where === 'inline') {
    const ac = new AbortController();
    const secrets = JSON.parse(readFileSync(job.credentialsFile, 'utf8')) as Record<string, string>;
    const done = runVirtualAgents({ ...job.options, credentials: credentialsFromMap(secrets) }, { signal: ac.signal, onProgress });
    return { pid: process.pid, done, abort: () => ac.abort() };
  }
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--role', 'agents'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const done = new Promise<VirtualAgentsSummary>((res, rej) => {
    child.on('message', (m: AgentsMessage) => {
      if (m.type === 'progress') onProgress(m.p);
      else if (m.type === 'summary') res(m.summary);
      else rej(new Error(`virtual agents failed: ${m.message}`));
    });
    child.once('exit', (code) => rej(new Error(`virtual agents process exited with ${code} before its summary`)));
  });
  child.send(job);
  return { pid: child.pid!, done, abort: () => child.connected && child.send({ cmd: 'abort' }) };
}

// ------------------------------------------------------------------------------ probe agent

interface ProbeResult {
  name: string;
  /** Seconds into the send phase when the completing frame was sent. */
  atS: number;
  /** Completing frame: send -> PUBACK (stored and through detection), ms. */
  ackMs: number;
  /** Completing frame: send -> first API answer listing the alert, ms (Infinity when missed). */
  alertMs: number;
  polls: number;
  /** Duration of the last poll request, ms. */
  lastPollMs: number;
  /** Why the alert was not seen (missed probes): no PUBACK, no connection, no API answer in time. */
  error?: string;
}

class ProbeAgent {
  private client: MqttClient | undefined;
  private readonly dict = new SeriesDictionaryEncoder();
  private seq = 1;
  /** Probe frames sent and not acknowledged, and probes waiting to send (FIFO). */
  private framesInFlight = 0;
  private readonly slotWaiters: Array<() => void> = [];
  reconnects = 0;
  /** Why the connection was lost, each time (wall clock time, reason). */
  readonly closes: string[] = [];

  constructor(
    private readonly url: string,
    readonly agentId: string,
    private readonly secret: string,
    private readonly api: string,
    private readonly readKey: string,
  ) {}

  /** Connects, retrying for up to `patienceMs` (central may be saturated). */
  async connect(patienceMs = 60_000): Promise<void> {
    const until = performance.now() + patienceMs;
    for (;;) {
      try {
        return await this.connectOnce();
      } catch (err) {
        if (performance.now() > until) throw err;
        await sleep(500);
      }
    }
  }

  private async connectOnce(): Promise<void> {
    // keepalive off: a saturated central answers PINGREQ only after the frames queued before it
    // (aedes handles one client's packets in order), and a keepalive timeout would end the
    // measurement instead of measuring the delay. The load's agents keep the real settings.
    const client = mqtt.connect(this.url, { clientId: this.agentId, username: this.agentId, password: this.secret, clean: true, protocolVersion: 4, reconnectPeriod: 0, keepalive: 0, connectTimeout: 30_000 });
    try {
      await new Promise<void>((res, rej) => {
        client.once('connect', () => res());
        client.once('error', rej);
        client.once('close', () => rej(new Error('probe connection closed before CONNACK')));
      });
    } catch (err) {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      throw err;
    }
    client.removeAllListeners('error');
    client.removeAllListeners('close');
    let lastError = '';
    client.on('error', (err) => (lastError = err.message));
    client.on('close', () => {
      if (this.client !== client) return;
      this.client = undefined;
      this.closes.push(`${new Date().toISOString().slice(11, 23)} ${lastError || 'closed by the peer'}`);
      say(`probe connection lost: ${lastError || 'closed by the peer'}`);
    });
    this.dict.reset();
    this.client = client;
  }

  private connecting: Promise<void> | undefined;

  /** The live connection; concurrent probes share one reconnection. */
  private async ensure(): Promise<MqttClient> {
    while (this.client === undefined) {
      if (this.connecting === undefined) {
        this.reconnects++;
        this.connecting = this.connect().finally(() => (this.connecting = undefined));
      }
      await this.connecting;
    }
    return this.client;
  }

  /** Sends one frame with one flagged row of series `name`, window `k`; resolves at PUBACK with [sentAt, ackAt]. */
  /** Waits until one more frame may be in flight (central closes a connection beyond mqtt.max_in_flight_per_agent). */
  private async acquireFrameSlot(): Promise<void> {
    if (this.framesInFlight < PROBE_MAX_FRAMES_IN_FLIGHT) {
      this.framesInFlight++;
      return;
    }
    await new Promise<void>((r) => this.slotWaiters.push(r));
  }

  private releaseFrameSlot(): void {
    const next = this.slotWaiters.shift();
    if (next) next();
    else this.framesInFlight--;
  }

  private async sendWindow(name: string, k: number, baseMs: number, timeoutMs: number): Promise<[number, number]> {
    await this.acquireFrameSlot();
    let client: MqttClient;
    try {
      client = await this.ensure();
    } catch (err) {
      this.releaseFrameSlot();
      throw err;
    }
    const labels = { __name__: 'bench_probe_value', host: this.agentId, probe: name };
    const id = this.dict.intern(labels);
    const row: FeatureRow = {
      seriesId: id,
      count: 10,
      min: 180,
      max: 220,
      mean: 200,
      std: 10,
      last: 205,
      p50: 200,
      p95: 215,
      tier1MaxScore: 6.5,
      flags: FeatureFlags.ANOMALY | FeatureFlags.BAND_BREACH | FeatureFlags.LEVEL_SHIFT,
      bandLower: 90,
      bandUpper: 110,
    };
    const windowStartMs = baseMs + k * 10_000;
    const bytes = encodeFrame({ agentId: this.agentId, tenant: 'default', sequence: this.seq++, windowStartMs, windowEndMs: windowStartMs + 10_000, ...this.dict.takeUpdate(), rows: [row] }, { codec: { codec: 'none' } });
    const payload = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Promise((res, rej) => {
      const sentAt = performance.now();
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        this.releaseFrameSlot();
      };
      const timer = setTimeout(() => {
        release();
        rej(new Error(`no PUBACK within ${timeoutMs} ms`));
      }, timeoutMs);
      client.publish(`aiops/v1/default/agents/${this.agentId}/features`, payload, { qos: 1 }, (err) => {
        clearTimeout(timer);
        release();
        if (err) {
          // The series' defs may be lost with the connection: start a new epoch next time.
          this.dict.reset();
          rej(err);
        } else res([sentAt, performance.now()]);
      });
    });
  }

  /** Is the firing alert of probe `name` readable? Returns the request's duration too. */
  private async alertVisible(name: string, timeoutMs: number): Promise<[boolean, number]> {
    const t = performance.now();
    const r = await fetch(`${this.api}/api/v1/alerts?status=firing&limit=10&label=${encodeURIComponent(`probe=${name}`)}`, { headers: { authorization: `Bearer ${this.readKey}` }, signal: AbortSignal.timeout(Math.ceil(timeoutMs)) });
    const body = (await r.json()) as { alerts?: unknown[] };
    if (r.status !== 200) throw new Error(`GET /api/v1/alerts answered ${r.status}: ${JSON.stringify(body).slice(0, 200)}`);
    return [(body.alerts?.length ?? 0) > 0, performance.now() - t];
  }

  /**
   * One probe: X flagged windows of a new series, sent back to back as an agent whose windows
   * closed would (frames of one connection are handled in order); times the X-th, which
   * completes the condition, to the first API answer listing the alert.
   */
  async probe(name: string, x: number, pollMs: number, timeoutMs: number, t0: number): Promise<ProbeResult> {
    const baseMs = Math.floor(Date.now() / 10_000) * 10_000 - x * 10_000;
    const begun = performance.now();
    const earlier: Array<Promise<[number, number]>> = [];
    for (let k = 0; k < x - 1; k++) earlier.push(this.sendWindow(name, k, baseMs, timeoutMs));
    const ack = this.sendWindow(name, x - 1, baseMs, timeoutMs);
    for (const p of [...earlier, ack]) p.catch(() => undefined);
    let polls = 0;
    let lastPollMs = 0;
    let foundAt = Number.POSITIVE_INFINITY;
    let error: string | undefined;
    try {
      for (;;) {
        const start = performance.now();
        const left = timeoutMs - (start - begun);
        if (left <= 0) {
          error = `alert not readable within ${timeoutMs} ms`;
          break;
        }
        polls++;
        let found: boolean;
        try {
          [found, lastPollMs] = await this.alertVisible(name, left);
        } catch (err) {
          if ((err as Error).name !== 'TimeoutError') throw err;
          error = `GET /api/v1/alerts did not answer within ${timeoutMs} ms of the probe's start`;
          break;
        }
        if (found) {
          foundAt = performance.now();
          break;
        }
        const wait = start + pollMs - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await Promise.all(earlier);
      const [sent, acked] = await ack;
      return { name, atS: (sent - t0) / 1000, ackMs: acked - sent, alertMs: foundAt - sent, polls, lastPollMs, ...(error !== undefined ? { error } : {}) };
    } catch (err) {
      // No PUBACK in time, or no connection: the flag did not get through; a missed probe.
      return { name, atS: (begun - t0) / 1000, ackMs: Number.NaN, alertMs: Number.POSITIVE_INFINITY, polls, lastPollMs, error: error ?? (err as Error).message };
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await new Promise<void>((r) => c.end(false, {}, () => r()));
  }
}

// ------------------------------------------------------------------------------ central child

interface Central {
  child: ChildProcess;
  pid: number;
  api: string;
  mqttUrl: string;
  exited: Promise<number | null>;
  logPath: string;
}

interface BusSetup {
  kafka?: string;
  /** `ingest` = the main process with --bus kafka; `detect` = a detect process (name = client id). */
  part: 'all' | 'ingest' | 'detect';
  name: string;
}

async function startCentral(dataDir: string, detection: { x: number; y: number; maxSeries: number }, cpuProf: boolean, compactIntervalMs: number | undefined, bus: BusSetup = { part: 'all', name: 'central' }): Promise<Central> {
  const [apiPort, mqttPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
  const cfgPath = join(dataDir, `${bus.name}.yaml`);
  const detectOnly = bus.part === 'detect';
  writeFileSync(
    cfgPath,
    [
      bus.part === 'all' ? 'role: [all]' : bus.part === 'ingest' ? 'role: [ingest, api]' : 'role: [detect]',
      ...(bus.kafka !== undefined ? ['bus:', '  kind: kafka', '  partitions: 6', '  kafka:', `    brokers: ["${bus.kafka}"]`, `    client_id: ${bus.name}`] : []),
      `data_dir: ${JSON.stringify(dataDir)}`,
      'tenant: default',
      'log_level: warn',
      'api:',
      `  listen: 127.0.0.1:${apiPort}`,
      // The probe polls every 50 ms, several probes at once when central is slow: the per-key
      // rate limit (50/s by default) must not be what the measurement sees.
      '  rate_per_second: 10000',
      '  burst: 10000',
      ...(detectOnly ? ['mqtt:', '  mode: "off"', 'grpc:', '  enabled: false'] : ['mqtt:', '  mode: embedded', `  listen: 127.0.0.1:${mqttPort}`, 'grpc:', `  listen: 127.0.0.1:${grpcPort}`]),
      ...(compactIntervalMs !== undefined ? ['storage:', `  compact_interval: ${compactIntervalMs}ms`] : []),
      'detection:',
      `  x: ${detection.x}`,
      `  y: ${detection.y}`,
      `  max_series: ${detection.maxSeries}`,
      '',
    ].join('\n'),
  );
  const logPath = join(dataDir, `${bus.name}.log`);
  const log = createWriteStream(logPath);
  const execArgs = [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(dataDir, 'prof')] : []), '--import', 'tsx', join(REPO, 'central/src/cli/central-cli.ts'), '--config', cfgPath];
  const child = spawn(process.execPath, execArgs, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.pipe(log, { end: false });
  child.stderr!.pipe(log, { end: false });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const api = `http://127.0.0.1:${apiPort}`;
  const deadline = performance.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`central exited with ${child.exitCode} before it was ready; see ${logPath}:\n${readFileSync(logPath, 'utf8').slice(-2000)}`);
    try {
      const r = await fetch(`${api}/readyz`);
      if (r.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) throw new Error(`central not ready after 120 s; see ${logPath}`);
    await sleep(100);
  }
  return { child, pid: child.pid!, api, mqttUrl: `mqtt://127.0.0.1:${mqttPort}`, exited, logPath };
}

/** A private Kafka broker (deploy/dev/kafka.sh) with its state under `dir`: fresh topics each run. */
function startPrivateKafka(dir: string): { broker: string; stop(): void } {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env = { ...process.env, AIOPS_DEV_HOME: join(dir, 'dev'), KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(port + 1) };
  const run = (action: string) => spawnSync('bash', [join(REPO, 'deploy/dev/kafka.sh'), action], { cwd: REPO, env, stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 }).status === 0;
  if (!run('start')) throw new Error('deploy/dev/kafka.sh start failed (Java 17+ and Maven are needed; see the README)');
  let stopped = false;
  return {
    broker: `127.0.0.1:${port}`,
    stop: () => {
      if (stopped) return;
      stopped = true;
      run('stop');
    },
  };
}

// ------------------------------------------------------------------------------ the benchmark

interface Sample {
  /** Seconds since the send phase started (negative before). */
  t: number;
  centralRssMb: number;
  centralCpuS: number;
  agentsCpuS: number;
  agentsRssMb: number;
  benchCpuS: number;
  rowsAccepted: number;
  /** Central's storage I/O so far (MB). */
  centralWriteMb: number;
  centralReadMb: number;
}

async function benchMain(): Promise<void> {
  if (args.help) {
    process.stdout.write(HELP + '\n');
    return;
  }
  const agents = intArg('agents', 1, 10_000);
  const series = intArg('series', 1, 100_000);
  const rate = numArg('rate');
  const windowMs = args.window !== undefined ? durArg('window', 100) : Math.max(100, Math.round(1000 / rate));
  const durationMs = durArg('duration', 1000);
  const probeIntervalMs = durArg('probe-interval', 100);
  const probeStartMs = durArg('probe-start', 0);
  const warmupMs = durArg('warmup', 0);
  if (warmupMs % 10_000 !== 0) throw new Error(`--warmup must be a multiple of 10 s, the reporting interval (got ${args.warmup})`);
  const pollMs = durArg('probe-poll', 1);
  const probeTimeoutMs = durArg('probe-timeout', 1000);
  const x = intArg('detection-x', 1, 32);
  const y = intArg('detection-y', x, 32);
  const maxSeries = args['detection-max-series'] !== undefined ? intArg('detection-max-series', 1, 10_000_000) : agents * series + 10_000;
  const where = args['agents-process'];
  if (where !== 'child' && where !== 'inline') throw new Error(`--agents-process must be child or inline (got ${where})`);
  const offered = agents * series * rate;
  // The command as run, without where its JSON went.
  const argv = process.argv.slice(2);
  const shown = argv.filter((a, i) => a !== '--json' && argv[i - 1] !== '--json' && !a.startsWith('--json='));
  const command = `npx tsx bench/central-ingest.ts ${shown.join(' ')}`.trim();

  const m0 = machine();
  say(`node ${m0.node}, nproc ${m0.nproc}, ${m0.cpuModel}, ${m0.memGiB} GiB, load average at start ${m0.loadAvg.join(' ')}`);
  say(`offered: ${n0(agents)} agents x ${n0(series)} series x ${rate} windows/s = ${n0(offered)} series-windows/s for ${durationMs / 1000} s (window ${windowMs} ms, agents in ${where} process)`);

  // 1. data dir, enrollment, keys -------------------------------------------------------------
  const dataDir = mkdtempSync(join(tmpdir(), 'central-ingest-'));
  const dbPath = join(dataDir, 'central.db');
  const probeId = 'bench-probe';
  const secrets: Record<string, string> = {};
  let readKey: string;
  let probeSecret: string;
  {
    const t = performance.now();
    const now = Date.now();
    const stores = openSqliteStores(dbPath, { now: () => Date.now() });
    try {
      const enroll = async (id: string): Promise<string> => {
        const { token } = await stores.agents.createEnrollmentToken({ tenant: 'default', expiresAtMs: now + 3_600_000, createdBy: 'bench' }, now);
        const r = await stores.agents.enroll(token, id, now);
        if (r === undefined) throw new Error(`enrollment of ${id} refused`);
        return r.secret;
      };
      for (let i = 0; i < agents; i++) {
        const id = agentIdOf('vagent', i);
        secrets[id] = await enroll(id);
      }
      probeSecret = await enroll(probeId);
      readKey = (await stores.apiKeys.create({ name: 'bench-read', tenant: 'default', scopes: ['read'] }, now)).token;
    } finally {
      await stores.close();
    }
    writeFileSync(join(dataDir, 'secrets.json'), JSON.stringify(secrets), { mode: 0o600 });
    say(`data dir ${dataDir}: ${agents + 1} agents enrolled, read key created (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }

  // 2. central -------------------------------------------------------------------------------------
  let central: Central | undefined;
  let agentsRun: AgentsRun | undefined;
  const busKind = args.bus;
  if (busKind !== 'in-process' && busKind !== 'kafka') throw new Error(`--bus must be in-process or kafka (got ${busKind})`);
  const detectCount = busKind === 'kafka' ? intArg('detect-processes', 1, 16) : 0;
  const detects: Central[] = [];
  let kafka: { broker: string; stop(): void } | undefined;
  const cleanup = (): void => {
    agentsRun?.abort();
    if (central && central.child.exitCode === null) central.child.kill('SIGKILL');
    for (const d of detects) if (d.child.exitCode === null) d.child.kill('SIGKILL');
    kafka?.stop();
  };
  process.once('SIGINT', () => {
    cleanup();
    process.exit(130);
  });
  try {
    const compactMs = args['compact-interval'] !== undefined ? durArg('compact-interval', 1000) : undefined;
    if (busKind === 'kafka') {
      kafka = startPrivateKafka(dataDir);
      say(`kafka broker ${kafka.broker} (private instance, state under the data dir)`);
      central = await startCentral(dataDir, { x, y, maxSeries }, args['cpu-prof'] === true, compactMs, { part: 'ingest', name: 'central', kafka: kafka.broker });
      for (let i = 0; i < detectCount; i++) {
        const d = await startCentral(dataDir, { x, y, maxSeries }, false, compactMs, { part: 'detect', name: `detect-${i + 1}`, kafka: kafka.broker });
        detects.push(d);
        say(`detect-${i + 1} pid ${d.pid} ready (log ${d.logPath})`);
      }
    } else central = await startCentral(dataDir, { x, y, maxSeries }, args['cpu-prof'] === true, compactMs);
    say(`central pid ${central.pid} ready: api ${central.api}, mqtt ${central.mqttUrl} (log ${central.logPath})`);
    // A saturated central answers slowly: a scrape that takes more than 3 s counts as missing.
    const scrape = async (): Promise<string> => (await fetch(`${central!.api}/metrics`, { signal: AbortSignal.timeout(3000) })).text();

    // The probe connects before the load starts (a saturated central may not answer a CONNECT in time).
    const probe = new ProbeAgent(central.mqttUrl, probeId, probeSecret, central.api, readKey);
    await probe.connect();

    // 3. load ------------------------------------------------------------------------------------
    const job: AgentsJob = {
      options: {
        target: central.mqttUrl,
        count: agents,
        series,
        rate,
        windowMs,
        durationMs,
        codec: args.codec as VirtualAgentsOptions['codec'],
        brotliQuality: intArg('brotli-quality', 0, 11),
        maxInFlight: intArg('max-in-flight', 1, 10_000),
        agentIdPrefix: 'vagent',
        connectConcurrency: 50,
        progressIntervalMs: 1000,
        drainTimeoutMs: 60_000,
        ackTimeoutMs: 60_000,
      },
      credentialsFile: join(dataDir, 'secrets.json'),
    };
    // The fleet reports progress every second (printed every 10 s); the first report of the send
    // phase gives its start on this process's clock (now - elapsed).
    let sendStart: number | undefined;
    let sendStartedResolve!: () => void;
    const sendStarted = new Promise<void>((r) => (sendStartedResolve = r));
    const progressLines: string[] = [];
    let lastPrinted = -Infinity;
    agentsRun = startAgents(job, where, (p) => {
      if (p.phase !== 'connecting' && sendStart === undefined) {
        sendStart = performance.now() - p.elapsedMs;
        sendStartedResolve();
      }
      if (p.phase === 'sending' && p.elapsedMs - lastPrinted < 9_500) return;
      lastPrinted = p.elapsedMs;
      const line = `${p.phase} ${(p.elapsedMs / 1000).toFixed(0)} s: connected ${p.agentsConnected}, sent ${n0(p.framesSent)} frames, acked ${n0(p.framesAcked)}, in flight ${p.inFlight}, backlog ${n0(p.backlog)}, errors ${p.errors}`;
      progressLines.push(line);
      say(`agents ${line}`);
    });
    const agentsPid = agentsRun.pid;
    const summaryP = agentsRun.done;
    summaryP.catch(() => undefined);
    await Promise.race([sendStarted, summaryP]);
    if (sendStart === undefined) throw new Error('the virtual agents ended before their send phase');
    const t0 = sendStart;
    say(`send phase started (every agent connected)`);
    const detectStat = async (d: Central) => {
      const text = await fetch(`${d.api}/metrics`, { signal: AbortSignal.timeout(5000) })
        .then((r) => r.text())
        .catch(() => '');
      return { t: performance.now(), records: promCount(text, 'aiops_central_feature_records_stored_total'), cpuS: procSample(d.pid)?.cpuS ?? Number.NaN, rssMb: procSample(d.pid)?.rssMb ?? Number.NaN };
    };
    const detectAtStart = await Promise.all(detects.map(detectStat));

    // 5. sampling (every 10 s, from the send phase's start) -------------------------------------------
    const samples: Sample[] = [];
    const takeSample = async (): Promise<void> => {
      const c = procSample(central!.pid);
      const a = procSample(agentsPid);
      const b = procSample(process.pid);
      const io = procIo(central!.pid);
      const text = await scrape().catch(() => '');
      if (!c) return;
      const s: Sample = {
        t: (performance.now() - t0) / 1000,
        centralRssMb: c.rssMb,
        centralCpuS: c.cpuS,
        agentsCpuS: a?.cpuS ?? Number.NaN,
        agentsRssMb: a?.rssMb ?? Number.NaN,
        benchCpuS: b?.cpuS ?? Number.NaN,
        rowsAccepted: promValue(text, 'aiops_central_frame_rows_accepted_total', { transport: 'mqtt' }),
        centralWriteMb: io?.writeMb ?? Number.NaN,
        centralReadMb: io?.readMb ?? Number.NaN,
      };
      const prev = samples[samples.length - 1];
      samples.push(s);
      if (prev) {
        const dt = s.t - prev.t;
        say(
          `t=${s.t.toFixed(0)} s central: RSS ${f1(s.centralRssMb)} MB, CPU ${f1(((s.centralCpuS - prev.centralCpuS) / dt) * 100)} %, stored ${n0((s.rowsAccepted - prev.rowsAccepted) / dt)} rows/s, ` +
            `disk write ${f1((s.centralWriteMb - prev.centralWriteMb) / dt)} MB/s, read ${f1((s.centralReadMb - prev.centralReadMb) / dt)} MB/s; ` +
            `agents CPU ${f1(((s.agentsCpuS - prev.agentsCpuS) / dt) * 100)} %; load ${loadavg()[0]!.toFixed(2)}`,
        );
      }
    };
    await takeSample();
    let sampling = true;
    let wakeSampler: () => void = () => undefined;
    const sampler = (async () => {
      for (let k = 1; sampling; k++) {
        const wait = t0 + k * 10_000 - performance.now();
        if (wait > 0) await new Promise<void>((r) => {
          const timer = setTimeout(r, wait);
          wakeSampler = () => {
            clearTimeout(timer);
            r();
          };
        });
        if (!sampling) break;
        await takeSample();
      }
    })();

    // Responsiveness of central's event loop as a client sees it: GET /healthz once a second.
    const healthMs: number[] = [];
    const health = (async () => {
      while (sampling) {
        const t = performance.now();
        try {
          await (await fetch(`${central!.api}/healthz`, { signal: AbortSignal.timeout(60_000) })).arrayBuffer();
          healthMs.push(performance.now() - t);
        } catch {
          healthMs.push(Number.POSITIVE_INFINITY);
        }
        await sleep(Math.max(0, 1000 - (performance.now() - t)));
      }
    })();

    // 4. probes ------------------------------------------------------------------------------------
    const probes: ProbeResult[] = [];
    const probeErrors: string[] = [];
    // Probes start on a fixed schedule and may overlap (a saturated central takes longer than the
    // interval to answer); their frames wait for one of PROBE_MAX_FRAMES_IN_FLIGHT slots.
    const probing = (async () => {
      const running = new Set<Promise<void>>();
      for (let i = 1; ; i++) {
        const startAt = t0 + probeStartMs + (i - 1) * probeIntervalMs;
        // No probe that could outlive the load: the last one starts 5 s before the send phase ends.
        if (startAt > t0 + durationMs - 5000) break;
        const wait = startAt - performance.now();
        if (wait > 0) await sleep(wait);
        while (running.size >= PROBE_CONCURRENCY) await Promise.race(running);
        const name = `p${String(i).padStart(4, '0')}`;
        const one = probe.probe(name, x, pollMs, probeTimeoutMs, t0).then(
          (r) => {
            probes.push(r);
            if (i % 10 === 0 || !Number.isFinite(r.alertMs)) say(`probe ${name} at ${r.atS.toFixed(0)} s: alert readable after ${Number.isFinite(r.alertMs) ? `${msf(r.alertMs)} ms` : `- MISSED (${r.error})`} (PUBACK ${msf(r.ackMs)} ms, ${r.polls} polls)`);
          },
          (err: unknown) => {
            probeErrors.push(`${name}: ${(err as Error).message}`);
            say(`probe ${name} failed: ${(err as Error).message}`);
          },
        );
        const tracked = one.finally(() => running.delete(tracked));
        running.add(tracked);
      }
      await Promise.all(running);
    })();

    const summary = await summaryP;
    await probing;
    sampling = false;
    wakeSampler();
    await sampler;
    await health;
    if (performance.now() - t0 - (samples[samples.length - 1]?.t ?? 0) * 1000 > 5000) await takeSample();
    await probe.close();
    say(`load finished: ${n0(summary.framesAcked)} frames acked of ${n0(summary.framesSent)} sent; verifying`);

    // 6. verification through the API ------------------------------------------------------------
    const metricsText = await scrape();
    const verify = {
      rowsAcceptedMqtt: promValue(metricsText, 'aiops_central_frame_rows_accepted_total', { transport: 'mqtt' }),
      framesStored: promCount(metricsText, 'aiops_central_feature_frames_stored_total'),
      framesDuplicate: promCount(metricsText, 'aiops_central_feature_frames_duplicate_total'),
      rowsRejected: promCount(metricsText, 'aiops_central_feature_rows_rejected_total'),
      refused: promCount(metricsText, 'aiops_central_frames_refused_total'),
      mqttBusy: promCount(metricsText, 'aiops_central_mqtt_messages_total', { result: 'busy' }),
      candidates: promCount(metricsText, 'aiops_central_detection_candidates_total'),
      alertsFired: promCount(metricsText, 'aiops_central_detection_alerts_fired_total'),
      detectionSeries: promValue(metricsText, 'aiops_central_detection_series'),
      evicted: promCount(metricsText, 'aiops_central_detection_series_evicted_total'),
      compactions: promCount(metricsText, 'aiops_central_compactions_total'),
      rowsRolledUp: promCount(metricsText, 'aiops_central_compaction_rows_total', { kind: 'downsampled' }),
      apiAgentWindows: Number.NaN,
      apiAgentSeries: Number.NaN,
      alertsTotal: Number.NaN,
      alertsProbe: Number.NaN,
      alertsOther: Number.NaN,
      dbFeatureRows: Number.NaN,
      dbSeries: Number.NaN,
      dbAgentRows: Number.NaN,
      expectedRows: summary.seriesWindowsAcked + probes.length * x,
    };
    {
      const end = Date.now() + 60_000;
      const start = end - 2 * 3_600_000;
      const sel = encodeURIComponent(`{host="${agentIdOf('vagent', 0)}"}`);
      const r = await fetch(`${central.api}/api/v1/metrics/features?selector=${sel}&start=${start}&end=${end}&max_series=${Math.min(10_000, series)}`, { headers: { authorization: `Bearer ${readKey}` } });
      const body = (await r.json()) as { series?: Array<{ windows: unknown[] }> };
      if (r.status === 200 && body.series) {
        verify.apiAgentSeries = body.series.length;
        verify.apiAgentWindows = body.series.reduce((a, s) => a + s.windows.length, 0);
      } else say(`GET /api/v1/metrics/features answered ${r.status}: ${JSON.stringify(body).slice(0, 300)}`);
      const a = await fetch(`${central.api}/api/v1/alerts?limit=10000`, { headers: { authorization: `Bearer ${readKey}` } });
      const ab = (await a.json()) as { alerts?: Array<{ labels: Record<string, string> }> };
      if (a.status === 200 && ab.alerts) {
        verify.alertsTotal = ab.alerts.length;
        verify.alertsProbe = ab.alerts.filter((al) => al.labels['probe'] !== undefined).length;
        verify.alertsOther = verify.alertsTotal - verify.alertsProbe;
      }
    }

    // The detect processes (--bus kafka): records each stored and its CPU over the send phase and drain.
    const detectAtEnd = await Promise.all(detects.map(detectStat));
    const scale = {
      bus: busKind,
      detectProcesses: detectCount,
      perProcess: detects.map((d, i) => {
        const a = detectAtStart[i]!;
        const b = detectAtEnd[i]!;
        const dt = (b.t - a.t) / 1000;
        return { name: `detect-${i + 1}`, records: b.records, recordsPerSec: (b.records - a.records) / dt, cpuPercent: ((b.cpuS - a.cpuS) / dt) * 100, rssMb: b.rssMb };
      }),
    };
    for (const p of scale.perProcess) say(`${p.name}: stored ${n0(p.records)} records, ${n0(p.recordsPerSec)} records/s over the run, CPU ${f1(p.cpuPercent)} %, RSS ${f1(p.rssMb)} MB`);
    for (const d of detects) d.child.kill('SIGTERM');
    await Promise.all(detects.map((d) => Promise.race([d.exited, sleep(60_000)])));
    kafka?.stop();
    kafka = undefined;

    // Stop central, then count in its database.
    const loadEnd = machine().loadAvg;
    central.child.kill('SIGTERM');
    const code = await Promise.race([central.exited, sleep(60_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      say('central did not stop within 60 s of SIGTERM: killed');
      central.child.kill('SIGKILL');
      await central.exited;
    }
    {
      const db = new Database(dbPath, { readonly: true });
      try {
        // Feature rows live in the frame log until compaction folds them into per-series chunks
        // (decision 020), and in `feature_rows` in databases from before it: count all three.
        verify.dbFeatureRows = db
          .prepare('SELECT (SELECT COALESCE(SUM(count), 0) FROM feature_log) + (SELECT COALESCE(SUM(count), 0) FROM feature_chunks) + (SELECT COUNT(*) FROM feature_rows)')
          .pluck()
          .get() as number;
        verify.dbSeries = db.prepare('SELECT COUNT(*) FROM series').pluck().get() as number;
        // The API check's agent (its series carry host = its id), counted in the database: both must agree.
        const agent0 = agentIdOf('vagent', 0);
        verify.dbAgentRows = db
          .prepare(
            `SELECT (SELECT COALESCE(SUM(count), 0) FROM feature_log WHERE agent = @a)
               + (SELECT COALESCE(SUM(c.count), 0) FROM feature_chunks c JOIN series_labels l ON l.series_id = c.series_id WHERE l.name = 'host' AND l.value = @a)`,
          )
          .pluck()
          .get({ a: agent0 }) as number;
      } finally {
        db.close();
      }
    }
    const centralLog = readFileSync(central.logPath, 'utf8');
    const logLines = centralLog.split('\n').filter((l) => l.trim() !== '');
    let profile: string | undefined;
    if (args['cpu-prof'] && existsSync(join(dataDir, 'prof'))) {
      // One profile per thread (tsx's module loader runs in a worker): the main thread's is thread 0.
      const all = readdirSync(join(dataDir, 'prof')).filter((n) => n.endsWith('.cpuprofile'));
      const f = all.find((n) => /\.0\.\d+\.cpuprofile$/.test(n)) ?? all[0];
      if (f) profile = join(dataDir, 'prof', f);
    }

    // 7. figures ---------------------------------------------------------------------------------------
    const fullIntervals = Math.floor(summary.sendMs / 10_000);
    const intervals: number[] = [];
    for (let k = 0; k < fullIntervals; k++) {
      const secs = summary.perSecond.slice(k * 10, k * 10 + 10);
      intervals.push(secs.reduce((a, s) => a + s.ackedSeriesWindows, 0) / 10);
    }
    const warmIv = warmupMs / 10_000;
    const steady = intervals.slice(warmIv);
    const sortedIv = [...steady].sort((a, b) => a - b);
    const steadyAcked = summary.perSecond.slice(warmupMs / 1000, fullIntervals * 10).reduce((a, s2) => a + s2.ackedSeriesWindows, 0);
    const centralIv: number[] = [];
    const cpuIv: number[] = [];
    const agentsCpuIv: number[] = [];
    for (let i = 1; i < samples.length; i++) {
      const dt = samples[i]!.t - samples[i - 1]!.t;
      if (samples[i]!.t > summary.sendMs / 1000 + 1) break;
      const rows = (samples[i]!.rowsAccepted - samples[i - 1]!.rowsAccepted) / dt;
      if (Number.isFinite(rows)) centralIv.push(rows);
      cpuIv.push(((samples[i]!.centralCpuS - samples[i - 1]!.centralCpuS) / dt) * 100);
      agentsCpuIv.push(((samples[i]!.agentsCpuS - samples[i - 1]!.agentsCpuS) / dt) * 100);
    }
    const inRun = samples.filter((s) => s.t <= summary.sendMs / 1000 + 1);
    const rss = inRun.map((s) => s.centralRssMb);
    const rssT = inRun.map((s) => s.t / 60);
    const half = inRun.filter((s) => s.t >= summary.sendMs / 2000);
    // RSS in a garbage-collected process is a sawtooth: judge the floor (lowest sample) of each
    // minute of the send phase rather than single samples.
    const rssPerMinute: Array<[number, number, number]> = [];
    for (let m = 0; (m + 1) * 60 <= summary.sendMs / 1000 + 1; m++) {
      const inMin = inRun.filter((s) => s.t >= m * 60 && s.t < (m + 1) * 60 + 0.5).map((s) => s.centralRssMb);
      if (inMin.length > 0) rssPerMinute.push([m + 1, Math.round(Math.min(...inMin)), Math.round(Math.max(...inMin))]);
    }
    // Probes whose completing frame left during the warm-up (none by default) or after the load
    // ended (their frames waited for the probe's in-flight slots) are left out and counted.
    const measured = probes.filter((p) => p.atS * 1000 >= warmupMs && p.atS * 1000 <= summary.sendMs);
    const afterLoad = probes.filter((p) => p.atS * 1000 > summary.sendMs).length;
    const delays = measured.map((p) => p.alertMs).sort((a, b) => a - b);
    const acks = measured.map((p) => p.ackMs).filter(Number.isFinite).sort((a, b) => a - b);
    const missed = measured.filter((p) => !Number.isFinite(p.alertMs)).length;
    const missReasons: Record<string, number> = {};
    for (const p of measured) if (p.error !== undefined) missReasons[p.error] = (missReasons[p.error] ?? 0) + 1;
    const healthSorted = [...healthMs].sort((a, b) => a - b);
    const result = {
      date: new Date().toISOString(),
      command,
      machine: { ...m0, loadAvgStart: m0.loadAvg, loadAvgEnd: loadEnd },
      shape: { agents, series, rate, windowMs, offered, durationMs, codec: summary.codec, maxInFlight: Number(args['max-in-flight']), agentsProcess: where, detection: { x, y, maxSeries } },
      throughput: {
        intervals,
        warmupS: warmupMs / 1000,
        warmupIntervals: intervals.slice(0, warmIv),
        steadyAckedTotal: steadyAcked,
        steadySeconds: fullIntervals * 10 - warmupMs / 1000,
        medianPerSec: median(steady),
        minPerSec: sortedIv[0] ?? Number.NaN,
        p10PerSec: pct(sortedIv, 0.1),
        maxPerSec: sortedIv[sortedIv.length - 1] ?? Number.NaN,
        totalAcked: summary.seriesWindowsAcked,
        ackedPerSecOverRun: summary.seriesWindowsAckedPerSec,
        sentPerSecOverRun: summary.seriesWindowsSentPerSec,
        centralStoredIntervals: centralIv,
        centralStoredMedianPerSec: median(centralIv),
      },
      agents: {
        framesSent: summary.framesSent,
        framesAcked: summary.framesAcked,
        framesResent: summary.framesResent,
        framesDropped: summary.framesDropped,
        connectMs: summary.connectMs,
        drainMs: summary.drainMs,
        drained: summary.drained,
        errors: summary.errorCount,
        errorDetail: summary.errors,
        errorMessages: summary.errorMessages,
        steadyAckLatencyMs: summary.steadyAckLatencyMs,
        ackLatencyMs: summary.ackLatencyMs,
        bytesPerSeriesWindow: summary.bytesPerSeriesWindow,
        cpuPercentMedian: median(agentsCpuIv),
        rssMbLast: inRun[inRun.length - 1]?.agentsRssMb ?? Number.NaN,
      },
      probe: {
        count: measured.length,
        afterLoad,
        inWarmup: probes.length - measured.length - afterLoad,
        errors: probeErrors,
        missed,
        missReasons,
        reconnects: probe.reconnects,
        connectionLosses: probe.closes,
        p50: pct(delays, 0.5),
        p90: pct(delays, 0.9),
        p99: pct(delays, 0.99),
        max: delays[delays.length - 1] ?? Number.NaN,
        ackP50: pct(acks, 0.5),
        ackP99: pct(acks, 0.99),
        ackMax: acks[acks.length - 1] ?? Number.NaN,
        pollMs,
        probes,
      },
      central: {
        rssFirstMb: rss[0] ?? Number.NaN,
        rssLastMb: rss[rss.length - 1] ?? Number.NaN,
        rssMaxMb: Math.max(...rss),
        rssSlopeMbPerMin: slope(rssT, rss),
        rssSlopeSecondHalfMbPerMin: slope(
          half.map((s) => s.t / 60),
          half.map((s) => s.centralRssMb),
        ),
        rssSamples: inRun.map((s) => [Math.round(s.t), Math.round(s.centralRssMb)]),
        rssPerMinute,
        cpuPercentMedian: median(cpuIv),
        healthzMs: { count: healthSorted.length, answered: healthSorted.filter(Number.isFinite).length, p50: pct(healthSorted, 0.5), p99: pct(healthSorted, 0.99), max: healthSorted[healthSorted.length - 1] ?? Number.NaN },
        diskWriteMbPerSec: inRun.length > 1 ? (inRun[inRun.length - 1]!.centralWriteMb - inRun[0]!.centralWriteMb) / (inRun[inRun.length - 1]!.t - inRun[0]!.t) : Number.NaN,
        cpuPercentIntervals: cpuIv.map((v) => Math.round(v)),
        logLines: logLines.length,
        logFirst: logLines.slice(0, 5).map((l) => l.slice(0, 300)),
        exitCode: code === 'timeout' ? null : code,
        profile,
      },
      verify,
      scale,
    };

    const table = renderTable(result);
    process.stdout.write(table + '\n');
    // Infinity (a missed probe) and NaN (no answer) kept apart as strings: JSON has neither.
    if (args.json) writeFileSync(args.json, JSON.stringify({ result, progress: progressLines }, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2));
    if (args['write-results']) {
      writeResults(join(REPO, 'bench/RESULTS.md'), renderSection(result, table));
      say('bench/RESULTS.md updated');
    }
    if (!args.keep) rmSync(dataDir, { recursive: true, force: true });
    else say(`kept ${dataDir}${profile ? ` (profile ${profile})` : ''}`);
  } catch (err) {
    cleanup();
    say(`kept ${dataDir} for inspection`);
    throw err;
  }
}

type Result = {
  date: string;
  command: string;
  machine: ReturnType<typeof machine> & { loadAvgStart: number[]; loadAvgEnd: number[] };
  shape: { agents: number; series: number; rate: number; windowMs: number; offered: number; durationMs: number; codec: string; maxInFlight: number; agentsProcess: string; detection: { x: number; y: number; maxSeries: number } };
  throughput: { warmupS: number; warmupIntervals: number[]; steadyAckedTotal: number; steadySeconds: number; medianPerSec: number; minPerSec: number; p10PerSec: number; maxPerSec: number; totalAcked: number; ackedPerSecOverRun: number; sentPerSecOverRun: number; centralStoredMedianPerSec: number; intervals: number[] };
  agents: { framesSent: number; framesAcked: number; framesResent: number; framesDropped: number; errors: number; drained: boolean; steadyAckLatencyMs: { p50: number; p99: number; max: number }; cpuPercentMedian: number; bytesPerSeriesWindow: number; connectMs: number; errorMessages: Array<{ message: string; count: number }> };
  probe: { count: number; afterLoad: number; missed: number; missReasons: Record<string, number>; errors: string[]; p50: number; p90: number; p99: number; max: number; ackP50: number; ackP99: number; ackMax: number; pollMs: number };
  central: { rssPerMinute: Array<[number, number, number]>; rssFirstMb: number; rssLastMb: number; rssMaxMb: number; rssSlopeMbPerMin: number; rssSlopeSecondHalfMbPerMin: number; cpuPercentMedian: number; healthzMs: { count: number; answered: number; p50: number; p99: number; max: number }; diskWriteMbPerSec: number; logLines: number; logFirst: string[] };
  verify: Record<string, number>;
};

/** Throughput met: the median 10 s interval reaches the target and none falls below 95 % of it. */
function throughputMet(r: Result): boolean {
  return r.throughput.medianPerSec >= TARGET_RATE * 0.995 && r.throughput.minPerSec >= TARGET_RATE * 0.95;
}
/**
 * RSS flat: the floor (lowest sample) of the last minute is at most 5 % above the floor of the
 * minute in the middle of the run. Undefined for runs shorter than 3 minutes.
 */
function rssFlat(r: Result): boolean | undefined {
  const m = r.central.rssPerMinute;
  if (m.length < 3) return undefined;
  return m[m.length - 1]![1] <= 1.05 * m[Math.floor(m.length / 2)]![1];
}

function renderTable(r: Result): string {
  const t = r.throughput;
  const p = r.probe;
  const c = r.central;
  const v = r.verify;
  const met = (b: boolean): string => (b ? 'met' : '**missed**');
  const rows: Array<[string, string, string]> = [
    ['offered load', `${n0(r.shape.agents)} agents x ${n0(r.shape.series)} series x ${r.shape.rate} windows/s = ${n0(r.shape.offered)} series-windows/s`, '-'],
    [`acked series-windows/s, 10 s intervals after the ${t.warmupS} s warm-up: median`, n0(t.medianPerSec), `>= ${n0(TARGET_RATE)} (${met(throughputMet(r))})`],
    ['  min / p10 / max interval', `${n0(t.minPerSec)} / ${n0(t.p10PerSec)} / ${n0(t.maxPerSec)}`, '-'],
    ['  acked after the warm-up', `${n0(t.steadyAckedTotal)} in ${t.steadySeconds} s (${n0(t.steadyAckedTotal / Math.max(1, t.steadySeconds))} /s)`, '-'],
    ['  warm-up intervals (series creation)', t.warmupIntervals.map((v) => n0(v)).join(', ') || '-', '-'],
    ['  whole run, warm-up included', `${n0(t.totalAcked)} acked (${n0(t.ackedPerSecOverRun)} /s; sent ${n0(t.sentPerSecOverRun)} /s)`, '-'],
    [
      '  central\'s own count of stored rows (GET /metrics), median 10 s interval',
      Number.isNaN(t.centralStoredMedianPerSec) ? '- (GET /metrics did not answer within 3 s)' : `${n0(t.centralStoredMedianPerSec)} /s`,
      '-',
    ],
    ['flag -> alert readable (API), p50 / p90 / p99 / max', `${msf(p.p50)} / ${msf(p.p90)} / ${msf(p.p99)} / ${msf(p.max)} ms (${p.count} probes between the warm-up and the end of the load, ${p.missed} missed, ${p.errors.length} failed${p.afterLoad > 0 ? `; ${p.afterLoad} more left out, their completing frame only left after the load ended` : ''})`, p.count < 60 ? `p99 < ${n0(TARGET_P99_MS)} ms over >= 60 probes (not judged: ${p.count} probes)` : `p99 < ${n0(TARGET_P99_MS)} ms (${met(p.p99 < TARGET_P99_MS)}); SLO ${SLO_MS / 1000} s (${met(p.p99 < SLO_MS)})`],
    ...(p.missed > 0 ? [['  missed probes, by reason', Object.entries(p.missReasons).map(([k, n]) => `${n}: ${k}`).join('; '), '-'] as [string, string, string]] : []),
    ['  completing frame send -> PUBACK, p50 / p99 / max', `${msf(p.ackP50)} / ${msf(p.ackP99)} / ${msf(p.ackMax)} ms`, '-'],
    ['background frames send -> PUBACK (steady), p50 / p99 / max', `${msf(r.agents.steadyAckLatencyMs.p50)} / ${msf(r.agents.steadyAckLatencyMs.p99)} / ${msf(r.agents.steadyAckLatencyMs.max)} ms`, '-'],
    ['central RSS first / last / max', `${f1(c.rssFirstMb)} / ${f1(c.rssLastMb)} / ${f1(c.rssMaxMb)} MB`, '-'],
    [
      '  RSS per minute of the run, lowest-highest',
      c.rssPerMinute.map(([m, lo, hi]) => `${m}: ${lo}-${hi}`).join(', ') + ` MB (least-squares slope ${c.rssSlopeMbPerMin.toFixed(1)} MB/min, second half ${c.rssSlopeSecondHalfMbPerMin.toFixed(1)})`,
      `flat: last minute's floor <= 1.05 x the middle minute's (${rssFlat(r) === undefined ? 'not judged, run < 3 min' : met(rssFlat(r) === true)})`,
    ],
    ['central CPU (median 10 s interval); storage writes', `${f1(c.cpuPercentMedian)} % of one core; ${f1(c.diskWriteMbPerSec)} MB/s`, '-'],
    ['central GET /healthz once a second, p50 / p99 / max', `${msf(c.healthzMs.p50)} / ${msf(c.healthzMs.p99)} / ${msf(c.healthzMs.max)} ms (${c.healthzMs.answered} of ${c.healthzMs.count} answered within 60 s)`, '-'],
    ['virtual agents CPU (median 10 s interval)', `${f1(r.agents.cpuPercentMedian)} % of one core (${r.shape.agentsProcess} process)`, '-'],
    ['agents: frames sent / acked / resent / dropped, errors', `${n0(r.agents.framesSent)} / ${n0(r.agents.framesAcked)} / ${n0(r.agents.framesResent)} / ${n0(r.agents.framesDropped)}, ${n0(r.agents.errors)}${r.agents.drained ? '' : ' (NOT drained)'}`, '-'],
    ['stored rows: database / central\'s accepted-rows counter (resent duplicates included) / acked by the agents + probe rows', `${n0(v['dbFeatureRows']!)} / ${n0(v['rowsAcceptedMqtt']!)} / ${n0(v['expectedRows']!)}`, 'all equal once every PUBACK reached its agent'],
    ['API check: GET /api/v1/metrics/features {host="vagent-00000"} / its rows in the database', `${n0(v['apiAgentSeries']!)} series, ${n0(v['apiAgentWindows']!)} rows / ${n0(v['dbAgentRows']!)} rows`, 'equal'],
    ['alerts: probe / other (background) / detection candidates', `${n0(v['alertsProbe']!)} / ${n0(v['alertsOther']!)} / ${n0(v['candidates']!)} flagged rows`, '-'],
    ['refused frames, duplicates, detection evictions', `${n0(v['refused']!)}, ${n0(v['framesDuplicate']!)}, ${n0(v['evicted']!)}`, '-'],
    ['central warn/error log lines', n0(c.logLines), '-'],
  ];
  const lines = ['| figure | result | target |', '|---|---|---|', ...rows.map(([a, b, c2]) => `| ${a} | ${b} | ${c2} |`)];
  return lines.join('\n');
}

function renderSection(r: Result, table: string): string {
  const m = r.machine;
  const ivs = r.throughput.intervals.map((x) => Math.round(x / 1000)).join(' ');
  return [
    SECTION_TITLE,
    '',
    `Command: \`${r.command}\` (\`bench/central-ingest.ts\`, run of ${r.date.slice(0, 10)}; \`--help\` lists the options).`,
    `Machine: nproc ${m.nproc}, ${m.cpuModel}, ${m.memGiB} GiB, node ${m.node}; load average at start ${m.loadAvgStart.join(' ')}, at the end ${m.loadAvgEnd.join(' ')}.`,
    '**The 2 cores are shared with other workers\' jobs**, and central, the virtual agents and the benchmark itself all run on them.',
    '',
    `Shape: ${n0(r.shape.agents)} virtual agents (simulators/agents: one MQTT connection each, each with its own enrolled secret), ${n0(r.shape.series)} series`,
    `each, ${r.shape.rate} window/s per agent (simulated ${r.shape.windowMs} ms windows, so simulated time runs with real time), ${r.shape.codec}, at most`,
    `${r.shape.maxInFlight} frames in flight per agent, for ${r.shape.durationMs / 1000} s, agents in ${r.shape.agentsProcess === 'child' ? 'a second child process' : 'the benchmark process'}. Central runs as a child process (embedded`,
    `aedes broker, SQLite in a fresh data dir, log_level warn) with detection ${r.shape.detection.x} of ${r.shape.detection.y} and max_series ${n0(r.shape.detection.maxSeries)}`,
    `(--detection-max-series; default agents x series + 10,000). Throughput = PUBACKs received: central acknowledges a frame only once it is stored and has`,
    `passed detection; per second of arrival, averaged per 10 s interval; the first ${r.throughput.warmupS} s (every agent's first frame defines its series and`,
    `central creates all ${n0(r.shape.agents * r.shape.series)} of them) are reported apart. Flag -> alert: a probe agent (own connection and secret) starts`,
    `a new series every few seconds whose ${r.shape.detection.x} windows carry Tier-1 flags (ANOMALY, BAND_BREACH, LEVEL_SHIFT); the delay runs from`,
    'handing the completing frame to the socket to the first GET /api/v1/alerts answer that lists the alert, polled every',
    `${r.probe.pollMs} ms (a new request ${r.probe.pollMs} ms after the previous one started): the figures include up to ${r.probe.pollMs} ms of poll granularity and`,
    'the HTTP round trip; nothing is subtracted. RSS and CPU of central from /proc every 10 s.',
    '',
    table,
    '',
    `Acked series-windows/s per 10 s interval over the whole run, thousands: ${ivs}.`,
    '',
    ANALYSIS_BEGIN,
    '(analysis: see below)',
    ANALYSIS_END,
    '',
  ].join('\n');
}

/** Replaces the section (from its title to the next "## " or the end), keeping its analysis block; appends when absent. */
function writeResults(path: string, section: string): void {
  replaceResultsSection(path, SECTION_TITLE, section, { begin: ANALYSIS_BEGIN, end: ANALYSIS_END });
}

if (args.role === 'agents') await agentsChildMain();
else
  await benchMain().catch((err: unknown) => {
    process.stderr.write(`[central-ingest] failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
