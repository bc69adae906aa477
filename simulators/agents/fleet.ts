// runVirtualAgents: N virtual agents sending feature frames to central, paced by one scheduler.
//
// Phases: connect (every agent connects once, at most connectConcurrency attempts at a time) ->
// send (durationMs of real time, or until every agent sent `windows` windows; agent i's window
// k is due at t0 + (k + i/N) / rate, i.e. agents are spread evenly over the interval, or all at
// t0 + k / rate with `align`) -> drain (wait up to drainTimeoutMs for outstanding acks) ->
// stop (last heartbeat, close). Rates in the summary are over the send phase.
import { readFile } from 'node:fs/promises';
import { resolveCodecOptions } from '../../shared-schemas/src/index.js';
import { agentIdOf, resolveVirtualAgentsOptions, VirtualAgentsError } from './config.js';
import type { Protocol, VirtualAgentsConfig, VirtualAgentsOptions } from './config.js';
import { FleetStats, Gate, VirtualAgent } from './agent.js';
import { resolveFleetCredentials } from './credentials.js';
import type { AgentContext } from './agent.js';
import { LatencyHistogram } from './latency.js';
import type { LatencySummary } from './latency.js';
import { createLinkFactory } from './links.js';
import type { LinkFactory } from './links.js';
import { SeriesModel } from './series.js';
import { Timeline } from './timeline.js';
import type { SecondSample } from './timeline.js';

export type RunPhase = 'connecting' | 'sending' | 'draining';

export interface ProgressSnapshot {
  phase: RunPhase;
  /** Since the send phase started (0 while connecting). */
  elapsedMs: number;
  agentsConnected: number;
  framesSent: number;
  framesAcked: number;
  seriesWindowsSent: number;
  seriesWindowsAcked: number;
  /** Series-windows per second over the last progress interval. */
  sentPerSec: number;
  ackedPerSec: number;
  inFlight: number;
  backlog: number;
  errors: number;
}


export interface ErrorCounts {
  connectFailures: number;
  disconnects: number;
  ackTimeouts: number;
  acksRetry: number;
  acksRejected: number;
  acksResync: number;
  heartbeatResyncs: number;
  malformedAcks: number;
  unknownAcks: number;
  encodeErrors: number;
  backlogDrops: number;
  attemptsExhausted: number;
  heartbeatFailures: number;
}

export interface VirtualAgentsSummary {
  protocol: Protocol;
  target: string;
  agents: number;
  seriesPerAgent: number;
  /** Windows per second per agent. */
  ratePerAgent: number;
  /** count x series x rate. */
  offeredSeriesWindowsPerSec: number;
  codec: string;
  agentsConnected: number;
  connectMs: number;
  /** Send phase (the rates' denominator). */
  sendMs: number;
  drainMs: number;
  /** True when every frame sent was acknowledged (or given up) before the drain timeout. */
  drained: boolean;
  windowsScheduled: number;
  framesSent: number;
  framesResent: number;
  framesAcked: number;
  framesDropped: number;
  /** Frames that opened a dictionary epoch (one per connection, plus resyncs and periodic resets). */
  resetFrames: number;
  seriesWindowsSent: number;
  seriesWindowsAcked: number;
  seriesWindowsSentPerSec: number;
  seriesWindowsAckedPerSec: number;
  /** Median of the per-second acknowledged series-windows over the full seconds of the send phase (acks counted by arrival time). */
  medianAckedPerSec: number;
  bytesSent: number;
  /** Wire bytes (envelopes, resends included) per series-window sent. */
  bytesPerSeriesWindow: number;
  /** Send to 'ok' ack, every frame. */
  ackLatencyMs: LatencySummary;
  /** The same for 'continue' frames only (without the dictionary-carrying first frames). */
  steadyAckLatencyMs: LatencySummary;
  errors: ErrorCounts;
  /** Sum of `errors` except disconnects (a consequence, not a cause). */
  errorCount: number;
  /** Distinct error messages seen (first 10) with counts. */
  errorMessages: Array<{ message: string; count: number }>;
  heartbeatsSent: number;
  configMessages: number;
  perSecond: SecondSample[];
}

