// mqtt exporter: feature frames (QoS 1) and heartbeats to
// `<prefix>/<tenant>/agents/<agentId>/{features,heartbeat}`, config received (retained) on
// `.../config`. Persistent session (clean: false, client id = agent id), username/password
// and/or client certificate, TLS. An enrolled agent (settings.agent.secret) whose config names
// no username authenticates as username = agent id, password = its secret; a configured
// username (with its password) takes precedence. mqtt.js' own reconnect is off (reconnectPeriod 0): every
// connection attempt is a new client following this exporter's jittered backoff, and the
// store-and-forward buffer (not mqtt.js' in-memory store) is what gets resent.
//
// Acknowledgement semantics: a frame is acknowledged by the broker's PUBACK, i.e. the broker
// has taken responsibility for it. With central's embedded broker (default deployment) that
// is central itself. With an external broker, central must subscribe with a persistent
// session (clean: false, QoS 1) so the broker queues frames while central is away; frames a
// broker accepts with no subscriber session are lost (MQTT semantics, not this exporter's).
// An agent publishes only under its own id; a broker ACL should enforce it (an MQTT 3.1.1
// broker may PUBACK and silently drop a refused publish, e.g. Mosquitto).
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { IClientOptions, MqttClient } from 'mqtt';
import { encodeEnvelope, encodeHeartbeat, PayloadKind } from '../../../../shared-schemas/src/index.js';
import type { Heartbeat } from '../../../../shared-schemas/src/index.js';
import type { ComponentSettings, Exporter, ExporterFactory } from '../../component.js';
import type { SendResult } from '../../errors.js';
import type { FeatureWindow } from '../../pdata.js';
import type { BoundCounter } from '../../../../shared-schemas/src/runtime/index.js';
import { FrameExporter, readTlsFiles } from '../internal/index.js';
import type { ConnectionEvents, ConnectResult, FrameExporterOptions, Transport, TransportConnection } from '../internal/index.js';
import { mqttExporterConfigSchema } from './config.js';
import type { MqttExporterConfig } from './config.js';

export interface ConfigMessage {
  topic: string;
  payload: Buffer;
  retained: boolean;
}

export type ConfigListener = (msg: ConfigMessage) => void;

export interface MqttTopics {
  features: string;
  heartbeat: string;
  config: string;
}

export function mqttTopics(prefix: string, tenant: string, agentId: string): MqttTopics {
  const base = `${prefix}/${tenant}/agents/${agentId}`;
  return { features: `${base}/features`, heartbeat: `${base}/heartbeat`, config: `${base}/config` };
}

/** The URL for logs: no userinfo, no query. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'mqtt://(invalid url)';
  }
}

/** CONNACK return codes that retrying soon cannot fix (3.1.1: 1,2,4,5; 5: >= 0x80 except unavailable/busy). */
function connackPermanent(code: unknown): boolean {
  if (typeof code !== 'number') return false;
  if (code === 3 || code === 0x88 || code === 0x89 || code === 0x97) return false;
  return (code >= 1 && code <= 5) || code >= 0x80;
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

class MqttConnection implements TransportConnection {
  private closed = false;
  private resetTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: MqttClient,
    private readonly events: ConnectionEvents,
    private readonly topics: MqttTopics,
    resetEveryMs: number,
  ) {
    client.on('close', () => this.end(new Error('connection closed')));
    client.on('error', (err) => this.end(err));
    if (resetEveryMs > 0) {
      this.resetTimer = setInterval(() => {
        if (!this.closed) events.resetDictionary();
      }, resetEveryMs);
      this.resetTimer.unref();
    }
  }

  private end(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.resetTimer);
    this.client.end(true);
    this.events.closed(err);
  }

  send(sequence: number, frame: Uint8Array): void {
    if (this.closed) return;
    this.client.publish(this.topics.features, toBuffer(frame), { qos: 1 }, (err) => {
      if (this.closed) return;
      // PUBACK received -> the broker has the frame.
      if (err) this.events.ack({ sequence, status: 'retry', message: err.message });
      else this.events.ack({ sequence, status: 'ok' });
    });
  }

  heartbeat(hb: Heartbeat): Promise<SendResult> {
    if (this.closed) return Promise.resolve({ kind: 'retryable', error: new Error('connection closed') });
    const payload = encodeEnvelope(encodeHeartbeat(hb), { kind: PayloadKind.Heartbeat, codec: { codec: 'none' } });
    return new Promise((resolve) => {
      this.client.publish(this.topics.heartbeat, toBuffer(payload), { qos: 1 }, (err) => resolve(err ? { kind: 'retryable', error: err } : { kind: 'success' }));
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.resetTimer);
    await new Promise<void>((resolve) => this.client.end(true, {}, () => resolve()));
  }
}

