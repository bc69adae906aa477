// The inhibit-and-silence stage of central's alert chain (issue #8, Deliver 5), between the
// alert store (receive, deduplicate) and correlation: a firing alert matched by an active
// silence, or inhibited by a firing source alert (inhibit_rules), does not go on - it opens and
// joins no incident and notifies nobody - and is counted by reason. Resolutions always go on.
// Muted alerts are remembered while they fire: when their silence ends or their inhibiting
// alert resolves, the next check (every 5 s, and on every batch) lets them through with their
// own startsAt, as Alertmanager starts notifying an alert once its silence expires.
// Silences are read from the store at most once per second per tenant (cheap, and a new
// silence applies within a second); bounded memory: at most 100,000 firing alerts tracked.
import type { Alert } from '../../../shared-schemas/src/index.js';
import type { BoundCounter, BoundGauge } from '../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Component } from '../component.js';
import { compileSilenceMatchers, matchesLabels } from '../storage/index.js';
import type { CompiledSelector, SqliteSilenceStore } from '../storage/index.js';
import { compileInhibitRules } from './config.js';
import type { CompiledInhibitRule, InhibitRule } from './config.js';

const TICK_MS = 5000;
const SILENCE_CACHE_MS = 1000;
const MAX_TRACKED = 100_000;

export type MuteReason = 'silenced' | 'inhibited';

interface TenantState {
  firing: Map<string, Alert>;
  muted: Map<string, Alert>;
  silences: Array<{ id: string; startsAtMs: number; endsAtMs: number; sel: CompiledSelector }>;
  silencesReadMs: number;
}

export class MuteStage implements AlertConsumer, Component {
  private readonly tenants = new Map<string, TenantState>();
  private readonly rules: CompiledInhibitRule[];
  private chain: Promise<void> = Promise.resolve();
  private timer: unknown;
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
      dropped: mm.counter('aiops_central_mute_untracked_total', 'Firing alerts not tracked because the limit of 100,000 was reached (their inhibition or release may be missed).'),
    };
  }

  async start(): Promise<void> {
    const t = this.settings.clock.setInterval(() => {
      this.check().catch((err: unknown) => this.settings.logger.warn({ err: (err as Error).message }, 'muted alerts not re-checked'));
    }, TICK_MS);
    t.unref?.();
    this.timer = t;
  }

  async shutdown(): Promise<void> {
    if (this.timer !== undefined) this.settings.clock.clearInterval(this.timer);
    this.timer = undefined;
    await this.chain.catch(() => undefined);
  }

  consumeAlerts(alerts: readonly Alert[]): Promise<void> {
    return this.serial(async () => {
      const forward: Alert[] = [];
      const now = this.settings.clock.now();
      for (const a of alerts) {
        const st = await this.tenant(a.tenant, now);
        if (a.status === 'resolved') {
          st.firing.delete(a.fingerprint);
          const wasMuted = st.muted.delete(a.fingerprint);
          // A resolve of an alert that never went on is of no use downstream, but harmless.
          if (!wasMuted) forward.push(a);
          continue;
        }
        this.track(st.firing, a);
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
    return this.serial(async () => {
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
    for (const r of this.rules) {
      if (!matchesLabels(r.target, a.labels)) continue;
      for (const src of st.firing.values()) {
        if (src.fingerprint === a.fingerprint || !matchesLabels(r.source, src.labels)) continue;
        if (r.equal.every((k) => (src.labels[k] ?? '') === (a.labels[k] ?? ''))) return 'inhibited';
      }
    }
    return undefined;
  }

  private async tenant(tenant: string, now: number): Promise<TenantState> {
    let st = this.tenants.get(tenant);
    if (!st) {
      st = { firing: new Map(), muted: new Map(), silences: [], silencesReadMs: Number.NEGATIVE_INFINITY };
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

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn, fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
