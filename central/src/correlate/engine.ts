// Time-topology correlation (issue #8, Deliver 6): alerts become incidents.
//
// An alert joins an open incident when it is
//   - close in time: the incident accepts alerts until its window ends; the window is `window`
//     after the first alert, moves to `extend` after each joining alert, never past `cap`
//     after the incident opened;
//   - close in the topology: its entity is within `max_hops` of an entity of the incident
//     ("auto": half the graph's effective diameter, see entities.ts). Without a topology, or
//     when either side names no known entity, the gate is a shared entity label value (same
//     service, same host) - labels and time alone;
//   - similar enough: a weighted sum of topology closeness, time closeness, text (alert name
//     and summary words), labels, and learnt co-occurrence of alert names in earlier incidents
//     reaches `threshold`.
// The best candidate wins (ties: the older incident). When an alert qualifies for several
// incidents they turn out to share a cause and are merged into the oldest. An alert that
// joins nothing opens an incident if its severity is at least `open_severity`, else stays
// unassigned. A re-fire of a fingerprint goes back to its incident while that is live.
// An incident resolves `resolve_hold` after its last firing alert resolved, unless one fires
// again meanwhile (flap damping); resolved incidents teach the co-occurrence counts.
//
// The representative alert is the most upstream in the failure (its entity is depended on,
// transitively, by the most entities of the incident - the cause end of the propagation; the
// shared-schemas topology calls that direction "downstream" of the dependents), then the most
// severe, then the earliest, then the smallest fingerprint.
//
// Everything runs in event time: the alerts' own timestamps drive windows and resolution, and
// `advance(t)` is the only clock. The same alerts in the same order give the same incidents,
// ids included, whether they come through the API or `npm run correlate`.
import { createHash } from 'node:crypto';
import type { Labels } from '../../../shared-schemas/src/index.js';
import { severityRank } from './config.js';
import type { CorrelationConfig } from './config.js';
import type { EntityGraph } from './entities.js';

export interface EngineAlert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  startsAtMs: number;
}

export type IncidentEventType = 'opened' | 'alert_added' | 'alert_refired' | 'alert_resolved' | 'merged' | 'representative_changed' | 'resolved';

export interface IncidentEvent {
  type: IncidentEventType;
  incident: string;
  atMs: number;
  fingerprint?: string;
  /** merged: the incident merged into this one. */
  other?: string;
  text: string;
}

export interface Member {
  readonly fingerprint: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly startsAtMs: number;
  readonly severity: number;
  /** Index of its entity in the current topology (-1: none); re-resolved when the topology changes. */
  entity: number;
  firing: boolean;
}

export interface IncidentState {
  readonly id: string;
  readonly openedAtMs: number;
  lastAlertAtMs: number;
  windowEndMs: number;
  updatedAtMs: number;
  readonly members: Map<string, Member>;
  firing: number;
  /** Entity index -> members on it. */
  readonly entities: Map<number, number>;
  readonly tokens: Map<string, number>;
  readonly pairs: Map<string, number>;
  readonly alertnames: Map<string, number>;
  readonly entityValues: Set<string>;
  /** Per entity (-1: none known), its most severe, then earliest member. */
  readonly bestByEntity: Map<number, Member>;
  /** Per entity, how many other entities of the incident depend on it (recomputed as entities join). */
  dependents: Map<number, number>;
  representative: string;
  /** When its last firing alert resolved (0 = something fires). */
  quietSinceMs: number;
  resolvedAtMs: number;
}

export interface Assignment {
  incident: string | null;
  events: IncidentEvent[];
}

export interface EngineCounters {
  alerts: number;
  opened: number;
  joined: number;
  refired: number;
  merged: number;
  unassigned: number;
  resolved: number;
  /** Incidents closed early because max_open_incidents was reached. */
  evicted: number;
  /** Alerts left out of a full incident (max_incident_alerts). */
  overflow: number;
}

/** Unassigned firing fingerprints remembered (oldest forgotten first). */
const MAX_UNASSIGNED_TRACKED = 100_000;