export class MqttTransport implements Transport {
  readonly target: string;
  readonly topics: MqttTopics;
  private readonly listeners = new Set<ConfigListener>();
  private readonly cConfig: BoundCounter;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly cfg: MqttExporterConfig,
  ) {
    this.target = safeUrl(cfg.url);
    this.topics = mqttTopics(cfg.topic_prefix, settings.agent.tenant, settings.agent.agentId);
    this.cConfig = settings.metrics.counter('aiops_agent_exporter_config_messages_total', 'Messages received on the config topic, by result (accepted, too_large, unexpected_topic, listener_error, subscribe_refused).', ['result']);
  }

  onConfig(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal */
  onMessage(topic: string, payload: Buffer, retained: boolean): void {
    if (topic !== this.topics.config) {
      this.cConfig.inc(1, { result: 'unexpected_topic' });
      return;
    }
    if (payload.length > this.cfg.max_config_bytes) {
      this.cConfig.inc(1, { result: 'too_large' });
      this.settings.logger.warn({ topic, bytes: payload.length, max: this.cfg.max_config_bytes }, 'config message too large: dropped');
      return;
    }
    this.cConfig.inc(1, { result: 'accepted' });
    for (const l of this.listeners) {
      try {
        l({ topic, payload, retained });
      } catch (err) {
        this.cConfig.inc(1, { result: 'listener_error' });
        this.settings.logger.warn({ err: (err as Error).message }, 'config listener failed');
      }
    }
  }

  async check(): Promise<void> {
    await readTlsFiles(this.cfg.tls, 'tls');
  }

  /** The configured username/password, else the enrolled agent id and secret, else none. */
  private credentials(): { username?: string; password?: string } {
    const c = this.cfg;
    if (c.username !== undefined) return { username: c.username, ...(c.password !== undefined ? { password: c.password } : {}) };
    const secret = this.settings.agent.secret;
    if (secret !== undefined && secret !== '') return { username: this.settings.agent.agentId, password: secret };
    return {};
  }

  async connect(events: ConnectionEvents, timeoutMs: number): Promise<ConnectResult> {
    const c = this.cfg;
    let files;
    try {
      files = await readTlsFiles(c.tls, 'tls');
    } catch (err) {
      return { kind: 'failure', error: err as Error };
    }
    const options: IClientOptions = {
      clientId: this.settings.agent.agentId,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      keepalive: Math.max(1, Math.round(c.keepalive / 1000)),
      protocolVersion: c.protocol_version,
      resubscribe: false,
      queueQoSZero: false,
      ...(c.protocol_version === 5 ? { properties: { sessionExpiryInterval: 7 * 24 * 3600 } } : {}),
      ...this.credentials(),
      ...(files.ca ? { ca: files.ca } : {}),
      ...(files.cert ? { cert: files.cert } : {}),
      ...(files.key ? { key: files.key } : {}),
      ...(c.url.startsWith('mqtts:') ? { rejectUnauthorized: !c.tls.insecure_skip_verify } : {}),
      ...(c.tls.server_name ? { servername: c.tls.server_name } : {}),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(c.url, options);
    } catch (err) {
      return { kind: 'failure', error: err as Error };
    }
    // The config listener is attached before CONNECT, not once subscribed: mqtt.js calls the
    // subscribe callback through a promise, after the packets that arrived in the same TCP
    // segment as the SUBACK (the retained config usually does), and a persistent session's
    // unacknowledged messages arrive right after the CONNACK. mqtt.js acknowledges a message
    // whether or not anyone listens, so a late listener loses it for good.
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain === true));
    return new Promise<ConnectResult>((resolve) => {
      let settled = false;
      const fail = (kind: 'retryable' | 'failure', error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.end(true);
        resolve({ kind, error });
      };
      const timer = setTimeout(() => fail('retryable', new Error(`no CONNACK from ${this.target} within ${timeoutMs} ms`)), timeoutMs + 1000);
      client.once('error', (err) => {
        const code = (err as { code?: unknown }).code;
        fail(connackPermanent(code) ? 'failure' : 'retryable', new Error(`${err.message}${typeof code === 'number' ? ` (CONNACK ${code})` : ''}`));
      });
      let connacked = false;
      client.once('close', () => fail('retryable', new Error(`connection to ${this.target} closed ${connacked ? 'while subscribing to the config topic' : 'before CONNACK'}`)));
      client.once('connect', () => {
        if (settled) return;
        connacked = true;
        // A refused config subscription must not stop the frames: counted and logged.
        client.subscribe(this.topics.config, { qos: 1 }, (err, granted) => {
          if (settled) return;
          if (err || granted?.some((g) => g.qos === 128)) {
            this.cConfig.inc(1, { result: 'subscribe_refused' });
            this.settings.logger.warn({ topic: this.topics.config, err: err?.message }, 'broker refused the config subscription; frames are sent anyway');
          }
          settled = true;
          clearTimeout(timer);
          client.removeAllListeners('error');
          client.removeAllListeners('close');
          resolve({ kind: 'success', connection: new MqttConnection(client, events, this.topics, c.wire_dictionary === 'stream' ? c.dictionary_reset_interval : 0) });
        });
      });
    });
  }
}

