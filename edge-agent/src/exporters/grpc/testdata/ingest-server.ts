// A test-side AgentIngest server (central proper comes later): decodes frames with the
// shared-schemas decoder and a SeriesDictionaryDecoder per stream, acknowledges by sequence,
// records what arrived. Behaviour hooks make it misbehave for the bad-input tests.
import * as grpc from '@grpc/grpc-js';
import { agentIngestServiceDefinition, encodeAck } from '../../../../../shared-schemas/src/index.js';
import type { Ack, FeatureFrameEnvelope, Heartbeat, HeartbeatAck } from '../../../../../shared-schemas/src/index.js';
import { IngestRecorder } from '../../internal/testdata/ingest-recorder.js';

/** What to answer for one received envelope. */
export type Reply =
  | { kind: 'ack' }
  /** Answers `ack`; the frame counts as received when `ack` is 'ok' or names another sequence. */
  | { kind: 'ack-as'; ack: Ack; resetDictionary?: boolean }
  | { kind: 'none' }
  /** The frame is received; the answer is these bytes (a garbled Ack). */
  | { kind: 'raw'; bytes: Buffer }
  | { kind: 'close'; code?: grpc.status };

export interface IngestServerOptions {
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert?: boolean };
  /** Share one recorder across server restarts (central's durable store). */
  recorder?: IngestRecorder;
}

export class TestIngestServer {
  readonly recorder: IngestRecorder;
  readonly heartbeats: Heartbeat[] = [];
  streams = 0;
  envelopes = 0;
  /** Decides the reply to each envelope (default: acknowledge as central would). */
  reply: (env: FeatureFrameEnvelope, n: number) => Reply = () => ({ kind: 'ack' });
  /** Answer this many heartbeats with resync_dictionary (the server 'lost' its dictionaries). */
  resyncHeartbeats = 0;
  /** Request metadata of every call, by method, in arrival order. */
  readonly metadata: Array<{ method: 'StreamFeatures' | 'Heartbeat'; md: grpc.Metadata }> = [];
  /** When set, every call is refused with this status before anything else (e.g. UNAUTHENTICATED). */
  refuse: grpc.status | undefined;
  private server: grpc.Server | undefined;
  private readonly calls = new Set<grpc.ServerDuplexStream<FeatureFrameEnvelope, Ack | Buffer>>();
  port = 0;

  constructor(private readonly opts: IngestServerOptions = {}) {
    this.recorder = opts.recorder ?? new IngestRecorder();
  }

  async start(port = 0): Promise<number> {
    const def = agentIngestServiceDefinition();
    const service = {
      ...def,
      StreamFeatures: { ...def.StreamFeatures, responseSerialize: (v: Ack | Buffer) => (Buffer.isBuffer(v) ? v : Buffer.from(encodeAck(v))) },
    };
    const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, 'grpc.http2.min_ping_interval_without_data_ms': 1000 });
    server.addService(service as unknown as grpc.ServiceDefinition, {
      StreamFeatures: (call: grpc.ServerDuplexStream<FeatureFrameEnvelope, Ack | Buffer>) => this.onStream(call),
      PushAlerts: (call: grpc.ServerDuplexStream<unknown, Ack>) => call.end(),
      Heartbeat: (call: grpc.ServerUnaryCall<Heartbeat, HeartbeatAck>, cb: grpc.sendUnaryData<HeartbeatAck>) => {
        this.metadata.push({ method: 'Heartbeat', md: call.metadata });
        if (this.refuse !== undefined) {
          cb({ code: this.refuse, details: 'test server refuses the call' });
          return;
        }
        this.heartbeats.push(call.request);
        const resync = this.resyncHeartbeats > 0;
        if (resync) this.resyncHeartbeats--;
        cb(null, { serverTimeMs: Date.now(), configVersion: '', resyncDictionary: resync });
      },
    });
    const t = this.opts.tls;
    const creds = t
      ? grpc.ServerCredentials.createSsl(t.ca ?? null, [{ cert_chain: t.cert, private_key: t.key }], t.requireClientCert ?? false)
      : grpc.ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${port}`, creds, (err, p) => (err ? reject(err) : resolve(p))));
    this.server = server;
    return this.port;
  }

  private onStream(call: grpc.ServerDuplexStream<FeatureFrameEnvelope, Ack | Buffer>): void {
    this.metadata.push({ method: 'StreamFeatures', md: call.metadata });
    if (this.refuse !== undefined) {
      call.on('error', () => undefined);
      call.emit('error', { code: this.refuse, details: 'test server refuses the call' });
      return;
    }
    this.streams++;
    this.calls.add(call);
    // Like central: response headers as soon as the stream is accepted (the exporter's "connected").
    call.sendMetadata(new grpc.Metadata());
    const stream = this.recorder.stream();
    call.on('data', (env: FeatureFrameEnvelope) => {
      const n = this.envelopes++;
      const r = this.reply(env, n);
      switch (r.kind) {
        case 'ack':
          call.write(stream.accept(env.frame, env.sequence));
          return;
        case 'ack-as':
          if (r.ack.status === 'ok' || r.ack.sequence !== env.sequence) stream.accept(env.frame, env.sequence);
          if (r.resetDictionary) stream.reset();
          call.write(r.ack);
          return;
        case 'none':
          return;
        case 'raw':
          stream.accept(env.frame, env.sequence);
          call.write(r.bytes);
          return;
        case 'close':
          call.emit('error', { code: r.code ?? grpc.status.UNAVAILABLE, details: 'test server closes the stream' });
          call.destroy?.();
          return;
      }
    });
    call.on('end', () => call.end());
    call.on('error', () => undefined);
    call.on('close', () => this.calls.delete(call));
  }

  /** Stops at once, cutting every stream (an outage or a crash of central). */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.forceShutdown();
  }
}
