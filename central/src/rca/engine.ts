// The root-cause engine (issue #9, Deliver 1). Pure: a case in, ranked causes out.
//
// 1. Robust deviation. Every series is scaled against its own history before the detection
//    time (median and interquartile range, as BARO does), leaving out the last `guard` before
//    detection so that an onset just before it is found rather than learnt as normal. A metric's
//    score is its largest sustained deviation (median of three neighbouring points, so a single
//    spike does not count), its onset the first sustained crossing of `onset_score`.
// 2. Explaining away along the topology, by onset order. An anomaly that travels from a
//    dependency to its dependents (latency, errors) is explained when a dependency, or the
//    entity's own saturated resource, deviated no later; load travels the other way (a caller's
//    traffic is its callees' load); a service's resource use is explained by its own load; a
//    host's by the services running on it; an endpoint seen only through its callers (a load
//    balancer's client-side view) by the instrumented entity that moved with it. What is left
//    unexplained is where the trouble starts. Explained deviations keep `explained_weight` of
//    their score, so symptoms still rank after the causes; a standing condition that did not
//    change during the incident keeps at most `min_score`.
// 3. The causal DAG, pruned and oriented by Granger tests (first differences, lag by BIC,
//    Benjamini-Hochberg over all tests of the analysis): a significant dependency -> dependent
//    test makes an explanation certain; where a pair has the rows for power, an explanation the
//    data run only the other way is pruned, and same-class deviations at both ends of a topology
//    edge the class rules leave unexplained are oriented by one-way tests (a backwards edge).
// 4. A posterior over the candidates: priors from the topology (entities more of the anomalous
//    ones depend on) and from recent changes (deploys, config changes shortly before the onset),
//    likelihood from the unexplained deviation.
// 5. Rules for known failure modes (rules.ts) answer with certainty when they match.
//
// Only values inside visibleRange() are read (no peeking past detection + `after`).
import type { RcaConfig } from './config.js';
import type { MetricClass, RankedCause, RankedMetric, RcaCase, RcaResult, RcaTopology } from './frame.js';
import { badDirection, metricClass, reachable } from './frame.js';
import { matchRules } from './rules.js';
import type { RuleMatch } from './rules.js';
import { benjaminiHochberg, grangerTest, percentile, sortedFinite } from './stats.js';
import { lowerBound, visibleRange } from './window.js';

/** What the engine learnt about one series. */
export interface SeriesProfile {
  readonly index: number;
  readonly entity: string;
  readonly metric: string;
  readonly cls: MetricClass;
  readonly median: number;
  readonly scale: number;
  /** Largest sustained |deviation| in scales. */
  readonly score: number;
  /** Direction of that deviation: 1 up, -1 down. */
  readonly sign: number;
  /** Frame index of the onset (first sustained crossing), -1 when none. */
  readonly onset: number;
  readonly peak: number;
  /** Had samples before detection and none after its onset: the entity stopped reporting. */
  readonly dark: boolean;
  /** Deviating from the first point of the onset search (before detection - guard): a standing condition. */
  readonly standing: boolean;
  /** A standing condition that did not worsen (by onset_score) after the onset search began. */
  readonly steady: boolean;
  /** Last finite visible value. */
  readonly last: number;
  readonly max: number;
  readonly min: number;
}

interface Explanation {
  by: SeriesProfile;
  strength: number;
  granger: number | null;
  /** An edge the Granger tests oriented against what the topology and the metric class allow. */
  oriented: boolean;
}

/** Metric classes whose deviations at both ends of a topology edge the Granger tests may orient. */
const ORIENTABLE: ReadonlySet<MetricClass> = new Set(['latency', 'errors', 'load']);

/**
 * Scaled deviations grow logarithmically past this: a near-constant baseline makes any change
 * "infinitely" unusual, and one such series must not outweigh every other piece of evidence.
 */
const Z_SOFT = 100;

function soften(z: number): number {
  const a = Math.abs(z);
  return a <= Z_SOFT ? z : Math.sign(z) * (Z_SOFT + Z_SOFT * Math.log(a / Z_SOFT));
}
/** Rows without a sample after detection before "stopped reporting" is believed (sparse series skip rows). */
const DARK_MIN_ROWS = 4;

