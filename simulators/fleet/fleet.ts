// The live fleet: a scenario's simulated hosts as REAL edge agents, in one process, sending to a
// real central. One AgentService per Host node of the topology (agent id `sim-<host>`), each
// running the agent's own pipeline
//
//   simulator receiver -> normalize -> tier1 -> features (10 s windows) -> mqtt exporter
//
// fed by this driver with the host's metrics plus those of the workloads that RUNS_ON it.
//
// Time (see README.md): the scenario's step grid is shifted onto the clock so that its first
// fault starts `faultAfterMs` after the live start. At start, `backfillMs` of history (the steps
// whose shifted time is at or before the live start) is pushed in one go with past timestamps:
// Tier-1 warms up on it and its windows close at the aggregator's next tick. From then on each
// step is pushed when the clock reaches its shifted time. When the scenario runs out the fleet
// reports `ended`; stop() shuts every agent down (open windows flushed, frames in flight acked).
import { mkdir, open, readFile, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRegistry } from '../../edge-agent/src/components.js';
import { resolveConfig, sanitizeAgentId } from '../../edge-agent/src/config/config.js';
import type { FactoryRegistry } from '../../edge-agent/src/config/config.js';
import type { AnyFactory, Exporter, ExporterFactory } from '../../edge-agent/src/component.js';
import type { Labels, MetricSample } from '../../edge-agent/src/pdata.js';
import { AgentService } from '../../edge-agent/src/service/service.js';
import { metricSum, SelfMetrics, silentLogger, systemClock } from '../../shared-schemas/src/runtime/index.js';
import type { Clock, Logger } from '../../shared-schemas/src/runtime/index.js';
import { DEFAULT_TIER1_CONFIG } from '../../wasm-detectors/src/index.js';
import { injectFaults } from '../faults/index.js';
import type { GroundTruthFault, HostMetric, ServiceMetric, SimMetrics, SimSeries } from '../model/index.js';
import type { TopologyDocument } from '../../shared-schemas/src/index.js';
import { formatDuration, loadScenarioFile, prepareScenario } from '../scenario/index.js';
import type { Scenario } from '../scenario/index.js';
import type { TopologyGraph } from '../topology/index.js';
import { FleetError, OPTION_FLAGS, resolveFleetOptions } from './config.js';
import type { LiveFleetOptions, ResolvedFleetOptions } from './config.js';
import { SimulatorFeeds, simulatorReceiverFactory } from './receiver.js';
import type { PushResult, SimulatorFeed } from './receiver.js';

// --- names ------------------------------------------------------------------------------------

/** Prometheus-style names of the simulated service metrics (gauges, base units). */
export const SERVICE_METRIC_NAMES: Readonly<Record<ServiceMetric, string>> = Object.freeze({
  request_rate: 'sim_service_requests_per_second',
  latency_p50: 'sim_service_latency_p50_seconds',
  latency_p95: 'sim_service_latency_p95_seconds',
  latency_p99: 'sim_service_latency_p99_seconds',
  error_rate: 'sim_service_error_ratio',
  cpu: 'sim_service_cpu_cores',
  memory: 'sim_service_memory_bytes',
  gc_pause: 'sim_service_gc_pause_ratio',
  saturation: 'sim_service_saturation_ratio',
});

/** Prometheus-style names of the simulated host metrics (gauges, base units). */
export const HOST_METRIC_NAMES: Readonly<Record<HostMetric, string>> = Object.freeze({
  cpu: 'sim_host_cpu_ratio',
  memory: 'sim_host_memory_ratio',
  disk: 'sim_host_disk_ratio',
  network_rx: 'sim_host_network_receive_bytes_per_second',
  network_tx: 'sim_host_network_transmit_bytes_per_second',
});

// --- plan -------------------------------------------------------------------------------------

/** One series an agent sends: its wire name and labels, and the scenario's values. */
export interface FleetSeries {
  name: string;
  /** `{service, host}` for a workload's metric, `{host}` for the host's own; one frozen object per entity. */
  labels: Labels;
  /** Scenario entity (node name) and metric. */
  entity: string;
  metric: ServiceMetric | HostMetric;
  values: Float64Array;
}

/** One simulated host and the agent that runs for it. */
export interface FleetAgentPlan {
  agentId: string;
  /** Host node name, e.g. "node-1". */
  host: string;
  /** Names of the workloads that RUNS_ON this host. */
  services: string[];
  series: FleetSeries[];
}

