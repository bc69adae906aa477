// The chain in the live detect path (issue #7, Deliver 6): alerts come from confirmed anomalies.
// Sits in front of the Dynamic X-Y detector. For every feature row it keeps the series' recent
// window means (a ring of `history` windows), profiles the series every `profileEvery` windows,
// scores the window with the served Tier-2 model and, for seasonal series, Tier-3 (through the
// ModelServer's batchers, so the rows of concurrent frames share ONNX runs), judges each
// residual against the series' own record (NoveltyRecord), and combines the stages as the
// replay does (chainScores). A row Tier-1 flagged whose chain score stays under `threshold` is
// not confirmed: its trigger flags are cleared before the X-Y detector counts it, so it cannot
// raise an alert. A confirmation holds for the episode: the series' following Tier-1 flags are
// kept while they keep coming (each extends the hold by `episodeHold` windows). This matters
// because the X-Y rule needs several flagged windows, while the chain's novelty stage scores a
// persisting anomaly high only at its start (its own record then holds the jump, and Agile
// re-anchors on a new level within a few windows): judged window by window, the second and
// third windows of a real incident would not be confirmed. Every scored row carries the stages' scores and decisions as evidence, which
// the detector puts on the alert, with the route and the profile's reasons for it. A series
// still warming up passes with its Tier-1 flags (Tier-1 alone), marked chain_state "warming up",
// as does everything when the models cannot score (refused, failed: counted, logged once per
// minute), so detection degrades to Tier-1 rather than stopping.
//
// Multivariate (Tier-3, when a trained bundle is in production): the rows of one frame that
// belong to one instance of a service the bundle knows (same labels apart from `__name__`) form
// that service's window; when every metric of the service's model is there, the window is
// scored in the same batch as the frame's other rows. A window scoring at least
// `multivariateThreshold` is an anomaly in its own right - the metrics' relation broke, whether
// or not a single series shows it: the row of the metric carrying most of the error gets the
// ANOMALY flag (so the X-Y rule counts it) and the evidence (score, metric, share, model).
//
// Canary: series in the canary share are scored by the canary model when one is promoted.
// Shadows: every shadow model scores the same rows; their scores are recorded in
// aiops_central_model_shadow_score and never change a flag.
import { FeatureFlags } from '../../../../shared-schemas/src/index.js';
import type { Labels } from '../../../../shared-schemas/src/index.js';
import type { BoundCounter, ComponentMetrics, Logger } from '../../../../shared-schemas/src/runtime/index.js';
import type { FrameConsumer, IngestedFrame } from '../../component.js';
import { featureRecordKey } from '../../pipeline/feature-records.js';
import type { AgileParams } from '../agile/index.js';
import { profileSeries } from '../profile/index.js';
import type { Route } from '../profile/index.js';
import type { RobustParams } from '../robust/index.js';
import { bundleWidth } from '../multivariate/index.js';
import type { MultivariateBundle } from '../multivariate/index.js';
import type { LoadedModel, ModelServer } from '../serving/index.js';
import { chainScores, CHAIN_DEFAULTS } from './chain.js';
import type { ChainParams } from './chain.js';
import { NoveltyRecord } from './novelty.js';

export interface ConfirmerOptions {
  server: ModelServer;
  next: FrameConsumer & { prime?: (tenant: string, history: ReadonlyArray<{ labels: Labels; windows: ReadonlyArray<{ windowStartMs: number; windowEndMs: number; row: IngestedFrame['rows'][number]['row'] }> }>) => number; forget?: (which: (tenant: string, labels: Labels) => boolean) => number };
  logger: Logger;
  metrics: ComponentMetrics;
  /** Chain score a Tier-1 flag needs to be confirmed. Default 0.224 (NAB's standard optimum, bench/RESULTS.md). */
  threshold?: number;
  chain?: ChainParams;
  /** Windows kept per series. Default 512. */
  history?: number;
  /** Multivariate score at which a service window is an anomaly. Default 0.5 (the score of the training windows' 99th percentile error). */
  multivariateThreshold?: number;
  /** Windows a confirmation holds for the series' following Tier-1 flags, extended by each. Default 30. */
  episodeHold?: number;
  /** Series tracked at most; beyond, new series pass unchanged (counted). Default 100,000. */
  maxSeries?: number;
  profileEvery?: number;
  minSamples?: number;
  maxPeriod?: number;
}

