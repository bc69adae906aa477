// `simulate agents`: the command-line face of runVirtualAgents. A Command factory, registered by
// simulators/cli.ts (`npm run simulate -- agents ...`); progress on stderr, summary on stdout.
import { Command, InvalidArgumentError, Option } from 'commander';
import { CODEC_NAMES } from '../../shared-schemas/src/index.js';
import { MAX_AGENTS, MAX_RATE_PER_AGENT, MAX_SERIES_PER_AGENT, parseDurationMs, VirtualAgentsError } from './config.js';
import type { VirtualAgentsOptions } from './config.js';
import { loadCredentialsFile } from './credentials.js';
import { runVirtualAgents } from './fleet.js';
import type { ProgressSnapshot, VirtualAgentsSummary } from './fleet.js';

export interface CommandIO {
  /** Summary (default process.stdout). */
  stdout?: (text: string) => void;
  /** Progress (default process.stderr). */
  stderr?: (text: string) => void;
}

const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const nf1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const n0 = (x: number): string => nf.format(x);
const ms = (x: number): string => (x >= 100 ? nf.format(x) : x.toFixed(x >= 10 ? 1 : 2));

function num(v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('must be a number');
  return n;
}

function duration(v: string): number {
  let ms: number;
  try {
    ms = parseDurationMs(v, 'duration');
  } catch {
    throw new InvalidArgumentError('must be a duration like 60, 60s, 500ms or 5m');
  }
  if (ms < 0) throw new InvalidArgumentError('must not be negative');
  return ms;
}

