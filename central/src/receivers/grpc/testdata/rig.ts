// Test rig of the gRPC ingest: a real central slice (SQLite stores, FeatureSink, FrameIngest,
// GrpcIngest) and helpers to drive it with the REAL agent exporter or a raw gRPC client that
// can send anything (garbage, other agents' frames, oversized messages).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  agentIngestClientDefinition,
  encodeAlertBatch,
  encodeFeatureFrameEnvelope,
  encodeFrame,
} from '../../../../../shared-schemas/src/index.js';
import type { Ack, AckOrMalformed, Alert, AlertBatch, FeatureRow, Heartbeat, HeartbeatAck, Labels } from '../../../../../shared-schemas/src/index.js';
import { metricSum, SelfMetrics, silentLogger, systemClock } from '../../../../../shared-schemas/src/runtime/index.js';
import type { Logger } from '../../../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, FrameConsumer } from '../../../component.js';
import { FeatureSink, FrameIngest } from '../../../pipeline/index.js';
import { openSqliteStores } from '../../../storage/index.js';
import type { SqliteStores } from '../../../storage/index.js';
import { grpcExporterConfigSchema, GrpcExporter } from '../../../../../edge-agent/src/exporters/grpc/index.js';
import { makeWindow } from '../../../../../edge-agent/src/exporters/internal/testdata/windows.js';
import { testSettings } from '../../../../../edge-agent/src/testing/index.js';
import type { TestSettings } from '../../../../../edge-agent/src/testing/index.js';
import { grpcIngestConfigSchema, GrpcIngest } from '../index.js';
import type { GrpcIngestConfigInput } from '../index.js';

/** The agent test windows start here (edge-agent's makeWindow); the store's clock sits after them. */
export const T0 = Date.UTC(2026, 0, 1);
export const STORE_NOW = T0 + 3_600_000;
export const TENANT = 'test';

