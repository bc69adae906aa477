// Root-cause analysis in central's incident chain (issue #9, Deliver 1): after correlation, each
// new incident is analysed at once, a grown one again (at most every `rerun_interval`), and once
// more when the window after its detection is complete. An analysis reads the topology around
// the incident's services (`hops`), their metrics and their hosts' from the MetricStore over
// [detection - before, min(now, detection + after)), runs the engine with the incident's services
// as the focus, and hands the ranked causes to the correlation stage, which stores them on the
// incident and its timeline in order with the alert path. Recent deploys and configuration
// changes of the analysed entities (POST /api/v1/changes) are the engine's change prior.
//
// Work is bounded: one analysis at a time, a capped queue of pending incidents (the oldest dropped
// and counted), a capped number of series per analysis (the store refuses beyond it).
import type { Incident, RootCause } from '../../../shared-schemas/src/index.js';
import { escapeRegex, every, Serial } from '../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter } from '../../../shared-schemas/src/runtime/index.js';
import type { CentralSettings, Component } from '../component.js';
import type { IncidentChange, IncidentConsumer } from '../correlate/index.js';
import { DEFAULT_ENTITY_LABELS, EntityGraph } from '../correlate/index.js';
import type { ChangeEvent, ChangeFilter } from '../storage/index.js';
import type { MetricStore, SeriesPoints } from '../storage/types.js';
import type { TopologyStore } from '../topology/index.js';
import type { RcaConfig } from './config.js';
import { fromEntityGraph } from './datasets.js';
import { analyze } from './engine.js';
import { neighbourhood } from './frame.js';
import type { RcaChange, RcaFrame, RcaResult, RcaSeries, RcaTopology } from './frame.js';

export const RCA_ACTOR = 'rca';
const TICK_MS = 2000;
const MAX_PENDING = 1000;
/** Changes read per analysis (the latest). */
const MAX_CHANGES = 1000;

export interface RootCauseSink {
  /** Stores root causes on an incident (the correlation stage: in order with the alert path). */
  attachRootCauses(tenant: string, id: string, causes: readonly RootCause[], text: string): Promise<Incident | undefined>;
}

export interface RcaStageDeps {
  metrics: MetricStore;
  topology?: TopologyStore;
  incidents: { get(tenant: string, id: string): Promise<Incident | undefined> };
  /** Deploys and configuration changes (POST /api/v1/changes): the prior for a changed entity. */
  changes?: { list(tenant: string, filter: ChangeFilter): Promise<ChangeEvent[]> };
  sink: RootCauseSink;
}

interface Pending {
  tenant: string;
  id: string;
  dueMs: number;
}

export interface RcaRun {
  result: RcaResult;
  causes: RootCause[];
  series: number;
  /** The entities read (services and hosts). */
  analysed: ReadonlySet<string>;
  /** Ids of the recorded changes handed to the engine. */
  changes: string[];
}

/** Causes as stored on the incident (the top `max` of the ranking). */
export function toRootCauses(r: RcaResult, max: number, hosts: ReadonlySet<string>): RootCause[] {
  return r.causes.slice(0, max).map((c, i) => ({
    service: c.entity,
    component: hosts.has(c.entity) ? 'host' : '',
    metric: c.metric,
    probability: Math.min(1, Math.max(0, Number.isFinite(c.probability) ? c.probability : 0)),
    rank: i + 1,
    method: c.method,
    evidence: [...c.evidence],
    onsetMs: c.onsetMs ?? 0,
  }));
}