/**
 * Splits a simulated metric set into one agent per Host node: the host's series plus those of
 * the workloads that run on it. `unplaced` lists workloads that run on no host (not sent).
 */
export function planAgents(metrics: SimMetrics, graph: TopologyGraph, agentIdPrefix = 'sim-'): { agents: FleetAgentPlan[]; unplaced: string[] } {
  const byNode = new Map<string, SimSeries[]>();
  for (const s of metrics.series) {
    let l = byNode.get(s.nodeId);
    if (!l) byNode.set(s.nodeId, (l = []));
    l.push(s);
  }
  const ids = new Map<string, string>();
  const agents = graph.hosts.map((hostNode, h): FleetAgentPlan => {
    const agentId = sanitizeAgentId(`${agentIdPrefix}${hostNode.name}`);
    const clash = ids.get(agentId);
    if (clash !== undefined) {
      throw new FleetError('BAD_OPTION', `${OPTION_FLAGS.agentIdPrefix}: hosts "${clash}" and "${hostNode.name}" both become agent id "${agentId}"`, { option: OPTION_FLAGS.agentIdPrefix });
    }
    ids.set(agentId, hostNode.name);
    const series: FleetSeries[] = [];
    const hostLabels: Labels = Object.freeze({ host: hostNode.name });
    for (const s of byNode.get(hostNode.id) ?? []) {
      series.push({ name: HOST_METRIC_NAMES[s.metric as HostMetric], labels: hostLabels, entity: s.entity, metric: s.metric, values: s.values });
    }
    const services: string[] = [];
    for (let k = graph.onHost.start[h]!; k < graph.onHost.start[h + 1]!; k++) {
      const w = graph.workloads[graph.onHost.to[k]!]!;
      services.push(w.name);
      const labels: Labels = Object.freeze({ service: w.name, host: hostNode.name });
      for (const s of byNode.get(w.id) ?? []) {
        series.push({ name: SERVICE_METRIC_NAMES[s.metric as ServiceMetric], labels, entity: s.entity, metric: s.metric, values: s.values });
      }
    }
    return { agentId, host: hostNode.name, services, series };
  });
  const unplaced = graph.workloads.filter((_, i) => graph.hostOf[i] === -1).map((w) => w.name);
  return { agents, unplaced };
}

// --- time -------------------------------------------------------------------------------------

/** How the scenario's step grid lands on the clock. */
export interface FleetTimeline {
  stepMs: number;
  /** Clock time of scenario step k = scenario start + k * stepMs + shiftMs. */
  shiftMs: number;
  /** First step fed (the oldest backfilled one). */
  firstStep: number;
  /** Last step of the backfill; its clock time is liveStartMs. */
  liveStep: number;
  /** One past the last step of the scenario. */
  endStep: number;
  /** Clock time of the oldest backfilled sample. */
  backfillStartMs: number;
  /** Clock time the fleet went live: the start, floored to the step. */
  liveStartMs: number;
  /** Clock time of the scenario's last step. */
  endMs: number;
  /** The scenario's first fault (by onset), on the clock. */
  fault?: {
    id: string;
    type: string;
    root: string;
    rootMetric: string;
    onsetStep: number;
    onsetMs: number;
    /** Exclusive end, clock time. */
    endMs: number;
  };
}

/**
 * Maps a step grid onto the clock. `nowMs` is floored to the step (the live start); the first
 * fault's onset lands `faultAfterMs` (rounded up to the step) after it; `backfillMs` (rounded
 * down to the step) of earlier steps are the backfill. Without faults the backfill starts at
 * the scenario's first step. Throws FleetError BAD_OPTION when the scenario cannot provide the
 * history asked for, or nothing would be left to run live.
 */
