// grpc exporter: feature frames on AgentIngest.StreamFeatures (a bidirectional stream of
// FeatureFrameEnvelope -> Ack by sequence), heartbeats on AgentIngest.Heartbeat. TLS by default
// (server verified against ca_file or the system roots), mTLS with cert_file/key_file,
// keepalive pings. One gRPC channel per connection attempt so that reconnects follow this
// exporter's jittered backoff, not the channel's own.
//
// Authentication: when the agent has a secret (issued by central at enrollment), every call
// carries `x-aiops-agent-id: <agentId>` and `authorization: Bearer <secret>` (never logged).
// A stream counts as connected once central has sent its response headers, which it does as
// soon as the call is authenticated; a refusal (UNAUTHENTICATED, PERMISSION_DENIED) therefore
// arrives as a failed connect, which the sender treats as permanent: logged as an error,
// retried only at retry.max_interval, frames kept in the buffer.
import * as grpc from '@grpc/grpc-js';
import { agentIngestClientDefinition } from '../../../../shared-schemas/src/index.js';
import type { AckOrMalformed, FeatureFrameEnvelope, Heartbeat, HeartbeatAck } from '../../../../shared-schemas/src/index.js';
import type { ComponentSettings, Exporter, ExporterFactory } from '../../component.js';
import type { SendResult } from '../../errors.js';
import type { FeatureWindow } from '../../pdata.js';
import { FrameExporter, readTlsFiles } from '../internal/index.js';
import type { ConnectionEvents, ConnectResult, FrameExporterOptions, Transport, TransportConnection } from '../internal/index.js';
import { grpcExporterConfigSchema } from './config.js';
import type { GrpcExporterConfig } from './config.js';

const HEARTBEAT_DEADLINE_MS = 5000;

export const AGENT_ID_METADATA = 'x-aiops-agent-id';
export const AUTHORIZATION_METADATA = 'authorization';

/** Status codes after which retrying soon cannot help (credentials, missing service). */
const PERMANENT = new Set<number>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.UNIMPLEMENTED]);

function describeStatus(err: grpc.ServiceError): string {
  const status = `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`;
  if (err.code === grpc.status.UNAUTHENTICATED || err.code === grpc.status.PERMISSION_DENIED) {
    return `central refused this agent's credentials (${status}); check the agent's id and secret (enrollment) or its client certificate`;
  }
  return status;
}

/** Who the calls claim to be; `secret` absent = no metadata (client certificate or none). */
export interface GrpcAgentCredentials {
  agentId: string;
  secret?: string | undefined;
}

function callMetadata(creds: GrpcAgentCredentials | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (creds?.secret !== undefined && creds.secret !== '') {
    md.set(AGENT_ID_METADATA, creds.agentId);
    md.set(AUTHORIZATION_METADATA, `Bearer ${creds.secret}`);
  }
  return md;
}