const STOPWORDS = new Set(['the', 'and', 'for', 'than', 'with', 'from', 'over', 'into', 'are', 'has', 'have', 'its', 'this', 'that', 'was', 'were', 'more', 'less', 'usual', 'high', 'low', 'is']);

/** Words of an alert's name (camelCase split) and summary/description, lower case. */
export function alertTokens(labels: Labels, annotations: Labels): Set<string> {
  const text = `${(labels['alertname'] ?? '').replace(/([a-z0-9])([A-Z])/g, '$1 $2')} ${annotations['summary'] ?? ''} ${annotations['description'] ?? ''}`;
  const out = new Set<string>();
  for (const w of text.toLowerCase().split(/[^a-z0-9_]+/)) {
    if (w.length < 3 || STOPWORDS.has(w) || /^\d+$/.test(w)) continue;
    out.add(w);
    if (out.size >= 64) break;
  }
  return out;
}

function incidentId(fingerprint: string, openedAtMs: number): string {
  return `inc-${createHash('sha256').update(`${fingerprint}\u0000${openedAtMs}`).digest('hex').slice(0, 16)}`;
}

const add = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

export class CorrelationEngine {
  private readonly live: IncidentState[] = [];
  private readonly byFingerprint = new Map<string, IncidentState>();
  private readonly byId = new Map<string, IncidentState>();
  /** Fingerprints firing but in no incident: a repeat is a duplicate, as for any firing alert. */
  private readonly firingUnassigned = new Set<string>();
  /** Incidents resolved or merged away lately (for whoever turns events into documents). */
  private readonly retiredById = new Map<string, IncidentState>();
  private readonly nameCount = new Map<string, number>();
  private readonly pairCount = new Map<string, number>();
  private readonly depends = new Map<string, boolean>();
  private hops: number;
  private nowMs = 0;
  readonly counters: EngineCounters = { alerts: 0, opened: 0, joined: 0, refired: 0, merged: 0, unassigned: 0, resolved: 0, evicted: 0, overflow: 0 };
  private readonly openSeverity: number;
  private readonly ignored: Set<string>;

  constructor(
    private readonly config: CorrelationConfig,
    private graph?: EntityGraph,
  ) {
    this.openSeverity = severityRank(config.open_severity);
    this.ignored = new Set([...config.ignore_labels, ...config.entity_labels]);
    this.hops = this.hopsFor(graph);
  }

  /** The hop threshold in use (config, or derived from the topology). */
  get maxHops(): number {
    return this.hops;
  }

  /** Replaces the topology (live incidents keep their members; new alerts use the new graph). */
  setTopology(graph: EntityGraph | undefined): void {
    this.graph = graph;
    this.hops = this.hopsFor(graph);
    this.depends.clear();
    // Entity indices belong to a graph: re-resolve the members of the live incidents.
    for (const inc of this.live) {
      inc.entities.clear();
      inc.bestByEntity.clear();
      inc.dependents = new Map();
      for (const m of inc.members.values()) {
        m.entity = graph ? graph.resolve(m.labels, this.config.entity_labels) : -1;
        if (m.entity >= 0) inc.entities.set(m.entity, (inc.entities.get(m.entity) ?? 0) + 1);
        this.offer(inc, m);
      }
      inc.representative = this.pickRepresentative(inc);
    }
  }

  /** Incidents not resolved yet, oldest first. */
  open(): readonly IncidentState[] {
    return this.live;
  }

  /** A live incident, or one resolved or merged away in the last 10,000 retirements. */
  get(id: string): IncidentState | undefined {
    return this.byId.get(id) ?? this.retiredById.get(id);
  }

