// Anomalies to alerts with Dynamic X-Y suppression (ARCHITECTURE 5b flow 1, layer 3 "alert
// correlation: Dynamic-X-Y"). A FrameConsumer behind the FeatureSink: every stored feature row
// whose Tier-1 flags are set is a candidate anomaly; a series raises an alert only when its
// condition persists, X flagged windows among its last Y, and the alert resolves once the series
// has been clean for `resolve_after` windows. Alerts are Alertmanager-shaped, one per series,
// deduplicated by fingerprint (one firing alert per episode, then its resolve).
//
// Contract
// - State is per series: tenant + canonical label key. Windows of one series that are not newer
//   than the last one seen (a resend after a reconnect, a late frame) are ignored and counted.
//   Windows a series skipped count as clean windows when its next window arrives.
// - Bounded: at most `max_series` series (least recently seen evicted, counted, its firing alert
//   resolved with resolved_reason=evicted); a series unseen for `idle_timeout` is dropped the
//   same way (resolved_reason=idle). Per series: one uint32 of flag history, a few numbers, and
//   once it has flapped, (1 + learn.history_flaps) x 32 bytes of learning memory.
// - Alerts go to `next` in order; while `next` fails they wait in a bounded outbox (the oldest
//   dropped beyond `max_pending`, counted) and are sent again with the next frame.
// - State lives in memory. After a restart, `prime()` rebuilds it (and the learnt rules) from
//   the stored feature rows without emitting; firing alerts of series that never come back stay
//   firing in the store (see the component's report: needs an expiry there).
//
// The learning rule (Dynamic X-Y)
// The idea follows "Dynamic Alert Suppression Policy Management" (US patent 12,277,025, 2025):
// learn per metric the X-Y values from the history of its anomalous events, separating
// persistent regions from transient, self-resolving ones, and suppress what does not persist;
// and the fixed "X out of Y evaluations" alarm persistence of classic monitoring (BMC MainView
// "alarm persistence": 3 out of 5). Here:
// 1. A flap episode is a maximal group of flagged windows with fewer than 32 clean windows
//    between flags (capped at 128 windows). For each Y in 1..32 it records its peak: the most
//    flags any Y consecutive windows of the episode held. An X-of-Y rule fires on an episode iff
//    its peak for Y is >= X, so the newest `history_flaps` episodes tell exactly which rules
//    would have alerted on them.
// 2. Episodes holding a run of learn.x.max consecutive flags fire under every admissible rule:
//    they are persistent, say nothing about which rule to pick, and are left out. The others
//    are the series' flaps.
// 3. With at least `min_history` windows and `min_flaps` flaps, the learnt rule is the smallest X
//    (from the configured x, or from learn.x.min with learn.loosen, up to learn.x.max) for which
//    some Y (in learn.y bounds, X <= Y <= floor(X / density), density = x / y as configured)
//    would have fired on at most k of the n flaps, k the largest with (k + 1) / (n + 1) <=
//    1 - learn.suppress (k = 0 when n is too small): a distribution-free bound, for exchangeable
//    flaps, on the chance that the next flap fires. Among those Y the largest (most tolerant of
//    gaps in a real anomaly's flags). Smallest X = the shortest delay for a sustained anomaly;
//    Y <= X / density keeps the rule never sparser than the configured one. Otherwise (no
//    history, no feasible rule, learning off) the configured x and y apply.
// Measured on simulators/scenarios/ob-cpu-hog (see scenario.test.ts): against paging on every
// Tier-1 flag the configured 3 of 5 cuts false alarms by over 95% at full recall; with 12 h of
// history at noise 5 the learnt rules cut the remaining ones by a further ~40%.
import type { Alert, FeatureRow, Labels } from '../../../../shared-schemas/src/index.js';
import { alertFingerprint, canonicalLabelKey, FeatureFlags } from '../../../../shared-schemas/src/index.js';
import { CodedError, Serial } from '../../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge, Logger } from '../../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings, Clock, Component, FrameConsumer, IngestedFrame } from '../../component.js';
import { MAX_Y, TRIGGER_FLAGS, validateDetectionConfig } from './config.js';
import type { DetectionConfig, DetectionConfigInput, SeverityName } from './config.js';