function isLoopbackEndpoint(endpoint: string): boolean {
  const host = endpoint.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function makeClientConstructor(): grpc.ServiceClientConstructor {
  return grpc.makeGenericClientConstructor(agentIngestClientDefinition() as unknown as grpc.ServiceDefinition, 'AgentIngest');
}

class GrpcConnection implements TransportConnection {
  private closed = false;

  constructor(
    private readonly client: grpc.Client & Record<string, unknown>,
    private readonly call: grpc.ClientDuplexStream<FeatureFrameEnvelope, AckOrMalformed>,
    private readonly events: ConnectionEvents,
    private readonly metadata: grpc.Metadata,
  ) {
    call.on('data', (m: AckOrMalformed) => {
      if (this.closed) return;
      if ('malformed' in m) events.malformed(m.malformed);
      else events.ack({ sequence: m.sequence, status: m.status, message: m.message, retryAfterMs: m.retryAfterMs });
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

  heartbeat(hb: Heartbeat): Promise<SendResult> {
    if (this.closed) return Promise.resolve({ kind: 'retryable', error: new Error('connection closed') });
    return new Promise((resolve) => {
      const method = this.client['Heartbeat'] as (req: Heartbeat, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: HeartbeatAck) => void) => void;
      method.call(this.client, hb, this.metadata.clone(), { deadline: Date.now() + HEARTBEAT_DEADLINE_MS }, (err, res) => {
        if (err) {
          resolve({ kind: PERMANENT.has(err.code) ? 'failure' : 'retryable', error: new Error(describeStatus(err)) });
          return;
        }
        if (res?.resyncDictionary && !this.closed) this.events.resync();
        resolve({ kind: 'success' });
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.call.cancel();
    this.client.close();
  }
}

export class GrpcTransport implements Transport {
  readonly target: string;
  private readonly Client = makeClientConstructor();
  private readonly metadata: grpc.Metadata;

  /** `credentials.secret` set: every call carries the agent id and `authorization: Bearer <secret>`. */
  constructor(
    private readonly cfg: GrpcExporterConfig,
    credentials?: GrpcAgentCredentials,
  ) {
    this.target = `grpc${cfg.tls.insecure ? '' : 's'}://${cfg.endpoint}`;
    this.metadata = callMetadata(credentials);
  }

  /** True when calls carry a secret over plaintext to a host other than this one. */
  get secretInClear(): boolean {
    return this.cfg.tls.insecure && this.metadata.get(AUTHORIZATION_METADATA).length > 0 && !isLoopbackEndpoint(this.cfg.endpoint);
  }

  /** Checks the TLS files can be read (start-up validation). */
  async check(): Promise<void> {
    if (!this.cfg.tls.insecure) await readTlsFiles(this.cfg.tls, 'tls');
  }

  private async credentials(): Promise<grpc.ChannelCredentials> {
    const tls = this.cfg.tls;
    if (tls.insecure) return grpc.credentials.createInsecure();
    const f = await readTlsFiles(tls, 'tls');
    const verify: grpc.VerifyOptions | undefined = tls.insecure_skip_verify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : undefined;
    return grpc.credentials.createSsl(f.ca ?? null, f.key ?? null, f.cert ?? null, verify);
  }

  private channelOptions(): grpc.ChannelOptions {
    const c = this.cfg;
    return {
      'grpc.keepalive_time_ms': c.keepalive.time,
      'grpc.keepalive_timeout_ms': c.keepalive.timeout,
      'grpc.keepalive_permit_without_calls': c.keepalive.permit_without_stream ? 1 : 0,
      'grpc.max_send_message_length': c.max_frame_bytes + 64 * 1024,
      // Acks and heartbeat replies are tiny: refuse anything big.
      'grpc.max_receive_message_length': 1024 * 1024,
      'grpc.enable_retries': 0,
      // A private subchannel: closing this client really closes its connection.
      'grpc.use_local_subchannel_pool': 1,
      ...(c.tls.server_name ? { 'grpc.ssl_target_name_override': c.tls.server_name, 'grpc.default_authority': c.tls.server_name } : {}),
    };
  }

  async connect(events: ConnectionEvents, timeoutMs: number): Promise<ConnectResult> {
    let creds: grpc.ChannelCredentials;
    try {
      creds = await this.credentials();
    } catch (err) {
      return { kind: 'failure', error: err as Error };
    }
    const client = new this.Client(this.cfg.endpoint, creds, this.channelOptions()) as unknown as grpc.Client & Record<string, unknown>;
    const open = client['StreamFeatures'] as (md: grpc.Metadata) => grpc.ClientDuplexStream<FeatureFrameEnvelope, AckOrMalformed>;
    const call = open.call(client, this.metadata.clone());
    return new Promise<ConnectResult>((resolve) => {
      let settled = false;
      const fail = (kind: 'retryable' | 'failure', error: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.removeListener('error', onEarlyError);
        call.removeListener('metadata', onAccepted);
        call.on('error', () => undefined);
        call.cancel();
        client.close();
        resolve({ kind, error });
      };
      // Until the stream is accepted, a failed call carries the reason (refused, TLS, or central
      // refusing the credentials: a permanent failure).
      const onEarlyError = (err: grpc.ServiceError): void => fail(PERMANENT.has(err.code) ? 'failure' : 'retryable', new Error(describeStatus(err)));
      // Response headers: central authenticated the stream and reads it.
      const onAccepted = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.removeListener('error', onEarlyError);
        resolve({ kind: 'success', connection: new GrpcConnection(client, call, events, this.metadata) });
      };
      call.once('error', onEarlyError);
      call.once('metadata', onAccepted);
      const timer = setTimeout(() => fail('retryable', new Error(`no stream accepted by ${this.cfg.endpoint} within ${timeoutMs} ms`)), timeoutMs);
      client.waitForReady(Date.now() + timeoutMs, (err) => {
        if (err) fail('retryable', err);
      });
    });
  }
}

export interface GrpcExporterOptions extends Omit<FrameExporterOptions, 'config' | 'transport'> {}

export class GrpcExporter implements Exporter {
  readonly frames: FrameExporter;
  private readonly transport: GrpcTransport;

  constructor(
    private readonly settings: ComponentSettings,
    config: GrpcExporterConfig,
    opts: GrpcExporterOptions = {},
  ) {
    this.transport = new GrpcTransport(config, { agentId: settings.agent.agentId, secret: settings.agent.secret });
    this.frames = new FrameExporter(settings, { ...opts, config, transport: this.transport });
  }

  async start(): Promise<void> {
    await this.transport.check();
    if (this.transport.secretInClear) {
      this.settings.logger.warn({ target: this.transport.target }, 'the agent secret is sent without TLS to a non-loopback endpoint (tls.insecure: true): anyone on the path can read it');
    }
    await this.frames.start();
  }

  consumeWindow(w: FeatureWindow): Promise<void> {
    return this.frames.consumeWindow(w);
  }

  shutdown(): Promise<void> {
    return this.frames.shutdown();
  }
}

export const grpcExporterFactory: ExporterFactory<typeof grpcExporterConfigSchema> = {
  kind: 'exporter',
  type: 'grpc',
  description: 'Feature frames to central over gRPC (AgentIngest.StreamFeatures), acknowledged per frame, with a store-and-forward buffer.',
  configSchema: grpcExporterConfigSchema,
  create: (settings, config) => new GrpcExporter(settings, config),
};