export interface VirtualAgentsHooks {
  onProgress?: (p: ProgressSnapshot) => void;
  /** Aborting ends the send phase early; the run still drains and returns a summary. */
  signal?: AbortSignal;
  /** Wall clock in ms (default Date.now): defaults of sequences and start time, epochs, heartbeats. */
  wallNow?: () => number;
  /** Transport override (tests). */
  links?: LinkFactory;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Scheduler: windows handed out per turn of the event loop, so acks are not starved. */
const MAX_DUE_PER_TURN = 64;

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function errorCounts(s: FleetStats): ErrorCounts {
  return {
    connectFailures: s.connectFailures,
    disconnects: s.disconnects,
    ackTimeouts: s.ackTimeouts,
    acksRetry: s.acksRetry,
    acksRejected: s.acksRejected,
    acksResync: s.acksResync,
    heartbeatResyncs: s.heartbeatResyncs,
    malformedAcks: s.malformedAcks,
    unknownAcks: s.unknownAcks,
    encodeErrors: s.encodeErrors,
    backlogDrops: s.backlogDrops,
    attemptsExhausted: s.attemptsExhausted,
    heartbeatFailures: s.heartbeatFailures,
  };
}

function errorTotal(e: ErrorCounts): number {
  let n = 0;
  for (const [k, v] of Object.entries(e)) if (k !== 'disconnects') n += v;
  return n;
}

async function readCa(cfg: VirtualAgentsConfig): Promise<Buffer | undefined> {
  if (cfg.caFile === undefined) return undefined;
  try {
    return await readFile(cfg.caFile);
  } catch (err) {
    throw new VirtualAgentsError('BAD_OPTION', `--ca-file cannot be read: ${(err as Error).message}`, { option: '--ca-file', cause: err });
  }
}

/**
 * Runs the virtual agents to the end of the send phase, drains, stops, and returns what was
 * achieved. Throws VirtualAgentsError: BAD_OPTION before connecting; CONNECT_FAILED when no
 * agent could connect at all.
 */
export async function runVirtualAgents(options: VirtualAgentsOptions, hooks: VirtualAgentsHooks = {}): Promise<VirtualAgentsSummary> {
  const wallNow = hooks.wallNow ?? Date.now;
  const cfg = resolveVirtualAgentsOptions(options, wallNow());
  const codec = resolveCodecOptions({ codec: cfg.codec, brotliQuality: cfg.brotliQuality }, '--codec');
  const credentials = cfg.credentials === undefined ? undefined : resolveFleetCredentials(cfg.credentials, Array.from({ length: cfg.count }, (_, i) => agentIdOf(cfg.agentIdPrefix, i)));
  const links = hooks.links ?? createLinkFactory(cfg, await readCa(cfg), credentials);
  const now = (): number => performance.now();
  const stats = new FleetStats();
  const latency = new LatencyHistogram();
  const steadyLatency = new LatencyHistogram();
  const timeline = new Timeline();
  const ctx: AgentContext = {
    cfg,
    model: new SeriesModel({ seriesPerAgent: cfg.series, seed: cfg.seed, samplesPerWindow: cfg.samplesPerWindow }),
    links,
    codec,
    stats,
    latency,
    steadyLatency,
    timeline,
    gate: new Gate(cfg.connectConcurrency),
    now,
    wallNow,
  };
  const agents = Array.from({ length: cfg.count }, (_, i) => new VirtualAgent(i, ctx));
  const M = cfg.series;
  const N = cfg.count;
  const signal = hooks.signal;
  let phase: RunPhase = 'connecting';
  let t0 = now();

  const snapshotCounts = () => {
    let connected = 0;
    let inFlight = 0;
    let backlog = 0;
    for (const a of agents) {
      if (a.connected) connected++;
      inFlight += a.inFlight;
      backlog += a.backlog;
    }
    return { connected, inFlight, backlog };
  };
  let lastProgress = { at: now(), sent: 0, acked: 0 };
  const progress = (): void => {
    if (!hooks.onProgress) return;
    const at = now();
    const dt = Math.max(1e-9, (at - lastProgress.at) / 1000);
    const c = snapshotCounts();
    const p: ProgressSnapshot = {
      phase,
      elapsedMs: phase === 'connecting' ? 0 : at - t0,
      agentsConnected: c.connected,
      framesSent: stats.framesSent,
      framesAcked: stats.framesAcked,
      seriesWindowsSent: stats.framesSent * M,
      seriesWindowsAcked: stats.framesAcked * M,
      sentPerSec: ((stats.framesSent - lastProgress.sent) * M) / dt,
      ackedPerSec: ((stats.framesAcked - lastProgress.acked) * M) / dt,
      inFlight: c.inFlight,
      backlog: c.backlog,
      errors: errorTotal(errorCounts(stats)),
    };
    lastProgress = { at, sent: stats.framesSent, acked: stats.framesAcked };
    hooks.onProgress(p);
  };
  let progressTimer = setInterval(progress, cfg.progressIntervalMs);

  const stopAll = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
  };

  // --- connect ------------------------------------------------------------------------------
  const c0 = now();
  for (const a of agents) a.start();
  try {
    for (;;) {
      let connected = 0;
      let failedOnce = 0;
      for (const a of agents) {
        if (a.connectedOnce) connected++;
        else if (a.connectFailures > 0) failedOnce++;
      }
      if (connected === N || signal?.aborted) break;
      if (connected === 0 && failedOnce === N) {
        const first = stats.messages.keys().next();
        throw new VirtualAgentsError('CONNECT_FAILED', `no virtual agent could connect to ${links.target}: ${first.done ? 'unknown error' : first.value}`);
      }
      // Agents that cannot connect by then keep trying in the background; their windows queue.
      if (connected > 0 && now() - c0 > cfg.connectTimeoutMs * (1 + Math.ceil(N / cfg.connectConcurrency))) break;
      await sleep(20);
    }
  } catch (err) {
    clearInterval(progressTimer);
    await stopAll();
    throw err;
  }
  const connectMs = now() - c0;