interface SeriesState {
  tenant: string;
  labels: Labels;
  values: Float64Array;
  /** Values written (the ring's newest is at (count - 1) % size). */
  count: number;
  route: Route;
  period: number;
  /** Why the profile routed the series so (the anomaly's evidence). */
  reasons: string;
  profiledAt: number;
  agile: NoveltyRecord;
  robust: NoveltyRecord;
  /** Tier-1 flags are kept up to this window count (a confirmed episode). */
  confirmedUntil: number;
}

const TRIGGER = FeatureFlags.ANOMALY | FeatureFlags.BAND_BREACH;

type Row = IngestedFrame['rows'][number];

/** A service window the multivariate model found anomalous: which row gets the flag, and why. */
interface MultivariateHit {
  row: number;
  evidence: Record<string, string>;
}

export class ChainConfirmer implements FrameConsumer {
  private readonly series = new Map<string, SeriesState>();
  private readonly size: number;
  private readonly threshold: number;
  private readonly chain: ChainParams;
  private readonly decisions: BoundCounter;
  private readonly vetoed: BoundCounter;
  private readonly untracked: BoundCounter;
  private readonly failures: BoundCounter;
  private readonly shadowScore;
  private readonly mvWindows: BoundCounter;
  private lastFailureLog = 0;

  constructor(private readonly o: ConfirmerOptions) {
    this.size = o.history ?? 512;
    this.threshold = o.threshold ?? 0.224;
    this.chain = o.chain ?? CHAIN_DEFAULTS;
    const m = o.metrics;
    this.decisions = m.counter('aiops_central_chain_rows_total', 'Feature rows through the detection chain, by the stages\' decision.', ['decision']);
    this.vetoed = m.counter('aiops_central_chain_unconfirmed_flags_total', 'Tier-1 flags the chain did not confirm (cleared before the X-Y rule).');
    this.untracked = m.counter('aiops_central_chain_untracked_rows_total', 'Rows of series beyond the chain\'s series limit (passed on with their Tier-1 flags).');
    this.failures = m.counter('aiops_central_chain_failures_total', 'Rows the models could not score (passed on with their Tier-1 flags).');
    this.mvWindows = m.counter('aiops_central_multivariate_windows_total', 'Service windows the multivariate model saw, by outcome (normal, anomaly, incomplete: a metric of the model missing from the frame).', ['outcome']);
    this.shadowScore = m.histogram('aiops_central_model_shadow_score', 'Window scores of shadow models (recorded, never alerting).', [0.1, 0.25, 0.5, 0.75, 0.9, 0.99], ['tier', 'version']);
  }

  /** Series whose history the chain holds. */
  get tracked(): number {
    return this.series.size;
  }

  async consumeFrame(frame: IngestedFrame): Promise<void> {
    const hits = this.multivariate(frame);
    const pending = frame.rows.map((r) => this.confirm(frame.tenant, r));
    // Every row of the frame is submitted by now (confirm and multivariate submit before their first await).
    this.o.server.flush();
    const rows = await Promise.all(pending);
    for (const h of await hits) {
      const r = rows[h.row]!;
      rows[h.row] = { ...r, row: { ...r.row, flags: r.row.flags | FeatureFlags.ANOMALY }, evidence: { ...r.evidence, ...h.evidence } };
    }
    await this.o.next.consumeFrame({ ...frame, rows });
  }

