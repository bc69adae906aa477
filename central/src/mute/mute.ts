// The inhibit-and-silence stage of central's alert chain (issue #8, Deliver 5), between the
// alert store (receive, deduplicate) and correlation: a firing alert matched by an active
// silence, or inhibited by a firing source alert (inhibit_rules), does not go on - it opens and
// joins no incident and notifies nobody - and is counted by reason. Resolutions go on, except
// those of alerts that were muted (they never went on).
// Muted alerts are remembered while they fire: when their silence ends or their inhibiting
// alert resolves, the next check (every 5 s, and on every batch) lets them through with their
// own startsAt, as Alertmanager starts notifying an alert once its silence expires.
// Silences are read from the store at most once per second per tenant (cheap, and a new
// silence applies within a second). Inhibiting alerts are indexed per rule by their `equal`
// label values, so a check costs one lookup per rule; at most 100,000 tracked.
import type { Alert } from '../../../shared-schemas/src/index.js';
import { every, Serial } from '../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge } from '../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Component } from '../component.js';
import { compileSilenceMatchers, matchesLabels } from '../storage/index.js';
import type { CompiledSelector, SqliteSilenceStore } from '../storage/index.js';
import { compileInhibitRules } from './config.js';
import type { CompiledInhibitRule, InhibitRule } from './config.js';

const TICK_MS = 5000;

/** A rule's `equal` label values of an alert, as one key. */
const equalKey = (r: CompiledInhibitRule, labels: Alert['labels']): string => JSON.stringify(r.equal.map((k) => labels[k] ?? ''));
const SILENCE_CACHE_MS = 1000;
const MAX_TRACKED = 100_000;

export type MuteReason = 'silenced' | 'inhibited';

interface TenantState {
  /** Per inhibit rule: the firing alerts matching its source, by their values of its `equal` labels. */
  sources: Array<Map<string, Set<string>>>;
  sourceCount: number;
  muted: Map<string, Alert>;
  silences: Array<{ id: string; startsAtMs: number; endsAtMs: number; sel: CompiledSelector }>;
  silencesReadMs: number;
}

export class MuteStage implements AlertConsumer, Component {
  private readonly tenants = new Map<string, TenantState>();
  private readonly rules: CompiledInhibitRule[];
  private readonly serial = new Serial();
  private stopTicks: (() => void) | undefined;
  private readonly m: { muted: BoundCounter; released: BoundCounter; held: BoundGauge; dropped: BoundCounter };

  constructor(
    private readonly settings: CentralSettings,
    rules: readonly InhibitRule[],
    private readonly deps: { silences: Pick<SqliteSilenceStore, 'list'>; next: AlertConsumer },
  ) {
    this.rules = compileInhibitRules(rules);
    const mm = settings.metrics;
    this.m = {
      muted: mm.counter('aiops_central_alerts_muted_total', 'Firing alerts held back from correlation and notification, by reason (silenced, inhibited).', ['reason']),
      released: mm.counter('aiops_central_alerts_unmuted_total', 'Muted alerts let through once their silence ended or their inhibiting alert resolved.'),
      held: mm.gauge('aiops_central_alerts_muted', 'Firing alerts muted now, all tenants.'),
      dropped: mm.counter('aiops_central_mute_untracked_total', 'Firing alerts not tracked (as inhibiting sources, or as muted) because a limit of 100,000 was reached: their inhibition or release may be missed.'),
    };
  }

  async start(): Promise<void> {
    this.stopTicks = every(this.settings.clock, TICK_MS, () => this.check(), (err) => this.settings.logger.warn({ err: (err as Error).message }, 'muted alerts not re-checked'));
  }

  async shutdown(): Promise<void> {
    this.stopTicks?.();
    this.stopTicks = undefined;
    await this.serial.idle();
  }

  consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    return this.serial.run(async () => {
      const forward: Alert[] = [];
      const now = this.settings.clock.now();
      for (const a of alerts) {
        const st = await this.tenant(a.tenant, now);
        if (a.status === 'resolved') {
          this.untrackSource(st, a);
          const wasMuted = st.muted.delete(a.fingerprint);
          // A resolve of an alert that never went on is of no use downstream, but harmless.
          if (!wasMuted) forward.push(a);
          continue;
        }
        this.trackSource(st, a);
        const reason = this.reason(st, a, now);
        if (reason) {
          this.track(st.muted, a);
          this.m.muted.inc(1, { reason });
        } else {
          st.muted.delete(a.fingerprint);
          forward.push(a);
        }
      }
      forward.push(...(await this.releasable(now)));
      this.gauge();
      if (forward.length > 0) await this.deps.next.consumeAlerts(forward);
    });
  }

  /** Lets through muted alerts that are no longer muted (silence over, inhibitor resolved). */
  check(): Promise<void> {
    return this.serial.run(async () => {
      const out = await this.releasable(this.settings.clock.now());
      this.gauge();
      if (out.length > 0) await this.deps.next.consumeAlerts(out);
    });
  }

  /** Why an alert is muted now, if it is. */
  mutedBy(tenant: string, labels: Alert['labels'], fingerprint = ''): MuteReason | undefined {
    const st = this.tenants.get(tenant);
    return st ? this.reason(st, { labels, fingerprint } as Alert, this.settings.clock.now()) : undefined;
  }

  private async releasable(now: number): Promise<Alert[]> {
    const out: Alert[] = [];
    for (const [tenant, st] of this.tenants) {
      if (st.muted.size === 0) continue;
      await this.tenant(tenant, now);
      for (const [fp, a] of st.muted) {
        if (this.reason(st, a, now)) continue;
        st.muted.delete(fp);
        this.m.released.inc();
        out.push(a);
      }
    }
    return out;
  }

  private reason(st: TenantState, a: Pick<Alert, 'labels' | 'fingerprint'>, now: number): MuteReason | undefined {
    for (const s of st.silences) if (s.startsAtMs <= now && now < s.endsAtMs && matchesLabels(s.sel, a.labels)) return 'silenced';
    for (let i = 0; i < this.rules.length; i++) {
      const r = this.rules[i]!;
      if (!matchesLabels(r.target, a.labels)) continue;
      const firing = st.sources[i]!.get(equalKey(r, a.labels));
      // The alert does not inhibit itself (it may match both sides of a rule).
      if (firing && (firing.size > 1 || (firing.size === 1 && !firing.has(a.fingerprint)))) return 'inhibited';
    }
    return undefined;
  }

  private trackSource(st: TenantState, a: Alert): void {
    this.rules.forEach((r, i) => {
      if (!matchesLabels(r.source, a.labels)) return;
      const key = equalKey(r, a.labels);
      let set = st.sources[i]!.get(key);
      if (set?.has(a.fingerprint)) return;
      if (st.sourceCount >= MAX_TRACKED) {
        this.m.dropped.inc();
        return;
      }
      if (!set) st.sources[i]!.set(key, (set = new Set()));
      set.add(a.fingerprint);
      st.sourceCount++;
    });
  }

  private untrackSource(st: TenantState, a: Alert): void {
    this.rules.forEach((r, i) => {
      if (!matchesLabels(r.source, a.labels)) return;
      const key = equalKey(r, a.labels);
      const set = st.sources[i]!.get(key);
      if (!set?.delete(a.fingerprint)) return;
      st.sourceCount--;
      if (set.size === 0) st.sources[i]!.delete(key);
    });
  }

  private async tenant(tenant: string, now: number): Promise<TenantState> {
    let st = this.tenants.get(tenant);
    if (!st) {
      st = { sources: this.rules.map(() => new Map()), sourceCount: 0, muted: new Map(), silences: [], silencesReadMs: Number.NEGATIVE_INFINITY };
      this.tenants.set(tenant, st);
    }
    if (!(Math.abs(now - st.silencesReadMs) < SILENCE_CACHE_MS)) {
      st.silencesReadMs = now;
      const list = await this.deps.silences.list(tenant, { activeAt: now, limit: 10_000 });
      st.silences = list.map((s) => ({ id: s.id, startsAtMs: s.startsAtMs, endsAtMs: s.endsAtMs, sel: compileSilenceMatchers(s.matchers) }));
    }
    return st;
  }

  /** The silences changed (the API): re-read them before the next alert. */
  silencesChanged(tenant: string): void {
    const st = this.tenants.get(tenant);
    if (st) st.silencesReadMs = Number.NEGATIVE_INFINITY;
  }

  private track(map: Map<string, Alert>, a: Alert): void {
    if (!map.has(a.fingerprint) && map.size >= MAX_TRACKED) {
      this.m.dropped.inc();
      return;
    }
    map.set(a.fingerprint, a);
  }

  private gauge(): void {
    let n = 0;
    for (const st of this.tenants.values()) n += st.muted.size;
    this.m.held.set(n);
  }
}
