/**
 * Correlation scoring: how well alerts were grouped into incidents, against the fault that
 * really caused each alert (the simulators' hidden `sim_fault` label; "none" marks noise).
 *
 * Input: one entry per alert with its predicted `incident` id (null = left unassigned or
 * suppressed) and its `truth` (a fault id, or "none" for noise).
 *
 * Definitions:
 *
 * - **Compression ratio** = all input alerts / distinct incident ids (NaN with no incident).
 *   Every alert counts, suppressed ones and noise included: it is the reduction in items a
 *   human has to look at. For reference the result also carries the number of distinct faults.
 * - **Scored population P.** By default the fault-caused alerts only (truth != "none"); noise
 *   is reported separately (below). With `includeNoise`, noise alerts join P and each one is
 *   its own true class: noise alerts are unrelated to each other and to every fault, so the
 *   ideal is to leave each alone (suppressed or a singleton incident), and grouping noise with
 *   anything costs purity, ARI and NMI.
 * - **Unassigned alerts** (incident null) in P: with `unassigned: 'singleton'` (default) each
 *   forms its own predicted cluster, so suppressing a fault alert breaks up its fault (costs
 *   inverse purity, ARI and NMI, not purity); with `'exclude'` they are left out of P.
 * - **Purity** = (1/|P|) sum over predicted clusters of the size of its largest true class.
 *   **Inverse purity** = (1/|P|) sum over true classes of the size of its largest cluster
 *   (1 when no fault is split across incidents).
 * - **ARI**: adjusted Rand index (Hubert & Arabie 1985), computed from the pair confusion
 *   matrix as in scikit-learn's adjusted_rand_score: with pair counts tp (same class, same
 *   cluster), fp (different class, same cluster), fn (same class, different cluster) and tn,
 *   ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)), and 1 when
 *   fn = fp = 0 (including |P| = 1). 1 = identical partitions, about 0 = chance, can be < 0.
 * - **NMI**: normalised mutual information with the arithmetic-mean normaliser,
 *   NMI = I(T; C) / ((H(T) + H(C)) / 2), natural logarithms (the base cancels), as in
 *   scikit-learn's normalized_mutual_info_score default (average_method='arithmetic', equal to
 *   the V-measure). Like scikit-learn: 1 when both partitions have one block, 0 when I = 0.
 * - Every clustering metric is NaN when P is empty (no ground truth to score against).
 * - **Noise suppression rate** = noise alerts left unassigned / noise alerts (NaN without
 *   noise). `noiseInFaultIncidents` counts noise alerts put in an incident that also holds
 *   fault alerts; `noiseOnlyIncidents` counts incidents holding nothing but noise.
 * - **Majority fault** of an incident: the fault with most of its alerts; ties go to the
 *   smallest fault id (string order) so the result is deterministic.
 */
import { HIDDEN_FAULT_LABEL } from '../model/index.js';
import { booleanOption, fail, isRecord, ratio, requireArray, requireRecord, requireString } from './validate.js';

/** The hidden-label value of an alert no fault caused. */
export const NOISE_LABEL = 'none';

export interface CorrelatedAlert {
  /** Predicted incident id; null = unassigned or suppressed. */
  readonly incident: string | null;
  /** Fault id that caused the alert, or "none" (NOISE_LABEL) for noise. */
  readonly truth: string;
}

export interface CorrelationScoringOptions {
  /** Score noise alerts too, each as its own true class. Default false. */
  readonly includeNoise?: boolean;
  /** Unassigned alerts of P: each its own cluster (default) or left out. */
  readonly unassigned?: 'singleton' | 'exclude';
}

export type ResolvedCorrelationScoringOptions = Required<CorrelationScoringOptions>;

export interface IncidentOutcome {
  readonly incident: string;
  readonly alerts: number;
  readonly faultAlerts: number;
  readonly noiseAlerts: number;
  /** Distinct faults among its alerts. */
  readonly faults: number;
  /** Fault with most alerts in the incident (null for a noise-only incident). */
  readonly majorityFault: string | null;
  readonly majorityAlerts: number;
}