export function planTimeline(
  grid: { startMs: number; stepMs: number; length: number },
  fault: GroundTruthFault | undefined,
  nowMs: number,
  backfillMs: number,
  faultAfterMs: number,
  scenarioName = 'scenario',
): FleetTimeline {
  const { startMs, stepMs, length } = grid;
  const liveStartMs = Math.floor(nowMs / stepMs) * stepMs;
  const backSteps = Math.floor(backfillMs / stepMs);
  const afterSteps = Math.ceil(faultAfterMs / stepMs);
  let liveStep: number;
  if (fault !== undefined) {
    const onsetStep = Math.round((fault.onsetMs - startMs) / stepMs);
    liveStep = onsetStep - afterSteps;
    if (liveStep - backSteps < 0) {
      const need = formatDuration((backSteps + afterSteps) * stepMs);
      throw new FleetError(
        'BAD_OPTION',
        `${OPTION_FLAGS.backfillMs} ${formatDuration(backSteps * stepMs)} + ${OPTION_FLAGS.faultAfterMs} ${formatDuration(afterSteps * stepMs)} = ${need} must not exceed the onset of fault ${fault.id} in ${scenarioName} ` +
          `(${formatDuration(onsetStep * stepMs)} after its start): shorten ${OPTION_FLAGS.backfillMs} or ${OPTION_FLAGS.faultAfterMs}, or use a scenario whose fault starts later`,
        { option: OPTION_FLAGS.backfillMs },
      );
    }
  } else {
    liveStep = backSteps;
  }
  if (liveStep >= length - 1) {
    throw new FleetError('BAD_OPTION', `${OPTION_FLAGS.backfillMs} ${formatDuration(backSteps * stepMs)} leaves nothing of ${scenarioName} (${formatDuration(length * stepMs)}) to run live`, {
      option: OPTION_FLAGS.backfillMs,
    });
  }
  const shiftMs = liveStartMs - (startMs + liveStep * stepMs);
  const at = (k: number): number => startMs + k * stepMs + shiftMs;
  const t: FleetTimeline = {
    stepMs,
    shiftMs,
    firstStep: liveStep - backSteps,
    liveStep,
    endStep: length,
    backfillStartMs: at(liveStep - backSteps),
    liveStartMs,
    endMs: at(length - 1),
  };
  if (fault !== undefined) {
    t.fault = {
      id: fault.id,
      type: fault.type,
      root: fault.rootEntity,
      rootMetric: fault.rootMetric,
      onsetStep: Math.round((fault.onsetMs - startMs) / stepMs),
      onsetMs: fault.onsetMs + shiftMs,
      endMs: fault.endMs + shiftMs,
    };
  }
  return t;
}

// --- status -----------------------------------------------------------------------------------

export type FleetEvent = 'started' | 'progress' | 'fault_onset' | 'fault_end' | 'ended' | 'stopped';

/** Counters of one agent (FleetAgentStatus), or their sums over the fleet (FleetStatus). */
export interface FleetCounters {
  /** Samples the agent's pipeline accepted from the driver. */
  samplesFed: number;
  /** Feature windows closed and handed to the exporter. */
  windows: number;
  framesCreated: number;
  framesAcked: number;
  framesDropped: number;
  /** Samples Tier-1 flagged as anomalous. */
  flaggedSamples: number;
  /** Samples the normalizer or the window aggregator dropped (too old, late, ...). */
  droppedSamples: number;
}

export interface FleetAgentStatus extends FleetCounters {
  agentId: string;
  host: string;
  series: number;
  connected: boolean;
}

export interface FleetStatus extends FleetCounters {
  event: FleetEvent;
  /** Clock time of this report. */
  atMs: number;
  scenario: string;
  target: string;
  timeline: FleetTimeline;
  agents: FleetAgentStatus[];
  connected: number;
  /** Steps fed so far, of stepsTotal (backfill included). */
  stepsFed: number;
  stepsTotal: number;
  /** Pushes the pipeline refused, and samples pushed while an agent was not running. */
  feedErrors: number;
  faultActive: boolean;
  warnings: string[];
}

/** Per-agent MQTT credentials; central's embedded broker wants username = agent id, password = its secret. */
export interface FleetCredentials {
  username: string;
  password: string;
}

export interface LiveFleetHooks {
  /** Credentials of one agent (the quickstart enrolls the host with central here). Undefined = connect without. */
  credentials?: (agentId: string, host: string) => Promise<FleetCredentials | undefined> | FleetCredentials | undefined;
  /** Events and periodic status reports. Must not throw (a throw is logged and ignored). */
  onStatus?: (status: FleetStatus) => void;
  /** Injected time (a ManualClock in tests). Default: the system clock. */
  clock?: Clock;
  /** The agents' logs (component warnings, connection problems). Default: silent. */
  logger?: Logger;
}

interface RunningAgent {
  plan: FleetAgentPlan;
  feed: SimulatorFeed;
  service: AgentService;
  metrics: SelfMetrics;
  samplesFed: number;
}

/** Samples per agent and push during the backfill, at most (whole steps; at least one step). */
const BACKFILL_CHUNK_SAMPLES = 10_000;