export async function until(pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** `p`, or a rejection naming `what` after `ms` (a test never waits forever). */
export function bounded<T>(p: Promise<T>, what: string, ms = 20_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Sum of a self-metric over the label sets matching `labels`. */
export const metric = metricSum;

const open = new Set<() => Promise<void>>();

/** Stops every central, agent and raw client a test left running (a failed test must not hang the run). */
export async function cleanup(): Promise<void> {
  const all = [...open];
  open.clear();
  for (const f of all) await f().catch(() => undefined);
}

/** A logger that keeps every line (JSON) for assertions. */
export async function recordingLogger(lines: string[], level: 'debug' | 'info' | 'warn' = 'info'): Promise<Logger> {
  const { pino } = await import('pino');
  return pino({ level }, { write: (l: string) => void lines.push(l) });
}

export interface CentralOptions {
  /** SQLite file; default a new file in a temp folder. */
  dbPath?: string;
  /** Reuse these stores (not closed by stop() unless closeStores). */
  stores?: SqliteStores;
  grpc?: GrpcIngestConfigInput;
  /** Wraps the FeatureSink (slow or failing downstream). */
  wrapSink?: (sink: FeatureSink) => FrameConsumer;
  maxInFlightPerSession?: number;
  retryAfterMs?: number;
  alerts?: AlertConsumer;
  logger?: Logger;
}

export interface Central {
  stores: SqliteStores;
  server: GrpcIngest;
  metrics: SelfMetrics;
  settings: CentralSettings;
  port: number;
  dbPath: string;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Shuts the server down, then closes the stores. */
  stop(): Promise<void>;
}

export async function startCentral(o: CentralOptions = {}): Promise<Central> {
  const dbPath = o.dbPath ?? join(mkdtempSync(join(tmpdir(), 'aiops-grpc-ingest-')), 'central.sqlite');
  const stores = o.stores ?? openSqliteStores(dbPath, { now: () => STORE_NOW });
  const metrics = new SelfMetrics();
  const logger = o.logger ?? silentLogger();
  const settings: CentralSettings = { id: 'grpc', logger, metrics: metrics.forComponent('grpc'), clock: systemClock, dataDir: tmpdir() };
  const sink = new FeatureSink({ store: stores.metrics, readers: [], logger, metrics: metrics.forComponent('features') });
  const ingest = new FrameIngest({
    next: o.wrapSink ? o.wrapSink(sink) : sink,
    logger,
    metrics: metrics.forComponent('frames'),
    ...(o.maxInFlightPerSession !== undefined ? { maxInFlightPerSession: o.maxInFlightPerSession } : {}),
    retryAfterMs: o.retryAfterMs ?? 100,
  });
  const config = grpcIngestConfigSchema.parse({ listen: '127.0.0.1:0', shutdown_grace: '2s', ...o.grpc });
  const server = new GrpcIngest(settings, config, { agents: stores.agents, ingest, ...(o.alerts ? { alerts: o.alerts } : {}) });
  await server.start();
  open.add(async () => {
    await server.shutdown();
    await stores.close();
  });
  return {
    stores,
    server,
    metrics,
    settings,
    port: server.port,
    dbPath,
    metric: (name, labels) => metric(metrics, name, labels),
    async stop() {
      await server.shutdown();
      await stores.close();
    },
  };
}

/** Enrolls `agentId` in the tenant and returns its secret. */
export async function enroll(stores: SqliteStores, agentId: string, tenant = TENANT): Promise<string> {
  const now = Date.now();
  const { token } = await stores.agents.createEnrollmentToken({ tenant, expiresAtMs: now + 3_600_000, createdBy: 'test' }, now);
  const r = await stores.agents.enroll(token, agentId, now);
  if (r === undefined) throw new Error('enrollment failed');
  return r.secret;
}

/** Every (series, window start) stored for the test metric, as "labelsKey@start" with counts. */
export async function storedWindows(stores: SqliteStores, name = 'node_cpu_usage_ratio', matchers: Array<{ name: string; value: string }> = []): Promise<Map<string, number>> {
  const series = await stores.metrics.queryFeatures({
    selector: { name, matchers: matchers.map((m) => ({ name: m.name, op: '=' as const, value: m.value })) },
    startMs: T0 - 3_600_000,
    endMs: STORE_NOW,
  });
  const out = new Map<string, number>();
  for (const s of series) {
    const key = Object.entries(s.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${v}`)
      .join(',');
    for (const w of s.windows) {
      const k = `${key}@${w.windowStartMs}`;
      out.set(k, (out.get(k) ?? 0) + 1);
    }
  }
  return out;
}

/**
 * Asserts windows 0..n-1 of `series` series each (edge-agent makeWindow, host h1) are stored
 * exactly once. Returns a description of the first problem, or undefined.
 */
export async function checkExactlyOnce(stores: SqliteStores, n: number, series: number, host = 'h1'): Promise<string | undefined> {
  const got = await storedWindows(stores, 'node_cpu_usage_ratio', [{ name: 'host', value: host }]);
  if (got.size !== n * series) return `expected ${n * series} (series, window) rows, found ${got.size}`;
  for (const [k, c] of got) if (c !== 1) return `${k} stored ${c} times`;
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < series; s++) {
      const k = `__name__=node_cpu_usage_ratio,cpu=${s},host=${host}@${T0 + i * 10_000}`;
      if (!got.has(k)) return `missing ${k}`;
    }
  }
  return undefined;
}

// ------------------------------------------------------------------ raw client

function rawDefinition() {
  const def = agentIngestClientDefinition();
  // Bytes go out as given: the raw client can send what no real agent would.
  return {
    ...def,
    StreamFeatures: { ...def.StreamFeatures, requestSerialize: (b: Buffer) => b },
    PushAlerts: { ...def.PushAlerts, requestSerialize: (b: Buffer) => b },
  };
}

const RawClient = grpc.makeGenericClientConstructor(rawDefinition() as unknown as grpc.ServiceDefinition, 'AgentIngest');

export interface RawStream<R> {
  readonly received: R[];
  /** Resolves when response headers arrived (central accepted the stream); bounded. */
  accepted(): Promise<void>;
  /** The call's final status; bounded. */
  status(): Promise<grpc.StatusObject>;
  write(bytes: Uint8Array): void;
  end(): void;
  cancel(): void;
  waitFor(n: number, what?: string): Promise<void>;
}

export class RawAgent {
  readonly client: grpc.Client & Record<string, unknown>;

  constructor(
    port: number,
    private readonly creds: { agentId?: string; secret?: string; authorization?: string } = {},
    channel: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
    options: grpc.ChannelOptions = {},
  ) {
    this.client = new RawClient(`127.0.0.1:${port}`, channel, { 'grpc.use_local_subchannel_pool': 1, 'grpc.max_send_message_length': -1, ...options }) as unknown as grpc.Client & Record<string, unknown>;
    open.add(async () => this.client.close());
  }

  metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.creds.agentId !== undefined) md.set('x-aiops-agent-id', this.creds.agentId);
    if (this.creds.authorization !== undefined) md.set('authorization', this.creds.authorization);
    else if (this.creds.secret !== undefined) md.set('authorization', `Bearer ${this.creds.secret}`);
    return md;
  }

  private stream<R>(method: 'StreamFeatures' | 'PushAlerts'): RawStream<R> {
    const open = this.client[method] as (md: grpc.Metadata) => grpc.ClientDuplexStream<Buffer, R>;
    const call = open.call(this.client, this.metadata());
    const received: R[] = [];
    call.on('data', (m: R) => received.push(m));
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    const accepted = new Promise<void>((resolve, reject) => {
      call.once('metadata', () => resolve());
      void status.then((s) => reject(Object.assign(new Error(`stream ended before it was accepted: ${grpc.status[s.code]}: ${s.details}`), { code: s.code })));
    });
    accepted.catch(() => undefined);
    return {
      received,
      accepted: () => bounded(accepted, `${method} accepted`),
      status: () => bounded(status, `${method} status`),
      write: (bytes) => void call.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)),
      end: () => call.end(),
      cancel: () => call.cancel(),
      waitFor: (n, what = `${n} answers`) => until(() => received.length >= n, what, 20_000),
    };
  }

  features(): RawStream<AckOrMalformed> {
    return this.stream<AckOrMalformed>('StreamFeatures');
  }

  alerts(): RawStream<Ack> {
    return this.stream<Ack>('PushAlerts');
  }

  heartbeat(hb: Heartbeat): Promise<{ ack?: HeartbeatAck; error?: grpc.ServiceError }> {
    const method = this.client['Heartbeat'] as (req: Heartbeat, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: HeartbeatAck) => void) => void;
    return new Promise((resolve) => {
      method.call(this.client, hb, this.metadata(), { deadline: Date.now() + 20_000 }, (err, res) => resolve(err ? { error: err } : { ack: res! }));
    });
  }

  close(): void {
    this.client.close();
  }
}

const ROW: Omit<FeatureRow, 'seriesId'> = { count: 10, min: 1, max: 2, mean: 1.5, std: 0.25, last: 2, p50: 1.5, p95: 1.9, tier1MaxScore: 0.5, flags: 0, bandLower: 0, bandUpper: 3 };

/** A self-contained (standalone) frame of one series `raw_metric{k=<series>}` for window `index`. */
export function rawFrame(agentId: string, sequence: number, index: number, series = 'a', tenant = ''): Uint8Array {
  const labels: Labels = { __name__: 'raw_metric', k: series };
  return encodeFrame({
    agentId,
    tenant,
    sequence,
    windowStartMs: T0 + index * 10_000,
    windowEndMs: T0 + (index + 1) * 10_000,
    dictionaryScope: 'standalone',
    dictionaryEpoch: 0,
    seriesDefs: [{ id: 1, labels }],
    rows: [{ seriesId: 1, ...ROW }],
  });
}

export function envelope(sequence: number, frame: Uint8Array): Uint8Array {
  return encodeFeatureFrameEnvelope({ sequence, frame }, { maxCompressedBytes: 64 * 1024 * 1024 });
}

export function alertBatch(b: AlertBatch): Uint8Array {
  return encodeAlertBatch(b);
}

export class RecordingAlerts implements AlertConsumer {
  readonly batches: Array<readonly Alert[]> = [];
  failNext = 0;
  async consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('alert store busy');
    }
    this.batches.push(alerts);
  }
}

/** A FrameConsumer in front of the sink that holds frames until released, counting concurrency. */
export class Gate implements FrameConsumer {
  inside = 0;
  maxInside = 0;
  passed = 0;
  private open = false;
  private waiters: Array<() => void> = [];
  constructor(private readonly next: FrameConsumer) {}

  async consumeFrame(frame: Parameters<FrameConsumer['consumeFrame']>[0]): Promise<void> {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    try {
      if (!this.open) await new Promise<void>((r) => this.waiters.push(r));
      await this.next.consumeFrame(frame);
      this.passed++;
    } finally {
      this.inside--;
    }
  }

  release(): void {
    this.open = true;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
}

// ------------------------------------------------------------------ the real agent exporter

export interface Agent {
  exporter: GrpcExporter;
  settings: TestSettings;
  /** Frames the agent built and has not had acknowledged (its store-and-forward buffer). */
  readonly buffered: number;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Feeds windows [from, from + n) of `series` series (host label `host`). */
  feed(from: number, n: number, series?: number): Promise<void>;
}

/** The real edge-agent grpc exporter, started, pointed at central on `port`. */
export async function startAgent(
  port: number,
  who: { agentId: string; secret?: string; tenant?: string; host?: string },
  cfg: Record<string, unknown> = {},
  logger?: Logger,
): Promise<Agent> {
  const settings = testSettings('grpc');
  settings.agent = { ...settings.agent, agentId: who.agentId, tenant: who.tenant ?? TENANT, ...(who.secret !== undefined ? { secret: who.secret } : {}) };
  if (logger) settings.logger = logger;
  const config = grpcExporterConfigSchema.parse({
    endpoint: `127.0.0.1:${port}`,
    tls: { insecure: true },
    retry: { initial_interval: '100ms', max_interval: '500ms' },
    connect_timeout: '3s',
    replay_rate: 1000,
    shutdown_timeout: '1s',
    ...cfg,
  });
  const exporter = new GrpcExporter(settings, config);
  await exporter.start();
  open.add(() => exporter.shutdown());
  const host = who.host ?? who.agentId;
  return {
    exporter,
    settings,
    get buffered() {
      return exporter.frames.buffer.size;
    },
    metric: (name, labels) => metric(settings.selfMetrics, name, labels),
    async feed(from, n, series = 4) {
      for (let i = from; i < from + n; i++) {
        const w = makeWindow(i, series);
        for (const s of w.series) {
          s.labels['host'] = host;
          s.key = s.key.replace('host="h1"', `host="${host}"`);
        }
        await exporter.consumeWindow(w);
      }
    },
  };
}
