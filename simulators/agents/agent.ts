// One virtual agent: a host with M series that closes a window when the fleet says so and sends
// it as one feature frame, with the real exporter's sending rules (edge-agent/src/exporters/
// internal/sender.ts) minus its disk buffer:
//
// - Sequence numbers are assigned when the window closes, strictly increasing per agent.
// - Frames go out in sequence order with at most maxInFlight unacknowledged (backpressure);
//   windows wait in a bounded backlog (maxBacklog; beyond it the oldest is dropped, counted).
// - Every (re)connect starts a new dictionary epoch: the first frame is 'reset' with every def,
//   then 'continue' frames with none.
// - Ack ok -> done; rejected -> dropped and counted, new epoch; retry -> reconnect after
//   max(retryAfterMs, backoff) and resend every unacknowledged frame in order (go-back-N, same
//   sequences, same rows: rows are a function of the window); resync_dictionary -> reconnect
//   at once (with backoff after 3 in a row); no ack within ackTimeoutMs -> reconnect.
// - A frame that was the oldest unacknowledged one on maxFrameAttempts failed connections is
//   dropped (a frame the peer never accepts must not block the rest).
import { encodeFrame } from '../../shared-schemas/src/index.js';
import type { AckStatus, AgentState, CodecOptions, Heartbeat } from '../../shared-schemas/src/index.js';
import { Rng, hashSeed } from '../model/index.js';
import { agentIdOf } from './config.js';
import type { VirtualAgentsConfig } from './config.js';
import { AgentDictionary } from './dictionary.js';
import type { LatencyHistogram } from './latency.js';
import type { AgentLink, LinkEvents, LinkFactory } from './links.js';
import type { SeriesModel } from './series.js';
import type { Timeline } from './timeline.js';

export const VIRTUAL_AGENT_VERSION = 'virtual-agent/0.1';

/** Counters shared by every agent of a run (one writer at a time: the event loop). */
export class FleetStats {
  windowsScheduled = 0;
  /** Frames sent for the first time. */
  framesSent = 0;
  /** Frames sent again after a reconnect (go-back-N). */
  framesResent = 0;
  framesAcked = 0;
  /** Frames given up: backlog overflow, rejected, attempts exhausted, encode errors. */
  framesDropped = 0;
  bytesSent = 0;
  resetFrames = 0;
  connects = 0;
  connectFailures = 0;
  disconnects = 0;
  ackTimeouts = 0;
  acksRetry = 0;
  acksRejected = 0;
  acksResync = 0;
  malformedAcks = 0;
  unknownAcks = 0;
  encodeErrors = 0;
  backlogDrops = 0;
  attemptsExhausted = 0;
  heartbeatsSent = 0;
  heartbeatFailures = 0;
  heartbeatResyncs = 0;
  configMessages = 0;
  /** Distinct error messages (first 10) with their counts. */
  readonly messages = new Map<string, number>();

  note(message: string): void {
    const n = this.messages.get(message);
    if (n !== undefined) this.messages.set(message, n + 1);
    else if (this.messages.size < 10) this.messages.set(message, 1);
  }
}

/** Bounds connection attempts in progress at once. */
export class Gate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  acquire(): Promise<void> {
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}

export interface AgentContext {
  cfg: VirtualAgentsConfig;
  model: SeriesModel;
  links: LinkFactory;
  codec: Readonly<CodecOptions>;
  stats: FleetStats;
  /** Every 'ok' ack. */
  latency: LatencyHistogram;
  /** 'ok' acks of 'continue' frames only (the steady state). */
  steadyLatency: LatencyHistogram;
  /** Per-second counts of first sends and acks. */
  timeline: Timeline;
  gate: Gate;
  /** Monotonic ms (latency, timeouts). */
  now(): number;
  /** Wall-clock ms (epochs, heartbeats). */
  wallNow(): number;
}

interface InFlight {
  window: number;
  sentAt: number;
  /** Carried the dictionary ('reset' frame: every def, much larger than a steady frame). */
  reset: boolean;
}

