// `simulate fleet`: the command-line face of runLiveFleet. A Command factory, registered by
// simulators/cli.ts (`npm run simulate -- fleet ...`); status lines on stderr, the final summary
// on stdout; Ctrl-C (SIGINT) or SIGTERM stops every agent cleanly (a second Ctrl-C kills).
// Exit codes: 0 done, 1 the fleet failed, 2 bad option.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { pino } from 'pino';
import { createLogger } from '../../shared-schemas/src/runtime/index.js';
import type { LogLevel } from '../../shared-schemas/src/runtime/index.js';
import { formatDuration, parseDuration, shippedScenariosDir } from '../scenario/index.js';
import { DEFAULT_BACKFILL_MS, DEFAULT_DATA_DIR, DEFAULT_FAULT_AFTER_MS, DEFAULT_STATUS_INTERVAL_MS, FleetError } from './config.js';
import type { LiveFleetOptions } from './config.js';
import { runLiveFleet } from './fleet.js';
import type { FleetCredentials, FleetStatus, LiveFleetHooks } from './fleet.js';

export interface FleetCommandIO {
  /** Summary (default process.stdout). */
  stdout?: (text: string) => void;
  /** Status lines (default process.stderr). */
  stderr?: (text: string) => void;
  /** Extra hooks (tests: a clock); merged over what the options build. */
  hooks?: LiveFleetHooks;
  /** Stops the run (tests); SIGINT and SIGTERM do too. */
  signal?: AbortSignal;
}

const nf = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const n0 = (x: number): string => nf.format(x);
const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.000Z$/, 'Z');

function durationArg(v: string): number {
  const ms = parseDuration(v);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('must be a duration like 90s, 20m or 1h30m');
  if (ms < 0) throw new InvalidArgumentError('must not be negative');
  return ms;
}

function seedArg(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidArgumentError('must be an integer 0..4294967295');
  return Number(v);
}