  /** Scores the frame's complete service windows with the multivariate bundle (production and shadows). */
  private async multivariate(frame: IngestedFrame): Promise<MultivariateHit[]> {
    const model = this.o.server.model('multivariate');
    const shadows = this.o.server.shadows('multivariate');
    if (model === undefined && shadows.length === 0) return [];
    const scored: Array<Promise<MultivariateHit | undefined>> = [];
    for (const m of [...(model ? [model] : []), ...shadows]) {
      const bundle = m.params as MultivariateBundle;
      const width = bundleWidth(bundle).metrics;
      const windows = new Map<string, { svc: number; rows: Int32Array }>();
      frame.rows.forEach((r, i) => {
        const service = r.labels['service'];
        const svc = service === undefined ? undefined : m.services?.get(service);
        if (svc === undefined) return;
        const at = bundle.services[svc]!.params.metrics.indexOf(r.labels['__name__'] ?? '');
        if (at < 0) return;
        const { __name__: _, ...instance } = r.labels;
        const key = featureRecordKey(frame.tenant, instance);
        let w = windows.get(key);
        if (w === undefined) {
          w = { svc, rows: new Int32Array(bundle.services[svc]!.params.metrics.length).fill(-1) };
          windows.set(key, w);
        }
        w.rows[at] = i;
      });
      for (const w of windows.values()) {
        const p = bundle.services[w.svc]!;
        const x = new Float32Array(width);
        let complete = true;
        w.rows.forEach((i, k) => {
          const v = i < 0 ? NaN : frame.rows[i]!.row.mean;
          if (!Number.isFinite(v)) complete = false;
          x[k] = v;
        });
        if (!complete) {
          if (m.stage === 'production') this.mvWindows.inc(1, { outcome: 'incomplete' });
          continue;
        }
        const out = m.batcher.submit({ x, svc: Float32Array.of(w.svc) });
        if (m.stage === 'shadow') {
          scored.push(out.then((o) => void this.shadowScore.observe(o['score']!, { tier: m.tier, version: String(m.version) }), () => undefined));
          continue;
        }
        scored.push(
          out.then(
            (o) => {
              const score = o['score']!;
              const anomaly = score >= (this.o.multivariateThreshold ?? 0.5);
              this.mvWindows.inc(1, { outcome: anomaly ? 'anomaly' : 'normal' });
              if (!anomaly) return undefined;
              const top = Math.min(p.params.metrics.length - 1, Math.max(0, Math.round(o['top']!)));
              return {
                row: w.rows[top]!,
                evidence: {
                  tier3_multivariate_score: score.toFixed(3),
                  tier3_multivariate_threshold: String(this.o.multivariateThreshold ?? 0.5),
                  tier3_multivariate_service: p.service,
                  tier3_multivariate_metric: p.params.metrics[top]!,
                  tier3_multivariate_share: o['share']!.toFixed(3),
                  tier3_multivariate_model: `multivariate v${m.version}`,
                  chain_decision: 'tier3-multivariate: the service\'s metrics left their usual relation',
                },
              };
            },
            (err: Error) => {
              this.failed(err);
              return undefined;
            },
          ),
        );
      }
    }
    return (await Promise.all(scored)).filter((h): h is MultivariateHit => h !== undefined);
  }

  private failed(err: Error): void {
    this.failures.inc();
    const now = Date.now();
    if (now - this.lastFailureLog > 60_000) {
      this.lastFailureLog = now;
      this.o.logger.warn({ err: err.message }, 'Tier-2/3 could not score rows: they pass on with their Tier-1 flags');
    }
  }

  prime(tenant: string, history: ReadonlyArray<{ labels: Labels; windows: ReadonlyArray<{ windowStartMs: number; windowEndMs: number; row: IngestedFrame['rows'][number]['row'] }> }>): number {
    for (const h of history) {
      const s = this.state(tenant, h.labels);
      if (s === undefined) continue;
      for (const w of h.windows) this.push(s, w.row.mean);
    }
    return this.o.next.prime?.(tenant, history) ?? 0;
  }