/** `source` of every alert this component raises. */
export const DYNAMIC_XY_SOURCE = 'dynamic-xy';

/** An episode is recorded and restarted after this many windows, so that endless flapping still teaches. */
export const MAX_EPISODE_WINDOWS = 4 * MAX_Y;

export type DynamicXyErrorCode = 'DELIVERY_FAILED' | 'SHUT_DOWN';

export class DynamicXyError extends CodedError<DynamicXyErrorCode> {
  override name = 'DynamicXyError';
}

/** Why an alert resolved (its `resolved_reason` annotation). */
export type ResolveReason = 'clear' | 'idle' | 'evicted';

/** What the detector knows about one series (for the API, the UI and tests). */
export interface SeriesInfo {
  tenant: string;
  labels: Labels;
  /** The rule in force. */
  x: number;
  y: number;
  /** True when x and y were learnt from the series' history, false for the configured ones. */
  learnt: boolean;
  /** Windows observed (skipped ones included). */
  windows: number;
  /** Flagged windows among the last y. */
  flagged: number;
  /** Flap episodes recorded so far (all of them, not only the remembered ones). */
  episodes: number;
  firing: boolean;
  lastWindowStartMs: number;
}

/** One stored series' history, as MetricStore.queryFeatures returns it. */
export interface SeriesHistory {
  labels: Labels;
  windows: ReadonlyArray<{ windowStartMs: number; windowEndMs: number; row: Row }>;
}

type Row = Omit<FeatureRow, 'seriesId'>;

interface SeverityRule {
  severity: SeverityName;
  metric: RegExp | undefined;
  labels: Array<[string, RegExp]>;
}

interface KeyEntry {
  tenant: string;
  key: string;
  /** The state last found for this label object (check `dropped` before use). */
  series: Series | undefined;
}

interface Series {
  readonly key: string;
  readonly tenant: string;
  readonly labels: Labels;
  lastStartMs: number;
  stepMs: number;
  lastSeenAtMs: number;
  /**
   * Neighbours in the recency list (least recently seen first). A linked list, not the `series`
   * map's insertion order: re-inserting a key into a map of 10^5-10^6 series at every window
   * was a tenth of central's ingest time; moving a list node is a few pointer writes.
   */
  older: Series | undefined;
  newer: Series | undefined;
  /** Dropped (evicted or idle): a cached reference to it (KeyEntry.series) is stale. */
  dropped: boolean;
  /** Flag history, bit 0 = the newest window. */
  bits: number;
  windows: number;
  cleanStreak: number;
  lastFlagEndMs: number;
  // The rule in force, valid while ruleGen === the detector's generation.
  x: number;
  y: number;
  learnt: boolean;
  ruleGen: number;
  // The current episode (0 = none).
  episodeLen: number;
  episodeFired: boolean;
  episodePeakScore: number;
  /** Learning memory: [current episode's peaks][remembered episodes' peaks], MAX_Y bytes each. */
  mem: Uint8Array | undefined;
  /** Episodes recorded, remembered (<= learn.history_flaps), and the slot the next one goes to. */
  episodes: number;
  memCount: number;
  memHead: number;
  firing: Alert | undefined;
}

