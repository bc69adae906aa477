// Central's gRPC agent ingest: the server of aiops.v1.AgentIngest (ARCHITECTURE sections 4, 6).
//
//   StreamFeatures  one FrameSession (series dictionary) per stream; every envelope answered
//                   with its Ack as soon as it completes (possibly out of order, as the proto
//                   allows); the agent deletes a frame from its buffer only on `ok`.
//   PushAlerts      alert batches handed in order to the alert consumer, one Ack per batch;
//                   UNIMPLEMENTED when central runs without one.
//   Heartbeat       liveness (AgentStore.touch) and control hints.
//
// Every call is authenticated on its own (auth.ts). Once a stream is authenticated central
// sends its response headers at once: the agent counts the stream as established only then,
// so a refused credential reaches it as a failed connect (a permanent failure), not as a
// dropped connection.
//
// Flow control: a stream with max_in_flight_per_stream messages being processed (or whose
// acks the agent is not reading) is paused, so HTTP/2 flow control pushes back on the agent;
// FrameIngest's own `retry` answer stays the last resort. Nothing a peer sends can fail more
// than its own message: request deserializers never throw (service.ts), handlers never reject.
import { readFile } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import type { Ack, Alert, AlertBatch, FeatureFrameEnvelope, Heartbeat, HeartbeatAck } from '../../../../shared-schemas/src/index.js';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge } from '../../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Component } from '../../component.js';
import type { FrameIngest } from '../../pipeline/frame-ingest.js';
import type { AgentStore } from '../../storage/types.js';
import { AgentAuthenticator } from './auth.js';
import type { AuthenticatedAgent, AuthFailureReason, AuthOutcome, CallAuthContext } from './auth.js';
import { parseListen } from './config.js';
import type { GrpcIngestConfig } from './config.js';
import { ingestServiceDefinition, isInvalid } from './service.js';
import type { Incoming, Invalid } from './service.js';

export type GrpcIngestErrorCode = 'TLS_FILES' | 'LISTEN' | 'SHUT_DOWN';

export class GrpcIngestError extends CodedError<GrpcIngestErrorCode> {
  override name = 'GrpcIngestError';
}

export interface GrpcIngestDeps {
  /** Verifies agent credentials; records heartbeats (touch). */
  agents: AgentStore;
  /** Decodes frames per session and hands them to the feature pipeline. */
  ingest: FrameIngest;
  /** Receives alerts pushed by agents; without it PushAlerts answers UNIMPLEMENTED. */
  alerts?: AlertConsumer;
}

type StreamMethod = 'StreamFeatures' | 'PushAlerts';
type Method = StreamMethod | 'Heartbeat';

/** Delay suggested to an agent whose message central failed on (alert consumer down, a bug). */
const RETRY_AFTER_MS = 1000;
/** One log line per key at most this often; the count of the others comes with the next. */
const LOG_EVERY_MS = 10_000;

interface Status {
  code: grpc.status;
  details: string;
}

interface Metrics {
  streamsOpen: BoundGauge;
  calls: BoundCounter;
  authFailures: BoundCounter;
  acks: BoundCounter;
  refused: BoundCounter;
  pauses: BoundCounter;
  ended: BoundCounter;
  heartbeats: BoundCounter;
  alerts: BoundCounter;
}

/** Logs a key at most once per interval, reporting how many were left out meanwhile. */
class LogLimiter {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(private readonly now: () => number) {}

  /** Undefined when this occurrence must not be logged; else how many were suppressed before it. */
  take(key: string): number | undefined {
    const now = this.now();
    const e = this.last.get(key);
    if (e !== undefined && now - e.at < LOG_EVERY_MS) {
      e.suppressed++;
      return undefined;
    }
    if (this.last.size >= 1000) this.last.clear();
    this.last.set(key, { at: now, suppressed: 0 });
    return e?.suppressed ?? 0;
  }
}

/**
 * One bidirectional stream whose messages are each answered with an Ack: bounded work in
 * flight (pause/resume), acks written as work completes, graceful or immediate end.
 */
class AckStream<In extends object> {
  agent: AuthenticatedAgent | undefined;
  private pending = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private paused = false;
  private needDrain = false;
  /** No more messages are taken (ending, revoked, shutting down). */
  private stopped = false;
  /** A status was sent (or the call is gone): nothing more is written. */
  private finished = false;
  private halfClosed = false;
  private gone = false;
  private idleWaiters: Array<() => void> = [];
  private goneWaiters: Array<() => void> = [];

