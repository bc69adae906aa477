// The ordered send loop of a frame exporter. Frames are already in the buffer; this loop sends
// them in sequence order on the current connection with at most max_in_flight unacknowledged,
// deletes each from the buffer only when it is acknowledged, and on any break (connection
// lost, ack timeout, Ack 'retry' or 'resync_dictionary') drops the connection and resends
// everything unacknowledged, in order, on a new one (go-back-N; the receiver deduplicates by
// sequence). Reconnects use jittered exponential backoff, reset by an acknowledgement. The
// backlog present at (re)connect is replayed at most replay_rate frames per second.
//
// Ack statuses: ok -> delete; rejected -> delete and count (never resent); retry -> reconnect
// after max(retry_after, backoff); resync_dictionary -> reconnect (new dictionary epoch).
// A frame that was the oldest unacknowledged one on max_frame_attempts failed connections is
// dropped (attempts_exhausted): a frame the peer can never accept must not block the rest.
import type { AgentState, Heartbeat } from '../../../../shared-schemas/src/index.js';
import type { FrameBuffer } from '../../buffer/frame-buffer.js';
import type { ComponentSettings } from '../../component.js';
import type { SendResult } from '../../errors.js';
import type { BoundCounter, BoundGauge } from '../../../../shared-schemas/src/runtime/index.js';
import { Backoff } from './backoff.js';
import type { BackoffOptions } from './backoff.js';
import { DropReporter } from './drops.js';
import type { ConnectionEvents, FrameAck, Transport, TransportConnection } from './transport.js';
import { StreamReencoder } from './wire.js';
import type { ReencoderOptions } from './wire.js';

export interface SenderOptions {
  maxInFlight: number;
  ackTimeoutMs: number;
  replayRate: number;
  maxFrameAttempts: number;
  heartbeatIntervalMs: number;
  connectTimeoutMs: number;
  retry: BackoffOptions;
  reencoder: ReencoderOptions;
  /** Builds the heartbeat sent on connect, every heartbeat interval and at shutdown. */
  heartbeat: (state: AgentState) => Heartbeat;
}

const PEEK_BATCH = 32;
const REPORT_EVERY_MS = 10_000;

export class FrameSender {
  private conn: TransportConnection | undefined;
  private session = 0;
  private connecting = false;
  private reconnectTimer: unknown;
  private tokenTimer: unknown;
  private tickTimer: unknown;
  private hbTimer: unknown;
  /** seq -> clock ms when sent, in send (= sequence) order. */
  private readonly inflight = new Map<number, number>();
  private readonly attempts = new Map<number, number>();
  private cursor = 0;
  private replayUntil = 0;
  private tokens = 0;
  private tokensAt = 0;
  private consecutiveResyncs = 0;
  private pumping = false;
  private pumpAgain = false;
  private started = false;
  private stopping = false;
  private lastConnectError: string | undefined;
  private lastReportAt = 0;
  private drainWaiters: Array<() => void> = [];
  private readonly backoff: Backoff;
  private readonly reenc: StreamReencoder;
  private readonly drops: DropReporter;
  private readonly oddities: DropReporter;

  /** Counters since start (heartbeat fields). */
  framesSent = 0;
  framesAcked = 0;
  framesDropped = 0;

  private readonly m: {
    sent: BoundCounter;
    sentBytes: BoundCounter;
    acked: BoundCounter;
    dropped: BoundCounter;
    acks: BoundCounter;
    connects: BoundCounter;
    disconnects: BoundCounter;
    heartbeats: BoundCounter;
    connected: BoundGauge;
    inFlight: BoundGauge;
  };

