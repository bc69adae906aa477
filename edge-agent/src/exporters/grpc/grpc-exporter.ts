// grpc exporter: feature frames on AgentIngest.StreamFeatures (a bidirectional stream of
// FeatureFrameEnvelope -> Ack by sequence), heartbeats on AgentIngest.Heartbeat. TLS by default
// (server verified against ca_file or the system roots), mTLS with cert_file/key_file,
// keepalive pings. One gRPC channel per connection attempt so that reconnects follow this
// exporter's jittered backoff, not the channel's own.
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

/** Status codes after which retrying soon cannot help (credentials, missing service). */
const PERMANENT = new Set<number>([grpc.status.UNAUTHENTICATED, grpc.status.PERMISSION_DENIED, grpc.status.UNIMPLEMENTED]);

function describeStatus(err: grpc.ServiceError): string {
  return `${grpc.status[err.code] ?? err.code}: ${err.details || err.message}`;
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
      const method = this.client['Heartbeat'] as (req: Heartbeat, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: HeartbeatAck) => void) => void;
      method.call(this.client, hb, { deadline: Date.now() + HEARTBEAT_DEADLINE_MS }, (err, res) => {
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

  constructor(private readonly cfg: GrpcExporterConfig) {
    this.target = `grpc${cfg.tls.insecure ? '' : 's'}://${cfg.endpoint}`;
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
    const open = client['StreamFeatures'] as () => grpc.ClientDuplexStream<FeatureFrameEnvelope, AckOrMalformed>;
    const call = open.call(client);
    return new Promise<ConnectResult>((resolve) => {
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
      // Before the channel is ready, a failed call carries the reason (refused, TLS ...).
      const onEarlyError = (err: grpc.ServiceError): void => fail(PERMANENT.has(err.code) ? 'failure' : 'retryable', new Error(describeStatus(err)));
      call.once('error', onEarlyError);
      const timer = setTimeout(() => fail('retryable', new Error(`no connection to ${this.cfg.endpoint} within ${timeoutMs} ms`)), timeoutMs);
      client.waitForReady(Date.now() + timeoutMs, (err) => {
        if (settled) return;
        if (err) {
          fail('retryable', err);
          return;
        }
        settled = true;
        clearTimeout(timer);
        call.removeListener('error', onEarlyError);
        resolve({ kind: 'success', connection: new GrpcConnection(client, call, events) });
      });
    });
  }
}

export interface GrpcExporterOptions extends Omit<FrameExporterOptions, 'config' | 'transport'> {}

export class GrpcExporter implements Exporter {
  readonly frames: FrameExporter;
  private readonly transport: GrpcTransport;

  constructor(settings: ComponentSettings, config: GrpcExporterConfig, opts: GrpcExporterOptions = {}) {
    this.transport = new GrpcTransport(config);
    this.frames = new FrameExporter(settings, { ...opts, config, transport: this.transport });
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

export const grpcExporterFactory: ExporterFactory<typeof grpcExporterConfigSchema> = {
  kind: 'exporter',
  type: 'grpc',
  description: 'Feature frames to central over gRPC (AgentIngest.StreamFeatures), acknowledged per frame, with a store-and-forward buffer.',
  configSchema: grpcExporterConfigSchema,
  create: (settings, config) => new GrpcExporter(settings, config),
};