/** Aligns store series onto one time grid: one column per (entity, metric), replicas averaged. */
export function frameFromSeries(series: readonly SeriesPoints[], startMs: number, endMs: number): RcaFrame {
  const diffs: number[] = [];
  for (const s of series) for (let i = 1; i < s.timestamps.length && diffs.length < 10_000; i++) diffs.push(s.timestamps[i]! - s.timestamps[i - 1]!);
  diffs.sort((a, b) => a - b);
  const step = Math.max(1000, diffs.length > 0 ? diffs[diffs.length >> 1]! : 10_000);
  const n = Math.max(0, Math.ceil((endMs - startMs) / step));
  const timesMs = new Float64Array(n);
  for (let i = 0; i < n; i++) timesMs[i] = startMs + i * step;
  const cols = new Map<string, { entity: string; metric: string; sum: Float64Array; count: Uint16Array }>();
  for (const s of series) {
    const entity = DEFAULT_ENTITY_LABELS.map((l) => s.labels[l]).find((v) => v !== undefined && v !== '');
    const metric = s.labels['__name__'];
    if (!entity || !metric) continue;
    const key = `${entity}\u0000${metric}`;
    let c = cols.get(key);
    if (!c) {
      c = { entity, metric, sum: new Float64Array(n), count: new Uint16Array(n) };
      cols.set(key, c);
    }
    // The last sample of each replica in a cell; replicas summed then averaged.
    let lastCell = -1;
    let lastValue = NaN;
    const flush = (): void => {
      if (lastCell >= 0 && Number.isFinite(lastValue)) {
        c!.sum[lastCell] = c!.sum[lastCell]! + lastValue;
        c!.count[lastCell] = c!.count[lastCell]! + 1;
      }
    };
    for (let i = 0; i < s.timestamps.length; i++) {
      const cell = Math.floor((s.timestamps[i]! - startMs) / step);
      if (cell < 0 || cell >= n) continue;
      if (cell !== lastCell) flush();
      lastCell = cell;
      lastValue = s.values[i]!;
    }
    flush();
  }
  const out: RcaSeries[] = [];
  for (const c of cols.values()) {
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = c.count[i]! > 0 ? c.sum[i]! / c.count[i]! : NaN;
    out.push({ entity: c.entity, metric: c.metric, values });
  }
  out.sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : a.metric < b.metric ? -1 : a.metric > b.metric ? 1 : 0));
  return { timesMs, series: out };
}