/** Reads a credentials file: a JSON object {"<agent id>": "<secret>"} as central issued them. */
export async function readCredentialsFile(path: string): Promise<Record<string, string>> {
  const flag = '--credentials-file';
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new FleetError('BAD_OPTION', `${flag} ${path} cannot be read: ${(err as Error).message}`, { option: flag, cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new FleetError('BAD_OPTION', `${flag} ${path} is not JSON: ${(err as Error).message}`, { option: flag, cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new FleetError('BAD_OPTION', `${flag} ${path} must hold a JSON object {"<agent id>": "<secret>"}`, { option: flag });
  for (const [k, v] of Object.entries(doc)) {
    if (typeof v !== 'string' || v === '') throw new FleetError('BAD_OPTION', `${flag} ${path}: the secret of "${k}" must be a non-empty string`, { option: flag });
  }
  return doc as Record<string, string>;
}

function until(ms: number, now: number): string {
  const d = ms - now;
  return d >= 0 ? `in ${formatDuration(Math.round(d / 1000) * 1000)}` : `${formatDuration(Math.round(-d / 1000) * 1000)} ago`;
}

/** One status report as the command prints it (stderr). */
export function formatFleetStatus(s: FleetStatus): string {
  const t = s.timeline;
  const f = t.fault;
  const at = iso(s.atMs);
  const counts =
    `connected ${s.connected}/${s.agents.length} | fed ${n0(s.stepsFed)}/${n0(s.stepsTotal)} steps, ${n0(s.samplesFed)} samples | ` +
    `windows ${n0(s.windows)}, frames ${n0(s.framesCreated)} created / ${n0(s.framesAcked)} acked / ${n0(s.framesDropped)} dropped | Tier-1 flagged ${n0(s.flaggedSamples)} samples`;
  switch (s.event) {
    case 'started': {
      const lines = [
        `[fleet] ${at} live: scenario ${s.scenario}, ${s.agents.length} agents -> ${s.target}`,
        ...s.agents.map((a) => `[fleet]   ${a.agentId.padEnd(16)} ${String(a.series).padStart(4)} series`),
        `[fleet]   backfilled ${formatDuration(t.liveStartMs - t.backfillStartMs)} (${iso(t.backfillStartMs)} .. ${iso(t.liveStartMs)}, ${n0(t.liveStep - t.firstStep + 1)} steps of ${formatDuration(t.stepMs)}, ${n0(s.samplesFed)} samples)`,
        f !== undefined
          ? `[fleet]   fault ${f.id}: ${f.type} at ${f.root} starts ${iso(f.onsetMs)} (${until(f.onsetMs, s.atMs)}), ends ${iso(f.endMs)}`
          : '[fleet]   the scenario has no fault',
        `[fleet]   scenario ends ${iso(t.endMs)} (${until(t.endMs, s.atMs)}); Ctrl-C stops earlier`,
        ...s.warnings.map((w) => `[fleet]   warning: ${w}`),
      ];
      return `${lines.join('\n')}\n`;
    }
    case 'fault_onset':
      return `[fleet] ${at} FAULT ${f!.id}: ${f!.type} at ${f!.root} has started (${f!.rootMetric} moves first); ${counts}\n`;
    case 'fault_end':
      return `[fleet] ${at} fault ${f!.id} is over; ${counts}\n`;
    case 'ended':
      return `[fleet] ${at} the scenario has ended; stopping. ${counts}\n`;
    case 'stopped':
      return `[fleet] ${at} stopped; ${counts}\n`;
    default: {
      const fault = f === undefined ? '' : s.faultActive ? ` | fault active since ${formatDuration(Math.max(0, Math.round((s.atMs - f.onsetMs) / 1000)) * 1000)}` : s.atMs < f.onsetMs ? ` | fault ${until(f.onsetMs, s.atMs)}` : ' | fault over';
      return `[fleet] ${at} ${counts}${fault}\n`;
    }
  }
}

function formatSummary(s: FleetStatus | undefined): string {
  if (s === undefined) return 'fleet: stopped before going live\n';
  const lines = [
    `fleet: scenario ${s.scenario}, ${s.agents.length} agents -> ${s.target}`,
    `  fed        ${n0(s.stepsFed)}/${n0(s.stepsTotal)} steps, ${n0(s.samplesFed)} samples (${n0(s.droppedSamples)} dropped by the agents, ${n0(s.feedErrors)} feed errors)`,
    `  windows    ${n0(s.windows)}; frames ${n0(s.framesCreated)} created, ${n0(s.framesAcked)} acked, ${n0(s.framesDropped)} dropped`,
    `  Tier-1     ${n0(s.flaggedSamples)} samples flagged`,
    ...s.agents.map((a) => `  ${a.agentId.padEnd(16)} ${String(a.series).padStart(4)} series, ${n0(a.windows)} windows, ${n0(a.framesAcked)}/${n0(a.framesCreated)} frames acked, ${n0(a.flaggedSamples)} flagged`),
  ];
  return `${lines.join('\n')}\n`;
}

interface CliOptions {
  scenario: string;
  target: string;
  username?: string;
  password?: string;
  credentialsFile?: string;
  backfill: number;
  faultAfter: number;
  dataDir: string;
  tenant: string;
  topicPrefix: string;
  agentPrefix: string;
  seed?: number;
  caFile?: string;
  statusInterval: number;
  logLevel: LogLevel;
  quiet?: boolean;
  json?: boolean;
}

/** The `fleet` subcommand. `io` redirects its output and adds hooks (tests). */
export function fleetCommand(io: FleetCommandIO = {}): Command {
  const out = io.stdout ?? ((t: string) => void process.stdout.write(t));
  const err = io.stderr ?? ((t: string) => void process.stderr.write(t));
  const quickstart = join(shippedScenariosDir(), 'quickstart.yaml');
  return new Command('fleet')
    .description(
      'Live simulated fleet: one REAL edge agent (normalize, Tier-1, 10 s features, MQTT exporter) per simulated host of a scenario, ' +
        'sending to central in real time. Feeds --backfill of history at start, then one scenario step per step of wall time; ' +
        "the scenario's first fault starts --fault-after after the start.",
    )
    .addOption(new Option('--scenario <file>', 'scenario YAML file').default(quickstart, 'simulators/scenarios/quickstart.yaml'))
    .option('--target <url>', "central's MQTT listener, mqtt://host:port or mqtts://host:port", 'mqtt://127.0.0.1:1883')
    .option('--credentials-file <json>', 'per-agent credentials: a JSON object {"<agent id>": "<secret>"}; each agent connects as username = its id, password = its secret (what central\'s broker wants)')
    .option('--username <name>', 'one MQTT username for every agent (brokers with shared credentials; central wants per-agent ones)')
    .option('--password <secret>', 'the password for --username (visible in the process list: prefer --credentials-file)')
    .addOption(new Option('--backfill <time>', 'history fed at start with past timestamps, 0s..55m').argParser(durationArg).default(DEFAULT_BACKFILL_MS, formatDuration(DEFAULT_BACKFILL_MS)))
    .addOption(new Option('--fault-after <time>', "the scenario's first fault starts this long after the start").argParser(durationArg).default(DEFAULT_FAULT_AFTER_MS, formatDuration(DEFAULT_FAULT_AFTER_MS)))
    .option('--data-dir <dir>', 'agents\' durable state (buffers, frame sequences), one folder per agent; keep it between runs against the same central', DEFAULT_DATA_DIR)
    .option('--tenant <name>', 'tenant of every agent', 'default')
    .option('--topic-prefix <prefix>', 'MQTT topic prefix', 'aiops/v1')
    .option('--agent-prefix <prefix>', 'agent ids are <prefix><host name>', 'sim-')
    .option('--seed <n>', "override the scenario's seed", seedArg)
    .option('--ca-file <path>', 'PEM CA bundle for an mqtts:// target')
    .addOption(new Option('--status-interval <time>', 'a status line this often; 0s = events only').argParser(durationArg).default(DEFAULT_STATUS_INTERVAL_MS, formatDuration(DEFAULT_STATUS_INTERVAL_MS)))
    .addOption(new Option('--log-level <level>', "the agents' JSON logs on stderr").choices(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('warn'))
    .option('--quiet', 'no status lines')
    .option('--json', 'print the final summary as JSON')
    .addHelpText(
      'after',
      '\nTime: the scenario is shifted so that its first fault starts --fault-after after the start, with --backfill of\n' +
        'history before the start (the scenario must have backfill + fault-after of run before its fault). The run ends\n' +
        'with the scenario (quickstart: 28 minutes live).\n' +
        '\nExamples:\n' +
        '  npm run simulate -- fleet --target mqtt://127.0.0.1:1883 --credentials-file .data/fleet-credentials.json\n' +
        '  npm run simulate -- fleet --scenario simulators/scenarios/quickstart.yaml --backfill 15m --fault-after 1m\n',
    )
    .showHelpAfterError('(add --help for the options)')
    .action(async (o: CliOptions, cmd: Command) => {
      const fail = (e: unknown): never => {
        if (e instanceof FleetError) cmd.error(`fleet: ${e.message}`, { exitCode: e.code === 'BAD_OPTION' ? 2 : 1, code: `aiops.fleet.${e.code}` });
        throw e;
      };
      const controller = new AbortController();
      const onSignal = (): void => {
        if (!o.quiet) err('[fleet] stopping (flushing the agents)...\n');
        controller.abort();
      };
      io.signal?.addEventListener('abort', () => controller.abort(), { once: true });
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        if (o.credentialsFile !== undefined && o.username !== undefined) throw new FleetError('BAD_OPTION', '--credentials-file and --username are exclusive: per-agent or shared credentials', { option: '--credentials-file' });
        if (o.password !== undefined && o.username === undefined) throw new FleetError('BAD_OPTION', '--password needs --username', { option: '--password' });
        let credentials: LiveFleetHooks['credentials'];
        if (o.credentialsFile !== undefined) {
          const file = o.credentialsFile;
          const secrets = await readCredentialsFile(file);
          credentials = (agentId: string): FleetCredentials => {
            const secret = secrets[agentId];
            if (secret === undefined) {
              const known = Object.keys(secrets);
              const shown = known.length === 0 ? 'none' : known.slice(0, 8).join(', ') + (known.length > 8 ? `, ... (${known.length} in all)` : '');
              throw new Error(`--credentials-file ${file} has no secret for agent "${agentId}" (it lists: ${shown})`);
            }
            return { username: agentId, password: secret };
          };
        } else if (o.username !== undefined) {
          const c = { username: o.username, password: o.password ?? '' };
          credentials = () => c;
        }
        const options: LiveFleetOptions = {
          scenario: o.scenario,
          target: o.target,
          backfillMs: o.backfill,
          faultAfterMs: o.faultAfter,
          dataDir: o.dataDir,
          tenant: o.tenant,
          topicPrefix: o.topicPrefix,
          agentIdPrefix: o.agentPrefix,
          statusIntervalMs: o.statusInterval,
          ...(o.seed !== undefined ? { seed: o.seed } : {}),
          ...(o.caFile !== undefined ? { caFile: o.caFile } : {}),
        };
        const logger = createLogger(o.logLevel, pino.destination({ dest: 2, sync: true }), 'aiops-sim-fleet');
        const summary = await runLiveFleet(options, {
          logger,
          ...(credentials !== undefined ? { credentials } : {}),
          ...(o.quiet ? {} : { onStatus: (s: FleetStatus) => err(formatFleetStatus(s)) }),
          ...io.hooks,
          signal: controller.signal,
        });
        out(o.json ? `${JSON.stringify(summary ?? null, null, 2)}\n` : formatSummary(summary));
      } catch (e) {
        fail(e);
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
      }
    });
}

