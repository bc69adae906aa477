/**
 * Root-cause ranking scoring with the RCAEval metrics, at service level and at service+metric
 * level.
 *
 * Input: per case, the method's ranked candidates (best first), each `service` or
 * `service_metric` (RCAEval's column names, e.g. `carts_cpu`, `orders_latency-90`), and the
 * truth: the root service and, when known, the root metric.
 *
 * Definitions:
 *
 * - **Service of a candidate**: the longest known service name s such that the candidate is
 *   s or starts with `s_` (known = `options.services` plus the case's root service), else the
 *   text before the first "_" (the whole candidate when it has none). The rest after `s_` is
 *   the metric. Pass `services` when service names contain "_".
 * - **Service-level ranking**: the candidates' services in order, each kept at its first
 *   occurrence (so `carts_cpu, carts_mem, orders_cpu` ranks carts 1st, orders 2nd).
 *   **Service rank** = 1-based position of the root service there (null when absent).
 * - **Metric-level ranking**: the candidates in order, exact duplicates kept at their first
 *   occurrence. **Metric rank** = 1-based position of the candidate `<root service>_<root
 *   metric>` (null when absent). A bare `service` candidate takes a position but never
 *   matches. Cases without a root metric are not scored at this level (`metricScored` false)
 *   and do not count in its means.
 * - **AC@k** of a case = 1 when its rank <= k, else 0; AC@k of a set of cases = the mean over
 *   them (the fraction whose root cause is in the top k). **Avg@5** = (AC@1 + ... + AC@5) / 5,
 *   so a case at rank r <= 5 contributes (6 - r) / 5. This is RCAEval's definition.
 * - Aggregates are given over all cases and per `faultType` (cases without one count in the
 *   overall figures only). A set of no cases has NaN for every metric.
 */
import type { GroundTruthFault } from '../model/index.js';
import { fail, optionalString, requireArray, requireRecord, requireString } from './validate.js';

/** AC@k is reported for k = 1..RCA_MAX_K; Avg@5 averages them. */
export const RCA_MAX_K = 5;

export interface RcaTruth {
  readonly service: string;
  readonly metric?: string;
}

export interface RcaCase {
  /** Optional label echoed in the outcome; must be unique when given. */
  readonly id?: string;
  /** Candidates, best first: `service` or `service_metric`. */
  readonly ranking: readonly string[];
  readonly root: RcaTruth;
  readonly faultType?: string;
}

export interface RcaScoringOptions {
  /** Known service names, used to split candidates when service names contain "_". */
  readonly services?: readonly string[];
}

/** AC@1..AC@5 and Avg@5 over a set of cases (NaN for no cases). */
export interface RcaAccuracy {
  readonly cases: number;
  /** acAtK[k - 1] = AC@k, k = 1..5. */
  readonly acAtK: readonly number[];
  readonly ac1: number;
  readonly ac3: number;
  readonly ac5: number;
  readonly avg5: number;
}

export interface RcaLevels {
  readonly service: RcaAccuracy;
  /** Over the cases that have a root metric. */
  readonly metric: RcaAccuracy;
}

export interface RcaCaseOutcome {
  readonly index: number;
  readonly id: string | null;
  readonly faultType: string | null;
  readonly rootService: string;
  readonly rootMetric: string | null;
  readonly serviceRank: number | null;
  /** Null when absent from the ranking or when the case has no root metric. */
  readonly metricRank: number | null;
  readonly metricScored: boolean;
  /** Avg@5 of this case alone at service level: (6 - rank) / 5 for rank <= 5, else 0. */
  readonly serviceAvg5: number;
  /** The same at metric level; NaN when not scored. */
  readonly metricAvg5: number;
}

export interface RcaScore extends RcaLevels {
  readonly cases: number;
  /** Per fault type, keys in string order. */
  readonly byFaultType: Readonly<Record<string, RcaLevels>>;
  readonly perCase: readonly RcaCaseOutcome[];
}

/** The truth part of an RCA case for a simulated fault (root entity and metric, fault type). */
export function rcaTruthFromFault(fault: GroundTruthFault): Omit<RcaCase, 'ranking'> {
  return { id: fault.id, root: { service: fault.rootEntity, metric: fault.rootMetric }, faultType: fault.type };
}

/** Splits a candidate into service and metric (see the file header). */
export function splitCandidate(
  candidate: string,
  knownServices: readonly string[] = [],
): { service: string; metric: string | null } {
  let best: string | undefined;
  for (const s of knownServices) {
    if ((candidate === s || candidate.startsWith(`${s}_`)) && (best === undefined || s.length > best.length)) best = s;
  }
  if (best === undefined) {
    const cut = candidate.indexOf('_');
    best = cut > 0 ? candidate.slice(0, cut) : candidate;
  }
  const metric = candidate.slice(best.length + 1);
  return { service: best, metric: metric.length > 0 ? metric : null };
}