export class RcaStage implements IncidentConsumer, Component {
  private readonly pending = new Map<string, Pending>();
  /** Per incident: when it was last analysed, what it stored then (ranking and changes read), the entities it read. */
  private readonly done = new Map<string, { atMs: number; top: string; entities: ReadonlySet<string> }>();
  private readonly serial = new Serial();
  private stopTicks: (() => void) | undefined;
  private closed = false;
  private readonly m: { runs: BoundCounter; dropped: BoundCounter };

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: RcaConfig,
    private readonly deps: RcaStageDeps,
  ) {
    const mm = settings.metrics;
    this.m = {
      runs: mm.counter('aiops_central_rca_runs_total', 'Root-cause analyses of incidents, by result (ranked, no_data, failed).', ['result']),
      dropped: mm.counter('aiops_central_rca_dropped_total', 'Incidents dropped from the analysis queue because it was full.'),
    };
  }

  async start(): Promise<void> {
    this.stopTicks = every(this.settings.clock, TICK_MS, () => this.tick());
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTicks?.();
    this.pending.clear();
    await this.serial.idle();
  }

  consumeIncidents(changes: readonly IncidentChange[]): Promise<void> {
    if (!this.config.enabled || this.closed) return Promise.resolve();
    const now = this.settings.clock.now();
    for (const ch of changes) {
      const inc = ch.incident;
      if (inc.status === 'resolved') {
        this.pending.delete(`${inc.tenant}\u0000${inc.id}`);
        this.done.delete(`${inc.tenant}\u0000${inc.id}`); // a change recorded later re-ranks it no more
        continue;
      }
      // Our own write comes back as a change: nothing new to analyse.
      if (ch.kind === 'changed' && ch.events.length > 0 && ch.events.every((e) => e.actor === RCA_ACTOR)) continue;
      const grew = ch.kind === 'new' || ch.events.some((e) => e.type === 'opened' || e.type === 'alert_added' || e.type === 'merged' || e.type === 'alert_refired');
      if (!grew) continue;
      const key = `${inc.tenant}\u0000${inc.id}`;
      const last = this.done.get(key);
      this.schedule({ tenant: inc.tenant, id: inc.id, dueMs: last ? Math.max(now, last.atMs + this.config.rerun_interval) : now });
    }
    return Promise.resolve();
  }

  private schedule(p: Pending): void {
    const key = `${p.tenant}\u0000${p.id}`;
    const cur = this.pending.get(key);
    if (cur && cur.dueMs <= p.dueMs) return;
    if (!cur && this.pending.size >= MAX_PENDING) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.m.dropped.inc();
      this.settings.logger.warn({ pending: MAX_PENDING }, 'root-cause analysis queue full: dropped the oldest incident');
    }
    this.pending.set(key, p);
  }

  /** Runs the analyses that are due (the timer calls it; tests call it with their clock). */
  tick(): Promise<void> {
    return this.serial.run(async () => {
      const now = this.settings.clock.now();
      const due = [...this.pending.values()].filter((p) => p.dueMs <= now).sort((a, b) => a.dueMs - b.dueMs);
      for (const p of due) {
        if (this.closed) return;
        this.pending.delete(`${p.tenant}\u0000${p.id}`);
        await this.analyseAndStore(p.tenant, p.id).catch((err: unknown) => {
          this.m.runs.inc(1, { result: 'failed' });
          this.settings.logger.error({ incident: p.id, err: (err as Error).message }, 'root-cause analysis failed');
        });
      }
    });
  }

  /** Analyses an incident now and stores the causes (the on-demand path: POST /api/v1/incidents/{id}/analyze). */
  analyseNow(tenant: string, id: string): Promise<{ incident: Incident | undefined; run: RcaRun | undefined }> {
    return this.serial.run(() => this.analyseAndStore(tenant, id, true));
  }

  /**
   * A deploy or configuration change of `entity` was recorded (POST /api/v1/changes): the open
   * incidents whose analysis read that entity are analysed again (a pipeline may report late).
   */
  changeRecorded(tenant: string, entity: string): void {
    if (!this.config.enabled || this.closed) return;
    const now = this.settings.clock.now();
    for (const [key, d] of this.done) {
      if (!key.startsWith(`${tenant}\u0000`) || !d.entities.has(entity)) continue;
      this.schedule({ tenant, id: key.slice(tenant.length + 1), dueMs: now });
    }
  }

  private async analyseAndStore(tenant: string, id: string, force = false): Promise<{ incident: Incident | undefined; run: RcaRun | undefined }> {
    const inc = await this.deps.incidents.get(tenant, id);
    if (!inc) return { incident: undefined, run: undefined };
    const now = this.settings.clock.now();
    const run = await this.analyse(inc, now);
    const key = `${tenant}\u0000${id}`;
    const complete = now >= inc.openedAtMs + this.config.after;
    if (!run) {
      this.m.runs.inc(1, { result: 'no_data' });
      this.done.set(key, { atMs: now, top: '', entities: new Set() });
      if (!complete && inc.status !== 'resolved') this.schedule({ tenant, id, dueMs: now + this.config.rerun_interval });
      return { incident: inc, run: undefined };
    }
    this.m.runs.inc(1, { result: 'ranked' });
    // What makes a new analysis worth storing (a timeline event, a notification): another
    // ranking, or other changes read.
    const top = `${run.causes.map((c) => `${c.service}/${c.metric}`).join(',')}|${run.changes.join(',')}`;
    const prev = this.done.get(key);
    this.done.set(key, { atMs: now, top, entities: run.analysed });
    if (this.done.size > 10 * MAX_PENDING) this.done.delete(this.done.keys().next().value as string);
    // Once more when the window after detection is complete.
    if (!complete && inc.status !== 'resolved') this.schedule({ tenant, id, dueMs: inc.openedAtMs + this.config.after });
    let stored = inc;
    if (force || !prev || prev.top !== top || inc.rootCauses.length === 0) {
      const first = run.causes[0];
      const text = first ? `root cause: ${first.service}${first.metric ? ` ${first.metric}` : ''} (p=${first.probability.toFixed(2)}, ${first.method}) of ${run.analysed.size} entities, ${run.series} series` : 'root cause: none found';
      stored = (await this.deps.sink.attachRootCauses(tenant, id, run.causes, text)) ?? inc;
    }
    return { incident: stored, run };
  }

  /** The analysis of one incident at time `now` (undefined when there is no data to rank). */
  async analyse(inc: Incident, now: number): Promise<RcaRun | undefined> {
    const cfg = this.config;
    const detectedAtMs = inc.openedAtMs;
    let topology: RcaTopology | undefined;
    // Where the trouble shows: its services, or for a host-only incident (a disk filling) its host.
    const host = inc.commonLabels['host'];
    const focus = inc.services.length > 0 ? inc.services : host ? [host] : [];
    let entities = new Set<string>(focus);
    if (this.deps.topology) {
      try {
        const snap = await this.deps.topology.snapshot(inc.tenant);
        if (snap.nodes.length > 0) {
          const g = new EntityGraph(
            snap.nodes.map((n) => ({ id: n.id, name: n.name, kind: n.kind })),
            snap.edges.map((e) => ({ from: e.from, to: e.to })),
          );
          // Nodes declared `observed: true`: endpoints seen only through their callers (a load
          // balancer or external API without metrics of its own; the engine explains their
          // client-side view by the instrumented entity that moved with it).
          const observed = new Set(snap.nodes.filter((n) => n.properties?.['observed'] === true).map((n) => n.name));
          topology = { ...fromEntityGraph(g).topology, ...(observed.size > 0 ? { observed } : {}) };
          if (focus.length > 0) entities = neighbourhood(topology, focus, cfg.hops);
        }
      } catch (err) {
        this.settings.logger.warn({ incident: inc.id, err: (err as Error).message }, 'topology unavailable: analysing the incident\'s own services');
      }
    }
    if (entities.size === 0) return undefined;
    const hosts = new Set<string>();
    const services: string[] = [];
    for (const e of entities) {
      if (topology?.hosts.has(e) || (inc.services.length === 0 && e === host)) hosts.add(e);
      else services.push(e);
    }
    for (const s of services) for (const d of topology?.dependsOn.get(s) ?? []) if (topology?.hosts.has(d)) hosts.add(d);
    const startMs = detectedAtMs - cfg.before;
    const endMs = Math.min(now + 1, detectedAtMs + cfg.after);
    if (endMs <= detectedAtMs) return undefined;
    const q = async (label: string, names: readonly string[]): Promise<SeriesPoints[]> =>
      names.length === 0 ? [] : this.deps.metrics.query({ selector: { matchers: [{ name: label, op: '=~', value: names.map(escapeRegex).join('|') }] }, startMs, endMs, resolution: 'raw', maxSeries: cfg.max_series });
    // The services' series, then the hosts' own (a service's series carry its host label too).
    const found = await q('service', services);
    for (const s of await q('host', [...hosts])) if (!s.labels['service']) found.push(s);
    if (found.length === 0) return undefined;
    const frame = frameFromSeries(found, startMs, endMs);
    if (frame.series.length === 0) return undefined;
    const analysed = new Set([...entities, ...hosts]);
    const recorded = await this.recentChanges(inc, [...analysed], startMs - cfg.change_window, endMs);
    const changes: RcaChange[] = recorded.map((c) => ({ atMs: c.atMs, entity: c.entity, kind: c.kind, description: [c.version && `version ${c.version}`, c.description, `reported by ${c.source}`].filter(Boolean).join('; ') }));
    const result = analyze({ frame, detectedAtMs, ...(topology ? { topology } : {}), ...(changes.length > 0 ? { changes } : {}), ...(focus.length > 0 ? { focus } : {}) }, cfg);
    if (result.causes.length === 0) return undefined;
    return { result, causes: toRootCauses(result, cfg.max_causes, topology?.hosts ?? new Set()), series: frame.series.length, analysed, changes: recorded.map((c) => c.id).sort() };
  }

  /** The analysed entities' recorded changes in [fromMs, toMs); none (logged) when the store fails. */
  private async recentChanges(inc: Incident, entities: readonly string[], fromMs: number, toMs: number): Promise<ChangeEvent[]> {
    if (!this.deps.changes || entities.length === 0) return [];
    try {
      return await this.deps.changes.list(inc.tenant, { entities, fromMs: Math.max(0, fromMs), toMs, limit: MAX_CHANGES });
    } catch (err) {
      this.settings.logger.warn({ incident: inc.id, err: (err as Error).message }, 'change log unavailable: analysing without recent changes');
      return [];
    }
  }
}