function time(v: string): number {
  if (/^\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new InvalidArgumentError('must be ms since the epoch or an ISO 8601 time');
  return t;
}

export function formatProgress(p: ProgressSnapshot): string {
  const t = p.phase === 'connecting' ? 'connecting' : `${p.phase} ${(p.elapsedMs / 1000).toFixed(1)}s`;
  return (
    `[agents] ${t}: connected ${n0(p.agentsConnected)}, sent ${n0(p.framesSent)} frames / acked ${n0(p.framesAcked)}` +
    ` | ${n0(p.sentPerSec)} sent, ${n0(p.ackedPerSec)} acked series-windows/s | in flight ${n0(p.inFlight)}, backlog ${n0(p.backlog)}, errors ${n0(p.errors)}\n`
  );
}

export function formatSummary(s: VirtualAgentsSummary): string {
  const l = s.ackLatencyMs;
  const st = s.steadyAckLatencyMs;
  const lines = [
    `virtual agents: ${n0(s.agents)} x ${n0(s.seriesPerAgent)} series at ${nf1.format(s.ratePerAgent)} windows/s per agent -> ${s.target} (${s.protocol}, ${s.codec})`,
    `  offered      ${n0(s.offeredSeriesWindowsPerSec)} series-windows/s`,
    `  achieved     ${n0(s.seriesWindowsSentPerSec)} sent, ${n0(s.seriesWindowsAckedPerSec)} acked series-windows/s (median per second ${n0(s.medianAckedPerSec)})`,
    `  totals       ${n0(s.framesSent)} frames sent (${n0(s.seriesWindowsSent)} series-windows), ${n0(s.framesAcked)} acked, ${n0(s.framesResent)} resent, ${n0(s.framesDropped)} dropped, ${n0(s.resetFrames)} dictionary resets`,
    `  wire         ${n0(s.bytesSent)} bytes, ${nf1.format(s.bytesPerSeriesWindow)} bytes per series-window`,
    `  ack latency  p50 ${ms(l.p50)} ms, p95 ${ms(l.p95)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms (${n0(l.count)} acks)`,
    `    steady     p50 ${ms(st.p50)} ms, p95 ${ms(st.p95)} ms, p99 ${ms(st.p99)} ms, max ${ms(st.max)} ms (${n0(st.count)} acks of 'continue' frames)`,
    `  time         connect ${(s.connectMs / 1000).toFixed(2)} s, send ${(s.sendMs / 1000).toFixed(2)} s, drain ${(s.drainMs / 1000).toFixed(2)} s${s.drained ? '' : ' (NOT drained: acks outstanding at the drain timeout)'}`,
    `  agents       ${n0(s.agentsConnected)}/${n0(s.agents)} connected, ${n0(s.heartbeatsSent)} heartbeats, ${n0(s.configMessages)} config messages`,
    `  errors       ${n0(s.errorCount)}${s.errorCount > 0 || s.errors.disconnects > 0 ? ` (${Object.entries(s.errors).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${n0(v)}`).join(', ')})` : ''}`,
  ];
  for (const m of s.errorMessages) lines.push(`    ${m.count}x ${m.message}`);
  return lines.join('\n') + '\n';
}

interface CliOptions {
  target: string;
  count: number;
  series: number;
  rate?: number;
  duration: number;
  windows?: number;
  window: number;
  samplesPerWindow: number;
  align?: boolean;
  maxInFlight: number;
  maxBacklog: number;
  codec: string;
  brotliQuality: number;
  tenant: string;
  topicPrefix: string;
  agentPrefix: string;
  seed: number;
  sequenceStart?: number;
  startTime?: number;
  username?: string;
  password?: string;
  credentialsFile?: string;
  caFile?: string;
  connectConcurrency: number;
  connectTimeout: number;
  ackTimeout: number;
  drainTimeout: number;
  heartbeatInterval: number;
  dictionaryResetInterval: number;
  progressInterval: number;
  retryInitial: number;
  retryMax: number;
  maxFrameAttempts: number;
  json?: boolean;
  quiet?: boolean;
}

export function toRunOptions(o: CliOptions): VirtualAgentsOptions {
  return {
    target: o.target,
    count: o.count,
    series: o.series,
    ...(o.rate !== undefined ? { rate: o.rate } : {}),
    durationMs: o.duration,
    ...(o.windows !== undefined ? { windows: o.windows } : {}),
    windowMs: o.window,
    samplesPerWindow: o.samplesPerWindow,
    align: o.align === true,
    maxInFlight: o.maxInFlight,
    maxBacklog: o.maxBacklog,
    codec: o.codec as VirtualAgentsOptions['codec'],
    brotliQuality: o.brotliQuality,
    tenant: o.tenant,
    topicPrefix: o.topicPrefix,
    agentIdPrefix: o.agentPrefix,
    seed: o.seed,
    ...(o.sequenceStart !== undefined ? { sequenceStart: o.sequenceStart } : {}),
    ...(o.startTime !== undefined ? { startTimeMs: o.startTime } : {}),
    ...(o.username !== undefined ? { username: o.username } : {}),
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
    connectConcurrency: o.connectConcurrency,
    connectTimeoutMs: o.connectTimeout,
    ackTimeoutMs: o.ackTimeout,
    drainTimeoutMs: o.drainTimeout,
    heartbeatIntervalMs: o.heartbeatInterval,
    dictionaryResetMs: o.dictionaryResetInterval,
    progressIntervalMs: o.progressInterval,
    retryInitialMs: o.retryInitial,
    retryMaxMs: o.retryMax,
    maxFrameAttempts: o.maxFrameAttempts,
  };
}

/** The `agents` subcommand. `io` redirects its output (tests). */
export function virtualAgentsCommand(io: CommandIO = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  return new Command('agents')
    .description(
      'Virtual agents: N simulated hosts with M series each, sending one feature frame per window to central over MQTT ' +
        "or gRPC with the real agent's protocol (shared-schemas frames, per-connection series dictionary, sequences, " +
        'acknowledgements). Load offered = count x series x rate series-windows per second.',
    )
    .requiredOption('--target <url>', 'mqtt://host:port | mqtts://host:port | grpc://host:port | grpcs://host:port')
    .option('--count <n>', `virtual agents, 1..${n0(MAX_AGENTS)}`, num, 10)
    .option('--series <m>', `series per agent (rows per frame), 1..${n0(MAX_SERIES_PER_AGENT)}`, num, 100)
    .option('--rate <r>', `windows (frames) per second PER AGENT, up to ${MAX_RATE_PER_AGENT} (default: real time, 1 / --window)`, num)
    .addOption(new Option('--duration <time>', 'send phase, e.g. 60s, 5m; the run then drains and stops by itself').argParser(duration).default(60_000, '60s'))
    .option('--windows <n>', 'also stop after this many windows per agent', num)
    .addOption(new Option('--window <time>', 'simulated window length').argParser(duration).default(10_000, '10s'))
    .option('--samples-per-window <n>', 'FeatureRow.count', num, 10)
    .option('--align', 'all agents send at the same instant (synchronised clocks) instead of spread over the interval')
    .option('--max-in-flight <n>', 'unacknowledged frames per agent (backpressure)', num, 8)
    .option('--max-backlog <n>', 'windows queued per agent; beyond, the oldest is dropped and counted', num, 100)
    .addOption(new Option('--codec <name>', 'frame compression').choices([...CODEC_NAMES]).default('brotli'))
    .option('--brotli-quality <q>', 'brotli quality 0..11', num, 5)
    .option('--tenant <name>', 'tenant (MQTT topic level and frame field)', 'default')
    .option('--topic-prefix <prefix>', 'MQTT topic prefix', 'aiops/v1')
    .option('--agent-prefix <prefix>', 'agent ids are <prefix>-00000, <prefix>-00001, ...', 'vagent')
    .option('--seed <n>', 'seed of the value generator', num, 1)
    .option('--sequence-start <n>', 'first frame sequence of every agent (default: now in ms)', num)
    .option('--start-time <when>', 'start of the first simulated window, ms or ISO 8601 (default: the last window ends about now)', time)
    .option('--username <name>', 'MQTT username')
    .option('--password <secret>', 'MQTT password')
    .option(
      '--credentials-file <path>',
      'per-agent MQTT credentials, JSON {"<agent id>": "<secret>"} (username = agent id, as central\'s broker expects) or {"<agent id>": {"username", "password"}}; instead of --username/--password',
    )
    .option('--ca-file <path>', 'PEM CA bundle for mqtts:// and grpcs://')
    .option('--connect-concurrency <n>', 'connection attempts at once', num, 50)
    .addOption(new Option('--connect-timeout <time>', 'per connection attempt').argParser(duration).default(10_000, '10s'))
    .addOption(new Option('--ack-timeout <time>', 'no ack this long: reconnect and resend').argParser(duration).default(30_000, '30s'))
    .addOption(new Option('--drain-timeout <time>', 'after the send phase, wait this long for outstanding acks').argParser(duration).default(10_000, '10s'))
    .addOption(new Option('--heartbeat-interval <time>', 'heartbeats on connect and this often; 0 = none').argParser(duration).default(30_000, '30s'))
    .addOption(new Option('--dictionary-reset-interval <time>', 'MQTT: new dictionary epoch this often; 0 = never').argParser(duration).default(300_000, '5m'))
    .addOption(new Option('--progress-interval <time>', 'progress line on stderr this often').argParser(duration).default(5_000, '5s'))
    .addOption(new Option('--retry-initial <time>', 'first reconnect delay (exponential backoff with jitter)').argParser(duration).default(500, '500ms'))
    .addOption(new Option('--retry-max <time>', 'longest reconnect delay').argParser(duration).default(30_000, '30s'))
    .option('--max-frame-attempts <n>', 'a frame oldest unacknowledged on this many failed connections is dropped', num, 10)
    .option('--json', 'print the summary as JSON')
    .option('--quiet', 'no progress lines')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  npm run simulate -- agents --target mqtt://127.0.0.1:1883 --count 1000 --series 2000 --duration 60s\n' +
        '      1,000 hosts x 2,000 series in real time (10 s windows): 200,000 series-windows/s\n' +
        '  npm run simulate -- agents --target grpc://127.0.0.1:4317 --count 10 --series 500 --rate 5 --duration 30s\n' +
        '  npm run simulate -- agents --target mqtt://127.0.0.1:1883 --count 1000 --series 200 --rate 1 --credentials-file secrets.json\n' +
        '      against central\'s embedded broker: one enrolled secret per agent (vagent-00000 ... vagent-00999)\n',
    )
    .showHelpAfterError('(add --help for the options)')
    .action(async (o: CliOptions, cmd: Command) => {
      const controller = new AbortController();
      const onSignal = (): void => controller.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        const run = toRunOptions(o);
        if (o.credentialsFile !== undefined) run.credentials = await loadCredentialsFile(o.credentialsFile);
        const summary = await runVirtualAgents(run, {
          signal: controller.signal,
          ...(o.quiet ? {} : { onProgress: (p: ProgressSnapshot) => err(formatProgress(p)) }),
        });
        out(o.json ? JSON.stringify(summary, null, 2) + '\n' : formatSummary(summary));
      } catch (e) {
        if (e instanceof VirtualAgentsError) cmd.error(`agents: ${e.message}`, { exitCode: e.code === 'BAD_OPTION' ? 2 : 1, code: `aiops.agents.${e.code}` });
        throw e;
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    });
}