/** The agent config the fleet runs each simulated host with (the agent's own defaults elsewhere). */
export function fleetAgentConfig(o: ResolvedFleetOptions, agentId: string, dataDir: string, creds: FleetCredentials | undefined): Record<string, unknown> {
  return {
    agent: { id: agentId, tenant: o.tenant, data_dir: dataDir },
    telemetry: { listen: null, log_level: 'warn' },
    features: { window: 10_000, grace: 2_000 },
    receivers: { simulator: { feed: agentId } },
    processors: {
      normalize: { max_age: 3_600_000 },
      // A few dozen series per host: 1024 detector slots (512 bytes each) instead of 20,000.
      tier1: { max_series: 1024 },
    },
    exporters: {
      mqtt: {
        url: o.target,
        topic_prefix: o.topicPrefix,
        ...(creds !== undefined ? { username: creds.username, password: creds.password } : {}),
        ...(o.caFile !== undefined ? { tls: { ca_file: o.caFile } } : {}),
        // The backfill's windows (120 per agent at 20 minutes) may be buffered before the
        // connection is up: replay them quickly rather than at the default 20 frames/s.
        replay_rate: 500,
        retry: { initial_interval: 500, max_interval: 10_000 },
        buffer: { max_bytes: 16 * 1024 * 1024 },
      },
    },
    pipelines: { metrics: { receivers: ['simulator'], processors: ['normalize', 'tier1'], exporters: ['mqtt'] } },
  };
}

/** A pid lock on the data folder: two fleets must not share agents' buffers and sequence files. */
async function lockDataDir(dir: string): Promise<() => Promise<void>> {
  const path = join(dir, 'fleet.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return async () => {
        await unlink(path).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new FleetError('START_FAILED', `cannot lock ${OPTION_FLAGS.dataDir} ${dir}: ${(err as Error).message}`, { cause: err });
    }
    const pid = Number((await readFile(path, 'utf8').catch(() => '')).trim());
    let alive = false;
    if (Number.isInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 0);
        alive = true;
      } catch (e) {
        alive = (e as NodeJS.ErrnoException).code === 'EPERM';
      }
    }
    if (alive) throw new FleetError('DATA_DIR_LOCKED', `${OPTION_FLAGS.dataDir} ${dir} is in use by another fleet (pid ${pid}, ${path}): stop it or choose another ${OPTION_FLAGS.dataDir}`, { option: OPTION_FLAGS.dataDir });
    await unlink(path).catch(() => undefined); // stale: its process is gone
  }
  throw new FleetError('DATA_DIR_LOCKED', `cannot lock ${OPTION_FLAGS.dataDir} ${dir}: ${path} keeps reappearing`, { option: OPTION_FLAGS.dataDir });
}

/**
 * An exporter factory whose exporters take each window without making the window aggregator
 * wait for the framing (buffer write, sequence file), in the order given: the real exporter
 * queues windows itself (FrameExporter), and drops beyond its buffer are counted there.
 *
 * Why: WindowAggregator.closeDue (edge-agent/src/processors/features) is not re-entrant. When
 * many windows are due at once (the backfill: 120 per agent) and an exporter's consumeWindow
 * awaits real I/O, the next aggregator tick computes the same due windows again and crashes on
 * one the first pass already removed (TypeError in a timer: the process dies). Answering at
 * once keeps each closeDue pass within one macrotask. Refused windows are logged and counted in
 * aiops_agent_fleet_export_errors_total (instead of the aggregator's export errors counter).
 */
export function detachedExporterFactory(base: AnyFactory): ExporterFactory {
  const factory = base as ExporterFactory;
  return {
    ...factory,
    create: (settings, config): Exporter => {
      const inner = factory.create(settings, config);
      const refused = settings.metrics.counter('aiops_agent_fleet_export_errors_total', 'Windows the exporter refused (logged).');
      let last: Promise<void> = Promise.resolve();
      return {
        start: () => inner.start(),
        // The windows handed over last (the aggregator's final flush among them) are framed
        // before the exporter stops; a stopped exporter would drop them.
        shutdown: async () => {
          await last;
          await inner.shutdown();
        },
        consumeWindow: (w) => {
          last = inner.consumeWindow(w).catch((err: unknown) => {
            refused.inc();
            settings.logger.warn({ err: (err as Error).message, windowStartMs: w.windowStartMs }, 'fleet: the exporter refused a feature window');
          });
          return Promise.resolve();
        },
      };
    },
  };
}