function popcount(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function mask(y: number): number {
  return y >= 32 ? 0xffffffff : (1 << y) - 1;
}

/** Own property even for `__proto__`. */
function put(target: Labels, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf';
  return String(Number(v.toPrecision(6)));
}

function iso(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

const FLAG_NAMES: Array<[number, string]> = Object.entries(FeatureFlags)
  .filter(([, bit]) => bit !== 0)
  .map(([name, bit]) => [bit, name.toLowerCase()]);

function flagNames(flags: number): string {
  const names = FLAG_NAMES.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
  return names.length > 0 ? names.join(',') : 'none';
}

export class DynamicXyDetector implements Component, FrameConsumer {
  private cfg!: DetectionConfig;
  private triggerMask = 0;
  private severityRules: SeverityRule[] = [];
  /** Bumped by update(): every series recomputes its rule on next use. */
  private gen = 0;
  /** Map order = least recently seen first. */
  private readonly series = new Map<string, Series>();
  /** Ends of the recency list (see Series.older). */
  private oldest: Series | undefined;
  private newest: Series | undefined;
  private readonly keyCache = new WeakMap<object, KeyEntry>();
  private outbox: Alert[] = [];
  private readonly deliveries = new Serial();
  private timer: unknown;
  private started = false;
  private stopped = false;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Wall-clock ms of the last capacity-eviction warning (logged at most once a minute). */
  private capacityWarnedAt = -Infinity;
  private learntCount = 0;

  private readonly mCandidates: BoundCounter;
  private readonly mFired: BoundCounter;
  private readonly mResolved: BoundCounter;
  private readonly mSuppressed: BoundCounter;
  private readonly mSeries: BoundGauge;
  private readonly mLearnt: BoundGauge;
  private readonly mEvicted: BoundCounter;
  private readonly mStale: BoundCounter;
  private readonly mPending: BoundGauge;
  private readonly mDropped: BoundCounter;
  private readonly mDeliveryFailures: BoundCounter;

  constructor(
    private readonly settings: CentralSettings,
    config: DetectionConfig,
    private readonly next: AlertConsumer,
  ) {
    this.clock = settings.clock;
    this.logger = settings.logger;
    const m = settings.metrics;
    this.mCandidates = m.counter('aiops_central_detection_candidates_total', 'Series windows with Tier-1 trigger flags (candidate anomalies).');
    this.mFired = m.counter('aiops_central_detection_alerts_fired_total', 'Alerts raised: a series met its X-of-Y condition.');
    this.mResolved = m.counter('aiops_central_detection_alerts_resolved_total', 'Alerts resolved, by reason (clear, idle, evicted).', ['reason']);
    this.mSuppressed = m.counter('aiops_central_detection_flaps_suppressed_total', 'Flag episodes that ended without meeting the X-of-Y condition (suppressed flaps).');
    this.mSeries = m.gauge('aiops_central_detection_series', 'Series with detection state.');
    this.mLearnt = m.gauge('aiops_central_detection_series_learnt', 'Series whose X and Y were learnt from their history.');
    this.mEvicted = m.counter('aiops_central_detection_series_evicted_total', 'Series dropped from detection state, by reason (capacity, idle, moved: its bus partition went to another process).', ['reason']);
    this.mStale = m.counter('aiops_central_detection_windows_stale_total', 'Series windows ignored: not newer than the last one seen (resend, late frame).');
    this.mPending = m.gauge('aiops_central_detection_alerts_pending', 'Alerts waiting for the next stage (it failed).');
    this.mDropped = m.counter('aiops_central_detection_alerts_dropped_total', 'Alerts dropped: the pending outbox was full.');
    this.mDeliveryFailures = m.counter('aiops_central_detection_delivery_failures_total', 'Times the next stage refused a batch of alerts.');
    this.apply(validateDetectionConfig(config));
  }

  /** The configuration in force. */
  get config(): DetectionConfig {
    return this.cfg;
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    this.started = true;
    this.armTimer();
  }

  /** Stops the idle sweep and tries once to deliver pending alerts. Idempotent. */
  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.disarmTimer();
    try {
      await this.deliver();
    } catch (err) {
      this.logger.warn({ component: this.settings.id, pending: this.outbox.length, err: (err as Error).message }, 'alerts still pending at shutdown are lost');
    }
  }

  /**
   * Replaces the configuration at run time (PUT /api/v1/config/detection). Validates first: a bad
   * document throws DetectionConfigError and changes nothing. Series keep their history; their
   * rules are recomputed; firing alerts keep their labels until they resolve.
   */
  update(config: DetectionConfig | DetectionConfigInput): DetectionConfig {
    const cfg = validateDetectionConfig(config);
    const idleChanged = cfg.idle_timeout !== this.cfg.idle_timeout;
    this.apply(cfg);
    this.gen++;
    const out: Alert[] = [];
    while (this.series.size > cfg.max_series) this.evictOldest('capacity', out);
    if (idleChanged && this.started && !this.stopped) {
      this.disarmTimer();
      this.armTimer();
    }
    if (out.length > 0) {
      this.enqueue(out);
      this.deliver().catch((err: Error) => this.logger.warn({ component: this.settings.id, err: err.message }, 'alerts of series evicted by a configuration change are pending'));
    }
    return cfg;
  }

  async consumeFrame(frame: IngestedFrame): Promise<void> {
    if (this.stopped) throw new DynamicXyError('SHUT_DOWN', `${this.settings.id} is shut down`);
    const now = this.clock.now();
    const out: Alert[] = [];
    const rows = frame.rows;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      this.observe(frame.tenant, r.labels, frame.windowStartMs, frame.windowEndMs, r.row, now, out, false, r.evidence);
    }
    if (out.length > 0) this.enqueue(out);
    if (this.outbox.length > 0) await this.deliver();
  }

  /**
   * Rebuilds state from stored history (after a restart: MetricStore.queryFeatures output, one
   * tenant) without emitting anything: flag history, learnt rules, and which series are firing
   * (their alerts were raised before), so that their resolves still come. Returns windows applied.
   */
  prime(tenant: string, history: readonly SeriesHistory[]): number {
    const now = this.clock.now();
    const out: Alert[] = [];
    let applied = 0;
    for (const h of history) {
      for (const w of h.windows) {
        if (this.observe(tenant, h.labels, w.windowStartMs, w.windowEndMs, w.row, now, out, true)) applied++;
      }
    }
    if (out.length > 0) {
      this.enqueue(out);
      this.deliver().catch((err: Error) => this.logger.warn({ component: this.settings.id, err: err.message }, 'alerts of series evicted while priming are pending'));
    }
    return applied;
  }

  /**
   * Drops series unseen for idle_timeout (resolving their firing alerts) and delivers. Run by a
   * timer once started; returns how many series were dropped.
   */
  async sweep(): Promise<number> {
    const now = this.clock.now();
    const out: Alert[] = [];
    let dropped = 0;
    for (let s = this.oldest; s !== undefined; ) {
      if (now - s.lastSeenAtMs <= this.cfg.idle_timeout) break;
      const next = s.newer;
      this.drop(s, 'idle', out);
      dropped++;
      s = next;
    }
    if (out.length > 0) this.enqueue(out);
    if (this.outbox.length > 0) await this.deliver();
    return dropped;
  }

  /** What is known about one series, or undefined when it has no state. */
  seriesInfo(tenant: string, labels: Labels): SeriesInfo | undefined {
    const s = this.series.get(this.keyOf(tenant, labels));
    if (s === undefined) return undefined;
    this.rule(s);
    return {
      tenant: s.tenant,
      labels: { ...s.labels },
      x: s.x,
      y: s.y,
      learnt: s.learnt,
      windows: s.windows,
      flagged: popcount(s.bits & mask(s.y)),
      episodes: s.episodes,
      firing: s.firing !== undefined,
      lastWindowStartMs: s.lastStartMs,
    };
  }

  /** Totals for status pages and tests. */
  stats(): { series: number; firing: number; learnt: number; pending: number } {
    let firing = 0;
    for (const s of this.series.values()) if (s.firing !== undefined) firing++;
    return { series: this.series.size, firing, learnt: this.learntCount, pending: this.outbox.length };
  }

  // ---------------------------------------------------------------- internals

  private apply(cfg: DetectionConfig): void {
    this.cfg = cfg;
    this.triggerMask = cfg.trigger_flags.reduce((m, name) => m | TRIGGER_FLAGS[name], 0);
    this.severityRules = cfg.severity.rules.map((r) => ({
      severity: r.severity,
      metric: r.metric === undefined ? undefined : new RegExp(`^(?:${r.metric})$`),
      labels: Object.entries(r.labels).map(([k, v]) => [k, new RegExp(`^(?:${v})$`)] as [string, RegExp]),
    }));
  }

  private armTimer(): void {
    const every = Math.min(60_000, Math.max(1000, Math.floor(this.cfg.idle_timeout / 4)));
    const t = this.clock.setInterval(() => {
      this.sweep().catch((err: Error) => this.logger.warn({ component: this.settings.id, err: err.message }, 'idle sweep could not deliver alerts'));
    }, every);
    t.unref?.();
    this.timer = t;
  }

  private disarmTimer(): void {
    if (this.timer !== undefined) this.clock.clearInterval(this.timer);
    this.timer = undefined;
  }

  private keyOf(tenant: string, labels: Labels): string {
    return this.keyEntry(tenant, labels).key;
  }

  /**
   * The key of a label set, cached per label object (the frame decoder hands one frozen object
   * per series and connection), with the series state last found for it: a window of a known
   * series then costs one WeakMap lookup, not a key lookup in a map of every series.
   */
  private keyEntry(tenant: string, labels: Labels): KeyEntry {
    const c = this.keyCache.get(labels);
    if (c !== undefined && c.tenant === tenant) return c;
    // JSON-quoted tenant then the canonical key: injective over (tenant, label set).
    const key = JSON.stringify(tenant) + canonicalLabelKey(labels);
    const entry: KeyEntry = { tenant, key, series: undefined };
    this.keyCache.set(labels, entry);
    return entry;
  }

  /** Applies one window of one series; false when the window was stale. */
  private observe(tenant: string, labels: Labels, startMs: number, endMs: number, row: Row, now: number, out: Alert[], silent: boolean, evidence?: Readonly<Record<string, string>>): boolean {
    const entry = this.keyEntry(tenant, labels);
    const key = entry.key;
    let s = entry.series !== undefined && !entry.series.dropped ? entry.series : this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= this.cfg.max_series) this.evictOldest('capacity', out);
      s = {
        key,
        tenant,
        labels: { ...labels },
        lastStartMs: -Infinity,
        stepMs: endMs > startMs ? endMs - startMs : 10_000,
        lastSeenAtMs: now,
        older: undefined,
        newer: undefined,
        dropped: false,
        bits: 0,
        windows: 0,
        cleanStreak: 0,
        lastFlagEndMs: 0,
        x: this.cfg.x,
        y: this.cfg.y,
        learnt: false,
        ruleGen: -1,
        episodeLen: 0,
        episodeFired: false,
        episodePeakScore: -Infinity,
        mem: undefined,
        episodes: 0,
        memCount: 0,
        memHead: 0,
        firing: undefined,
      };
      this.series.set(key, s);
      this.link(s);
      this.mSeries.inc();
      entry.series = s;
    } else {
      entry.series = s;
      if (!(startMs > s.lastStartMs)) {
        if (!silent) this.mStale.inc();
        return false;
      }
      this.unlink(s);
      this.link(s);
      // Windows the series skipped are clean windows. Past MAX_Y + 1 of them the flag history
      // is empty and the episode over; the rest only lengthens the clean streak.
      const missed = Math.max(1, Math.round((startMs - s.lastStartMs) / s.stepMs)) - 1;
      const walk = Math.min(missed, MAX_Y + 1);
      for (let i = missed; i > missed - walk; i--) this.step(s, false, startMs - i * s.stepMs, endMs - i * s.stepMs, undefined, out, silent);
      if (missed > walk) {
        const before = s.windows;
        s.windows += missed - walk;
        s.cleanStreak += missed - walk;
        if (before < this.cfg.learn.min_history && s.windows >= this.cfg.learn.min_history) s.ruleGen = -1;
        if (s.firing !== undefined && s.cleanStreak >= this.resolveAfter(s)) this.resolve(s, 'clear', out, silent);
      }
    }
    if (endMs > startMs) s.stepMs = endMs - startMs;
    s.lastStartMs = startMs;
    s.lastSeenAtMs = now;
    const flagged = (row.flags & this.triggerMask) !== 0 && (row.flags & FeatureFlags.WARMING_UP) === 0;
    if (flagged && !silent) this.mCandidates.inc();
    this.step(s, flagged, startMs, endMs, row, out, silent, evidence);
    return true;
  }

  private step(s: Series, flagged: boolean, startMs: number, endMs: number, row: Row | undefined, out: Alert[], silent: boolean, evidence?: Readonly<Record<string, string>>): void {
    s.bits = ((s.bits << 1) | (flagged ? 1 : 0)) >>> 0;
    s.windows++;
    if (s.windows === this.cfg.learn.min_history) s.ruleGen = -1;
    if (flagged) {
      s.cleanStreak = 0;
      s.lastFlagEndMs = endMs;
      if (s.episodeLen === 0) this.beginEpisode(s);
      s.episodeLen++;
      const score = row === undefined ? NaN : row.tier1MaxScore;
      if (score > s.episodePeakScore) s.episodePeakScore = score;
      if (this.cfg.learn.enabled) this.trackPeaks(s);
    } else {
      s.cleanStreak++;
      if (s.episodeLen > 0) s.episodeLen++;
    }
    this.rule(s);
    if (flagged && s.firing === undefined && row !== undefined) {
      const n = popcount(s.bits & mask(s.y));
      if (n >= s.x) this.fire(s, startMs, endMs, row, n, out, silent, evidence);
    } else if (s.firing !== undefined && s.cleanStreak >= this.resolveAfter(s)) {
      this.resolve(s, 'clear', out, silent);
    }
    if (s.episodeLen > 0 && (s.bits === 0 || s.episodeLen >= MAX_EPISODE_WINDOWS)) this.endEpisode(s, silent);
  }

  private resolveAfter(s: Series): number {
    return this.cfg.resolve_after ?? s.y;
  }

  private beginEpisode(s: Series): void {
    s.episodeFired = s.firing !== undefined;
    s.episodePeakScore = -Infinity;
    if (s.mem !== undefined) s.mem.fill(0, 0, MAX_Y);
  }

  /** Raises the current episode's peaks with the flag counts of the last 1..MAX_Y windows. */
  private trackPeaks(s: Series): void {
    const m = this.memOf(s);
    const b = s.bits;
    let c = 0;
    for (let i = 0; i < MAX_Y; i++) {
      c += (b >>> i) & 1;
      if (c > m[i]!) m[i] = c;
    }
  }

  /** The series' learning memory sized for learn.history_flaps, keeping the newest episodes on a resize. */
  private memOf(s: Series): Uint8Array {
    const cap = this.cfg.learn.history_flaps;
    const old = s.mem;
    if (old !== undefined && old.length === (1 + cap) * MAX_Y) return old;
    const mem = new Uint8Array((1 + cap) * MAX_Y);
    if (old !== undefined) {
      mem.set(old.subarray(0, MAX_Y), 0);
      const oldCap = old.length / MAX_Y - 1;
      const keep = Math.min(s.memCount, cap);
      for (let i = 0; i < keep; i++) {
        const from = (((s.memHead - keep + i) % oldCap) + oldCap) % oldCap;
        mem.set(old.subarray((1 + from) * MAX_Y, (2 + from) * MAX_Y), (1 + i) * MAX_Y);
      }
      s.memCount = keep;
      s.memHead = keep % cap;
    }
    s.mem = mem;
    return mem;
  }

  private endEpisode(s: Series, silent: boolean): void {
    if (!s.episodeFired && !silent) this.mSuppressed.inc();
    if (this.cfg.learn.enabled && s.mem !== undefined) {
      const m = this.memOf(s);
      const cap = this.cfg.learn.history_flaps;
      m.copyWithin((1 + s.memHead) * MAX_Y, 0, MAX_Y);
      s.memHead = (s.memHead + 1) % cap;
      s.memCount = Math.min(s.memCount + 1, cap);
      s.episodes++;
      s.ruleGen = -1;
    }
    s.episodeLen = 0;
    s.episodeFired = s.firing !== undefined;
  }

  /** Brings the series' rule up to date (learnt when it can be, otherwise the configured one). */
  private rule(s: Series): void {
    if (s.ruleGen === this.gen) return;
    s.ruleGen = this.gen;
    const c = this.cfg;
    const wasLearnt = s.learnt;
    s.x = c.x;
    s.y = c.y;
    s.learnt = false;
    const learnt = c.learn.enabled && s.mem !== undefined && s.windows >= c.learn.min_history ? this.learn(s) : undefined;
    if (learnt !== undefined) {
      s.x = learnt.x;
      s.y = learnt.y;
      s.learnt = true;
    }
    if (wasLearnt !== s.learnt) {
      this.learntCount += s.learnt ? 1 : -1;
      this.mLearnt.set(this.learntCount);
    }
  }

  /** The learning rule of the file header, or undefined when the history cannot decide. */
  private learn(s: Series): { x: number; y: number } | undefined {
    const c = this.cfg;
    const m = this.memOf(s);
    const xMax = Math.min(c.learn.x.max, MAX_Y);
    // Remembered episodes that are flaps: no run of xMax consecutive flags (peak(xMax) < xMax).
    const flaps: number[] = [];
    for (let e = 0; e < s.memCount; e++) {
      const base = (1 + e) * MAX_Y;
      if (m[base + xMax - 1]! < xMax) flaps.push(base);
    }
    if (flaps.length < c.learn.min_flaps) return undefined;
    // Distribution-free (conformal) bound: if k of n exchangeable past flaps reach X, a new flap
    // does with probability <= (k + 1) / (n + 1). Keep that <= 1 - suppress; when n is too small
    // for the target, suppress every remembered flap (k = 0).
    const allowed = Math.max(0, Math.floor((1 - c.learn.suppress) * (flaps.length + 1) - 1 + 1e-9));
    const density = c.x / c.y;
    const xFrom = c.learn.loosen ? c.learn.x.min : Math.max(c.learn.x.min, c.x);
    for (let x = xFrom; x <= xMax; x++) {
      const yHi = Math.min(c.learn.y.max, Math.floor(x / density + 1e-9));
      const yLo = Math.max(x, c.learn.y.min);
      for (let y = yHi; y >= yLo; y--) {
        let fires = 0;
        for (let i = 0; i < flaps.length && fires <= allowed; i++) if (m[flaps[i]! + y - 1]! >= x) fires++;
        if (fires <= allowed) return { x, y };
      }
    }
    return undefined;
  }

  private fire(s: Series, startMs: number, endMs: number, row: Row, flaggedCount: number, out: Alert[], silent: boolean, evidence?: Readonly<Record<string, string>>): void {
    const inWindow = s.bits & mask(s.y);
    const oldest = 31 - Math.clz32(inWindow);
    const startsAtMs = startMs - oldest * s.stepMs;
    const labels = this.alertLabels(s);
    const metric = s.labels['__name__'] ?? '';
    const where = [s.labels['host'] !== undefined ? `host ${s.labels['host']}` : '', s.labels['service'] !== undefined ? `service ${s.labels['service']}` : ''].filter((p) => p !== '').join(', ');
    const annotations: Labels = {
      summary: `${metric || 'series'} anomalous${where ? ` on ${where}` : ''}: ${flaggedCount} of the last ${s.y} windows flagged`,
      description:
        `${flaggedCount} of the last ${s.y} feature windows carried Tier-1 flags (${s.x} needed, ${s.learnt ? 'rule learnt from this series\' history' : 'configured rule'}). ` +
        `Last value ${num(row.last)}, expected band [${num(row.bandLower)}, ${num(row.bandUpper)}], Tier-1 score ${num(row.tier1MaxScore)}.`,
      value_last: num(row.last),
      value_mean: num(row.mean),
      value_min: num(row.min),
      value_max: num(row.max),
      value_p95: num(row.p95),
      band_lower: num(row.bandLower),
      band_upper: num(row.bandUpper),
      tier1_max_score: num(row.tier1MaxScore),
      tier1_peak_score: num(s.episodePeakScore),
      flags: flagNames(row.flags),
      x: String(s.x),
      y: String(s.y),
      xy_source: s.learnt ? 'learnt' : 'config',
      flagged_windows: String(flaggedCount),
      window_start: iso(startsAtMs),
      window_end: iso(endMs),
      ...(evidence ?? {}),
    };
    const alert: Alert = {
      status: 'firing',
      labels,
      annotations,
      startsAtMs,
      endsAtMs: 0,
      generatorUrl: '',
      fingerprint: alertFingerprint(labels),
      tenant: s.tenant,
      source: DYNAMIC_XY_SOURCE,
    };
    s.firing = alert;
    s.episodeFired = true;
    if (silent) return;
    this.mFired.inc();
    out.push(alert);
  }

  private resolve(s: Series, reason: ResolveReason, out: Alert[], silent: boolean): void {
    const f = s.firing;
    if (f === undefined) return;
    s.firing = undefined;
    if (silent) return;
    const endsAtMs = Math.max(f.startsAtMs, s.lastFlagEndMs);
    out.push({ ...f, status: 'resolved', endsAtMs, annotations: { ...f.annotations, resolved_reason: reason, resolved_after_clean_windows: String(s.cleanStreak) } });
    this.mResolved.inc(1, { reason });
  }

  private alertLabels(s: Series): Labels {
    const src = s.labels;
    const out: Labels = {};
    for (const k of Object.keys(src)) if (k !== '__name__') put(out, k, src[k]!);
    // Our labels win; a series label of the same name with another value is kept as exported_<name>.
    const set = (k: string, v: string): void => {
      if (v === '') return;
      if (Object.hasOwn(out, k) && out[k] !== v) put(out, `exported_${k}`, out[k]!);
      put(out, k, v);
    };
    set('alertname', this.cfg.alertname);
    set('metric', src['__name__'] ?? '');
    set('severity', this.severityOf(src));
    set('tenant', s.tenant);
    if (!Object.hasOwn(out, 'namespace') && src['k8s_namespace'] !== undefined) put(out, 'namespace', src['k8s_namespace']);
    if (!Object.hasOwn(out, 'pod') && src['k8s_pod'] !== undefined) put(out, 'pod', src['k8s_pod']);
    return out;
  }

  private severityOf(labels: Labels): SeverityName {
    const name = labels['__name__'] ?? '';
    for (const r of this.severityRules) {
      if (r.metric !== undefined && !r.metric.test(name)) continue;
      if (r.labels.every(([k, re]) => labels[k] !== undefined && re.test(labels[k]!))) return r.severity;
    }
    return this.cfg.severity.default;
  }

  private evictOldest(reason: 'capacity', out: Alert[]): void {
    if (this.oldest === undefined) return;
    this.drop(this.oldest, reason, out);
    const now = Date.now();
    if (now - this.capacityWarnedAt >= 60_000) {
      this.capacityWarnedAt = now;
      this.logger.warn(
        { component: this.settings.id, max_series: this.cfg.max_series },
        'detection is at max_series: the least recently seen series are evicted and lose their X-of-Y history; raise detection.max_series (see aiops_central_detection_series_evicted_total)',
      );
    }
  }

  /** Appends a series to the recency list as the most recently seen. */
  private link(s: Series): void {
    s.older = this.newest;
    s.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = s;
    else this.oldest = s;
    this.newest = s;
  }

  private unlink(s: Series): void {
    if (s.older !== undefined) s.older.newer = s.newer;
    else this.oldest = s.newer;
    if (s.newer !== undefined) s.newer.older = s.older;
    else this.newest = s.older;
    s.older = s.newer = undefined;
  }

  /**
   * Drops the state of the series `which` selects without emitting anything: they moved to
   * another process (their bus partition was reassigned), which carries on their episodes, so
   * a resolve from here (on idle) would contradict it. Returns how many were dropped.
   */
  forget(which: (tenant: string, labels: Labels) => boolean): number {
    let n = 0;
    for (const s of [...this.series.values()]) {
      if (!which(s.tenant, s.labels)) continue;
      this.drop(s, 'moved', []);
      n++;
    }
    return n;
  }

  private drop(s: Series, reason: 'capacity' | 'idle' | 'moved', out: Alert[]): void {
    if (s.firing !== undefined && reason !== 'moved') this.resolve(s, reason === 'idle' ? 'idle' : 'evicted', out, false);
    if (s.learnt) {
      this.learntCount--;
      this.mLearnt.set(this.learntCount);
    }
    this.series.delete(s.key);
    this.unlink(s);
    s.dropped = true;
    this.mSeries.dec();
    this.mEvicted.inc(1, { reason });
  }

  private enqueue(alerts: readonly Alert[]): void {
    for (const a of alerts) this.outbox.push(a);
    this.trimOutbox();
  }

  private trimOutbox(): void {
    const over = this.outbox.length - this.cfg.max_pending;
    if (over > 0) {
      this.outbox.splice(0, over);
      this.mDropped.inc(over);
      this.logger.warn({ component: this.settings.id, dropped: over, pending: this.outbox.length }, 'alert outbox full: oldest alerts dropped');
    }
    this.mPending.set(this.outbox.length);
  }

  /** Sends everything pending, one batch at a time and in order; rejects when `next` failed (kept for the next try). */
  private deliver(): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.outbox.length === 0) return;
      const batch = this.outbox;
      this.outbox = [];
      this.mPending.set(0);
      try {
        await this.next.consumeAlerts(batch);
      } catch (err) {
        this.outbox = batch.concat(this.outbox);
        this.trimOutbox();
        this.mDeliveryFailures.inc();
        throw new DynamicXyError('DELIVERY_FAILED', `the next stage refused ${batch.length} alert(s), kept for the next frame: ${(err as Error).message}`, true, { cause: err });
      }
    };
    return this.deliveries.run(run);
  }
}