  /**
   * Takes over an incident from before a restart (central reloads its open incidents): its id
   * and opening time, and its alerts with whether each still fires. No events.
   */
  adopt(inc: { id: string; openedAtMs: number; updatedAtMs: number }, alerts: ReadonlyArray<EngineAlert & { firing: boolean }>): void {
    if (alerts.length === 0 || this.byId.has(inc.id)) return;
    const sorted = [...alerts].sort((a, b) => a.startsAtMs - b.startsAtMs || (a.fingerprint < b.fingerprint ? -1 : 1));
    const state = this.openIncident(this.memberOf(sorted[0]!), inc.openedAtMs, inc.id);
    this.counters.opened--;
    for (const a of sorted) {
      if (this.byFingerprint.has(a.fingerprint)) continue;
      const m = this.memberOf(a);
      this.addMember(state, m, alertTokens(a.labels, a.annotations), this.pairsOf(a.labels), this.entityValuesOf(a.labels), a.startsAtMs);
      if (!a.firing) {
        m.firing = false;
        state.firing--;
      }
    }
    state.updatedAtMs = Math.max(state.updatedAtMs, inc.updatedAtMs);
    if (state.firing === 0) state.quietSinceMs = Math.max(state.lastAlertAtMs, inc.updatedAtMs);
  }

  private memberOf(alert: EngineAlert): Member {
    return {
      fingerprint: alert.fingerprint,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAtMs: alert.startsAtMs,
      severity: severityRank(alert.labels['severity']),
      entity: this.graph ? this.graph.resolve(alert.labels, this.config.entity_labels) : -1,
      firing: true,
    };
  }

  /** A firing alert at its startsAtMs. */
  fire(alert: EngineAlert): Assignment {
    const t = alert.startsAtMs;
    const events = this.advance(t);
    this.counters.alerts++;
    const existing = this.byFingerprint.get(alert.fingerprint);
    if (existing) {
      const m = existing.members.get(alert.fingerprint)!;
      // Still firing: a duplicate (Alertmanager semantics), nothing changes.
      if (m.firing) return { incident: existing.id, events };
      m.firing = true;
      existing.firing++;
      existing.quietSinceMs = 0;
      this.counters.refired++;
      this.touch(existing, t);
      events.push({ type: 'alert_refired', incident: existing.id, atMs: t, fingerprint: alert.fingerprint, text: `${describe(alert.labels)} fired again` });
      return { incident: existing.id, events };
    }

    if (this.firingUnassigned.has(alert.fingerprint)) return { incident: null, events };
    const member = this.memberOf(alert);
    const tokens = alertTokens(alert.labels, alert.annotations);
    const pairs = this.pairsOf(alert.labels);
    const values = this.entityValuesOf(alert.labels);

    const qualified: Array<{ inc: IncidentState; score: number }> = [];
    for (const inc of this.live) {
      if (t > inc.windowEndMs || inc.members.size >= this.config.max_incident_alerts) continue;
      const score = this.similarity(inc, member, tokens, pairs, values, t);
      if (score >= this.config.threshold) qualified.push({ inc, score });
    }

    if (qualified.length === 0) {
      if (member.severity < this.openSeverity) {
        this.counters.unassigned++;
        this.firingUnassigned.add(alert.fingerprint);
        if (this.firingUnassigned.size > MAX_UNASSIGNED_TRACKED) this.firingUnassigned.delete(this.firingUnassigned.values().next().value as string);
        return { incident: null, events };
      }
      const inc = this.openIncident(member, t);
      this.addMember(inc, member, tokens, pairs, values, t);
      events.push({ type: 'opened', incident: inc.id, atMs: t, fingerprint: member.fingerprint, text: `opened by ${describe(alert.labels)}` });
      this.evictOverflow(t, events);
      return { incident: inc.id, events };
    }

    let best = qualified[0]!;
    for (const q of qualified) if (q.score > best.score) best = q;
    // Several incidents qualify: the alert ties them to one cause; they merge into the oldest.
    let target = best.inc;
    if (qualified.length > 1) {
      target = qualified[0]!.inc;
      for (const q of qualified.slice(1)) events.push(...this.merge(target, q.inc, t));
    }
    const before = target.representative;
    this.addMember(target, member, tokens, pairs, values, t);
    this.counters.joined++;
    events.push({ type: 'alert_added', incident: target.id, atMs: t, fingerprint: member.fingerprint, text: `${describe(alert.labels)} joined (similarity ${best.score.toFixed(2)})` });
    if (target.representative !== before) events.push(this.representativeEvent(target, t));
    return { incident: target.id, events };
  }