export interface FaultOutcome {
  readonly fault: string;
  readonly alerts: number;
  /** Distinct incidents its alerts were put in. */
  readonly incidents: number;
  /** Its alerts left unassigned. */
  readonly unassigned: number;
  /** Its alerts in the incident holding most of them. */
  readonly largestIncidentAlerts: number;
}

export interface CorrelationScore {
  readonly options: ResolvedCorrelationScoringOptions;
  readonly alerts: number;
  readonly faultAlerts: number;
  readonly noiseAlerts: number;
  /** Distinct non-null incident ids. */
  readonly incidents: number;
  /** Distinct fault ids among the alerts. */
  readonly faults: number;
  readonly compressionRatio: number;
  /** |P|: alerts the clustering metrics were computed over. */
  readonly scoredAlerts: number;
  readonly purity: number;
  readonly inversePurity: number;
  readonly ari: number;
  readonly nmi: number;
  readonly faultAlertsUnassigned: number;
  readonly noiseSuppressed: number;
  readonly noiseSuppressionRate: number;
  readonly noiseInFaultIncidents: number;
  readonly noiseOnlyIncidents: number;
  /** Sorted by incident id. */
  readonly perIncident: readonly IncidentOutcome[];
  /** Sorted by fault id. */
  readonly perFault: readonly FaultOutcome[];
}

/** Partition-comparison metrics of two labelings of the same items. */
export interface PartitionAgreement {
  readonly n: number;
  readonly classes: number;
  readonly clusters: number;
  readonly purity: number;
  readonly inversePurity: number;
  readonly ari: number;
  readonly nmi: number;
}

function resolveOptions(input: unknown): ResolvedCorrelationScoringOptions {
  const o = input === undefined ? {} : requireRecord(input, 'options');
  const unassigned = o['unassigned'] ?? 'singleton';
  if (unassigned !== 'singleton' && unassigned !== 'exclude') {
    fail('options.unassigned', 'must be "singleton" or "exclude"', unassigned, 'BAD_OPTIONS');
  }
  return Object.freeze({ includeNoise: booleanOption(o['includeNoise'], 'options.includeNoise', false), unassigned });
}

function dense(labels: readonly (string | number)[]): { codes: Int32Array; count: number } {
  const ids = new Map<string | number, number>();
  const codes = new Int32Array(labels.length);
  labels.forEach((label, i) => {
    let code = ids.get(label);
    if (code === undefined) {
      code = ids.size;
      ids.set(label, code);
    }
    codes[i] = code;
  });
  return { codes, count: ids.size };
}

/**
 * Purity, inverse purity, ARI and NMI (arithmetic) of a predicted labeling against a true one,
 * item by item (same definitions as `scoreCorrelation`, scikit-learn's special cases; NaN for
 * no items). Labels are compared for equality only.
 */