export class VirtualAgent {
  readonly id: string;
  /** True once a connection succeeded. */
  connectedOnce = false;
  /** Connection attempts that failed. */
  connectFailures = 0;
  /** Windows scheduled for this agent. */
  windows = 0;
  /** Frames acknowledged 'ok'. */
  acked = 0;
  private link: AgentLink | undefined;
  private session = 0;
  private connecting = false;
  private stopped = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly dict: AgentDictionary;
  private nextSeq: number;
  private highestSent = 0;
  // Backlog as a deque of (sequence, window): parallel arrays with a head index.
  private qSeq: number[] = [];
  private qWin: number[] = [];
  private qHead = 0;
  private readonly inflight = new Map<number, InFlight>();
  private readonly attempts = new Map<number, number>();
  private backoffAttempt = 0;
  private consecutiveResyncs = 0;
  private nextHeartbeatAt = Infinity;
  private nextDictResetAt = Infinity;
  private readonly jitter: Rng;
  private readonly startedAt: number;

  constructor(
    readonly index: number,
    private readonly ctx: AgentContext,
  ) {
    const c = ctx.cfg;
    this.id = agentIdOf(c.agentIdPrefix, index);
    this.nextSeq = c.sequenceStart;
    this.dict = new AgentDictionary(c.series, (id) => ctx.model.labels(this.id, id), ctx.wallNow);
    this.jitter = new Rng(hashSeed(c.seed, `backoff:${this.id}`));
    this.startedAt = ctx.wallNow();
  }

  get connected(): boolean {
    return this.link !== undefined;
  }

  get inFlight(): number {
    return this.inflight.size;
  }

  get backlog(): number {
    return this.qSeq.length - this.qHead;
  }

  /** Nothing waiting and nothing unacknowledged. */
  get idle(): boolean {
    return this.backlog === 0 && this.inflight.size === 0;
  }

  start(): void {
    this.connectNow();
  }

  /** Window `window` (0-based) closed: it gets the next sequence and joins the backlog. */
  windowDue(window: number): void {
    if (this.stopped) return;
    this.windows++;
    this.qSeq.push(this.nextSeq++);
    this.qWin.push(window);
    if (this.backlog > this.ctx.cfg.maxBacklog) {
      this.attempts.delete(this.qSeq[this.qHead] as number);
      this.qHead++;
      this.ctx.stats.backlogDrops++;
      this.ctx.stats.framesDropped++;
    }
    this.compact();
    this.pump();
  }

  private compact(): void {
    if (this.qHead > 1024 && this.qHead * 2 > this.qSeq.length) {
      this.qSeq = this.qSeq.slice(this.qHead);
      this.qWin = this.qWin.slice(this.qHead);
      this.qHead = 0;
    }
  }

  // --- connection lifecycle -----------------------------------------------------------------

  private backoff(): number {
    const c = this.ctx.cfg;
    const base = Math.min(c.retryMaxMs, c.retryInitialMs * 2 ** Math.min(this.backoffAttempt, 30));
    this.backoffAttempt++;
    return Math.min(c.retryMaxMs, Math.round(base * this.jitter.between(0.5, 1.5)));
  }

  private connectNow(): void {
    this.reconnectTimer = undefined;
    if (this.stopped || this.link !== undefined || this.connecting) return;
    this.connecting = true;
    const session = ++this.session;
    const live = (): boolean => session === this.session && this.link !== undefined;
    const stats = this.ctx.stats;
    const events: LinkEvents = {
      ack: (seq, status, message, retryAfterMs) => {
        if (live()) this.onAck(seq, status, message, retryAfterMs);
      },
      malformed: (reason) => {
        if (!live()) return;
        stats.malformedAcks++;
        stats.note(`malformed ack: ${reason}`);
      },
      resync: () => {
        if (!live()) return;
        stats.heartbeatResyncs++;
        this.restart('resync', 0, false);
      },
      config: () => {
        if (live()) stats.configMessages++;
      },
      closed: (error) => {
        if (!live()) return;
        stats.note(`connection lost: ${error?.message ?? 'closed'}`);
        this.restart('closed', this.backoff(), true);
      },
    };
    void this.ctx.gate
      .acquire()
      .then(() => {
        if (this.stopped || session !== this.session) return { kind: 'retryable' as const, error: new Error('stopped') };
        return this.ctx.links.connect(this.id, events, this.ctx.cfg.connectTimeoutMs);
      })
      .catch((err: unknown) => ({ kind: 'retryable' as const, error: err instanceof Error ? err : new Error(String(err)) }))
      .then((r) => {
        this.ctx.gate.release();
        this.connecting = false;
        if (session !== this.session || this.stopped) {
          if (r.kind === 'success') void r.link.close();
          return;
        }
        if (r.kind === 'success') return this.onConnected(r.link);
        this.connectFailures++;
        stats.connectFailures++;
        stats.note(`cannot connect to ${this.ctx.links.target}: ${r.error.message}`);
        this.scheduleReconnect(r.kind === 'failure' ? this.ctx.cfg.retryMaxMs : this.backoff());
      });
  }