  /** A resolved alert at `atMs` (its endsAt). Unknown or unassigned fingerprints are ignored. */
  resolve(fingerprint: string, atMs: number): IncidentEvent[] {
    const events = this.advance(atMs);
    this.firingUnassigned.delete(fingerprint);
    const inc = this.byFingerprint.get(fingerprint);
    if (!inc) return events;
    const m = inc.members.get(fingerprint)!;
    if (!m.firing) return events;
    m.firing = false;
    inc.firing--;
    inc.updatedAtMs = Math.max(inc.updatedAtMs, atMs);
    events.push({ type: 'alert_resolved', incident: inc.id, atMs, fingerprint, text: `${describe(m.labels)} resolved` });
    if (inc.firing === 0) {
      inc.quietSinceMs = atMs;
      if (this.config.resolve_hold === 0) events.push(...this.advance(atMs));
    }
    return events;
  }

  /** Resolves a live incident now (a person resolved it); its alerts firing later open new incidents. */
  close(id: string, atMs: number, why: string): IncidentEvent[] {
    const inc = this.byId.get(id);
    return inc ? [this.finish(inc, atMs, why)] : [];
  }

  /** Moves event time to `t`: incidents quiet for resolve_hold resolve. */
  advance(t: number): IncidentEvent[] {
    if (t > this.nowMs) this.nowMs = t;
    const now = this.nowMs;
    const events: IncidentEvent[] = [];
    for (let i = 0; i < this.live.length; i++) {
      const inc = this.live[i]!;
      if (inc.firing === 0 && inc.quietSinceMs > 0 && now >= inc.quietSinceMs + this.config.resolve_hold) {
        events.push(this.finish(inc, inc.quietSinceMs, 'every alert resolved'));
        i--;
      }
    }
    return events;
  }

  private finish(inc: IncidentState, atMs: number, why: string): IncidentEvent {
    inc.resolvedAtMs = atMs;
    inc.updatedAtMs = Math.max(inc.updatedAtMs, atMs);
    const i = this.live.indexOf(inc);
    if (i >= 0) this.live.splice(i, 1);
    for (const fp of inc.members.keys()) if (this.byFingerprint.get(fp) === inc) this.byFingerprint.delete(fp);
    this.byId.delete(inc.id);
    this.retire(inc);
    this.learn(inc);
    this.counters.resolved++;
    return { type: 'resolved', incident: inc.id, atMs, text: `resolved: ${why}` };
  }

  private retire(inc: IncidentState): void {
    this.retiredById.set(inc.id, inc);
    if (this.retiredById.size > 10_000) this.retiredById.delete(this.retiredById.keys().next().value as string);
  }

  private evictOverflow(t: number, events: IncidentEvent[]): void {
    while (this.live.length > this.config.max_open_incidents) {
      const oldest = this.live[0]!;
      this.counters.evicted++;
      events.push(this.finish(oldest, t, `closed early: more than ${this.config.max_open_incidents} open incidents`));
    }
  }

  private openIncident(member: Member, t: number, id = incidentId(member.fingerprint, t)): IncidentState {
    const inc: IncidentState = {
      id,
      openedAtMs: t,
      lastAlertAtMs: t,
      windowEndMs: t + this.config.window, // cap >= window (config)
      updatedAtMs: t,
      members: new Map(),
      firing: 0,
      entities: new Map(),
      tokens: new Map(),
      pairs: new Map(),
      alertnames: new Map(),
      entityValues: new Set(),
      bestByEntity: new Map(),
      dependents: new Map(),
      representative: member.fingerprint,
      quietSinceMs: 0,
      resolvedAtMs: 0,
    };
    this.live.push(inc);
    this.byId.set(inc.id, inc);
    this.counters.opened++;
    return inc;
  }