const ISO = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.01 || a >= 1e6)) return v.toExponential(2);
  return Number(v.toFixed(a < 10 ? 3 : 1)).toString();
}

export function profileSeries(c: RcaCase, cfg: RcaConfig): { profiles: SeriesProfile[]; from: number; baseEnd: number; split: number; to: number; fromMs: number; toMs: number } {
  const r = visibleRange(c, cfg.before, cfg.after);
  const times = c.frame.timesMs;
  let baseEnd = Math.max(r.from, Math.min(r.split, lowerBound(times, c.detectedAtMs - cfg.guard)));
  if (baseEnd - r.from < 8) baseEnd = r.split;
  const profiles: SeriesProfile[] = [];
  const n = r.to - baseEnd;
  const z = new Float64Array(Math.max(0, n));
  c.frame.series.forEach((s, index) => {
    const values = s.values;
    const base = sortedFinite(values, r.from, baseEnd);
    if (base.length < 3) return;
    const coverage = base.length / Math.max(1, baseEnd - r.from);
    const median = percentile(base, 50);
    let scale = percentile(base, 75) - percentile(base, 25);
    if (!(scale > 0)) {
      let ss = 0;
      for (const v of base) ss += (v - median) * (v - median);
      scale = Math.sqrt(ss / base.length);
    }
    scale = Math.max(scale, 1e-3 * Math.abs(median), 1e-9);
    let last = NaN;
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    let seenAfter = false;
    for (let i = 0; i < n; i++) {
      const v = values[baseEnd + i]!;
      if (Number.isFinite(v)) {
        z[i] = soften((v - median) / scale);
        last = v;
        if (v > max) max = v;
        if (v < min) min = v;
        if (baseEnd + i >= r.split) seenAfter = true;
      } else z[i] = NaN;
    }
    // Sustained deviation: the median of each point and its two neighbours.
    const bad = badDirection(s.metric);
    let score = 0;
    let sign = bad === -1 ? -1 : 1;
    let peak = -1;
    const sm = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = i > 0 ? z[i - 1]! : z[i]!;
      const b = z[i]!;
      const d = i + 1 < n ? z[i + 1]! : z[i]!;
      const m = med3(a, b, d);
      sm[i] = m;
      if (Number.isFinite(m) && Math.abs(m) > score && (bad === 0 || m * bad > 0)) {
        score = Math.abs(m);
        sign = m >= 0 ? 1 : -1;
        peak = baseEnd + i;
      }
    }
    let onset = -1;
    for (let i = 0; i < n; i++) {
      const m = sm[i]!;
      if (Number.isFinite(m) && m * sign >= cfg.onset_score) {
        onset = baseEnd + i;
        break;
      }
    }
    // Stopped reporting: present in the baseline, absent from detection on (or from some point).
    let dark = false;
    if (!seenAfter && r.to - r.split >= DARK_MIN_ROWS && coverage >= 0.9 && Number.isFinite(values[baseEnd - 1]!)) {
      dark = true;
      let firstGap = r.split;
      for (let i = r.split - 1; i >= baseEnd; i--) {
        if (Number.isFinite(values[i]!)) break;
        firstGap = i;
      }
      onset = firstGap;
      peak = firstGap;
      score = Math.max(score, cfg.min_score * 2);
      sign = -1;
    }
    // Already deviating where the onset search begins: a standing condition, not this incident's start.
    const standing = !dark && onset === baseEnd && baseEnd < r.split;
    let steady = standing;
    if (standing) {
      for (let i = 1; i < n && steady; i++) if (Number.isFinite(sm[i]!) && (sm[i]! - sm[0]!) * sign >= cfg.onset_score) steady = false;
    }
    profiles.push({ index, entity: s.entity, metric: s.metric, cls: metricClass(s.metric), median, scale, score, sign, onset, peak, dark, standing, steady, last, max: max === Number.NEGATIVE_INFINITY ? NaN : max, min: min === Number.POSITIVE_INFINITY ? NaN : min });
  });
  return { profiles, from: r.from, baseEnd, split: r.split, to: r.to, fromMs: r.fromMs, toMs: r.toMs };
}