  private onConnected(link: AgentLink): void {
    const c = this.ctx.cfg;
    this.link = link;
    this.connectedOnce = true;
    this.ctx.stats.connects++;
    this.dict.reset();
    const now = this.ctx.now();
    this.nextDictResetAt = c.targetSpec.protocol === 'mqtt' && c.dictionaryResetMs > 0 ? now + c.dictionaryResetMs : Infinity;
    if (c.heartbeatIntervalMs > 0) {
      this.nextHeartbeatAt = now + c.heartbeatIntervalMs;
      this.sendHeartbeat('ok');
    }
    this.pump();
  }

  /** Ends the current connection and connects again after `delayMs`; unacknowledged frames are resent. */
  private restart(reason: 'closed' | 'retry' | 'resync' | 'ack_timeout', delayMs: number, blameOldest: boolean): void {
    if (reason !== 'closed') this.ctx.stats.note(`reconnect after ${reason}`);
    const link = this.link;
    if (link === undefined) return;
    this.ctx.stats.disconnects++;
    this.session++;
    this.link = undefined;
    if (blameOldest) this.countAttempt();
    // Go-back-N: in-flight frames (in send = sequence order) return to the front of the backlog.
    if (this.inflight.size > 0) {
      const seqs: number[] = [];
      const wins: number[] = [];
      for (const [seq, f] of this.inflight) {
        seqs.push(seq);
        wins.push(f.window);
      }
      this.qSeq = seqs.concat(this.qSeq.slice(this.qHead));
      this.qWin = wins.concat(this.qWin.slice(this.qHead));
      this.qHead = 0;
      this.inflight.clear();
    }
    void link.close().catch(() => undefined);
    this.scheduleReconnect(delayMs);
  }

