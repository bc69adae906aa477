// The correlation stage of central's alert chain (issue #8, Deliver 5): after the alert store
// (receive, deduplicate by fingerprint) and before notification, every stored alert that
// changed something goes through the tenant's CorrelationEngine; the incidents it opens,
// grows, merges and resolves are written to the IncidentStore with their timeline, each
// alert is linked to its incident, and the incident changes go to the next stages (notify:
// one notification per incident, never one per child alert).
//
// Event time: alerts drive the engine with their own startsAt/endsAt (as the offline replay
// does); a timer advances it to the clock so quiet incidents resolve without new alerts. At
// start the open incidents are taken over from the store, so a restart does not split them.
// The topology comes from the TopologyStore and is re-read every `topology_refresh`.
// Batches are handled one at a time (the engine is not re-entrant); a store failure is
// counted, logged and rejects the call so the sender can retry.
import type { Alert, Incident, Labels, RootCause, Severity } from '../../../shared-schemas/src/index.js';
import { every, Serial } from '../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge } from '../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Component } from '../component.js';
import type { AlertStore, IncidentEventRecord, IncidentStore } from '../storage/types.js';
import type { TopologyStore } from '../topology/index.js';
import type { CorrelationConfig } from './config.js';
import { CorrelationEngine, describe } from './engine.js';
import type { IncidentEvent, IncidentState } from './engine.js';
import { EntityGraph } from './entities.js';

export const CORRELATION_ACTOR = 'correlation';
const TICK_MS = 5000;
const TOPOLOGY_REFRESH_MS = 60_000;
const SEVERITIES: readonly Severity[] = ['info', 'info', 'warning', 'critical', 'critical'];

export interface IncidentChange {
  /** new: first time this incident is seen; changed: anything after. */
  kind: 'new' | 'changed';
  incident: Incident;
  events: IncidentEventRecord[];
}

export interface IncidentConsumer {
  consumeIncidents(changes: readonly IncidentChange[]): Promise<void>;
}

export interface CorrelationStageDeps {
  alerts: AlertStore;
  incidents: IncidentStore;
  topology?: TopologyStore;
  /** Next stages (notification), called with every batch of incident changes. */
  next?: IncidentConsumer[];
}

interface TenantState {
  engine: CorrelationEngine;
  topologyReadMs: number;
}