  private addMember(inc: IncidentState, m: Member, tokens: Set<string>, pairs: string[], values: string[], t: number): void {
    inc.members.set(m.fingerprint, m);
    this.byFingerprint.set(m.fingerprint, inc);
    inc.firing++;
    inc.quietSinceMs = 0;
    if (m.entity >= 0) inc.entities.set(m.entity, (inc.entities.get(m.entity) ?? 0) + 1);
    for (const w of tokens) add(inc.tokens, w);
    for (const p of pairs) add(inc.pairs, p);
    add(inc.alertnames, m.labels['alertname'] ?? '');
    for (const v of values) inc.entityValues.add(v);
    this.touch(inc, t);
    this.offer(inc, m);
    inc.representative = this.pickRepresentative(inc);
  }

  private touch(inc: IncidentState, t: number): void {
    if (t > inc.lastAlertAtMs) inc.lastAlertAtMs = t;
    inc.windowEndMs = Math.max(inc.windowEndMs, Math.min(inc.lastAlertAtMs + this.config.extend, inc.openedAtMs + this.config.cap));
    inc.updatedAtMs = Math.max(inc.updatedAtMs, t);
  }

  private merge(into: IncidentState, from: IncidentState, t: number): IncidentEvent[] {
    for (const m of from.members.values()) {
      into.members.set(m.fingerprint, m);
      this.byFingerprint.set(m.fingerprint, into);
      if (m.firing) into.firing++;
      if (m.entity >= 0) into.entities.set(m.entity, (into.entities.get(m.entity) ?? 0) + 1);
      add(into.alertnames, m.labels['alertname'] ?? '');
      this.offer(into, m);
    }
    into.dependents = new Map();
    for (const [k, n] of from.tokens) into.tokens.set(k, (into.tokens.get(k) ?? 0) + n);
    for (const [k, n] of from.pairs) into.pairs.set(k, (into.pairs.get(k) ?? 0) + n);
    for (const v of from.entityValues) into.entityValues.add(v);
    if (into.firing > 0) into.quietSinceMs = 0;
    into.lastAlertAtMs = Math.max(into.lastAlertAtMs, from.lastAlertAtMs);
    into.windowEndMs = Math.max(into.windowEndMs, Math.min(from.windowEndMs, into.openedAtMs + this.config.cap));
    into.updatedAtMs = Math.max(into.updatedAtMs, t);
    const before = into.representative;
    into.representative = this.pickRepresentative(into);
    this.live.splice(this.live.indexOf(from), 1);
    this.byId.delete(from.id);
    from.resolvedAtMs = t;
    this.retire(from);
    this.counters.merged++;
    const events: IncidentEvent[] = [{ type: 'merged', incident: into.id, other: from.id, atMs: t, text: `merged ${from.id} (${from.members.size} alerts): they share a cause` }];
    if (into.representative !== before) events.push(this.representativeEvent(into, t));
    return events;
  }

  private representativeEvent(inc: IncidentState, t: number): IncidentEvent {
    const m = inc.members.get(inc.representative)!;
    return { type: 'representative_changed', incident: inc.id, atMs: t, fingerprint: m.fingerprint, text: `representative is now ${describe(m.labels)}` };
  }

  private similarity(inc: IncidentState, m: Member, tokens: Set<string>, pairs: string[], values: string[], t: number): number {
    const w = this.config.weights;
    let topo: number;
    if (this.graph && m.entity >= 0 && inc.entities.size > 0) {
      let best = -1;
      for (const e of inc.entities.keys()) {
        const d = this.graph.distance(m.entity, e, this.hops);
        if (d >= 0 && (best < 0 || d < best)) best = d;
        if (best === 0) break;
      }
      if (best < 0) return -1;
      topo = 1 - best / (this.hops + 1);
    } else {
      // Labels and time alone: the same entity label value (same service, same host).
      if (!values.some((v) => inc.entityValues.has(v))) return -1;
      topo = 1;
    }
    const time = Math.max(0, 1 - (t - inc.lastAlertAtMs) / this.config.extend);
    let text = 0;
    if (tokens.size > 0) {
      let hit = 0;
      for (const x of tokens) if (inc.tokens.has(x)) hit++;
      text = hit / tokens.size;
    }
    let labels = 0;
    if (pairs.length > 0) {
      let hit = 0;
      for (const p of pairs) if (inc.pairs.has(p)) hit++;
      labels = hit / pairs.length;
    }
    let co = 0;
    const name = m.labels['alertname'] ?? '';
    const nx = this.nameCount.get(name) ?? 0;
    if (nx > 0) {
      for (const y of inc.alertnames.keys()) {
        const nxy = this.pairCount.get(pairKey(name, y)) ?? 0;
        if (nxy < this.config.cooccurrence_min) continue;
        co = Math.max(co, nxy / Math.min(nx, this.nameCount.get(y) ?? nxy));
      }
    }
    return w.topology * topo + w.time * time + w.text * text + w.labels * labels + w.cooccurrence * co;
  }