// --- the fleet --------------------------------------------------------------------------------

export class LiveFleet {
  readonly options: ResolvedFleetOptions;
  private topologyDoc: TopologyDocument | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly feeds = new SimulatorFeeds();
  private agentsRunning: RunningAgent[] = [];
  private scenarioName = '';
  private line: FleetTimeline | undefined;
  private nextStep = 0;
  private state: 'new' | 'starting' | 'running' | 'stopping' | 'stopped' = 'new';
  private stepTimer: unknown;
  private statusTimer: unknown;
  private readonly pending = new Set<Promise<unknown>>();
  private feedErrors = 0;
  private onsetReported = false;
  private endReported = false;
  private warnings: string[] = [];
  private unlock: (() => Promise<void>) | undefined;
  private stopPromise: Promise<FleetStatus | undefined> | undefined;
  private startPromise: Promise<FleetTimeline> | undefined;
  private endedResolve!: () => void;
  private readonly endedPromise: Promise<void>;

  /** Validates the options (throws FleetError BAD_OPTION); nothing starts before start(). */
  constructor(
    options: LiveFleetOptions,
    private readonly hooks: LiveFleetHooks = {},
  ) {
    this.options = resolveFleetOptions(options);
    this.clock = hooks.clock ?? systemClock;
    this.logger = hooks.logger ?? silentLogger();
    this.endedPromise = new Promise<void>((r) => (this.endedResolve = r));
  }

  /** The time mapping (after start()). */
  /** The scenario's topology (known once started): what an operator declares to central (PUT /api/v1/config/topology). */
  get topology(): TopologyDocument | undefined {
    return this.topologyDoc;
  }

  get timeline(): FleetTimeline | undefined {
    return this.line;
  }

  /** The agents (after start()): id, host, workloads and series count. */
  get agents(): Array<{ agentId: string; host: string; services: string[]; series: number }> {
    return this.agentsRunning.map((a) => ({ agentId: a.plan.agentId, host: a.plan.host, services: a.plan.services, series: a.plan.series.length }));
  }

  /** Resolves when the scenario's last step has been fed, or the fleet was stopped. */
  ended(): Promise<void> {
    return this.endedPromise;
  }

  /**
   * Simulates the scenario, starts one agent per host, feeds the backfill and goes live.
   * Resolves once the backfill is in the agents' pipelines (`started` has been reported).
   * On failure everything already started is stopped again.
   */
  start(): Promise<FleetTimeline> {
    if (this.state !== 'new') return Promise.reject(new FleetError('STATE', `start() on a fleet that is ${this.state}`));
    this.state = 'starting';
    this.startPromise = this.startInner().catch(async (err: unknown) => {
      await this.teardown();
      this.state = 'stopped';
      this.endedResolve();
      throw err;
    });
    return this.startPromise;
  }