  forget(which: (tenant: string, labels: Labels) => boolean): number {
    const n = this.o.next.forget?.(which) ?? 0;
    for (const [key, s] of this.series) if (which(s.tenant, s.labels)) this.series.delete(key);
    return n;
  }

  private state(tenant: string, labels: Labels, key = featureRecordKey(tenant, labels)): SeriesState | undefined {
    let s = this.series.get(key);
    if (s === undefined) {
      if (this.series.size >= (this.o.maxSeries ?? 100_000)) return undefined;
      s = { tenant, labels: { ...labels }, values: new Float64Array(this.size), count: 0, route: 'tier1', period: 0, reasons: '', profiledAt: 0, agile: new NoveltyRecord(300), robust: new NoveltyRecord(300), confirmedUntil: 0 };
      this.series.set(key, s);
    }
    return s;
  }

  private push(s: SeriesState, v: number): void {
    const last = s.count > 0 ? s.values[(s.count - 1) % this.size]! : 0;
    s.values[s.count % this.size] = Number.isFinite(v) ? v : last;
    s.count++;
  }

  /** Writes the last n values before the newest `skip`, oldest first, into out at offset (n <= size, n <= count). */
  private copyLast<A extends Float32Array | Float64Array>(s: SeriesState, out: A, n: number, skip = 0, offset = 0): A {
    const end = s.count - skip;
    for (let i = 0; i < n; i++) out[offset + i] = s.values[(end - n + i) % this.size]!;
    return out;
  }

  private async confirm(tenant: string, r: Row): Promise<Row> {
    const key = featureRecordKey(tenant, r.labels);
    const s = this.state(tenant, r.labels, key);
    if (s === undefined) {
      this.untracked.inc();
      return r;
    }
    this.push(s, r.row.mean);
    const held = Math.min(s.count, this.size);
    const minSamples = this.o.minSamples ?? 96;
    if (s.count >= minSamples && (s.profiledAt === 0 || s.count - s.profiledAt >= (this.o.profileEvery ?? 500))) {
      const p = profileSeries(this.copyLast(s, new Float64Array(held), held), { minSamples, maxPeriod: Math.min(this.o.maxPeriod ?? 160, Math.floor(held / 3)) });
      s.route = p.route;
      s.period = p.period ?? 0;
      s.reasons = p.reasons.join('; ');
      s.profiledAt = s.count;
    }
    if (s.route === 'tier1') {
      this.decisions.inc(1, { decision: 'tier1-only' });
      // Visible on the alert: Tier-1 alone decided, and why (still warming up, or so profiled).
      const state = s.count < minSamples ? `warming up: ${s.count} of ${minSamples} windows` : s.reasons;
      return { ...r, evidence: { ...r.evidence, chain_route: 'tier1', chain_state: state } };
    }
    const canary = this.o.server.model('agile', 'canary') !== undefined && this.o.server.inCanary(key);
    const stage = canary ? 'canary' : 'production';
    const agile = this.o.server.model('agile', stage) ?? this.o.server.model('agile');
    const robust = this.o.server.model('robust', stage) ?? this.o.server.model('robust');
    if (agile === undefined || robust === undefined) return r;
    try {
      const aRow = this.agileRow(s, agile.params as AgileParams);
      const wantRobust = s.route === 'both' || s.route === 'robust' || this.chain.tier3ForAll;
      const rRow = wantRobust ? this.robustRow(s, robust.params as RobustParams) : undefined;
      if (aRow === undefined) {
        this.decisions.inc(1, { decision: 'tier1-only' });
        return r;
      }
      const [ao, ro] = await Promise.all([agile.batcher.submit(aRow), rRow ? robust.batcher.submit(rRow) : Promise.resolve(undefined)]);
      for (const sh of this.o.server.shadows('agile')) void this.shadow(sh, aRow);
      if (rRow) for (const sh of this.o.server.shadows('robust')) void this.shadow(sh, rRow);
      const ap = agile.params as AgileParams;
      const rp = robust.params as RobustParams;
      const s2 = s.agile.score(ao['r']!, ap.k, ap.novelty.multiplier);
      const s3 = ro ? s.robust.score(ro['r']!, rp.k, rp.novelty.multiplier) : 0;
      const flagged = (r.row.flags & TRIGGER) !== 0;
      // A band breach flags the window even when the samples' scores stayed low: Tier-1 said so.
      const raw = Math.min(1, Math.max(0, Number.isFinite(r.row.tier1MaxScore) ? r.row.tier1MaxScore : 0));
      const s1 = flagged ? Math.max(raw, this.chain.tier1Flag) : raw;
      const res = chainScores(Float64Array.of(s1), { tier2: Float64Array.of(s2), tier3: Float64Array.of(s3), route: [rRow ? (s.route === 'agile' ? 'both' : s.route) : 'agile'], period: Int32Array.of(s.period) }, this.chain);
      const score = res.score[0]!;
      const decision = res.decision[0]!;
      this.decisions.inc(1, { decision });
      const inEpisode = s.count <= s.confirmedUntil;
      const confirmed = score >= this.threshold || (flagged && inEpisode);
      if (flagged && confirmed) s.confirmedUntil = s.count + (this.o.episodeHold ?? 30);
      const evidence: Record<string, string> = {
        chain_score: score.toFixed(3),
        chain_threshold: String(this.threshold),
        chain_decision: score < this.threshold && inEpisode ? `${decision}, within a confirmed episode` : decision,
        chain_route: s.route,
        chain_period: String(s.period),
        chain_route_reason: s.reasons,
        tier2_score: s2.toFixed(3),
        tier2_expected: ao['expected']!.toPrecision(6),
        tier2_band: `[${ao['lower']!.toPrecision(6)}, ${ao['upper']!.toPrecision(6)}]`,
        tier2_model: `agile v${agile.version}${agile.stage === 'canary' ? ' (canary)' : ''}`,
        ...(ro ? { tier3_score: s3.toFixed(3), tier3_expected: ro['expected']!.toPrecision(6), tier3_model: `robust v${robust.version}${robust.stage === 'canary' ? ' (canary)' : ''}` } : {}),
      };
      if (flagged && !confirmed) {
        this.vetoed.inc();
        return { ...r, row: { ...r.row, flags: r.row.flags & ~TRIGGER }, evidence };
      }
      return { ...r, evidence };
    } catch (err) {
      this.failed(err as Error);
      return r;
    }
  }