  constructor(
    readonly method: StreamMethod,
    private readonly call: grpc.ServerDuplexStream<Incoming<In>, Ack>,
    private readonly opts: {
      maxPending: number;
      /** true: one message at a time, in arrival order (alerts); false: concurrently (frames). */
      sequential: boolean;
      process: (m: Incoming<In>) => Promise<Ack>;
      onAck: (ack: Ack) => void;
      onPause: () => void;
      onGone: () => void;
    },
  ) {
    call.on('close', () => this.onGone());
    call.on('cancelled', () => this.onGone());
  }

  get isGone(): boolean {
    return this.gone;
  }

  get agentId(): string | undefined {
    return this.agent?.agentId;
  }

  /** Authenticated: sends the response headers (the agent's "stream accepted") and starts reading. */
  open(agent: AuthenticatedAgent): void {
    if (this.gone || this.finished) return;
    this.agent = agent;
    this.call.sendMetadata(new grpc.Metadata());
    this.call.on('data', (m: Incoming<In>) => this.onMessage(m));
    this.call.on('end', () => {
      this.halfClosed = true;
      this.maybeComplete();
    });
    this.call.on('drain', () => {
      this.needDrain = false;
      this.updateFlow();
    });
  }

  private onMessage(m: Incoming<In>): void {
    if (this.stopped) return;
    this.pending++;
    this.updateFlow();
    const run = (): Promise<Ack> => {
      // A queued message of a stream already gone: the agent resends it on its next stream.
      if (this.gone) return Promise.resolve({ sequence: sequenceOf(m), status: 'retry', message: 'stream closed', retryAfterMs: 0 });
      try {
        return this.opts.process(m);
      } catch (err) {
        return Promise.reject(err);
      }
    };
    const work = this.opts.sequential ? this.chain.then(run) : run();
    if (this.opts.sequential) this.chain = work.catch(() => undefined);
    void work
      .catch((err: unknown): Ack => {
        return { sequence: sequenceOf(m), status: 'retry', message: `central failed on this message: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500), retryAfterMs: RETRY_AFTER_MS };
      })
      .then((ack) => {
        this.pending--;
        this.write(ack);
        this.updateFlow();
        if (this.pending === 0) this.notifyIdle();
        this.maybeComplete();
      });
  }

  private write(ack: Ack): void {
    if (this.finished || this.gone) return;
    this.opts.onAck(ack);
    if (!this.call.write(ack)) this.needDrain = true;
  }

  private updateFlow(): void {
    if (this.gone) return;
    const full = this.pending >= this.opts.maxPending;
    const pause = this.stopped || full || this.needDrain;
    if (pause && !this.paused) {
      this.paused = true;
      this.call.pause();
      if (full && !this.stopped) this.opts.onPause();
    } else if (!pause && this.paused) {
      this.paused = false;
      this.call.resume();
    }
  }

  /** The agent half-closed and everything is answered: end with OK. */
  private maybeComplete(): void {
    if (this.halfClosed && this.pending === 0 && !this.finished && !this.stopped) {
      this.finished = true;
      this.call.end();
    }
  }

  /** Stops taking messages; resolves once every message taken is answered (or the call is gone). */
  drain(): Promise<void> {
    this.stopped = true;
    this.updateFlow();
    if (this.pending === 0 || this.gone) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves once the call is closed (status delivered, or cut). */
  closed(): Promise<void> {
    if (this.gone) return Promise.resolve();
    return new Promise((resolve) => this.goneWaiters.push(resolve));
  }

  /** Ends the call now with `status` (acks of work still in flight are not sent). */
  end(status: Status): void {
    this.stopped = true;
    if (this.finished || this.gone) return;
    this.finished = true;
    this.updateFlow();
    this.call.emit('error', { code: status.code, details: status.details });
  }

  private notifyIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  private onGone(): void {
    if (this.gone) return;
    this.gone = true;
    this.stopped = true;
    this.notifyIdle();
    const w = this.goneWaiters;
    this.goneWaiters = [];
    for (const f of w) f();
    this.opts.onGone();
  }
}

function sequenceOf(m: object): number {
  const s = (m as { sequence?: unknown }).sequence;
  return typeof s === 'number' ? s : 0;
}

/** The AgentIngest server. */
export class GrpcIngest implements Component {
  private server: grpc.Server | undefined;
  private boundPort = 0;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;
  private readonly streams = new Set<AckStream<object>>();
  /** Messages being processed on any stream (also of streams already gone). */
  private work = 0;
  private workWaiters: Array<() => void> = [];
  private readonly auth: AgentAuthenticator;
  /** revokeAgent() calls so far, and the count at each agent's latest revocation. */
  private revocations = 0;
  private readonly revokedAt = new Map<string, number>();
  private readonly m: Metrics;
  private readonly logLimit: LogLimiter;

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: GrpcIngestConfig,
    private readonly deps: GrpcIngestDeps,
  ) {
    this.auth = new AgentAuthenticator(deps.agents, settings.clock);
    this.logLimit = new LogLimiter(() => settings.clock.now());
    const mm = settings.metrics;
    this.m = {
      streamsOpen: mm.gauge('aiops_central_grpc_streams_open', 'AgentIngest streams open (StreamFeatures, PushAlerts), by method.', ['method']),
      calls: mm.counter('aiops_central_grpc_calls_total', 'AgentIngest calls received, by method and outcome (accepted, unauthenticated, unavailable, unimplemented, exhausted, invalid).', ['method', 'result']),
      authFailures: mm.counter('aiops_central_grpc_auth_failures_total', 'AgentIngest calls refused by authentication, by reason.', ['reason']),
      acks: mm.counter('aiops_central_grpc_acks_total', 'Acks sent to agents, by method and status.', ['method', 'status']),
      refused: mm.counter('aiops_central_grpc_messages_refused_total', 'Messages answered `rejected` by the gRPC layer itself, by method and reason (malformed, oversized, wrong_agent, wrong_tenant).', ['method', 'reason']),
      pauses: mm.counter('aiops_central_grpc_stream_pauses_total', 'Times a stream stopped being read because max_in_flight_per_stream messages were in flight (flow control), by method.', ['method']),
      ended: mm.counter('aiops_central_grpc_streams_ended_total', 'Streams ended by central, by reason (revoked, shutdown).', ['reason']),
      heartbeats: mm.counter('aiops_central_grpc_heartbeats_total', 'Heartbeats answered, by result (ok, refused, invalid).', ['result']),
      alerts: mm.counter('aiops_central_grpc_alerts_accepted_total', 'Alerts pushed by agents and handed to the alert consumer.'),
    };
    for (const method of ['StreamFeatures', 'PushAlerts']) this.m.streamsOpen.set(0, { method });
  }

  /** The bound port (the configured one, or the one picked for port 0); 0 before start. */
  get port(): number {
    return this.boundPort;
  }

  /** Streams (features and alerts) open now, authenticated or not. */
  get openStreams(): number {
    return this.streams.size;
  }

  async start(): Promise<void> {
    if (this.state === 'stopped') throw new GrpcIngestError('SHUT_DOWN', `${this.settings.id}: start() after shutdown()`);
    if (this.starting !== undefined) return this.starting;
    this.state = 'starting';
    this.starting = this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    const c = this.config;
    if (!c.enabled) {
      this.settings.logger.info({ component: this.settings.id }, 'gRPC agent ingest disabled (grpc.enabled: false)');
      if (this.state === 'starting') this.state = 'running';
      return;
    }
    const creds = await this.credentials();
    const server = new grpc.Server({
      // Up to twice max_message reaches the tolerant deserializer (answered `rejected`); beyond
      // it grpc-js ends the call with RESOURCE_EXHAUSTED before buffering the message.
      'grpc.max_receive_message_length': 2 * c.max_message,
      'grpc.max_send_message_length': 1024 * 1024,
      'grpc.keepalive_time_ms': c.keepalive.time,
      'grpc.keepalive_timeout_ms': c.keepalive.timeout,
      'grpc.keepalive_permit_without_calls': c.keepalive.permit_without_stream ? 1 : 0,
      'grpc.http2.min_ping_interval_without_data_ms': c.keepalive.min_ping_interval,
    });
    const def = ingestServiceDefinition(c.max_message);
    server.addService(def as unknown as grpc.ServiceDefinition, {
      StreamFeatures: (call: grpc.ServerDuplexStream<Incoming<FeatureFrameEnvelope>, Ack>) => this.guard(this.onFeatures(call)),
      PushAlerts: (call: grpc.ServerDuplexStream<Incoming<AlertBatch>, Ack>) => this.guard(this.onAlerts(call)),
      Heartbeat: (call: grpc.ServerUnaryCall<Incoming<Heartbeat>, HeartbeatAck>, cb: grpc.sendUnaryData<HeartbeatAck>) => this.guard(this.onHeartbeat(call, cb)),
    });
    const listen = parseListen(c.listen)!;
    let port: number;
    try {
      port = await new Promise<number>((resolve, reject) => server.bindAsync(c.listen, creds, (err, p) => (err ? reject(err) : resolve(p))));
    } catch (cause) {
      server.forceShutdown();
      throw new GrpcIngestError('LISTEN', `grpc.listen: cannot listen on ${c.listen}: ${(cause as Error).message}`, true, { cause });
    }
    this.server = server;
    this.boundPort = port;
    if (this.state === 'stopped') return; // shutdown() arrived while binding: it closes the server.
    this.state = 'running';
    this.settings.logger.info(
      { component: this.settings.id, listen: `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`, tls: c.tls !== undefined, mtls: c.tls?.require_client_cert === true },
      'gRPC agent ingest listening',
    );
  }

  private async credentials(): Promise<grpc.ServerCredentials> {
    const t = this.config.tls;
    if (t === undefined) return grpc.ServerCredentials.createInsecure();
    const read = async (key: 'cert_file' | 'key_file' | 'ca_file'): Promise<Buffer | null> => {
      const path = t[key];
      if (path === undefined) return null;
      try {
        return await readFile(path);
      } catch (cause) {
        throw new GrpcIngestError('TLS_FILES', `grpc.tls.${key}: cannot read ${path}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, false, { cause });
      }
    };
    const [cert, key, ca] = [await read('cert_file'), await read('key_file'), await read('ca_file')];
    try {
      return grpc.ServerCredentials.createSsl(ca, [{ cert_chain: cert!, private_key: key! }], t.require_client_cert);
    } catch (cause) {
      throw new GrpcIngestError('TLS_FILES', `grpc.tls: unusable certificate or key: ${(cause as Error).message}`, false, { cause });
    }
  }