  private async startInner(): Promise<FleetTimeline> {
    const o = this.options;
    // 1. The scenario, simulated whole (a few hundred ms for the quickstart).
    let scenario: Scenario;
    let metrics: SimMetrics;
    let faults: GroundTruthFault[];
    let graph: TopologyGraph;
    try {
      scenario = typeof o.scenario === 'string' ? await loadScenarioFile(o.scenario) : { ...o.scenario };
      if (o.seed !== undefined) scenario.seed = o.seed;
      const prepared = prepareScenario(scenario);
      const run = injectFaults(prepared.model, scenario.faults, { scenario: scenario.name, minEffect: scenario.minEffect });
      metrics = run.metrics;
      faults = [...run.groundTruth.faults].sort((a, b) => a.onsetMs - b.onsetMs);
      graph = prepared.model.graph;
      this.topologyDoc = graph.doc;
    } catch (err) {
      if (err instanceof FleetError) throw err;
      throw new FleetError('SCENARIO', `${OPTION_FLAGS.scenario}: ${(err as Error).message}`, { cause: err, option: OPTION_FLAGS.scenario });
    }
    this.scenarioName = scenario.name;
    // Checked before anything is started: a scenario too short for the options fails fast.
    planTimeline(metrics, faults[0], this.clock.now(), o.backfillMs, o.faultAfterMs, scenario.name);
    const { agents: plans, unplaced } = planAgents(metrics, graph, o.agentIdPrefix);
    if (plans.length === 0) throw new FleetError('SCENARIO', `${OPTION_FLAGS.scenario}: topology ${graph.doc.name} has no Host node: nothing to run an agent for`, { option: OPTION_FLAGS.scenario });
    if (unplaced.length > 0) this.warnings.push(`${unplaced.length} workload(s) run on no host and are not sent: ${unplaced.join(', ')}`);
    const backfillSamples = Math.floor(o.backfillMs / metrics.stepMs) + 1;
    if (backfillSamples < DEFAULT_TIER1_CONFIG.warmup) {
      const left = (DEFAULT_TIER1_CONFIG.warmup - backfillSamples) * metrics.stepMs;
      this.warnings.push(`Tier-1 warms up on ${DEFAULT_TIER1_CONFIG.warmup} samples per series; the backfill holds ${backfillSamples} at step ${formatDuration(metrics.stepMs)}: the detectors stay silent for ${formatDuration(left)} after the live start`);
    }

    // 2. Credentials, before anything connects.
    const creds = await Promise.all(
      plans.map(async (p) => {
        let c: FleetCredentials | undefined;
        try {
          c = await this.hooks.credentials?.(p.agentId, p.host);
        } catch (err) {
          throw new FleetError('CREDENTIALS', `credentials for agent ${p.agentId} (host ${p.host}): ${(err as Error).message}`, { cause: err });
        }
        if (c === undefined) return undefined;
        if (typeof c.username !== 'string' || c.username === '' || typeof c.password !== 'string') {
          throw new FleetError('CREDENTIALS', `credentials for agent ${p.agentId} must be {username, password} with a non-empty username`);
        }
        // The agent config substitutes ${env:...} in strings; a secret must reach the broker as is.
        if (c.password.includes('${') || c.username.includes('${')) throw new FleetError('CREDENTIALS', `credentials for agent ${p.agentId} contain "\${", which the agent config would read as an environment reference`, { retryable: false });
        return c;
      }),
    );

    // 3. Data folder: locked, one sub-folder per agent; detector snapshots of an earlier run are
    // removed (its baselines were learnt on a clock that has moved on; the backfill re-teaches them).
    try {
      await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw new FleetError('START_FAILED', `cannot create ${OPTION_FLAGS.dataDir} ${o.dataDir}: ${(err as Error).message}`, { cause: err, option: OPTION_FLAGS.dataDir });
    }
    this.unlock = await lockDataDir(o.dataDir);
    for (const p of plans) await rm(join(o.dataDir, p.agentId, 'tier1'), { recursive: true, force: true });

    // 4. One real agent per host: the agent's registry plus the simulator receiver.
    const base = buildRegistry();
    const registry: FactoryRegistry = {
      receivers: new Map([...base.receivers, ['simulator', simulatorReceiverFactory(this.feeds)]]),
      processors: base.processors,
      exporters: new Map([...base.exporters].map(([type, f]) => [type, detachedExporterFactory(f)])),
    };
    for (let i = 0; i < plans.length; i++) {
      const p = plans[i]!;
      const feed = this.feeds.open(p.agentId);
      let service: AgentService;
      const metricsRegistry = new SelfMetrics();
      try {
        // env {}: the user's AIOPS_AGENT__* variables are for their real agent, not these.
        const cfg = resolveConfig(fleetAgentConfig(o, p.agentId, join(o.dataDir, p.agentId), creds[i]), registry, {});
        service = new AgentService(cfg, { logger: this.logger.child({ agent: p.agentId }), metrics: metricsRegistry, clock: this.clock });
      } catch (err) {
        throw new FleetError('START_FAILED', `agent ${p.agentId}: ${(err as Error).message}`, { cause: err });
      }
      this.agentsRunning.push({ plan: p, feed, service, metrics: metricsRegistry, samplesFed: 0 });
    }
    const started = await Promise.allSettled(this.agentsRunning.map((a) => a.service.start()));
    const failed = started.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      const reason = (started[failed] as PromiseRejectedResult).reason as Error;
      throw new FleetError('START_FAILED', `agent ${this.agentsRunning[failed]!.plan.agentId}: ${reason.message}`, { cause: reason });
    }

    // 5. The clock mapping, taken now that the agents run (the live start is as late as it can be).
    const t = planTimeline(metrics, faults[0], this.clock.now(), o.backfillMs, o.faultAfterMs, scenario.name);
    this.line = t;
    if (this.state !== 'starting') return t; // stop() was called meanwhile
    this.state = 'running';