export function comparePartitions(
  truth: readonly (string | number)[],
  predicted: readonly (string | number)[],
): PartitionAgreement {
  if (truth.length !== predicted.length) {
    fail('predicted', `must have one label per true label (${truth.length})`, predicted.length);
  }
  const n = truth.length;
  const t = dense(truth);
  const p = dense(predicted);
  if (n === 0) {
    return Object.freeze({ n, classes: 0, clusters: 0, purity: NaN, inversePurity: NaN, ari: NaN, nmi: NaN });
  }
  const cells = new Map<number, number>();
  const a = new Float64Array(t.count);
  const b = new Float64Array(p.count);
  for (let i = 0; i < n; i++) {
    const ti = t.codes[i]!;
    const pi = p.codes[i]!;
    a[ti]! += 1;
    b[pi]! += 1;
    const key = ti * p.count + pi;
    cells.set(key, (cells.get(key) ?? 0) + 1);
  }
  const maxInCluster = new Float64Array(p.count);
  const maxInClass = new Float64Array(t.count);
  let sumSqCells = 0;
  let mi = 0;
  const logN = Math.log(n);
  for (const [key, nij] of cells) {
    const ti = Math.floor(key / p.count);
    const pi = key - ti * p.count;
    if (nij > maxInCluster[pi]!) maxInCluster[pi] = nij;
    if (nij > maxInClass[ti]!) maxInClass[ti] = nij;
    sumSqCells += nij * nij;
    // (nij/n) ln(n nij / (a_i b_j)); terms below machine epsilon are zeroed as scikit-learn does.
    // Grouped so that identical partitions give exactly the entropy terms below (NMI = 1).
    const term = (nij / n) * (Math.log(nij) - Math.log(a[ti]!) + (logN - Math.log(b[pi]!)));
    if (Math.abs(term) >= Number.EPSILON) mi += term;
  }
  let purity = 0;
  for (const m of maxInCluster) purity += m;
  let inversePurity = 0;
  for (const m of maxInClass) inversePurity += m;

  // Pair confusion matrix (ordered pairs, as scikit-learn's pair_confusion_matrix).
  let sumSqA = 0;
  for (const x of a) sumSqA += x * x;
  let sumSqB = 0;
  for (const x of b) sumSqB += x * x;
  const tp = BigInt(sumSqCells - n);
  const fp = BigInt(sumSqB - sumSqCells);
  const fn = BigInt(sumSqA - sumSqCells);
  const tn = BigInt(n) * BigInt(n) - fp - fn - BigInt(sumSqCells);
  let ari: number;
  if (fn === 0n && fp === 0n) ari = 1;
  else {
    const num = 2n * (tp * tn - fn * fp);
    const den = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
    ari = Number(num) / Number(den);
  }

  let nmi: number;
  if (t.count === 1 && p.count === 1) nmi = 1;
  else {
    mi = Math.max(0, mi);
    if (mi === 0) nmi = 0;
    else {
      const entropy = (sizes: Float64Array): number => {
        let h = 0;
        for (const s of sizes) h += (s / n) * (logN - Math.log(s));
        return h;
      };
      nmi = mi / Math.max((entropy(a) + entropy(b)) / 2, Number.EPSILON);
    }
  }
  return Object.freeze({
    n,
    classes: t.count,
    clusters: p.count,
    purity: purity / n,
    inversePurity: inversePurity / n,
    ari,
    nmi,
  });
}