  constructor(
    private readonly settings: ComponentSettings,
    private readonly opts: SenderOptions,
    private readonly buffer: FrameBuffer,
    private readonly transport: Transport,
  ) {
    this.backoff = new Backoff(opts.retry);
    this.reenc = new StreamReencoder(opts.reencoder);
    this.drops = new DropReporter(settings.logger, 'frames');
    this.oddities = new DropReporter(settings.logger, 'incoming messages');
    const mm = settings.metrics;
    this.m = {
      sent: mm.counter('aiops_agent_exporter_frames_sent_total', 'Frames written to a connection (resends included).'),
      sentBytes: mm.counter('aiops_agent_exporter_sent_bytes_total', 'Frame bytes written to a connection (resends included).'),
      acked: mm.counter('aiops_agent_exporter_frames_acked_total', 'Frames acknowledged by the receiver and deleted from the buffer.'),
      dropped: mm.counter('aiops_agent_exporter_dropped_frames_total', 'Frames given up (rejected by the receiver, corrupt in the buffer, attempts exhausted, window arriving after shutdown).', ['reason']),
      acks: mm.counter('aiops_agent_exporter_acks_total', 'Acknowledgements received, by status (unknown_sequence and malformed ones are ignored).', ['status']),
      connects: mm.counter('aiops_agent_exporter_connects_total', 'Connection attempts by result.', ['result']),
      disconnects: mm.counter('aiops_agent_exporter_disconnects_total', 'Connections ended, by reason.', ['reason']),
      heartbeats: mm.counter('aiops_agent_exporter_heartbeats_total', 'Heartbeats sent, by result.', ['result']),
      connected: mm.gauge('aiops_agent_exporter_connected', '1 while connected to the receiver.'),
      inFlight: mm.gauge('aiops_agent_exporter_in_flight_frames', 'Frames sent and not yet acknowledged.'),
    };
    this.m.connected.set(0);
    this.m.inFlight.set(0);
  }

  get connected(): boolean {
    return this.conn !== undefined;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    this.lastReportAt = this.settings.clock.now();
    const tickMs = Math.max(50, Math.min(1000, Math.floor(this.opts.ackTimeoutMs / 4)));
    this.tickTimer = this.settings.clock.setInterval(() => this.tick(), tickMs);
    (this.tickTimer as { unref?(): unknown }).unref?.();
    this.hbTimer = this.settings.clock.setInterval(() => this.sendHeartbeat('ok'), this.opts.heartbeatIntervalMs);
    (this.hbTimer as { unref?(): unknown }).unref?.();
    this.connectNow();
  }

  /** New frames are in the buffer. */
  wake(): void {
    this.pump();
  }

  // --- connection lifecycle ---------------------------------------------------------------

  private connectNow(): void {
    this.reconnectTimer = undefined;
    if (this.stopping || this.conn !== undefined || this.connecting) return;
    this.connecting = true;
    const session = ++this.session;
    const live = () => session === this.session && this.conn !== undefined;
    const events: ConnectionEvents = {
      ack: (a) => {
        if (live()) this.onAck(a);
      },
      malformed: (reason) => {
        if (session !== this.session) return;
        this.m.acks.inc(1, { status: 'malformed' });
        this.oddities.add('malformed', 1, reason);
      },
      resync: () => {
        if (live()) this.restart('resync', 0, false);
      },
      resetDictionary: () => {
        if (live()) this.reenc.reset();
      },
      closed: (error) => {
        if (live()) this.onClosed(error);
      },
    };
    let result;
    try {
      result = this.transport.connect(events, this.opts.connectTimeoutMs);
    } catch (err) {
      result = Promise.resolve({ kind: 'retryable' as const, error: err as Error });
    }
    void result
      .catch((err: unknown) => ({ kind: 'retryable' as const, error: err instanceof Error ? err : new Error(String(err)) }))
      .then((r) => {
        this.connecting = false;
        if (session !== this.session || this.stopping) {
          if (r.kind === 'success') void r.connection.close();
          return;
        }
        if (r.kind === 'success') {
          this.onConnected(r.connection);
          return;
        }
        this.m.connects.inc(1, { result: r.kind });
        const msg = r.error.message;
        if (msg !== this.lastConnectError) {
          this.lastConnectError = msg;
          const fields = { target: this.transport.target, err: msg, backlog: this.buffer.size };
          if (r.kind === 'failure') this.settings.logger.error(fields, 'cannot connect (refused; retrying at the maximum interval; logged again when the reason changes)');
          else this.settings.logger.warn(fields, 'cannot connect (retrying with backoff; logged again when the reason changes)');
        }
        this.scheduleReconnect(r.kind === 'failure' ? this.opts.retry.maxMs : this.backoff.next());
      });
  }