    // 6. Backfill, in chunks, each awaited (the pipelines run synchronously up to the exporters).
    this.nextStep = t.firstStep;
    const widest = Math.max(1, ...plans.map((p) => p.series.length));
    const chunkSteps = Math.max(1, Math.floor(BACKFILL_CHUNK_SAMPLES / widest));
    while (this.nextStep <= t.liveStep && this.state === 'running') {
      const to = Math.min(t.liveStep + 1, this.nextStep + chunkSteps);
      await this.feedSteps(this.nextStep, to);
      this.nextStep = to;
    }
    if (this.state !== 'running') return t;
    if (o.statusIntervalMs > 0) {
      this.statusTimer = this.clock.setInterval(() => void this.report('progress'), o.statusIntervalMs);
      (this.statusTimer as { unref?(): unknown }).unref?.();
    }
    await this.report('started');
    this.checkFaultEvents();
    this.scheduleStep();
    return t;
  }

  private wallOf(k: number): number {
    const t = this.line!;
    return t.liveStartMs + (k - t.liveStep) * t.stepMs;
  }

  /** Pushes steps [from, to) to every agent. The pipelines' synchronous part runs before this returns. */
  private feedSteps(from: number, to: number): Promise<void> {
    const all: Array<Promise<void>> = [];
    for (const a of this.agentsRunning) {
      const samples: MetricSample[] = [];
      for (let k = from; k < to; k++) {
        const ts = this.wallOf(k);
        for (const s of a.plan.series) {
          const v = s.values[k]!;
          // NaN = the entity reported nothing at this step (e.g. it was down): no sample.
          if (Number.isFinite(v)) samples.push({ name: s.name, labels: s.labels, ts, value: v, kind: 'gauge' });
        }
      }
      all.push(a.feed.push(samples).then((r: PushResult) => this.account(a, r)));
    }
    const p = Promise.all(all).then(() => undefined);
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  private account(a: RunningAgent, r: PushResult): void {
    if (r.kind === 'accepted') {
      a.samplesFed += r.samples;
      return;
    }
    this.feedErrors++;
    if (r.kind === 'failed') this.logger.warn({ agent: a.plan.agentId, err: r.error.message }, 'fleet: an agent refused simulated samples');
  }

  private scheduleStep(): void {
    const t = this.line!;
    if (this.state !== 'running') return;
    if (this.nextStep >= t.endStep) {
      this.finishScenario();
      return;
    }
    const delay = Math.max(0, this.wallOf(this.nextStep) - this.clock.now());
    const h = this.clock.setTimeout(() => this.tick(), delay);
    (h as { unref?(): unknown }).unref?.();
    this.stepTimer = h;
  }

  private tick(): void {
    this.stepTimer = undefined;
    if (this.state !== 'running') return;
    const t = this.line!;
    const now = this.clock.now();
    let to = this.nextStep;
    while (to < t.endStep && this.wallOf(to) <= now) to++;
    if (to > this.nextStep) {
      void this.feedSteps(this.nextStep, to);
      this.nextStep = to;
      this.checkFaultEvents();
    }
    this.scheduleStep();
  }

  private checkFaultEvents(): void {
    const f = this.line?.fault;
    if (f === undefined) return;
    if (!this.onsetReported && this.nextStep > f.onsetStep) {
      this.onsetReported = true;
      void this.report('fault_onset');
    }
    if (!this.endReported && this.wallOf(this.nextStep - 1) >= f.endMs) {
      this.endReported = true;
      void this.report('fault_end');
    }
  }

  private finishScenario(): void {
    if (this.state !== 'running') return;
    void this.report('ended').finally(() => this.endedResolve());
  }

  /** A status snapshot (reads the agents' self-metrics). */
  async status(event: FleetEvent = 'progress'): Promise<FleetStatus | undefined> {
    const t = this.line;
    if (t === undefined) return undefined;
    const agents = await Promise.all(
      this.agentsRunning.map(async (a): Promise<FleetAgentStatus> => {
        const sm = a.metrics;
        const [connected, windows, framesCreated, framesAcked, framesDropped, flaggedSamples, dropN, dropF] = await Promise.all([
          metricSum(sm, 'aiops_agent_exporter_connected'),
          metricSum(sm, 'aiops_agent_features_windows_total'),
          metricSum(sm, 'aiops_agent_exporter_frames_created_total'),
          metricSum(sm, 'aiops_agent_exporter_frames_acked_total'),
          metricSum(sm, 'aiops_agent_exporter_dropped_frames_total'),
          metricSum(sm, 'aiops_agent_tier1_flagged_samples_total'),
          metricSum(sm, 'aiops_agent_normalize_dropped_samples_total'),
          metricSum(sm, 'aiops_agent_features_dropped_samples_total'),
        ]);
        return {
          agentId: a.plan.agentId,
          host: a.plan.host,
          series: a.plan.series.length,
          connected: connected > 0,
          samplesFed: a.samplesFed,
          windows,
          framesCreated,
          framesAcked,
          framesDropped,
          flaggedSamples,
          droppedSamples: dropN + dropF,
        };
      }),
    );
    const sum = (f: (a: FleetAgentStatus) => number): number => agents.reduce((s, a) => s + f(a), 0);
    const now = this.clock.now();
    const fedUpTo = Math.max(t.firstStep, this.nextStep);
    const f = t.fault;
    return {
      event,
      atMs: now,
      scenario: this.scenarioName,
      target: this.options.target,
      timeline: t,
      agents,
      connected: agents.filter((a) => a.connected).length,
      stepsFed: fedUpTo - t.firstStep,
      stepsTotal: t.endStep - t.firstStep,
      samplesFed: sum((a) => a.samplesFed),
      windows: sum((a) => a.windows),
      framesCreated: sum((a) => a.framesCreated),
      framesAcked: sum((a) => a.framesAcked),
      framesDropped: sum((a) => a.framesDropped),
      flaggedSamples: sum((a) => a.flaggedSamples),
      droppedSamples: sum((a) => a.droppedSamples),
      feedErrors: this.feedErrors,
      faultActive: f !== undefined && fedUpTo > f.onsetStep && this.wallOf(fedUpTo - 1) < f.endMs,
      warnings: [...this.warnings],
    };
  }

  private async report(event: FleetEvent): Promise<FleetStatus | undefined> {
    let s: FleetStatus | undefined;
    try {
      s = await this.status(event);
      if (s !== undefined) this.hooks.onStatus?.(s);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, event }, 'fleet: status hook failed');
    }
    return s;
  }

  private async teardown(): Promise<void> {
    if (this.stepTimer !== undefined) this.clock.clearTimeout(this.stepTimer);
    if (this.statusTimer !== undefined) this.clock.clearInterval(this.statusTimer);
    this.stepTimer = this.statusTimer = undefined;
    await Promise.allSettled([...this.pending]);
    // Every agent flushes: open windows close, frames in flight wait for their acks (shutdown_timeout).
    await Promise.allSettled(this.agentsRunning.map((a) => a.service.shutdown()));
    for (const a of this.agentsRunning) this.feeds.close(a.plan.agentId);
    if (this.unlock !== undefined) await this.unlock();
    this.unlock = undefined;
  }

  /**
   * Stops feeding and shuts every agent down (flushing). Idempotent, safe without start().
   * Resolves with the final status (undefined when the fleet never went live).
   */
  stop(): Promise<FleetStatus | undefined> {
    if (this.stopPromise) return this.stopPromise;
    this.stopPromise = (async () => {
      // A start in progress finishes first (or fails and cleans up after itself); the state
      // change below makes its backfill loop stop early.
      const starting = this.startPromise;
      if (this.state === 'starting' || this.state === 'running') this.state = 'stopping';
      if (starting !== undefined) await starting.catch(() => undefined);
      const wasLive = this.line !== undefined;
      this.state = 'stopping';
      await this.teardown();
      this.state = 'stopped';
      const s = wasLive ? await this.report('stopped') : undefined;
      this.endedResolve();
      return s;
    })();
    return this.stopPromise;
  }
}

/**
 * Runs a live fleet until its scenario ends or `signal` aborts, then stops it. Resolves with the
 * final status; rejects with FleetError when it cannot start.
 */
export async function runLiveFleet(options: LiveFleetOptions, hooks: LiveFleetHooks & { signal?: AbortSignal } = {}): Promise<FleetStatus | undefined> {
  const fleet = new LiveFleet(options, hooks);
  const { signal } = hooks;
  const aborted = new Promise<void>((resolve) => {
    if (signal === undefined) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
  try {
    await fleet.start();
    await Promise.race([fleet.ended(), aborted]);
  } finally {
    await fleet.stop();
  }
  return fleet.stop();
}