export interface MqttExporterOptions extends Omit<FrameExporterOptions, 'config' | 'transport'> {}

export class MqttExporter implements Exporter {
  readonly frames: FrameExporter;
  readonly transport: MqttTransport;

  constructor(settings: ComponentSettings, config: MqttExporterConfig, opts: MqttExporterOptions = {}) {
    // mqtt-packet pre-generates 65,536 two-byte Buffers for packet ids on first use (~6 MB of
    // heap, measured in the agent's heap snapshot); at one frame per window allocating them is
    // cheaper. Must be set before the first packet is written; harmless to repeat.
    mqttPacket.writeToStream.cacheNumbers = false;
    this.transport = new MqttTransport(settings, config);
    this.frames = new FrameExporter(settings, { ...opts, config, transport: this.transport, wireDictionary: config.wire_dictionary });
  }

  /** Config pushed by central (retained on `.../config`): the raw bytes, for the agent to apply. */
  onConfig(listener: ConfigListener): () => void {
    return this.transport.onConfig(listener);
  }

  async start(): Promise<void> {
    await this.transport.check();
    await this.frames.start();
  }

  consumeWindow(w: FeatureWindow): Promise<void> {
    return this.frames.consumeWindow(w);
  }

  shutdown(): Promise<void> {
    return this.frames.shutdown();
  }
}

export const mqttExporterFactory: ExporterFactory<typeof mqttExporterConfigSchema> = {
  kind: 'exporter',
  type: 'mqtt',
  description: 'Feature frames to central over MQTT (QoS 1, persistent session, acknowledged by PUBACK), with a store-and-forward buffer.',
  configSchema: mqttExporterConfigSchema,
  create: (settings, config) => new MqttExporter(settings, config),
};