  private onConnected(conn: TransportConnection): void {
    this.conn = conn;
    this.m.connects.inc(1, { result: 'success' });
    this.m.connected.set(1);
    this.reenc.reset();
    this.inflight.clear();
    this.m.inFlight.set(0);
    this.cursor = 0;
    this.replayUntil = this.buffer.maxSeq;
    this.tokens = 1;
    this.tokensAt = this.settings.clock.now();
    this.lastConnectError = undefined;
    this.settings.logger.info({ target: this.transport.target, backlog: this.buffer.size }, 'connected');
    this.sendHeartbeat('ok');
    this.pump();
  }

  private onClosed(error: Error | undefined): void {
    this.settings.logger.warn({ target: this.transport.target, err: error?.message, inFlight: this.inflight.size }, 'connection lost; unacknowledged frames will be resent');
    this.restart('closed', this.backoff.next(), true);
  }

  /** Ends the current connection (if any) and connects again after `delayMs`. */
  private restart(reason: string, delayMs: number, blameOldest: boolean): void {
    const conn = this.conn;
    if (conn === undefined) return;
    this.m.disconnects.inc(1, { reason });
    this.session++;
    this.conn = undefined;
    this.m.connected.set(0);
    if (blameOldest) this.countAttempt();
    this.inflight.clear();
    this.m.inFlight.set(0);
    this.notifyDrain();
    void conn.close().catch(() => undefined);
    this.scheduleReconnect(delayMs);
  }