  // --- send ---------------------------------------------------------------------------------
  phase = 'sending';
  t0 = now();
  lastProgress = { at: t0, sent: stats.framesSent, acked: stats.framesAcked };
  clearInterval(progressTimer);
  progressTimer = setInterval(progress, cfg.progressIntervalMs);
  const periodMs = 1000 / cfg.rate;
  const windowsPerAgent = cfg.windows ?? Infinity;
  const endAt = t0 + Math.min(cfg.durationMs, windowsPerAgent * periodMs);
  const phaseOf = cfg.align ? () => 0 : (i: number) => i / N;
  timeline.start(t0);
  const tickTimer = setInterval(() => {
    const t = now();
    for (const a of agents) a.tick(t);
  }, 1000);

  let g = 0;
  let schedTimer: NodeJS.Timeout | undefined;
  let sendEndedAt = 0;
  await new Promise<void>((resolveSend) => {
    const finish = (): void => {
      if (sendEndedAt !== 0) return;
      sendEndedAt = now();
      if (schedTimer !== undefined) clearTimeout(schedTimer);
      signal?.removeEventListener('abort', finish);
      resolveSend();
    };
    signal?.addEventListener('abort', finish);
    if (signal?.aborted) return finish();
    const run = (): void => {
      schedTimer = undefined;
      if (sendEndedAt !== 0) return;
      const t = now();
      for (let n = 0; ; n++) {
        const k = Math.floor(g / N);
        const i = g % N;
        const due = t0 + (k + phaseOf(i)) * periodMs;
        if (k >= windowsPerAgent || due >= endAt) {
          if (t >= endAt) return finish();
          schedTimer = setTimeout(run, endAt - t);
          return;
        }
        if (due > t) {
          schedTimer = setTimeout(run, due - t);
          return;
        }
        if (n >= MAX_DUE_PER_TURN) {
          schedTimer = setTimeout(run, 0);
          return;
        }
        stats.windowsScheduled++;
        (agents[i] as VirtualAgent).windowDue(k);
        g++;
      }
    };
    run();
  });
  const sendMs = sendEndedAt - t0;

  // --- drain, stop ----------------------------------------------------------------------------
  phase = 'draining';
  const d0 = now();
  let drained = false;
  const fullSeconds = Math.floor(sendMs / 1000);
  while (now() - d0 < cfg.drainTimeoutMs) {
    if (agents.every((a) => a.idle)) {
      drained = true;
      break;
    }
    await sleep(10);
  }
  if (!drained) drained = agents.every((a) => a.idle);
  const drainMs = now() - d0;
  clearInterval(tickTimer);
  clearInterval(progressTimer);
  progress();
  const agentsConnected = agents.filter((a) => a.connectedOnce).length;
  await stopAll();

  const perSecond = timeline.samples(M);
  const errors = errorCounts(stats);
  const sendS = Math.max(1e-9, sendMs / 1000);
  const sentSw = stats.framesSent * M;
  return {
    protocol: cfg.targetSpec.protocol,
    target: links.target,
    agents: N,
    seriesPerAgent: M,
    ratePerAgent: cfg.rate,
    offeredSeriesWindowsPerSec: N * M * cfg.rate,
    codec: codec.codec === 'brotli' ? `brotli-${codec.brotliQuality}` : codec.codec,
    agentsConnected,
    connectMs,
    sendMs,
    drainMs,
    drained,
    windowsScheduled: stats.windowsScheduled,
    framesSent: stats.framesSent,
    framesResent: stats.framesResent,
    framesAcked: stats.framesAcked,
    framesDropped: stats.framesDropped,
    resetFrames: stats.resetFrames,
    seriesWindowsSent: sentSw,
    seriesWindowsAcked: stats.framesAcked * M,
    seriesWindowsSentPerSec: sentSw / sendS,
    seriesWindowsAckedPerSec: (stats.framesAcked * M) / sendS,
    medianAckedPerSec: median(perSecond.slice(0, fullSeconds).map((p) => p.ackedSeriesWindows)),
    bytesSent: stats.bytesSent,
    bytesPerSeriesWindow: sentSw === 0 ? 0 : stats.bytesSent / ((stats.framesSent + stats.framesResent) * M),
    ackLatencyMs: latency.summary(),
    steadyAckLatencyMs: steadyLatency.summary(),
    errors,
    errorCount: errorTotal(errors),
    errorMessages: [...stats.messages].map(([message, count]) => ({ message, count })),
    heartbeatsSent: stats.heartbeatsSent,
    configMessages: stats.configMessages,
    perSecond,
  };
}
