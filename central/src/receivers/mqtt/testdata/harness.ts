// Test harness of the MQTT ingest: a real central slice (SQLite stores, FeatureSink, FrameIngest,
// MqttIngest) and real agents (the edge agent's MqttExporter), plus raw mqtt.js clients for what
// a well-behaved agent never does.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { encodeFrame } from '../../../../../shared-schemas/src/index.js';
import type { FeatureFrame } from '../../../../../shared-schemas/src/index.js';
import { SelfMetrics } from '../../../../../shared-schemas/src/runtime/index.js';
import { MqttExporter, mqttExporterConfigSchema } from '../../../../../edge-agent/src/exporters/mqtt/index.js';
import type { FeatureWindow } from '../../../../../edge-agent/src/pdata.js';
import { testSettings, until as sharedUntil } from '../../../../../edge-agent/src/testing/index.js';
import type { TestSettings } from '../../../../../edge-agent/src/testing/index.js';
import { systemClock } from '../../../component.js';
import type { AlertConsumer, CentralSettings, FrameConsumer, IngestedFrame } from '../../../component.js';
import { FeatureSink, FrameIngest } from '../../../pipeline/index.js';
import { openSqliteStores } from '../../../storage/index.js';
import type { SqliteStores } from '../../../storage/index.js';
import { MqttIngest, mqttIngestConfigSchema } from '../index.js';
import type { MqttIngestConfigInput } from '../index.js';

/** Windows start an hour ago (inside the store's raw retention), on a 10 s grid. */
export const T0 = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
export const WINDOW_MS = 10_000;

export const until = (pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> => sharedUntil(pred, what, timeoutMs);

export const seqs = (n: number, from = 1): number[] => Array.from({ length: n }, (_, i) => i + from);

/** Window `index` of an agent: `series` series labelled with the agent id (so agents do not share series). */
export function makeWindow(agentId: string, index: number, series = 4): FeatureWindow {
  return {
    windowStartMs: T0 + index * WINDOW_MS,
    windowEndMs: T0 + (index + 1) * WINDOW_MS,
    series: Array.from({ length: series }, (_, i) => ({
      key: `node_cpu_usage_ratio{agent="${agentId}",cpu="${i}"}`,
      labels: { __name__: 'node_cpu_usage_ratio', agent: agentId, cpu: String(i) },
      row: { count: 10, min: i, max: i + 1, mean: i + 0.5, std: 0.25, last: i + index, p50: i + 0.5, p95: i + 0.9, tier1MaxScore: 0.5, flags: 0, bandLower: i - 1, bandUpper: i + 2 },
    })),
  };
}

export interface CapturedLogger {
  logger: Logger;
  lines: string[];
}

export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  return { logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }), lines };
}

export async function metric(m: SelfMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const x = m.registry.getSingleMetric(name);
  if (!x) return 0;
  let sum = 0;
  for (const v of (await x.get()).values) {
    const l = v.labels as Record<string, string | number>;
    if (Object.entries(labels).every(([k, want]) => String(l[k]) === want)) sum += v.value;
  }
  return sum;
}

/** Every frame the FeatureSink stored as new, across central restarts (duplicates never reach readers). */
export class StoredFrames implements FrameConsumer {
  readonly frames: IngestedFrame[] = [];
  async consumeFrame(frame: IngestedFrame): Promise<void> {
    this.frames.push(frame);
  }
  of(agentId: string): number[] {
    return this.frames.filter((f) => f.agentId === agentId).map((f) => f.sequence);
  }
}

/** Fails the first `n` frames with a retryable error (a busy or failing store). */
export class Flaky implements FrameConsumer {
  failures = 0;
  constructor(
    private readonly next: FrameConsumer,
    public remaining: number,
  ) {}
  async consumeFrame(frame: IngestedFrame): Promise<void> {
    if (this.remaining > 0) {
      this.remaining--;
      this.failures++;
      throw Object.assign(new Error('store busy (test)'), { retryable: true });
    }
    return this.next.consumeFrame(frame);
  }
}

export interface CentralOptions {
  /** SQLite file (kept across restarts) or ':memory:'. */
  path?: string;
  config?: MqttIngestConfigInput;
  stored?: StoredFrames;
  /** Wraps the FeatureSink (e.g. Flaky). */
  wrap?: (sink: FrameConsumer) => FrameConsumer;
  alerts?: AlertConsumer;
  withAudit?: boolean;
}

/** One central process' MQTT path: stores -> FeatureSink -> FrameIngest -> MqttIngest. */
export class Central {
  readonly selfMetrics = new SelfMetrics();
  readonly logs = captureLogger();
  readonly stores: SqliteStores;
  readonly stored: StoredFrames;
  readonly ingest: MqttIngest;
  readonly settings: CentralSettings;