  /**
   * Cuts every live stream of `agentId` at once with UNAUTHENTICATED (call it after
   * AgentStore.revoke: new calls are then refused by the store). Returns how many were cut.
   */
  revokeAgent(agentId: string): number {
    this.auth.forget(agentId);
    // Calls whose authentication was under way meanwhile are refused too (see admit()).
    this.revokedAt.delete(agentId);
    this.revokedAt.set(agentId, ++this.revocations);
    if (this.revokedAt.size > 10_000) this.revokedAt.delete(this.revokedAt.keys().next().value as string);
    let n = 0;
    for (const s of this.streams) {
      if (s.agentId !== agentId) continue;
      s.end({ code: grpc.status.UNAUTHENTICATED, details: 'agent credentials revoked' });
      n++;
    }
    if (n > 0) this.m.ended.inc(n, { reason: 'revoked' });
    this.settings.logger.info({ agent: agentId, streams: n }, 'agent revoked: its gRPC streams were cut');
    return n;
  }

  /**
   * Stops reading every stream, waits (up to shutdown_grace) for messages in flight to be
   * answered, ends the streams with UNAVAILABLE (agents reconnect later and resend what was not
   * acknowledged), stops listening, and cuts what is left when the grace period is over.
   * Idempotent; safe without start().
   */
  shutdown(): Promise<void> {
    if (this.stopping === undefined) this.stopping = this.doShutdown();
    return this.stopping;
  }

