// The body every frame exporter shares: closed windows -> self-contained frames -> buffer
// (before any send) -> ordered send loop over a transport. The mqtt and grpc exporters differ
// only in their Transport.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { resolveCodecOptions, resolveDecodeLimits } from '../../../../shared-schemas/src/index.js';
import type { AgentState, Heartbeat } from '../../../../shared-schemas/src/index.js';
import type { FrameBuffer } from '../../buffer/frame-buffer.js';
import { bufferFileName, SqlJsFrameBuffer } from '../../buffer/sqljs-buffer.js';
import type { SqlJsFrameBufferOptions } from '../../buffer/sqljs-buffer.js';
import type { ComponentSettings, Exporter } from '../../component.js';
import { AgentError } from '../../errors.js';
import type { FeatureWindow } from '../../pdata.js';
import type { BoundCounter } from '../../../../shared-schemas/src/runtime/index.js';
import type { SenderConfig } from './config.js';
import { DropReporter } from './drops.js';
import { WindowFramer } from './framer.js';
import { FrameSender } from './sender.js';
import { SequenceLease } from './sequence.js';
import type { Transport } from './transport.js';

/** Reported in heartbeats until the component settings carry the agent's build version. */
export const DEFAULT_AGENT_VERSION = '0.1.0';

export interface FrameExporterOptions {
  config: SenderConfig;
  transport: Transport;
  /** Default: a SqlJsFrameBuffer persisted at `${dataDir}/<component id>.buffer.sqlite`. */
  buffer?: FrameBuffer;
  /** sql.js WASM bytes for the default buffer (the single executable embeds them). */
  wasmBinary?: Uint8Array;
  /** Called after every buffer flush that wrote the file (the kill -9 test harness). */
  onBufferFlushed?: SqlJsFrameBufferOptions['onFlushed'];
  /** Agent build version for heartbeats. */
  version?: string;
  /** Dictionary epochs (default Date.now). */
  epochSource?: () => number;
  /** How frames go on the wire: re-encoded per connection (default) or as stored. */
  wireDictionary?: 'stream' | 'standalone';
  /** Randomness of the backoff jitter (tests). */
  random?: () => number;
}

export class FrameExporter implements Exporter {
  readonly buffer: FrameBuffer;
  readonly sender: FrameSender;
  private readonly lease: SequenceLease;
  private readonly framer: WindowFramer;
  private readonly rowDrops: DropReporter;
  private queue: Promise<void> = Promise.resolve();
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private startedAt = 0;
  private activeSeries = 0;
  private framesDroppedHere = 0;
  private readonly cCreated: BoundCounter;
  private readonly cRowsDropped: BoundCounter;
  private readonly cFramesDropped: BoundCounter;