  private countAttempt(): void {
    const oldest = this.inflight.keys().next();
    if (oldest.done) return;
    const seq = oldest.value;
    const n = (this.attempts.get(seq) ?? 0) + 1;
    if (n < this.ctx.cfg.maxFrameAttempts) {
      this.attempts.set(seq, n);
      return;
    }
    this.attempts.delete(seq);
    this.inflight.delete(seq);
    this.ctx.stats.attemptsExhausted++;
    this.ctx.stats.framesDropped++;
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopped) return;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connectNow(), Math.max(0, delayMs));
  }

  // --- sending -----------------------------------------------------------------------------------

  private pump(): void {
    const max = this.ctx.cfg.maxInFlight;
    while (this.link !== undefined && this.inflight.size < max && this.qHead < this.qSeq.length) {
      const seq = this.qSeq[this.qHead] as number;
      const window = this.qWin[this.qHead] as number;
      this.qHead++;
      this.sendFrame(this.link, seq, window);
    }
    if (this.qHead === this.qSeq.length && this.qHead > 0) {
      this.qSeq.length = 0;
      this.qWin.length = 0;
      this.qHead = 0;
    }
  }

  private sendFrame(link: AgentLink, seq: number, window: number): void {
    const { cfg, stats, model, codec } = this.ctx;
    const update = this.dict.takeUpdate();
    const windowStartMs = cfg.startTimeMs + window * cfg.windowMs;
    let bytes: Uint8Array;
    try {
      bytes = encodeFrame(
        {
          agentId: this.id,
          tenant: cfg.tenant,
          sequence: seq,
          windowStartMs,
          windowEndMs: windowStartMs + cfg.windowMs,
          ...update,
          rows: model.rows(this.index, window),
        },
        { codec },
      );
    } catch (err) {
      // Its defs (if any) never went out.
      this.dict.reset();
      stats.encodeErrors++;
      stats.framesDropped++;
      stats.note(`encode: ${(err as Error).message}`);
      return;
    }
    if (update.dictionaryScope === 'reset') stats.resetFrames++;
    const now = this.ctx.now();
    this.inflight.set(seq, { window, sentAt: now, reset: update.dictionaryScope === 'reset' });
    if (seq > this.highestSent) {
      this.highestSent = seq;
      stats.framesSent++;
      this.ctx.timeline.sent(now);
    } else {
      stats.framesResent++;
    }
    stats.bytesSent += bytes.length;
    link.send(seq, bytes);
  }

  // --- acknowledgements --------------------------------------------------------------------------

  private onAck(seq: number, status: AckStatus, message: string, retryAfterMs: number): void {
    const stats = this.ctx.stats;
    const f = this.inflight.get(seq);
    if (f === undefined) {
      stats.unknownAcks++;
      return;
    }
    switch (status) {
      case 'ok':
        this.inflight.delete(seq);
        this.attempts.delete(seq);
        stats.framesAcked++;
        this.acked++;
        {
          const now = this.ctx.now();
          this.ctx.timeline.acked(now);
          this.ctx.latency.record(now - f.sentAt);
          if (!f.reset) this.ctx.steadyLatency.record(now - f.sentAt);
        }
        this.backoffAttempt = 0;
        this.consecutiveResyncs = 0;
        this.pump();
        return;
      case 'rejected':
        this.inflight.delete(seq);
        this.attempts.delete(seq);
        stats.acksRejected++;
        stats.framesDropped++;
        stats.note(`rejected: ${message}`);
        // Its dictionary defs never reached the receiver's dictionary.
        this.dict.reset();
        this.pump();
        return;
      case 'retry':
        stats.acksRetry++;
        if (message !== '') stats.note(`ack retry: ${message}`);
        this.restart('retry', Math.max(retryAfterMs, this.backoff()), true);
        return;
      case 'resync_dictionary':
        stats.acksResync++;
        if (message !== '') stats.note(`ack resync_dictionary: ${message}`);
        this.consecutiveResyncs++;
        this.restart('resync', this.consecutiveResyncs > 3 ? this.backoff() : 0, false);
        return;
    }
  }

  // --- timers (driven by the fleet's one-second tick) ----------------------------------------

  tick(now: number): void {
    if (this.link === undefined) return;
    const oldest = this.inflight.values().next();
    if (!oldest.done && now - oldest.value.sentAt > this.ctx.cfg.ackTimeoutMs) {
      this.ctx.stats.ackTimeouts++;
      this.restart('ack_timeout', this.backoff(), true);
      return;
    }
    if (now >= this.nextDictResetAt) {
      this.dict.reset();
      this.nextDictResetAt = now + this.ctx.cfg.dictionaryResetMs;
    }
    if (now >= this.nextHeartbeatAt) {
      this.nextHeartbeatAt = now + this.ctx.cfg.heartbeatIntervalMs;
      this.sendHeartbeat('ok');
    }
  }

  private heartbeatOf(state: AgentState): Heartbeat {
    const wall = this.ctx.wallNow();
    return {
      agentId: this.id,
      tenant: this.ctx.cfg.tenant,
      timestampMs: wall,
      state,
      version: VIRTUAL_AGENT_VERSION,
      hostname: this.id,
      uptimeMs: Math.max(0, wall - this.startedAt),
      activeSeries: this.ctx.cfg.series,
      // As the real agent: frames the receiver acknowledged since start.
      framesSent: this.acked,
      framesDropped: 0,
      bufferBytes: 0,
      hostLabels: { simulated: 'true' },
    };
  }

  private sendHeartbeat(state: AgentState): Promise<void> {
    const link = this.link;
    if (link === undefined) return Promise.resolve();
    const stats = this.ctx.stats;
    return link.heartbeat(this.heartbeatOf(state)).then((ok) => {
      if (ok) stats.heartbeatsSent++;
      else stats.heartbeatFailures++;
    });
  }

  /** Stops: no new windows, no reconnects; a last heartbeat ('stopping'), then close. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.session++;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const link = this.link;
    if (link === undefined) return;
    if (this.ctx.cfg.heartbeatIntervalMs > 0) {
      await Promise.race([this.sendHeartbeat('stopping'), new Promise<void>((r) => setTimeout(r, 1000).unref())]);
    }
    this.link = undefined;
    await link.close().catch(() => undefined);
  }
}