  constructor(opts: CentralOptions = {}) {
    this.stores = openSqliteStores(opts.path ?? ':memory:', { now: () => Date.now() });
    this.stored = opts.stored ?? new StoredFrames();
    const pm = this.selfMetrics.forComponent('pipeline');
    const sink = new FeatureSink({ store: this.stores.metrics, readers: [this.stored], logger: this.logs.logger, metrics: pm });
    const frames = new FrameIngest({ next: opts.wrap ? opts.wrap(sink) : sink, logger: this.logs.logger, metrics: pm, retryAfterMs: 50 });
    this.settings = { id: 'mqtt', logger: this.logs.logger, metrics: this.selfMetrics.forComponent('mqtt'), clock: systemClock, dataDir: mkdtempSync(join(tmpdir(), 'aiops-central-mqtt-')) };
    const config = mqttIngestConfigSchema.parse({ listen: '127.0.0.1:0', ...opts.config });
    this.ingest = new MqttIngest(this.settings, config, {
      agents: this.stores.agents,
      ingest: frames,
      ...(opts.withAudit === false ? {} : { audit: this.stores.audit }),
      ...(opts.alerts ? { alerts: opts.alerts } : {}),
    });
  }

  async start(): Promise<number> {
    await this.ingest.start();
    return this.ingest.port ?? 0;
  }

  /** Upstream first: the ingest, then the stores. */
  async stop(): Promise<void> {
    await this.ingest.shutdown();
    await this.stores.close();
  }

  metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    return metric(this.selfMetrics, name, labels);
  }

  /** Enrolls an agent; returns its secret. */
  async enroll(agentId: string, tenant = 'acme'): Promise<string> {
    const now = Date.now();
    const { token } = await this.stores.agents.createEnrollmentToken({ tenant, expiresAtMs: now + 3_600_000, createdBy: 'test' }, now);
    const r = await this.stores.agents.enroll(token, agentId, now);
    if (!r) throw new Error('enrollment failed');
    return r.secret;
  }

  /** Windows stored for the agent's series cpu=0, by window start (one per frame). */
  async storedWindows(agentId: string): Promise<number[]> {
    const series = await this.stores.metrics.queryFeatures({
      selector: { name: 'node_cpu_usage_ratio', matchers: [{ name: 'agent', op: '=', value: agentId }, { name: 'cpu', op: '=', value: '0' }] },
      startMs: T0 - WINDOW_MS,
      endMs: T0 + 10_000 * WINDOW_MS,
    });
    return series.flatMap((s) => s.windows.map((w) => Math.round((w.windowStartMs - T0) / WINDOW_MS)));
  }
}

export interface AgentOptions {
  port: number;
  agentId: string;
  tenant?: string;
  username?: string;
  password?: string;
  url?: string;
  config?: Record<string, unknown>;
}

/** The real edge agent exporter, configured for quick tests. */
export function makeAgent(o: AgentOptions): { s: TestSettings; e: MqttExporter } {
  const s = testSettings('mqtt');
  s.agent.agentId = o.agentId;
  s.agent.tenant = o.tenant ?? 'acme';
  const cfg = mqttExporterConfigSchema.parse({
    url: o.url ?? `mqtt://127.0.0.1:${o.port}`,
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    retry: { initial_interval: '100ms', max_interval: '500ms' },
    connect_timeout: '3s',
    replay_rate: 1000,
    heartbeat_interval: '1s',
    ...o.config,
  });
  return { s, e: new MqttExporter(s, cfg) };
}

export interface RawConnect {
  client: MqttClient;
  /** CONNACK return code when refused. */
  refused?: number;
}

/** A raw mqtt.js client (MQTT 3.1.1, no reconnect); resolves on CONNACK either way. */
export async function rawConnect(port: number, opts: IClientOptions, url = `mqtt://127.0.0.1:${port}`): Promise<RawConnect> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, protocolVersion: 4, clean: true, ...opts });
  return new Promise<RawConnect>((resolve, reject) => {
    client.once('connect', () => resolve({ client }));
    client.once('error', (err) => {
      const code = (err as { code?: unknown }).code;
      client.end(true);
      if (typeof code === 'number') resolve({ client, refused: code });
      else reject(err);
    });
    client.once('close', () => {
      client.end(true);
      reject(new Error('connection closed before CONNACK'));
    });
  });
}

/** The SUBACK return codes for `topics` (0x80 = refused), whatever mqtt.js makes of a refusal. */
export function subackCodes(client: MqttClient, topics: string[]): Promise<number[]> {
  return new Promise((resolve, reject) =>
    client.subscribe(topics, { qos: 1 }, (err, _granted, packet) => {
      if (packet?.granted) resolve(packet.granted.map((g) => (typeof g === 'number' ? g : (g as { qos: number }).qos)));
      else reject(err ?? new Error('no SUBACK'));
    }),
  );
}

/** Resolves when the client's connection closes. */
export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (!client.connected && client.disconnected) return resolve();
    client.once('close', () => resolve());
  });
}

/** A standalone feature frame's envelope bytes (what a malicious or broken agent could send). */
export function frameBytes(over: Partial<FeatureFrame> & { agentId: string }, index = 0): Uint8Array {
  const w = makeWindow(over.agentId, index, 2);
  const frame: FeatureFrame = {
    tenant: 'acme',
    sequence: 1,
    windowStartMs: w.windowStartMs,
    windowEndMs: w.windowEndMs,
    dictionaryScope: 'standalone',
    dictionaryEpoch: 0,
    seriesDefs: w.series.map((s, i) => ({ id: i + 1, labels: s.labels })),
    rows: w.series.map((s, i) => ({ seriesId: i + 1, ...s.row })),
    ...over,
  };
  return encodeFrame(frame, { codec: { codec: 'none' } });
}