/** Scores alerts grouped into incidents (see the file header for every definition). */
export function scoreCorrelation(
  alerts: readonly CorrelatedAlert[],
  options: CorrelationScoringOptions = {},
): CorrelationScore {
  const opts = resolveOptions(options);
  const items = requireArray(alerts, 'alerts').map((raw, i) => {
    const a = requireRecord(raw, `alerts[${i}]`);
    if (!('incident' in a)) fail(`alerts[${i}].incident`, 'must be an incident id or null', undefined);
    const incident = a['incident'] === null ? null : requireString(a['incident'], `alerts[${i}].incident`);
    const truth = requireString(a['truth'], `alerts[${i}].truth`);
    return { incident, truth, noise: truth === NOISE_LABEL };
  });

  const truthLabels: (string | number)[] = [];
  const predLabels: (string | number)[] = [];
  let faultAlertsUnassigned = 0;
  let noiseSuppressed = 0;
  items.forEach((a, i) => {
    if (a.incident === null) {
      if (a.noise) noiseSuppressed++;
      else faultAlertsUnassigned++;
    }
    if (a.noise && !opts.includeNoise) return;
    if (a.incident === null && opts.unassigned === 'exclude') return;
    // Numbers never collide with the string ids: a singleton cluster or class per item.
    truthLabels.push(a.noise ? i : a.truth);
    predLabels.push(a.incident ?? i);
  });
  const agreement = comparePartitions(truthLabels, predLabels);

  const incidents = new Map<string, { alerts: number; noise: number; byFault: Map<string, number> }>();
  const faults = new Map<string, { alerts: number; unassigned: number; byIncident: Map<string, number> }>();
  for (const a of items) {
    if (a.incident !== null) {
      let inc = incidents.get(a.incident);
      if (inc === undefined) incidents.set(a.incident, (inc = { alerts: 0, noise: 0, byFault: new Map() }));
      inc.alerts++;
      if (a.noise) inc.noise++;
      else inc.byFault.set(a.truth, (inc.byFault.get(a.truth) ?? 0) + 1);
    }
    if (!a.noise) {
      let f = faults.get(a.truth);
      if (f === undefined) faults.set(a.truth, (f = { alerts: 0, unassigned: 0, byIncident: new Map() }));
      f.alerts++;
      if (a.incident === null) f.unassigned++;
      else f.byIncident.set(a.incident, (f.byIncident.get(a.incident) ?? 0) + 1);
    }
  }
  const byId = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  const perIncident: IncidentOutcome[] = [...incidents.keys()].sort(byId).map((id) => {
    const inc = incidents.get(id)!;
    let majorityFault: string | null = null;
    let majorityAlerts = 0;
    for (const [fault, count] of [...inc.byFault].sort((x, y) => byId(x[0], y[0]))) {
      if (count > majorityAlerts) {
        majorityFault = fault;
        majorityAlerts = count;
      }
    }
    return Object.freeze({
      incident: id,
      alerts: inc.alerts,
      faultAlerts: inc.alerts - inc.noise,
      noiseAlerts: inc.noise,
      faults: inc.byFault.size,
      majorityFault,
      majorityAlerts,
    });
  });
  const perFault: FaultOutcome[] = [...faults.keys()].sort(byId).map((id) => {
    const f = faults.get(id)!;
    return Object.freeze({
      fault: id,
      alerts: f.alerts,
      incidents: f.byIncident.size,
      unassigned: f.unassigned,
      largestIncidentAlerts: [...f.byIncident.values()].reduce((m, x) => Math.max(m, x), 0),
    });
  });

  const noiseAlerts = items.filter((a) => a.noise).length;
  return Object.freeze({
    options: opts,
    alerts: items.length,
    faultAlerts: items.length - noiseAlerts,
    noiseAlerts,
    incidents: incidents.size,
    faults: faults.size,
    compressionRatio: ratio(items.length, incidents.size),
    scoredAlerts: agreement.n,
    purity: agreement.purity,
    inversePurity: agreement.inversePurity,
    ari: agreement.ari,
    nmi: agreement.nmi,
    faultAlertsUnassigned,
    noiseSuppressed,
    noiseSuppressionRate: ratio(noiseSuppressed, noiseAlerts),
    noiseInFaultIncidents: perIncident.reduce((s, i) => s + (i.faultAlerts > 0 ? i.noiseAlerts : 0), 0),
    noiseOnlyIncidents: perIncident.filter((i) => i.faultAlerts === 0).length,
    perIncident: Object.freeze(perIncident),
    perFault: Object.freeze(perFault),
  });
}

/**
 * A `CorrelatedAlert` from a simulated alert's labels: the truth is its hidden `sim_fault`
 * label (HIDDEN_FAULT_LABEL), which every simulated alert carries. `field` names the alert in
 * the error when the label is missing.
 */
export function correlatedAlertFromLabels(
  labels: Readonly<Record<string, string>>,
  incident: string | null,
  field = 'alert',
): CorrelatedAlert {
  if (!isRecord(labels)) fail(`${field}.labels`, 'must be an object', labels);
  const truth = labels[HIDDEN_FAULT_LABEL];
  if (typeof truth !== 'string' || truth.length === 0) {
    fail(`${field}.labels.${HIDDEN_FAULT_LABEL}`, 'must be a fault id or "none"', truth);
  }
  return { incident, truth };
}