  private learn(inc: IncidentState): void {
    const names = [...inc.alertnames.keys()].sort();
    for (const n of names) add(this.nameCount, n);
    for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) add(this.pairCount, pairKey(names[i]!, names[j]!));
  }

  /** Keeps the best member per entity; a new entity invalidates the dependents counts. */
  private offer(inc: IncidentState, m: Member): void {
    const cur = inc.bestByEntity.get(m.entity);
    if (cur === undefined) inc.dependents = new Map();
    if (cur === undefined || before(m, cur)) inc.bestByEntity.set(m.entity, m);
  }

  private pickRepresentative(inc: IncidentState): string {
    if (inc.dependents.size === 0 && this.graph && inc.bestByEntity.size > 1) {
      const entities = [...inc.bestByEntity.keys()].filter((e) => e >= 0);
      for (const e of entities) {
        let n = 0;
        for (const f of entities) if (f !== e && this.dependsOn(f, e)) n++;
        inc.dependents.set(e, n);
      }
    }
    let best: Member | undefined;
    let bestDeps = -1;
    for (const [e, m] of inc.bestByEntity) {
      const deps = inc.dependents.get(e) ?? 0;
      if (best === undefined || deps > bestDeps || (deps === bestDeps && before(m, best))) {
        best = m;
        bestDeps = deps;
      }
    }
    return best!.fingerprint;
  }

  private dependsOn(from: number, cause: number): boolean {
    const k = `${from},${cause}`;
    let v = this.depends.get(k);
    if (v === undefined) {
      v = this.graph!.dependsOn(from, cause, 32);
      if (this.depends.size > 1_000_000) this.depends.clear();
      this.depends.set(k, v);
    }
    return v;
  }

  private pairsOf(labels: Labels): string[] {
    const out: string[] = [];
    for (const k of Object.keys(labels)) if (!this.ignored.has(k)) out.push(`${k}\u0000${labels[k]}`);
    return out;
  }

  private entityValuesOf(labels: Labels): string[] {
    const out: string[] = [];
    for (const k of this.config.entity_labels) {
      const v = labels[k];
      if (v !== undefined && v !== '') out.push(`${k}\u0000${v}`);
    }
    return out;
  }

  private hopsFor(graph: EntityGraph | undefined): number {
    if (this.config.max_hops !== 'auto') return this.config.max_hops;
    return graph ? graph.adaptiveHops() : 0;
  }
}

/** More severe, then earlier, then the smaller fingerprint. */
function before(a: Member, b: Member): boolean {
  if (a.severity !== b.severity) return a.severity > b.severity;
  if (a.startsAtMs !== b.startsAtMs) return a.startsAtMs < b.startsAtMs;
  return a.fingerprint < b.fingerprint;
}

const pairKey = (a: string, b: string) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);

/** `alertname{service="x"}` for timelines and titles. */
export function describe(labels: Labels): string {
  const where = ['service', 'host', 'instance', 'database', 'queue'].filter((k) => labels[k] !== undefined).map((k) => `${k}=${labels[k]}`);
  return `${labels['alertname'] ?? 'alert'}${where.length ? ` (${where.join(', ')})` : ''}`;
}