export class CorrelationStage implements AlertConsumer, Component {
  private readonly tenants = new Map<string, TenantState>();
  private readonly next: IncidentConsumer[];
  /** The engine is not re-entrant: batches, ticks and people's actions run one at a time. */
  private readonly serial = new Serial();
  private stopTicks: (() => void) | undefined;
  private closed = false;
  private readonly m: { alerts: BoundCounter; events: BoundCounter; errors: BoundCounter; open: BoundGauge };

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: CorrelationConfig,
    private readonly deps: CorrelationStageDeps,
    /** Tenants whose open incidents are taken over at start. */
    private readonly restoreTenants: readonly string[] = [],
  ) {
    this.next = [...(deps.next ?? [])];
    const mm = settings.metrics;
    this.m = {
      alerts: mm.counter('aiops_central_correlation_alerts_total', 'Alerts through correlation, by result (opened an incident, joined one, re-fired in one, unassigned, resolved).', ['result']),
      events: mm.counter('aiops_central_incident_events_total', 'Incident timeline events, by type (opened, alert_added, merged, resolved...).', ['type']),
      errors: mm.counter('aiops_central_correlation_errors_total', 'Correlation batches or ticks that failed to store their incidents.'),
      open: mm.gauge('aiops_central_incidents_open', 'Incidents open in the correlation engine, all tenants.'),
    };
  }

  /** A notification stage added after construction. */
  addNext(consumer: IncidentConsumer): void {
    this.next.push(consumer);
  }

  async start(): Promise<void> {
    for (const t of this.restoreTenants) await this.restore(t);
    this.stopTicks = every(this.settings.clock, TICK_MS, () => this.tick());
  }

  async shutdown(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopTicks?.();
    await this.serial.idle();
  }

  /**
   * The tenant's topology changed (declared through the API): the engine re-reads it before
   * its next alert. Discovered changes are picked up by the periodic re-read.
   */
  topologyChanged(tenant: string): void {
    const st = this.tenants.get(tenant);
    if (st) st.topologyReadMs = Number.NEGATIVE_INFINITY;
  }

  /** The engine of a tenant (tests, the API's view of live state). */
  engine(tenant: string): CorrelationEngine | undefined {
    return this.tenants.get(tenant)?.engine;
  }

  /** Alerts as the alert store returned them (AlertStoreSink's downstream): deduplicated, stored. */
  consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    return this.serial.run(() => this.handle(alerts));
  }

  /**
   * A person acknowledges an incident: status acknowledged (kept while it grows), on the
   * timeline with who and why. Undefined when there is no such incident.
   */
  acknowledge(tenant: string, id: string, actor: string, comment = ''): Promise<Incident | undefined> {
    return this.byHand(tenant, id, actor, comment, 'acknowledged');
  }

  /**
   * A person resolves an incident: it stops taking alerts (a later alert opens a new one) and
   * is resolved now, on the timeline with who and why. Undefined when there is no such incident.
   */
  resolveIncident(tenant: string, id: string, actor: string, comment = ''): Promise<Incident | undefined> {
    return this.byHand(tenant, id, actor, comment, 'resolved');
  }

  private byHand(tenant: string, id: string, actor: string, comment: string, to: 'acknowledged' | 'resolved'): Promise<Incident | undefined> {
    return this.serial.run(async () => {
      const inc = await this.deps.incidents.get(tenant, id);
      // Acknowledging applies to open incidents only; resolving to anything not resolved.
      if (!inc || inc.status === 'resolved' || (to === 'acknowledged' && inc.status !== 'open')) return inc;
      const now = this.settings.clock.now();
      if (to === 'resolved') this.tenants.get(tenant)?.engine.close(id, now, `resolved by ${actor}`);
      const doc: Incident = { ...inc, status: to, ...(to === 'resolved' ? { resolvedAtMs: now } : {}), updatedAtMs: Math.max(now, inc.updatedAtMs) };
      const events = [{ atMs: now, type: to, fingerprint: '', related: '', actor, text: `${to} by ${actor}${comment ? `: ${comment}` : ''}` }];
      await this.deps.incidents.put(doc);
      await this.deps.incidents.appendTimeline(tenant, id, events);
      await this.notify([{ kind: 'changed', incident: doc, events }]);
      return doc;
    });
  }

  /**
   * Root causes found for an incident (the RCA stage): stored on its document and timeline in
   * this stage's order, so that neither this write nor the alert path's overwrites the other.
   * Undefined when there is no such incident.
   */
  attachRootCauses(tenant: string, id: string, causes: readonly RootCause[], text: string, actor = 'rca'): Promise<Incident | undefined> {
    return this.serial.run(async () => {
      const inc = await this.deps.incidents.get(tenant, id);
      if (!inc) return undefined;
      const now = this.settings.clock.now();
      const doc: Incident = { ...inc, rootCauses: causes.map((c) => ({ ...c, evidence: [...c.evidence] })), updatedAtMs: Math.max(now, inc.updatedAtMs) };
      const events = [{ atMs: Math.max(now, inc.openedAtMs), type: 'root_cause', fingerprint: '', related: '', actor, text }];
      await this.deps.incidents.put(doc);
      await this.deps.incidents.appendTimeline(tenant, id, events);
      this.m.events.inc(1, { type: 'root_cause' });
      await this.notify([{ kind: 'changed', incident: doc, events }]);
      return doc;
    });
  }

  /** Advances every engine to the clock (resolutions without new alerts). */
  tick(): Promise<void> {
    return this.serial.run(async () => {
      const now = this.settings.clock.now();
      for (const [tenant, st] of this.tenants) await this.apply(tenant, st.engine, st.engine.advance(now), new Map());
    });
  }

  private async notify(changes: IncidentChange[]): Promise<void> {
    for (const n of this.next) {
      try {
        await n.consumeIncidents(changes);
      } catch (err) {
        this.settings.logger.error({ err: (err as Error).message }, 'an incident notification stage failed');
      }
    }
  }

  private async handle(alerts: readonly Alert[]): Promise<void> {
    const byTenant = new Map<string, Alert[]>();
    for (const a of alerts) {
      const list = byTenant.get(a.tenant);
      if (list) list.push(a);
      else byTenant.set(a.tenant, [a]);
    }
    for (const [tenant, list] of byTenant) {
      const st = await this.tenant(tenant);
      const events: IncidentEvent[] = [];
      const linked = new Map<string, string>();
      for (const a of list) {
        if (a.status === 'resolved') {
          events.push(...st.engine.resolve(a.fingerprint, a.endsAtMs > 0 ? a.endsAtMs : this.settings.clock.now()));
          this.m.alerts.inc(1, { result: 'resolved' });
          continue;
        }
        const r = st.engine.fire({ fingerprint: a.fingerprint, labels: a.labels, annotations: a.annotations, startsAtMs: a.startsAtMs });
        events.push(...r.events);
        const result = r.incident === null ? 'unassigned' : r.events.some((e) => e.type === 'opened') ? 'opened' : r.events.some((e) => e.type === 'alert_refired') ? 'refired' : 'joined';
        this.m.alerts.inc(1, { result });
        if (r.incident !== null) linked.set(a.fingerprint, r.incident);
      }
      await this.apply(tenant, st.engine, events, linked);
    }
  }

  /** Writes what the events changed: incident documents, timelines, alert links; then notifies. */
  /** `linked`: alert fingerprint -> the incident it was assigned to in this batch. */
  private async apply(tenant: string, engine: CorrelationEngine, events: readonly IncidentEvent[], linked: Map<string, string>): Promise<void> {
    this.m.open.set([...this.tenants.values()].reduce((n, s) => n + s.engine.open().length, 0));
    if (events.length === 0) return;
    const touched = new Map<string, IncidentEventRecord[]>();
    const record = (id: string, r: IncidentEventRecord) => {
      const list = touched.get(id);
      if (list) list.push(r);
      else touched.set(id, [r]);
    };
    const mergedAway = new Map<string, string>();
    for (const e of events) {
      this.m.events.inc(1, { type: e.type });
      record(e.incident, { atMs: e.atMs, type: e.type, fingerprint: e.fingerprint ?? '', related: e.other ?? '', actor: CORRELATION_ACTOR, text: e.text });
      if (e.type === 'merged' && e.other) {
        mergedAway.set(e.other, e.incident);
        record(e.other, { atMs: e.atMs, type: 'merged_into', fingerprint: '', related: e.incident, actor: CORRELATION_ACTOR, text: `merged into ${e.incident}` });
        for (const fp of engine.get(e.incident)?.members.keys() ?? []) linked.set(fp, e.incident);
      }
    }
    const changes: IncidentChange[] = [];
    try {
      const store = this.deps.incidents;
      for (const [id, recs] of touched) {
        const state = engine.get(id);
        if (!state) continue;
        // An incident opened in this batch has nothing stored yet (no read needed).
        const stored = recs.some((r) => r.type === 'opened') ? undefined : await store.get(tenant, id);
        changes.push({ kind: stored === undefined ? 'new' : 'changed', incident: this.document(tenant, state, stored, mergedAway.get(id)), events: recs });
      }
      if (store.putMany) await store.putMany(changes.map((c) => ({ incident: c.incident, events: c.events })));
      else {
        for (const c of changes) {
          await store.put(c.incident);
          await store.appendTimeline(tenant, c.incident.id, c.events);
        }
      }
      // Each newly assigned alert (or one a merge moved) to its incident, one write per incident.
      const byIncident = new Map<string, string[]>();
      for (const [fp, id] of linked) {
        const list = byIncident.get(id);
        if (list) list.push(fp);
        else byIncident.set(id, [fp]);
      }
      for (const [id, fps] of byIncident) await this.link(tenant, fps, id);
    } catch (err) {
      this.m.errors.inc();
      this.settings.logger.error({ tenant, err: (err as Error).message }, 'correlation could not store its incidents');
      throw err;
    }
    await this.notify(changes);
  }

  /** Links alerts to their incident (one transaction when the store can); unknown alerts are skipped. */
  private async link(tenant: string, fps: readonly string[], id: string): Promise<void> {
    if (fps.length === 0) return;
    const store = this.deps.alerts;
    if (store.setIncidentMany) {
      await store.setIncidentMany(tenant, fps, id);
      return;
    }
    for (const fp of fps) {
      await store.setIncident(tenant, fp, id).catch((err: unknown) => {
        if ((err as { code?: string }).code !== 'NOT_FOUND') throw err;
      });
    }
  }

  private document(tenant: string, s: IncidentState, stored: Incident | undefined, mergedInto: string | undefined): Incident {
    const members = [...s.members.values()];
    const rep = s.members.get(s.representative) ?? members[0]!;
    const services = new Set<string>();
    for (const m of members) {
      const v = m.labels['service'] ?? m.labels['database'] ?? m.labels['queue'] ?? m.labels['cache'];
      if (v) services.add(v);
    }
    let common: Labels | undefined;
    for (const m of members) {
      if (common === undefined) common = { ...m.labels };
      else for (const k of Object.keys(common)) if (m.labels[k] !== common[k]) delete common[k];
    }
    const sev = members.reduce((x, m) => Math.max(x, m.severity), 0);
    const resolved = s.resolvedAtMs > 0;
    const others = members.length - 1;
    const title = mergedInto
      ? `merged into ${mergedInto}`
      : `${describe(rep.labels)}${others > 0 ? ` and ${others} related alert${others === 1 ? '' : 's'} on ${services.size} service${services.size === 1 ? '' : 's'}` : ''}`;
    const keepStatus = stored && !resolved && (stored.status === 'acknowledged' || stored.status === 'mitigated') ? stored.status : undefined;
    return {
      id: s.id,
      tenant,
      title: title.slice(0, 1024),
      status: resolved ? 'resolved' : (keepStatus ?? 'open'),
      severity: SEVERITIES[sev] ?? 'info',
      openedAtMs: s.openedAtMs,
      updatedAtMs: Math.max(s.updatedAtMs, stored?.updatedAtMs ?? 0),
      resolvedAtMs: s.resolvedAtMs,
      representativeFingerprint: rep.fingerprint,
      alertFingerprints: mergedInto ? [] : members.map((m) => m.fingerprint),
      services: [...services].sort(),
      commonLabels: common ?? {},
      rootCauses: stored?.rootCauses ?? [],
    };
  }

  private async tenant(tenant: string): Promise<TenantState> {
    let st = this.tenants.get(tenant);
    const now = this.settings.clock.now();
    if (!st) {
      st = { engine: new CorrelationEngine(this.config, await this.graph(tenant)), topologyReadMs: now };
      this.tenants.set(tenant, st);
    } else if (this.deps.topology && !(Math.abs(now - st.topologyReadMs) < TOPOLOGY_REFRESH_MS)) {
      st.topologyReadMs = now;
      st.engine.setTopology(await this.graph(tenant));
    }
    return st;
  }

  private async graph(tenant: string): Promise<EntityGraph | undefined> {
    if (!this.deps.topology) return undefined;
    try {
      const snap = await this.deps.topology.snapshot(tenant);
      if (snap.nodes.length === 0) return undefined;
      return new EntityGraph(
        snap.nodes.map((n) => ({ id: n.id, name: n.name, kind: n.kind })),
        snap.edges.map((e) => ({ from: e.from, to: e.to })),
      );
    } catch (err) {
      this.settings.logger.warn({ tenant, err: (err as Error).message }, 'topology unavailable: correlating by labels and time alone');
      return undefined;
    }
  }

  private async restore(tenant: string): Promise<void> {
    const st = await this.tenant(tenant);
    const open = [...(await this.deps.incidents.list(tenant, { status: 'open', limit: 10_000 })), ...(await this.deps.incidents.list(tenant, { status: 'acknowledged', limit: 10_000 }))];
    open.sort((a, b) => a.openedAtMs - b.openedAtMs || (a.id < b.id ? -1 : 1));
    for (const inc of open) {
      const alerts = [];
      for (const fp of inc.alertFingerprints) {
        const a = await this.deps.alerts.get(tenant, fp);
        if (a && a.incidentId === inc.id) alerts.push({ fingerprint: a.fingerprint, labels: a.labels, annotations: a.annotations, startsAtMs: a.startsAtMs, firing: a.status === 'firing' });
      }
      st.engine.adopt(inc, alerts);
    }
    if (open.length > 0) this.settings.logger.info({ tenant, incidents: open.length }, 'took over the open incidents');
  }
}