/** Avg@5 contribution of one rank: mean over k = 1..5 of [rank <= k]. */
function avg5Of(rank: number | null): number {
  return rank === null || rank > RCA_MAX_K ? 0 : (RCA_MAX_K + 1 - rank) / RCA_MAX_K;
}

function accuracy(ranks: readonly (number | null)[]): RcaAccuracy {
  const n = ranks.length;
  const acAtK: number[] = [];
  for (let k = 1; k <= RCA_MAX_K; k++) {
    const hits = ranks.filter((r) => r !== null && r <= k).length;
    acAtK.push(n === 0 ? NaN : hits / n);
  }
  const avg5 = acAtK.reduce((s, x) => s + x, 0) / RCA_MAX_K;
  return Object.freeze({
    cases: n,
    acAtK: Object.freeze(acAtK),
    ac1: acAtK[0]!,
    ac3: acAtK[2]!,
    ac5: acAtK[4]!,
    avg5,
  });
}

function levels(outcomes: readonly RcaCaseOutcome[]): RcaLevels {
  return Object.freeze({
    service: accuracy(outcomes.map((o) => o.serviceRank)),
    metric: accuracy(outcomes.filter((o) => o.metricScored).map((o) => o.metricRank)),
  });
}

/** Scores ranked root-cause candidates per case and in aggregate (see the file header). */
export function scoreRca(cases: readonly RcaCase[], options: RcaScoringOptions = {}): RcaScore {
  const o = requireRecord(options ?? {}, 'options');
  if (o['services'] !== undefined && !Array.isArray(o['services'])) {
    fail('options.services', 'must be an array of service names', o['services'], 'BAD_OPTIONS');
  }
  const services =
    o['services'] === undefined
      ? []
      : (o['services'] as readonly unknown[]).map((s, i) => {
          if (typeof s !== 'string' || s.length === 0) {
            fail(`options.services[${i}]`, 'must be a non-empty string', s, 'BAD_OPTIONS');
          }
          return s;
        });
  const parsed = requireArray(cases, 'cases').map((raw, i) => {
    const c = requireRecord(raw, `cases[${i}]`);
    const root = requireRecord(c['root'], `cases[${i}].root`);
    return {
      id: optionalString(c['id'], `cases[${i}].id`),
      faultType: optionalString(c['faultType'], `cases[${i}].faultType`),
      service: requireString(root['service'], `cases[${i}].root.service`),
      metric: optionalString(root['metric'], `cases[${i}].root.metric`),
      ranking: requireArray(c['ranking'], `cases[${i}].ranking`).map((cand, j) =>
        requireString(cand, `cases[${i}].ranking[${j}]`),
      ),
    };
  });
  const seen = new Map<string, number>();
  parsed.forEach((c, i) => {
    if (c.id === undefined) return;
    const first = seen.get(c.id);
    if (first !== undefined) fail(`cases[${i}].id`, `repeats cases[${first}].id`, c.id, 'DUPLICATE_ID');
    seen.set(c.id, i);
  });

  const perCase: RcaCaseOutcome[] = parsed.map((c, index) => {
    const known = [...services, c.service];
    const serviceOrder: string[] = [];
    const seenServices = new Set<string>();
    const metricOrder: string[] = [];
    const seenCandidates = new Set<string>();
    for (const cand of c.ranking) {
      if (!seenCandidates.has(cand)) {
        seenCandidates.add(cand);
        metricOrder.push(cand);
      }
      const { service } = splitCandidate(cand, known);
      if (!seenServices.has(service)) {
        seenServices.add(service);
        serviceOrder.push(service);
      }
    }
    const at = (list: readonly string[], x: string): number | null => {
      const i = list.indexOf(x);
      return i < 0 ? null : i + 1;
    };
    const serviceRank = at(serviceOrder, c.service);
    const metricScored = c.metric !== undefined;
    const metricRank = metricScored ? at(metricOrder, `${c.service}_${c.metric}`) : null;
    return Object.freeze({
      index,
      id: c.id ?? null,
      faultType: c.faultType ?? null,
      rootService: c.service,
      rootMetric: c.metric ?? null,
      serviceRank,
      metricRank,
      metricScored,
      serviceAvg5: avg5Of(serviceRank),
      metricAvg5: metricScored ? avg5Of(metricRank) : NaN,
    });
  });

  const types = [...new Set(perCase.flatMap((c) => (c.faultType === null ? [] : [c.faultType])))].sort();
  const byFaultType = Object.freeze(
    Object.fromEntries(types.map((t) => [t, levels(perCase.filter((c) => c.faultType === t))])),
  );
  return Object.freeze({
    cases: perCase.length,
    ...levels(perCase),
    byFaultType,
    perCase: Object.freeze(perCase),
  });
}