  constructor(
    private readonly settings: ComponentSettings,
    private readonly opts: FrameExporterOptions,
  ) {
    const c = opts.config;
    const codec = resolveCodecOptions({ codec: c.compression, brotliQuality: 5 });
    // Default limits, not ones derived from this config: frames stored by an earlier run
    // with other settings must still decode.
    const limits = resolveDecodeLimits();
    const dataDir = settings.agent.dataDir;
    this.buffer =
      opts.buffer ??
      new SqlJsFrameBuffer(settings, {
        path: join(dataDir, bufferFileName(settings.id)),
        maxBytes: c.buffer.max_bytes,
        flushIntervalMs: c.buffer.flush_interval,
        ...(opts.wasmBinary ? { wasmBinary: opts.wasmBinary } : {}),
        ...(opts.onBufferFlushed ? { onFlushed: opts.onBufferFlushed } : {}),
      });
    this.lease = new SequenceLease(join(dataDir, bufferFileName(settings.id).replace(/\.buffer\.sqlite$/, '.seq')), settings.logger, settings.clock);
    const m = settings.metrics;
    this.cCreated = m.counter('aiops_agent_exporter_frames_created_total', 'Frames built from windows and written to the buffer.');
    this.cRowsDropped = m.counter('aiops_agent_exporter_dropped_rows_total', 'Window rows (series) left out of frames, by reason.', ['reason']);
    this.cFramesDropped = m.counter('aiops_agent_exporter_dropped_frames_total', 'Frames given up (rejected by the receiver, corrupt in the buffer, attempts exhausted, window arriving after shutdown).', ['reason']);
    this.rowDrops = new DropReporter(settings.logger, 'rows');
    this.framer = new WindowFramer(
      {
        agentId: settings.agent.agentId,
        tenant: settings.agent.tenant,
        maxRowsPerFrame: c.max_rows_per_frame,
        maxFrameBytes: c.max_frame_bytes,
        maxSeries: c.max_series,
        codec,
        limits,
      },
      (reason, n, detail) => {
        this.cRowsDropped.inc(n, { reason });
        this.rowDrops.add(reason, n, detail);
      },
    );
    this.sender = new FrameSender(
      settings,
      {
        maxInFlight: c.max_in_flight,
        ackTimeoutMs: c.ack_timeout,
        replayRate: c.replay_rate,
        maxFrameAttempts: c.max_frame_attempts,
        heartbeatIntervalMs: c.heartbeat_interval,
        connectTimeoutMs: c.connect_timeout,
        retry: {
          initialMs: c.retry.initial_interval,
          maxMs: c.retry.max_interval,
          multiplier: c.retry.multiplier,
          jitter: c.retry.jitter,
          ...(opts.random ? { random: opts.random } : {}),
        },
        reencoder: { maxSeries: c.max_series, codec, limits, mode: opts.wireDictionary ?? 'stream', ...(opts.epochSource ? { epochSource: opts.epochSource } : {}) },
        heartbeat: (s) => this.heartbeat(s),
      },
      this.buffer,
      opts.transport,
    );
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return;
    this.state = 'starting';
    await this.buffer.start();
    await this.lease.start(this.buffer.maxSeq);
    if (this.state !== 'starting') return;
    this.startedAt = this.settings.clock.now();
    this.state = 'running';
    this.sender.start();
  }

  /** Frames the window into the buffer (before anything is sent), then wakes the send loop. */
  consumeWindow(w: FeatureWindow): Promise<void> {
    const run = this.queue.then(() => this.frameWindow(w));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async frameWindow(w: FeatureWindow): Promise<void> {
    if (this.state !== 'running') {
      if (this.state === 'stopped') {
        this.cFramesDropped.inc(1, { reason: 'shutdown' });
        this.framesDroppedHere++;
        return;
      }
      throw new AgentError('NOT_STARTED', `exporter ${this.settings.id}: consumeWindow before start()`);
    }
    this.activeSeries = w.series.length;
    if (w.series.length === 0) return;
    // Sequences stay above whatever the buffer holds (it may have been written by another path).
    this.lease.skipTo(this.buffer.maxSeq + 1);
    await this.lease.ensure(w.series.length);
    const now = this.settings.clock.now();
    for (const f of this.framer.build(w, this.lease)) {
      const r = this.buffer.put(f.seq, now, f.bytes);
      if (r.stored) this.cCreated.inc();
      this.framesDroppedHere += r.evicted + (r.stored ? 0 : 1);
    }
    this.sender.wake();
  }

  private heartbeat(state: AgentState): Heartbeat {
    const now = this.settings.clock.now();
    const c = this.opts.config;
    const degraded = this.buffer.bytes > c.buffer.max_bytes / 2;
    return {
      agentId: this.settings.agent.agentId,
      tenant: this.settings.agent.tenant,
      timestampMs: now,
      state: state === 'ok' && degraded ? 'degraded' : state,
      version: this.opts.version ?? DEFAULT_AGENT_VERSION,
      hostname: hostname().slice(0, 255),
      uptimeMs: Math.max(0, now - this.startedAt),
      activeSeries: Math.min(this.activeSeries, 0xffff_ffff),
      // Frames the receiver acknowledged, and frames given up anywhere, since start.
      framesSent: this.sender.framesAcked,
      framesDropped: this.sender.framesDropped + this.framesDroppedHere,
      bufferBytes: this.buffer.bytes,
      hostLabels: { os: process.platform, arch: process.arch },
    };
  }

  async shutdown(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasStarted = this.state !== 'new';
    this.state = 'stopped';
    if (!wasStarted) {
      await this.buffer.shutdown();
      return;
    }
    await this.queue;
    await this.sender.shutdown(this.opts.config.shutdown_timeout);
    this.rowDrops.report();
    await this.buffer.shutdown();
  }
}
