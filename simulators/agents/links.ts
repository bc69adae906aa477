// One virtual agent's connection to central, speaking the real edge agent's protocols
// (edge-agent/src/exporters/{mqtt,grpc}) without their buffer and metrics machinery:
//
// MQTT: client id = agent id, persistent session (clean: false), mqtt.js' own reconnect off;
// frames on `<prefix>/<tenant>/agents/<id>/features` at QoS 1, acknowledged by PUBACK (a
// publish error counts as Ack 'retry'); heartbeats (envelope, codec none) on `.../heartbeat`;
// subscribed at QoS 1 to the retained `.../config`.
// gRPC: AgentIngest.StreamFeatures, one channel (private subchannel, one TCP connection) per
// agent, FeatureFrameEnvelope out, Ack by sequence back; a malformed Ack is reported, not
// thrown; heartbeats on the unary Heartbeat call, whose resync_dictionary asks for a resync.
//
// Outcomes are values (connect never rejects); events stop after `closed` or close().
import * as grpc from '@grpc/grpc-js';
import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { agentIngestClientDefinition, encodeEnvelope, encodeHeartbeat, PayloadKind } from '../../shared-schemas/src/index.js';
import type { AckOrMalformed, AckStatus, FeatureFrameEnvelope, Heartbeat, HeartbeatAck } from '../../shared-schemas/src/index.js';
import type { VirtualAgentsConfig } from './config.js';
import type { AgentCredentials } from './credentials.js';

export interface LinkEvents {
  ack(sequence: number, status: AckStatus, message: string, retryAfterMs: number): void;
  /** An incoming message that could not be understood (counted; the connection goes on). */
  malformed(reason: string): void;
  /** The receiver lost this connection's dictionary (HeartbeatAck.resync_dictionary). */
  resync(): void;
  /** A message on the config topic (MQTT). */
  config(payload: Buffer, retained: boolean): void;
  /** The connection ended; `error` says why. */
  closed(error?: Error): void;
}

export interface AgentLink {
  /** Sends one frame (envelope bytes); its outcome arrives as an ack, or the connection closes. */
  send(sequence: number, frame: Uint8Array): void;
  /** Sends a heartbeat; resolves true when the receiver took it. Never rejects. */
  heartbeat(hb: Heartbeat): Promise<boolean>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

export type ConnectOutcome =
  | { kind: 'success'; link: AgentLink }
  /** `failure`: retrying soon cannot help (refused credentials, unknown service). */
  | { kind: 'retryable' | 'failure'; error: Error };

export interface LinkFactory {
  /** Where frames go, for logs. */
  readonly target: string;
  connect(agentId: string, events: LinkEvents, timeoutMs: number): Promise<ConnectOutcome>;
}

export interface MqttTopics {
  features: string;
  heartbeat: string;
  config: string;
}

/** `<prefix>/<tenant>/agents/<agentId>/<kind>` (ARCHITECTURE section 6). */
export function mqttTopics(prefix: string, tenant: string, agentId: string): MqttTopics {
  const base = `${prefix}/${tenant}/agents/${agentId}`;
  return { features: `${base}/features`, heartbeat: `${base}/heartbeat`, config: `${base}/config` };
}

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** CONNACK return codes that retrying soon cannot fix (3.1.1: 1, 2, 4, 5). */
function connackPermanent(code: unknown): boolean {
  return typeof code === 'number' && code >= 1 && code <= 5 && code !== 3;
}

class MqttLink implements AgentLink {
  private closed = false;

  constructor(
    private readonly client: MqttClient,
    private readonly topics: MqttTopics,
    private readonly events: LinkEvents,
  ) {
    client.on('message', (topic, payload, packet) => {
      if (!this.closed && topic === topics.config) events.config(payload, packet.retain === true);
    });
    client.on('close', () => this.end(new Error('connection closed')));
    client.on('error', (err) => this.end(err));
  }

  private end(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.client.end(true);
    this.events.closed(err);
  }

  send(sequence: number, frame: Uint8Array): void {
    if (this.closed) return;
    this.client.publish(this.topics.features, toBuffer(frame), { qos: 1 }, (err) => {
      if (this.closed) return;
      // PUBACK received: the broker has taken responsibility for the frame.
      if (err) this.events.ack(sequence, 'retry', err.message, 0);
      else this.events.ack(sequence, 'ok', '', 0);
    });
  }

  heartbeat(hb: Heartbeat): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    const payload = encodeEnvelope(encodeHeartbeat(hb), { kind: PayloadKind.Heartbeat, codec: { codec: 'none' } });
    return new Promise((resolve) => this.client.publish(this.topics.heartbeat, toBuffer(payload), { qos: 1 }, (err) => resolve(!err)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await new Promise<void>((resolve) => this.client.end(true, {}, () => resolve()));
  }
}

export class MqttLinkFactory implements LinkFactory {
  readonly target: string;

  /** `credentials`: per-agent username/password (they replace cfg.username/password). */
  constructor(
    private readonly cfg: VirtualAgentsConfig,
    private readonly ca: Buffer | undefined,
    private readonly credentials?: ReadonlyMap<string, AgentCredentials>,
  ) {
    this.target = cfg.targetSpec.display;
  }