  private countAttempt(): void {
    const oldest = this.inflight.keys().next();
    if (oldest.done) return;
    const seq = oldest.value;
    const n = (this.attempts.get(seq) ?? 0) + 1;
    if (n < this.opts.maxFrameAttempts) {
      this.attempts.set(seq, n);
      return;
    }
    this.attempts.delete(seq);
    if (this.buffer.ack(seq)) this.dropFrame('attempts_exhausted', `frame ${seq} was unacknowledged on ${n} connections`);
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopping) return;
    if (this.reconnectTimer !== undefined) this.settings.clock.clearTimeout(this.reconnectTimer);
    const t = this.settings.clock.setTimeout(() => this.connectNow(), delayMs);
    t.unref?.();
    this.reconnectTimer = t;
  }

  // --- sending ------------------------------------------------------------------------------

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        this.pumpOnce();
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private pumpOnce(): void {
    const max = this.opts.maxInFlight;
    while (this.conn !== undefined && !this.stopping && this.inflight.size < max) {
      const batch = this.buffer.peek(Math.min(PEEK_BATCH, max - this.inflight.size), this.cursor);
      if (batch.length === 0) return;
      for (const f of batch) {
        const conn = this.conn;
        if (conn === undefined || this.inflight.size >= max) return;
        if (f.seq <= this.replayUntil && !this.takeToken()) {
          this.scheduleTokenWake();
          return;
        }
        this.cursor = f.seq;
        let wire: Uint8Array;
        try {
          wire = this.reenc.encode(f.bytes);
        } catch (err) {
          this.buffer.ack(f.seq);
          this.dropFrame('corrupt', `frame ${f.seq}: ${(err as Error).message}`);
          continue;
        }
        this.inflight.set(f.seq, this.settings.clock.now());
        this.m.inFlight.set(this.inflight.size);
        this.framesSent++;
        this.m.sent.inc();
        this.m.sentBytes.inc(wire.length);
        conn.send(f.seq, wire);
      }
    }
  }

  private takeToken(): boolean {
    const now = this.settings.clock.now();
    const rate = this.opts.replayRate;
    this.tokens = Math.min(Math.max(1, rate), this.tokens + ((now - this.tokensAt) * rate) / 1000);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private scheduleTokenWake(): void {
    if (this.tokenTimer !== undefined) return;
    const ms = Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.opts.replayRate));
    const t = this.settings.clock.setTimeout(() => {
      this.tokenTimer = undefined;
      this.pump();
    }, ms);
    t.unref?.();
    this.tokenTimer = t;
  }

  // --- acknowledgements ---------------------------------------------------------------------

  private onAck(a: FrameAck): void {
    if (!this.inflight.has(a.sequence)) {
      this.m.acks.inc(1, { status: 'unknown_sequence' });
      this.oddities.add('ack for a sequence not in flight', 1, `sequence ${String(a.sequence)} status ${a.status}`);
      return;
    }
    this.m.acks.inc(1, { status: a.status });
    switch (a.status) {
      case 'ok':
        this.settle(a.sequence);
        this.framesAcked++;
        this.m.acked.inc();
        this.backoff.reset();
        this.consecutiveResyncs = 0;
        this.pump();
        return;
      case 'rejected':
        this.settle(a.sequence);
        this.dropFrame('rejected', `frame ${a.sequence}: ${a.message ?? ''}`);
        // Its dictionary defs never reached the receiver's dictionary.
        this.reenc.reset();
        this.pump();
        return;
      case 'retry':
        this.restart('retry', Math.max(a.retryAfterMs ?? 0, this.backoff.next()), true);
        return;
      case 'resync_dictionary':
        this.consecutiveResyncs++;
        this.restart('resync', this.consecutiveResyncs > 3 ? this.backoff.next() : 0, false);
        return;
    }
  }

  private settle(seq: number): void {
    this.inflight.delete(seq);
    this.attempts.delete(seq);
    this.buffer.ack(seq);
    this.m.inFlight.set(this.inflight.size);
    if (this.inflight.size === 0) this.notifyDrain();
  }

  private dropFrame(reason: string, detail: string): void {
    this.framesDropped++;
    this.m.dropped.inc(1, { reason });
    this.drops.add(reason, 1, detail);
  }

  // --- timers ------------------------------------------------------------------------------------

  private tick(): void {
    const now = this.settings.clock.now();
    const oldest = this.inflight.values().next();
    if (!oldest.done && now - oldest.value > this.opts.ackTimeoutMs) {
      this.settings.logger.warn({ target: this.transport.target, inFlight: this.inflight.size, ackTimeoutMs: this.opts.ackTimeoutMs }, 'no acknowledgement within ack_timeout: reconnecting');
      this.restart('ack_timeout', this.backoff.next(), true);
    }
    if (now - this.lastReportAt >= REPORT_EVERY_MS) {
      this.lastReportAt = now;
      this.drops.report();
      this.oddities.report();
    }
  }

  private sendHeartbeat(state: AgentState): Promise<void> {
    const conn = this.conn;
    if (conn === undefined) return Promise.resolve();
    let hb: Heartbeat;
    try {
      hb = this.opts.heartbeat(state);
    } catch (err) {
      this.m.heartbeats.inc(1, { result: 'failure' });
      this.settings.logger.warn({ err: (err as Error).message }, 'cannot build heartbeat');
      return Promise.resolve();
    }
    return conn.heartbeat(hb).then(
      (r: SendResult) => {
        this.m.heartbeats.inc(1, { result: r.kind });
      },
      () => {
        this.m.heartbeats.inc(1, { result: 'failure' });
      },
    );
  }

  private notifyDrain(): void {
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
  }

  /**
   * Stops sending new frames, waits up to `timeoutMs` for the acknowledgements of frames in
   * flight, sends a last heartbeat ('stopping'), closes. Idempotent; safe without start().
   */
  async shutdown(timeoutMs: number): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const clock = this.settings.clock;
    for (const t of [this.reconnectTimer, this.tokenTimer]) if (t !== undefined) clock.clearTimeout(t);
    for (const t of [this.tickTimer, this.hbTimer]) if (t !== undefined) clock.clearInterval(t);
    this.reconnectTimer = this.tokenTimer = this.tickTimer = this.hbTimer = undefined;
    if (this.conn !== undefined && this.inflight.size > 0 && timeoutMs > 0) {
      await this.waitFor(new Promise<void>((r) => this.drainWaiters.push(r)), timeoutMs);
    }
    if (this.conn !== undefined) await this.waitFor(this.sendHeartbeat('stopping'), Math.min(1000, Math.max(1, timeoutMs)));
    const conn = this.conn;
    this.session++;
    this.conn = undefined;
    this.m.connected.set(0);
    if (conn !== undefined) await conn.close().catch(() => undefined);
    this.drops.report();
    this.oddities.report();
  }

  private waitFor(p: Promise<void>, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = this.settings.clock.setTimeout(resolve, ms);
      t.unref?.();
      void p.then(() => {
        this.settings.clock.clearTimeout(t);
        resolve();
      });
    });
  }
}