function med3(a: number, b: number, c: number): number {
  if (!Number.isFinite(a) || !Number.isFinite(c)) return b;
  if (!Number.isFinite(b)) return NaN;
  return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
}

function reverse(t: RcaTopology): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [a, deps] of t.dependsOn) for (const b of deps) {
    const l = out.get(b);
    if (l) l.push(a);
    else out.set(b, [a]);
  }
  return out;
}

function diffFilled(values: ArrayLike<number>, from: number, to: number): Float64Array {
  const n = to - from;
  const filled = new Float64Array(n);
  let last = NaN;
  for (let i = 0; i < n; i++) {
    const v = values[from + i]!;
    if (Number.isFinite(v)) last = v;
    filled[i] = last;
  }
  let first = 0;
  for (let i = 0; i < n; i++) if (Number.isFinite(filled[i]!)) { first = filled[i]!; break; }
  for (let i = 0; i < n && !Number.isFinite(filled[i]!); i++) filled[i] = first;
  const d = new Float64Array(Math.max(0, n - 1));
  for (let i = 1; i < n; i++) d[i - 1] = filled[i]! - filled[i - 1]!;
  return d;
}

export function analyze(c: RcaCase, cfg: RcaConfig): RcaResult {
  const P = profileSeries(c, cfg);
  const times = c.frame.timesMs;
  const timeOf = (i: number): number | null => (i >= 0 && i < times.length ? times[i]! : null);
  const topo = c.topology ?? { dependsOn: new Map<string, string[]>(), hosts: new Set<string>() };
  const dependents = reverse(topo);
  const anomalous = P.profiles.filter((p) => p.score >= cfg.min_score);
  const byEntity = new Map<string, SeriesProfile[]>();
  for (const p of anomalous) {
    const l = byEntity.get(p.entity);
    if (l) l.push(p);
    else byEntity.set(p.entity, [p]);
  }
  const onsetOf = (p: SeriesProfile): number => (p.onset >= 0 ? p.onset : p.peak);
  const tol = cfg.onset_tolerance;
  const observed: ReadonlySet<string> = topo.observed ?? new Set();
  /** q explains p as what p, seen only through its callers, views. */
  const isMirror = (q: SeriesProfile, p: SeriesProfile): boolean => observed.has(p.entity) && !observed.has(q.entity) && q.entity !== p.entity && q.cls === p.cls;

  // Which anomalies could explain p (before the Granger evidence).
  const candidatesFor = (p: SeriesProfile): SeriesProfile[] => {
    const out: SeriesProfile[] = [];
    const o = onsetOf(p);
    // A condition that did not change during the incident explains no deviation that began in it.
    const consider = (entities: readonly string[] | undefined, accept: (q: SeriesProfile) => boolean): void => {
      for (const e of entities ?? []) for (const q of byEntity.get(e) ?? []) if (q !== p && accept(q) && onsetOf(q) <= o + tol && (!q.steady || p.standing)) out.push(q);
    };
    const isHost = topo.hosts.has(p.entity);
    if (p.cls === 'load') {
      consider(dependents.get(p.entity), (q) => !topo.hosts.has(q.entity));
    } else if (p.cls === 'resource' || (isHost && p.cls !== 'latency' && p.cls !== 'errors')) {
      if (isHost) consider(dependents.get(p.entity), (q) => q.cls === 'resource' || q.cls === 'load');
      else consider([p.entity], (q) => q.cls === 'load' && q.sign > 0);
    } else {
      consider(topo.dependsOn.get(p.entity), (q) => q.cls !== 'load' || q.dark || q.sign < 0);
      // Its own saturated resource (CPU, memory, GC) slows it down or makes it fail.
      if (p.cls === 'latency' || p.cls === 'errors') consider([p.entity], (q) => q.cls === 'resource' && q.sign > 0);
    }
    // Seen only through its callers (a load balancer's or an external endpoint's client-side
    // view): explained by an instrumented entity that deviated the same way no later - the
    // trouble behind the endpoint, which the topology may not link to it. Not by its callers:
    // their deviation contains the call's.
    if (observed.has(p.entity)) {
      const callers = new Set(dependents.get(p.entity) ?? []);
      const others = [...byEntity.keys()].filter((e) => e !== p.entity && !observed.has(e) && !topo.hosts.has(e) && !callers.has(e));
      consider(others, (q) => q.cls === p.cls && q.sign === p.sign && !q.dark);
    }
    return out;
  };

  // The causal DAG: candidate explanations are topology edges oriented by how each metric class
  // travels; Granger tests (one family, Benjamini-Hochberg) weigh them. Every candidate q -> p is
  // tested (a significant test makes the explanation certain). Where a test has power (enough
  // rows after the onsets), the reverse is tested too - a candidate edge the data run the other
  // way is pruned - and so are the same-class deviations at both ends of a topology edge that the
  // class rules leave unexplained: a significant one-way test orients that edge (the declared
  // direction can be wrong).
  const cands = new Map<SeriesProfile, SeriesProfile[]>();
  for (const p of anomalous) cands.set(p, candidatesFor(p));
  const key = (q: SeriesProfile, p: SeriesProfile): string => `${q.index}>${p.index}`;
  const powered = (p: SeriesProfile, q: SeriesProfile): boolean => P.to - Math.max(P.from, Math.min(onsetOf(p), onsetOf(q))) >= cfg.granger.min_rows;
  const forward: Array<{ q: SeriesProfile; p: SeriesProfile }> = [];
  const extra: Array<{ q: SeriesProfile; p: SeriesProfile }> = [];
  const queued = new Set<string>();
  const queue = (list: typeof forward, q: SeriesProfile, p: SeriesProfile): void => {
    const k = key(q, p);
    if (q.dark || p.dark || queued.has(k)) return;
    queued.add(k);
    list.push({ q, p });
  };
  for (const p of anomalous) for (const q of cands.get(p)!) queue(forward, q, p);
  for (const p of anomalous) for (const q of cands.get(p)!) if (q.entity !== p.entity && powered(p, q)) queue(extra, p, q);
  // Same-class deviations at both ends of a service-to-service edge.
  const linked: Array<[SeriesProfile, SeriesProfile]> = [];
  for (const [a, deps] of topo.dependsOn) {
    if (topo.hosts.has(a)) continue;
    for (const b of deps) {
      if (b === a || topo.hosts.has(b)) continue;
      for (const p of byEntity.get(a) ?? []) for (const q of byEntity.get(b) ?? []) {
        if (p.cls !== q.cls || !ORIENTABLE.has(p.cls) || p.dark || q.dark || !powered(p, q)) continue;
        linked.push([p, q]);
        queue(extra, q, p);
        queue(extra, p, q);
      }
    }
  }
  const pValue = new Map<string, number>();
  const significant = new Set<string>();
  if (cfg.granger.enabled && cfg.granger.max_pairs > 0 && forward.length + extra.length > 0) {
    const strongest = (a: { q: SeriesProfile; p: SeriesProfile }, b: { q: SeriesProfile; p: SeriesProfile }): number => b.p.score + b.q.score - (a.p.score + a.q.score);
    const tested = [...forward.sort(strongest), ...extra.sort(strongest)].slice(0, cfg.granger.max_pairs);
    const diffs = new Map<number, Float64Array>();
    const diffOf = (s: SeriesProfile): Float64Array => {
      let d = diffs.get(s.index);
      if (!d) {
        d = diffFilled(c.frame.series[s.index]!.values, P.from, P.to);
        diffs.set(s.index, d);
      }
      return d;
    };
    const ps: number[] = [];
    const keys: string[] = [];
    for (const { q, p } of tested) {
      const g = grangerTest(diffOf(q), diffOf(p), cfg.granger.max_lag);
      if (!g) continue;
      ps.push(g.pValue);
      keys.push(key(q, p));
      pValue.set(key(q, p), g.pValue);
    }
    benjaminiHochberg(ps, cfg.granger.fdr).forEach((ok, i) => {
      if (ok) significant.add(keys[i]!);
    });
  }
  // One way only: q -> p significant, p -> q tested and not.
  const oneWay = (q: SeriesProfile, p: SeriesProfile): boolean => significant.has(key(q, p)) && pValue.has(key(p, q)) && !significant.has(key(p, q));
  const pruned = new Map<SeriesProfile, Array<{ q: SeriesProfile; pValue: number }>>();
  for (const p of anomalous) {
    const qs = cands.get(p)!;
    // (A client-side view and what it views are not a causal edge: their tests prune nothing.)
    const keep = qs.filter((q) => q.entity === p.entity || isMirror(q, p) || !oneWay(p, q));
    if (keep.length === qs.length) continue;
    cands.set(p, keep);
    pruned.set(p, qs.filter((q) => !keep.includes(q)).map((q) => ({ q, pValue: pValue.get(key(p, q))! })));
  }
  const oriented = new Set<string>();
  /** Entities an oriented edge makes a dependency of another (for the chains from the focus). */
  const orientedDeps = new Map<string, string[]>();
  for (const [x, y] of linked) {
    for (const [p, q] of [[x, y], [y, x]] as const) {
      // Against the declared direction the cause must also have moved strictly first.
      if (cands.get(p)!.includes(q) || !oneWay(q, p) || onsetOf(q) >= onsetOf(p)) continue;
      cands.get(p)!.push(q);
      oriented.add(key(q, p));
      const l = orientedDeps.get(p.entity);
      if (!l) orientedDeps.set(p.entity, [q.entity]);
      else if (!l.includes(q.entity)) l.push(q.entity);
    }
  }

  const explanations = new Map<SeriesProfile, Explanation | null>();
  for (const p of anomalous) {
    let best: Explanation | null = null;
    for (const q of cands.get(p) ?? []) {
      // Confirmed by a Granger test, or the client-side view of an instrumented entity that moved
      // with it (no evidence of its own).
      const g = significant.has(key(q, p)) || isMirror(q, p);
      // A much weaker deviation explains a strong one only when it is itself unmistakable (or is
      // the entity's own resource: different units, no attenuation to compare).
      const magnitude = q.dark || q.entity === p.entity || q.score >= 10 * cfg.min_score ? 1 : Math.min(1, q.score / (0.3 * p.score));
      const strength = (g ? 1 : 0.8) * magnitude;
      if (!best || strength > best.strength) best = { by: q, strength, granger: pValue.get(key(q, p)) ?? null, oriented: oriented.has(key(q, p)) };
    }
    explanations.set(p, best);
  }

  // Within one entity the explaining metric takes the credit: a CPU hog's latency is the CPU's.
  const credit = new Map<SeriesProfile, number>();
  for (const [p, e] of explanations) {
    if (e && e.by.entity === p.entity) credit.set(e.by, Math.max(credit.get(e.by) ?? 0, p.score * e.strength));
  }
  const effective = (p: SeriesProfile): number => {
    const e = explanations.get(p);
    const unexplained = e ? 1 - e.strength : 1;
    const own = Math.max(p.score * (cfg.explained_weight + (1 - cfg.explained_weight) * unexplained), credit.get(p) ?? 0);
    // A condition present before the incident that did not change during it is no evidence of
    // what changed: it keeps at most the weight of a metric just anomalous.
    return p.steady ? Math.min(own * cfg.standing_weight, cfg.min_score) : own * (p.standing ? cfg.standing_weight : 1);
  };

  // A metric's weight in the ranking: its effective deviation, or a small fraction of a
  // deviation too weak to count (so quiet entities still rank among themselves).
  const rankScore = (p: SeriesProfile): number => (p.score >= cfg.min_score ? effective(p) : p.score * cfg.explained_weight * 0.5);

  // Entities, scored by their strongest unexplained deviation (all profiled ones are ranked).
  const allByEntity = new Map<string, SeriesProfile[]>();
  for (const p of P.profiles) {
    const l = allByEntity.get(p.entity);
    if (l) l.push(p);
    else allByEntity.set(p.entity, [p]);
  }
  interface Scored { entity: string; primary: SeriesProfile; score: number; prior: number; priorWhy: string[] }
  const scored: Scored[] = [];
  for (const [entity, ps] of allByEntity) {
    let primary = ps[0]!;
    let score = -1;
    for (const p of ps) {
      const s = rankScore(p);
      if (s > score) {
        score = s;
        primary = p;
      }
    }
    scored.push({ entity, primary, score, prior: 1, priorWhy: [] });
  }

  // Priors: topology (how many deviating entities depend on it, or are explained by it,
  // transitively) and changes.
  const anomalousEntities = [...byEntity.keys()];
  const reach = (start: string): Set<string> => reachable(start, (n) => dependents.get(n), (n) => !topo.hosts.has(n));

  // What each entity's deviation explains, transitively (load downstream, latency upstream).
  const explains = new Map<string, Set<string>>();
  for (const [p, e] of explanations) {
    if (!e || e.by.entity === p.entity || e.strength < 0.5) continue;
    const l = explains.get(e.by.entity);
    if (l) l.add(p.entity);
    else explains.set(e.by.entity, new Set([p.entity]));
  }
  const explainedReach = (start: string): Set<string> => reachable(start, (n) => explains.get(n));

  // Chains of deviating dependencies from the focus (the incident's services): BFS along
  // dependsOn through deviating entities; `via` keeps the path for the evidence.
  const via = new Map<string, string | null>();
  if (c.focus && c.focus.length > 0) {
    const queue: string[] = [];
    for (const f of c.focus) if (!via.has(f)) {
      via.set(f, null);
      queue.push(f);
    }
    for (let q = 0; q < queue.length; q++) {
      const n = queue[q]!;
      if (q >= c.focus.length && topo.hosts.has(n)) continue;
      for (const m of [...(topo.dependsOn.get(n) ?? []), ...(orientedDeps.get(n) ?? [])]) {
        if (via.has(m) || !byEntity.has(m)) continue;
        via.set(m, n);
        queue.push(m);
      }
    }
  }
  const chainOf = (e: string): string[] => {
    const path: string[] = [];
    for (let n: string | null | undefined = e; n !== null && n !== undefined && path.length < 32; n = via.get(n)) path.unshift(n);
    return path;
  };
  for (const s of scored) {
    if (via.size > 0) {
      if (!via.has(s.entity)) {
        s.prior *= cfg.disconnected_weight;
        s.priorWhy.push(`no chain of deviating dependencies links it to ${c.focus!.slice(0, 3).join(', ')}`);
      } else if (via.get(s.entity) !== null) s.priorWhy.push(`reached from ${chainOf(s.entity).join(' -> ')} through deviating dependencies`);
    }
    if (anomalousEntities.length > 1 && byEntity.has(s.entity)) {
      const r = reach(s.entity);
      const x = explainedReach(s.entity);
      let k = 0;
      let kx = 0;
      for (const e of anomalousEntities) {
        if (e === s.entity) continue;
        if (r.has(e)) k++;
        if (x.has(e)) kx++;
      }
      if (k > 0 || kx > 0) {
        s.prior *= 1 + Math.max(k, kx) / anomalousEntities.length;
        s.priorWhy.push(kx >= k ? `its deviation explains, directly or through others, ${kx} of the ${anomalousEntities.length - 1} other deviating entities` : `${k} of the ${anomalousEntities.length - 1} other deviating entities depend on it`);
      }
    }
    const onset = timeOf(onsetOf(s.primary));
    if (onset !== null && s.score >= cfg.min_score * cfg.explained_weight) {
      const step = times.length > 1 ? times[1]! - times[0]! : 0;
      for (const ch of c.changes ?? []) {
        if (ch.entity !== s.entity) continue;
        if (ch.atMs >= c.detectedAtMs + cfg.after) continue;
        if (ch.atMs <= onset + tol * step && ch.atMs >= onset - cfg.change_window) {
          s.prior *= cfg.change_prior;
          s.priorWhy.push(`${ch.kind} at ${ISO(ch.atMs)}${ch.description ? ` (${ch.description})` : ''}, ${Math.round((onset - ch.atMs) / 1000)} s before the onset`);
          break;
        }
      }
    }
  }

  // Posterior over the candidates: prior x likelihood(unexplained deviation).
  const weight = (s: Scored): number => s.prior * Math.pow(1 + Math.max(0, s.score), 1 / cfg.temperature);
  let total = 0;
  for (const s of scored) total += weight(s);
  const rules = cfg.rules.enabled ? matchRules(c, P, cfg, dependents) : [];
  const ruleOf = new Map<string, RuleMatch>();
  for (const m of rules) if (!ruleOf.has(m.entity)) ruleOf.set(m.entity, m);
  scored.sort((a, b) => (ruleOf.has(b.entity) ? 1 : 0) - (ruleOf.has(a.entity) ? 1 : 0) || weight(b) - weight(a) || a.entity.localeCompare(b.entity));

  const ruleMass = ruleOf.size > 0 ? 0.99 : 0;
  const causes: RankedCause[] = scored.map((s) => {
    const rule = ruleOf.get(s.entity);
    const p = s.primary;
    const probability = rule ? ruleMass / ruleOf.size : (1 - ruleMass) * (total > 0 ? weight(s) / total : 0);
    const evidence: string[] = [];
    if (rule) evidence.push(`rule ${rule.rule}: ${rule.detail}`);
    const onsetMs = timeOf(onsetOf(p));
    if (p.dark) evidence.push(`${p.entity} stopped reporting ${p.metric}${onsetMs !== null ? ` at ${ISO(onsetMs)}` : ''}`);
    else if (p.score >= cfg.min_score) {
      evidence.push(`${p.entity} ${p.metric} ${p.sign > 0 ? 'rose' : 'fell'} to ${fmt(p.sign > 0 ? p.max : p.min)} from a median of ${fmt(p.median)} (${p.score.toFixed(1)} interquartile ranges)${onsetMs !== null && p.onset >= 0 ? ` from ${ISO(onsetMs)}` : ''}`);
    } else evidence.push(`${p.entity}: no metric deviated beyond ${cfg.min_score} interquartile ranges (largest: ${p.metric}, ${p.score.toFixed(1)})`);
    if (p.standing && onsetMs !== null) evidence.push(`it was already deviating at ${ISO(onsetMs)}, where the search for this incident's onset begins: a standing condition${p.steady ? ' that did not change during the incident' : ''}`);
    const ex = explanations.get(p);
    if (ex) {
      const qt = timeOf(onsetOf(ex.by));
      evidence.push(`explained in part by ${ex.by.entity} ${ex.by.metric}, which deviated ${qt !== null ? `from ${ISO(qt)}` : 'first'}${ex.granger !== null ? ` (Granger p=${fmt(ex.granger)})` : ''}`);
      if (ex.oriented) evidence.push(`the Granger tests orient the topology edge between ${p.entity} and ${ex.by.entity} from ${ex.by.entity} to ${p.entity} (one way only), which the declared direction does not`);
    } else if (p.score >= cfg.min_score) {
      const deps = topo.dependsOn.get(p.entity) ?? [];
      if (deps.length > 0 && (p.cls === 'latency' || p.cls === 'errors')) evidence.push(`none of its ${deps.length} dependencies (${deps.slice(0, 5).join(', ')}${deps.length > 5 ? ', ...' : ''}) deviated earlier`);
    }
    for (const x of pruned.get(p) ?? []) evidence.push(`not explained by ${x.q.entity} ${x.q.metric}: the Granger tests run from ${p.entity} to ${x.q.entity} (p=${fmt(x.pValue)}), not back`);
    // Whom it explains (symptoms downstream of this cause).
    const explained: string[] = [];
    for (const [q, e] of explanations) {
      if (e && e.by.entity === s.entity && q.entity !== s.entity && !explained.includes(q.entity)) explained.push(q.entity);
    }
    if (explained.length > 0) evidence.push(`its deviation explains ${explained.length} dependent(s): ${explained.slice(0, 6).join(', ')}${explained.length > 6 ? ', ...' : ''}`);
    for (const w of s.priorWhy) evidence.push(`prior: ${w}`);
    return { entity: s.entity, metric: p.metric, score: s.score, probability, onsetMs: p.onset >= 0 || p.dark ? onsetMs : null, method: rule ? `rule:${rule.rule}` : 'bayesian', evidence };
  });

  // Metric-level ranking in the causes' order: each entity's metrics by their own score.
  const order = new Map(causes.map((x, i) => [x.entity, i]));
  const metrics: RankedMetric[] = P.profiles
    .map((p) => ({ entity: p.entity, metric: p.metric, score: rankScore(p) }))
    .sort((a, b) => order.get(a.entity)! - order.get(b.entity)! || b.score - a.score || a.metric.localeCompare(b.metric));
  return { causes, metrics, window: { fromMs: P.fromMs, toMs: P.toMs }, method: 'ours' };
}