  connect(agentId: string, events: LinkEvents, timeoutMs: number): Promise<ConnectOutcome> {
    const c = this.cfg;
    const topics = mqttTopics(c.topicPrefix, c.tenant, agentId);
    const own = this.credentials?.get(agentId);
    const username = own !== undefined ? own.username : c.username;
    const password = own !== undefined ? own.password : c.password;
    const options: IClientOptions = {
      clientId: agentId,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      keepalive: 30,
      protocolVersion: 4,
      resubscribe: false,
      queueQoSZero: false,
      ...(username !== undefined ? { username } : {}),
      ...(password !== undefined ? { password } : {}),
      ...(this.ca ? { ca: this.ca } : {}),
      ...(c.targetSpec.tls ? { rejectUnauthorized: true } : {}),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(c.targetSpec.address, options);
    } catch (err) {
      return Promise.resolve({ kind: 'failure', error: err as Error });
    }
    return new Promise<ConnectOutcome>((resolve) => {
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
      client.once('close', () => fail('retryable', new Error(`connection to ${this.target} closed before it was ready`)));
      client.once('connect', () => {
        // A refused config subscription does not stop the frames (as the real exporter).
        client.subscribe(topics.config, { qos: 1 }, () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          client.removeAllListeners('error');
          client.removeAllListeners('close');
          resolve({ kind: 'success', link: new MqttLink(client, topics, events) });
        });
      });
    });
  }
}

const HEARTBEAT_DEADLINE_MS = 5000;
const PERMANENT = new Set<number>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.UNIMPLEMENTED]);

function describeStatus(err: grpc.ServiceError): string {
  return `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`;
}

function makeClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(agentIngestClientDefinition() as unknown as grpc.ServiceDefinition, 'AgentIngest');
}

type GrpcClient = grpc.Client & Record<string, unknown>;

class GrpcLink implements AgentLink {
  private closed = false;

  constructor(
    private readonly client: GrpcClient,
    private readonly call: grpc.ClientDuplexStream<FeatureFrameEnvelope, AckOrMalformed>,
    private readonly events: LinkEvents,
  ) {
    call.on('data', (m: AckOrMalformed) => {
      if (this.closed) return;
      if ('malformed' in m) events.malformed(m.malformed);
      else events.ack(m.sequence, m.status, m.message, m.retryAfterMs);
    });
    call.on('error', (err: grpc.ServiceError) => this.end(new Error(describeStatus(err))));
    call.on('end', () => this.end(new Error('server ended the stream')));
  }

  private end(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
    this.events.closed(err);
  }

  send(sequence: number, frame: Uint8Array): void {
    if (this.closed) return;
    this.call.write({ sequence, frame });
  }

  heartbeat(hb: Heartbeat): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const method = this.client['Heartbeat'] as (req: Heartbeat, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: HeartbeatAck) => void) => void;
      method.call(this.client, hb, { deadline: Date.now() + HEARTBEAT_DEADLINE_MS }, (err, res) => {
        if (err) return resolve(false);
        if (res?.resyncDictionary && !this.closed) this.events.resync();
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}

export class GrpcLinkFactory implements LinkFactory {
  readonly target: string;
  private readonly Client = makeClientConstructor();
  private readonly creds: grpc.ChannelCredentials;

  constructor(
    private readonly cfg: VirtualAgentsConfig,
    ca: Buffer | undefined,
  ) {
    this.target = cfg.targetSpec.display;
    this.creds = cfg.targetSpec.tls ? grpc.credentials.createSsl(ca ?? null) : grpc.credentials.createInsecure();
  }

  connect(_agentId: string, events: LinkEvents, timeoutMs: number): Promise<ConnectOutcome> {
    const client = new this.Client(this.cfg.targetSpec.address, this.creds, {
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
      'grpc.max_receive_message_length': 1024 * 1024,
      'grpc.enable_retries': 0,
      // A private subchannel: each virtual agent has its own TCP connection, as real agents do.
      'grpc.use_local_subchannel_pool': 1,
    }) as unknown as GrpcClient;
    const open = client['StreamFeatures'] as () => grpc.ClientDuplexStream<FeatureFrameEnvelope, AckOrMalformed>;
    const call = open.call(client);
    return new Promise<ConnectOutcome>((resolve) => {
      let settled = false;
      const fail = (kind: 'retryable' | 'failure', error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.removeListener('error', onEarlyError);
        call.on('error', () => undefined);
        call.cancel();
        client.close();
        resolve({ kind, error });
      };
      const onEarlyError = (err: grpc.ServiceError): void => fail(PERMANENT.has(err.code) ? 'failure' : 'retryable', new Error(describeStatus(err)));
      call.once('error', onEarlyError);
      const timer = setTimeout(() => fail('retryable', new Error(`no connection to ${this.target} within ${timeoutMs} ms`)), timeoutMs);
      client.waitForReady(Date.now() + timeoutMs, (err) => {
        if (settled) return;
        if (err) return fail('retryable', err);
        settled = true;
        clearTimeout(timer);
        call.removeListener('error', onEarlyError);
        resolve({ kind: 'success', link: new GrpcLink(client, call, events) });
      });
    });
  }
}

export function createLinkFactory(cfg: VirtualAgentsConfig, ca: Buffer | undefined, credentials?: ReadonlyMap<string, AgentCredentials>): LinkFactory {
  return cfg.targetSpec.protocol === 'mqtt' ? new MqttLinkFactory(cfg, ca, credentials) : new GrpcLinkFactory(cfg, ca);
}