  private agileRow(s: SeriesState, p: AgileParams): Record<string, Float32Array> | undefined {
    const W = p.window;
    const held = Math.min(s.count, this.size);
    if (held < W) return undefined;
    const x = this.copyLast(s, new Float32Array(W), W);
    const P = s.period;
    if (P > 0 && held >= P + W) return { x, xs: this.copyLast(s, new Float32Array(W), W, P), seasonal: Float32Array.of(1) };
    return { x, xs: x, seasonal: Float32Array.of(0) };
  }

  private robustRow(s: SeriesState, p: RobustParams): Record<string, Float32Array> | undefined {
    const L = p.window;
    const C = p.cycles;
    const held = Math.min(s.count, this.size);
    if (held < L) return undefined;
    const cycles = new Float32Array((C + 1) * L);
    this.copyLast(s, cycles, L);
    const P = s.period;
    const seasonal = P > 0 && held >= C * P + L;
    if (seasonal) for (let c = 1; c <= C; c++) this.copyLast(s, cycles, L, c * P, c * L);
    return { cycles, seasonal: Float32Array.of(seasonal ? 1 : 0) };
  }

  private async shadow(m: LoadedModel, row: Record<string, Float32Array>): Promise<void> {
    try {
      const out = await m.batcher.submit(row);
      this.shadowScore.observe(out['score']!, { tier: m.tier, version: String(m.version) });
    } catch {
      // A shadow that cannot score changes nothing; its metrics show the gap.
    }
  }
}