  private async doShutdown(): Promise<void> {
    const wasStarting = this.starting;
    this.state = 'stopped';
    if (wasStarting !== undefined) await wasStarting.catch(() => undefined);
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const clock = this.settings.clock;
    const deadline = clock.now() + this.config.shutdown_grace;
    const left = () => Math.max(0, deadline - clock.now());
    const streams = [...this.streams];
    await this.within(Promise.all(streams.map((s) => s.drain())), left());
    let cut = 0;
    for (const s of streams) {
      if (s.isGone) continue;
      s.end({ code: grpc.status.UNAVAILABLE, details: 'central is shutting down' });
      cut++;
    }
    if (cut > 0) this.m.ended.inc(cut, { reason: 'shutdown' });
    await this.within(Promise.all(streams.map((s) => s.closed())), left());
    await this.within(new Promise<void>((resolve) => server.tryShutdown(() => resolve())), left());
    server.forceShutdown();
    // Work of streams already gone may still be writing downstream: let it land (bounded).
    await this.within(this.idle(), left());
    this.settings.logger.info({ component: this.settings.id, streamsEnded: cut, unfinished: this.work }, 'gRPC agent ingest stopped');
  }

  // ------------------------------------------------------------------ handlers

  /** Handlers never reject into grpc-js (it would be an unhandled rejection). */
  private guard(p: Promise<void>): void {
    p.catch((err: unknown) => {
      this.settings.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'gRPC ingest handler failed');
    });
  }

  private async onFeatures(call: grpc.ServerDuplexStream<Incoming<FeatureFrameEnvelope>, Ack>): Promise<void> {
    let session: ReturnType<FrameIngest['session']> | undefined;
    const stream: AckStream<FeatureFrameEnvelope> = this.track<FeatureFrameEnvelope>('StreamFeatures', call, {
      sequential: false,
      process: async (m): Promise<Ack> => {
        if (isInvalid(m)) return this.refuseMessage('StreamFeatures', stream.agent, m);
        return session!.accept(m.frame, m.sequence);
      },
    });
    const agent = await this.admit('StreamFeatures', call, stream);
    if (agent === undefined) return;
    try {
      session = this.deps.ingest.session({ agentId: agent.agentId, tenant: agent.tenant, transport: 'grpc' });
    } catch (err) {
      stream.end({ code: grpc.status.INTERNAL, details: 'central could not open a frame session' });
      throw err;
    }
    stream.open(agent);
  }

  private async onAlerts(call: grpc.ServerDuplexStream<Incoming<AlertBatch>, Ack>): Promise<void> {
    const consumer = this.deps.alerts;
    const stream: AckStream<AlertBatch> = this.track<AlertBatch>('PushAlerts', call, {
      sequential: true,
      process: async (m): Promise<Ack> => this.processAlerts(stream.agent!, m, consumer!),
    });
    const agent = await this.admit('PushAlerts', call, stream);
    if (agent === undefined) return;
    if (consumer === undefined) {
      this.m.calls.inc(1, { method: 'PushAlerts', result: 'unimplemented' });
      stream.end({ code: grpc.status.UNIMPLEMENTED, details: 'this central process takes no alerts over gRPC' });
      return;
    }
    stream.open(agent);
  }

  private async onHeartbeat(call: grpc.ServerUnaryCall<Incoming<Heartbeat>, HeartbeatAck>, cb: grpc.sendUnaryData<HeartbeatAck>): Promise<void> {
    const outcome = await this.authenticate('Heartbeat', call);
    if (!outcome.ok) {
      this.m.heartbeats.inc(1, { result: 'refused' });
      cb({ code: outcome.code, details: outcome.details });
      return;
    }
    const agent = outcome.agent;
    const hb = call.request;
    if (isInvalid(hb)) {
      this.m.calls.inc(1, { method: 'Heartbeat', result: 'invalid' });
      this.m.heartbeats.inc(1, { result: 'invalid' });
      this.m.refused.inc(1, { method: 'Heartbeat', reason: hb.invalid });
      cb({ code: grpc.status.INVALID_ARGUMENT, details: hb.message });
      return;
    }
    if (hb.agentId !== agent.agentId || (hb.tenant !== '' && hb.tenant !== agent.tenant)) {
      const reason = hb.agentId !== agent.agentId ? 'wrong_agent' : 'wrong_tenant';
      this.m.calls.inc(1, { method: 'Heartbeat', result: 'invalid' });
      this.m.heartbeats.inc(1, { result: 'invalid' });
      this.m.refused.inc(1, { method: 'Heartbeat', reason });
      this.warn(`hb:${reason}:${agent.agentId}`, { agent: agent.agentId, reason }, 'heartbeat for another agent or tenant refused');
      cb({ code: grpc.status.PERMISSION_DENIED, details: `a heartbeat must describe the authenticated agent "${agent.agentId}"` });
      return;
    }
    this.m.calls.inc(1, { method: 'Heartbeat', result: 'accepted' });
    const now = this.settings.clock.now();
    try {
      await this.deps.agents.touch(agent.agentId, now);
    } catch (err) {
      this.warn('touch', { agent: agent.agentId, err: (err as Error).message }, 'cannot record the agent as seen');
    }
    this.m.heartbeats.inc(1, { result: 'ok' });
    // resyncDictionary stays false: a FrameSession lives exactly as long as its stream and the
    // agent starts a new dictionary epoch on every stream it opens, so a stream central knows
    // is always in sync, and a central restart already ends every stream (the agent reconnects
    // with a fresh epoch). Dictionary trouble inside a live stream is answered per frame
    // (Ack resync_dictionary). Answering true here would only make agents reconnect for nothing.
    cb(null, { serverTimeMs: now, configVersion: '', resyncDictionary: false });
  }

  private track<In extends object>(method: StreamMethod, call: grpc.ServerDuplexStream<Incoming<In>, Ack>, o: { sequential: boolean; process: (m: Incoming<In>) => Promise<Ack> }): AckStream<In> {
    const stream: AckStream<In> = new AckStream<In>(method, call, {
      maxPending: this.config.max_in_flight_per_stream,
      sequential: o.sequential,
      process: (m) => {
        this.work++;
        return o.process(m).finally(() => {
          this.work--;
          if (this.work === 0) this.notifyWorkIdle();
        });
      },
      onAck: (ack) => this.m.acks.inc(1, { method, status: ack.status }),
      onPause: () => this.m.pauses.inc(1, { method }),
      onGone: () => {
        if (this.streams.delete(stream as AckStream<object>)) this.m.streamsOpen.dec(1, { method });
      },
    });
    this.streams.add(stream as AckStream<object>);
    this.m.streamsOpen.inc(1, { method });
    return stream;
  }

  /** Authenticates a new stream; ends it (and returns undefined) when it may not go on. */
  private async admit<In extends object>(method: StreamMethod, call: grpc.ServerDuplexStream<Incoming<In>, Ack>, stream: AckStream<In>): Promise<AuthenticatedAgent | undefined> {
    if (this.state !== 'running') {
      this.m.calls.inc(1, { method, result: 'unavailable' });
      stream.end({ code: grpc.status.UNAVAILABLE, details: 'central is shutting down' });
      return undefined;
    }
    if (this.streams.size > this.config.max_streams) {
      this.m.calls.inc(1, { method, result: 'exhausted' });
      this.warn('max_streams', { method, max: this.config.max_streams }, 'too many AgentIngest streams open: refusing new ones (grpc.max_streams)');
      stream.end({ code: grpc.status.RESOURCE_EXHAUSTED, details: 'central has too many agent streams open; retry later' });
      return undefined;
    }
    const revocationsBefore = this.revocations;
    const outcome = await this.authenticate(method, call);
    if (stream.isGone) return undefined;
    if (!outcome.ok) {
      stream.end({ code: outcome.code, details: outcome.details });
      return undefined;
    }
    if ((this.revokedAt.get(outcome.agent.agentId) ?? 0) > revocationsBefore) {
      this.countAuthFailure(method, 'invalid', outcome.agent.agentId, call.getPeer(), grpc.status.UNAUTHENTICATED);
      stream.end({ code: grpc.status.UNAUTHENTICATED, details: 'agent credentials revoked' });
      return undefined;
    }
    if (this.state !== 'running') {
      this.m.calls.inc(1, { method, result: 'unavailable' });
      stream.end({ code: grpc.status.UNAVAILABLE, details: 'central is shutting down' });
      return undefined;
    }
    this.m.calls.inc(1, { method, result: 'accepted' });
    this.settings.logger.debug({ agent: outcome.agent.agentId, method, via: outcome.agent.via, peer: call.getPeer() }, 'agent stream opened');
    return outcome.agent;
  }

  private async authenticate(method: Method, call: { metadata: grpc.Metadata; getAuthContext(): CallAuthContext; getPeer(): string }): Promise<AuthOutcome> {
    let outcome: AuthOutcome;
    try {
      outcome = await this.auth.authenticate(call.metadata, call.getAuthContext());
    } catch (err) {
      outcome = { ok: false, reason: 'store_error', code: grpc.status.UNAVAILABLE, details: 'central cannot check credentials right now; retry later', claimedAgent: undefined };
      this.warn('auth-error', { err: (err as Error).message }, 'authentication failed unexpectedly');
    }
    if (!outcome.ok) this.countAuthFailure(method, outcome.reason, outcome.claimedAgent, call.getPeer(), outcome.code);
    return outcome;
  }

  private countAuthFailure(method: Method, reason: AuthFailureReason, claimedAgent: string | undefined, peer: string, code: grpc.status): void {
    this.m.authFailures.inc(1, { reason });
    this.m.calls.inc(1, { method, result: code === grpc.status.UNAVAILABLE ? 'unavailable' : 'unauthenticated' });
    // Never the credential: the claimed id (clipped by the authenticator) and where from.
    this.warn(`auth:${reason}:${claimedAgent ?? ''}`, { reason, agent: claimedAgent, method, peer }, 'agent call refused: authentication failed');
  }

  private refuseMessage(method: StreamMethod, agent: AuthenticatedAgent | undefined, m: Invalid): Ack {
    this.m.refused.inc(1, { method, reason: m.invalid });
    this.warn(`msg:${m.invalid}:${agent?.agentId ?? ''}`, { agent: agent?.agentId, method, reason: m.invalid, sequence: m.sequence, problem: m.message }, 'agent message refused');
    return { sequence: m.sequence, status: 'rejected', message: m.message, retryAfterMs: 0 };
  }

  private async processAlerts(agent: AuthenticatedAgent, m: Incoming<AlertBatch>, consumer: AlertConsumer): Promise<Ack> {
    if (isInvalid(m)) return this.refuseMessage('PushAlerts', agent, m);
    const reject = (reason: 'wrong_agent' | 'wrong_tenant', message: string): Ack => {
      this.m.refused.inc(1, { method: 'PushAlerts', reason });
      this.warn(`alerts:${reason}:${agent.agentId}`, { agent: agent.agentId, reason, sequence: m.sequence }, 'alert batch refused');
      return { sequence: m.sequence, status: 'rejected', message, retryAfterMs: 0 };
    };
    if (m.agentId !== agent.agentId) return reject('wrong_agent', `batch agentId "${m.agentId.slice(0, 128)}" is not the authenticated agent "${agent.agentId}"`);
    const tenant = agent.tenant;
    if (m.tenant !== '' && m.tenant !== tenant) return reject('wrong_tenant', `batch tenant is not the agent's tenant "${tenant}"`);
    const alerts: Alert[] = [];
    for (const a of m.alerts) {
      if (a.tenant !== '' && a.tenant !== tenant) return reject('wrong_tenant', `an alert's tenant is not the agent's tenant "${tenant}"`);
      alerts.push(a.tenant === '' ? { ...a, tenant } : a);
    }
    if (alerts.length > 0) {
      try {
        await consumer.consumeAlerts(alerts);
      } catch (err) {
        const permanent = (err as { retryable?: unknown })?.retryable === false;
        this.warn(`alerts:consumer:${agent.agentId}`, { agent: agent.agentId, sequence: m.sequence, err: (err as Error)?.message }, 'alert consumer failed on a pushed batch');
        return { sequence: m.sequence, status: permanent ? 'rejected' : 'retry', message: 'central could not store the alerts', retryAfterMs: permanent ? 0 : RETRY_AFTER_MS };
      }
      this.m.alerts.inc(alerts.length);
    }
    return { sequence: m.sequence, status: 'ok', message: '', retryAfterMs: 0 };
  }

  // ------------------------------------------------------------------ helpers

  private warn(key: string, fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.logLimit.take(key);
    if (suppressed === undefined) return;
    this.settings.logger.warn(suppressed > 0 ? { ...fields, suppressedSinceLast: suppressed } : fields, msg);
  }

  private idle(): Promise<void> {
    if (this.work === 0) return Promise.resolve();
    return new Promise((resolve) => this.workWaiters.push(resolve));
  }

  private notifyWorkIdle(): void {
    const w = this.workWaiters;
    this.workWaiters = [];
    for (const f of w) f();
  }

  /** Resolves when `p` settles or after `ms`, whichever comes first. */
  private within(p: Promise<unknown>, ms: number): Promise<void> {
    const clock = this.settings.clock;
    return new Promise<void>((resolve) => {
      const t = clock.setTimeout(resolve, ms);
      void p.then(
        () => {
          clock.clearTimeout(t);
          resolve();
        },
        () => {
          clock.clearTimeout(t);
          resolve();
        },
      );
    });
  }
}
