/**
 * Remediation scoring: time to detect, to act and to mitigate each fault, and the faults left
 * unmitigated.
 *
 * Input: the faults (id, onsetMs, endMs: a simulator's GroundTruthFault fits as it is), the
 * remediation events and, optionally, detection events. Each event names either a `faultId`
 * or an `incidentId`; an incident stands for the faults `incidentFaults` lists for it (for
 * example the `sim_fault` labels of its alerts, see `incidentFaultsFromAlerts`). An incident
 * with no entry there stands for no fault (an incident of noise).
 *
 * Definitions (all times on one clock, normally ms since epoch):
 *
 * - An event applies to a fault it names, directly or through its incident, only with times
 *   at or after the fault's onset: a time before the onset cannot be a response to it (an
 *   incident can cover faults that started after it was opened or acted on).
 * - **Detected at** = earliest applying detection time; **time to detect (TTD)** = detected at
 *   - onset.
 * - **First action** = earliest applying `actionMs`; **time to act** = first action - onset.
 * - **Mitigated at** = earliest applying `mitigatedMs` (when the remedy took effect, or when
 *   the affected metrics were back to normal); **time to mitigate (TTM)** = mitigated at -
 *   onset. A fault with none is **unmitigated**.
 * - A mitigation after the fault's own end (`endMs`, when the injected fault stops by itself)
 *   is flagged `mitigatedAfterEnd`. With `lateMitigation: 'count'` (default) it still counts;
 *   with `'unmitigated'` such a fault counts as unmitigated (the platform did not beat the
 *   fault's natural end) and has no TTM.
 * - **Spurious** remediations / detections: events that apply to no fault (they name an
 *   incident of no fault, or all their times precede the onsets of the faults they name).
 * - Summaries (count, mean, median, p95, min, max; type-7 quantiles, see stats.ts) are over the
 *   faults that have the quantity; NaN when none has.
 */
import type { CorrelatedAlert } from './correlation.js';
import { NOISE_LABEL } from './correlation.js';
import { summarize, type SummaryStats } from './stats.js';
import {
  fail,
  optionalFinite,
  optionalString,
  ratio,
  requireArray,
  requireFinite,
  requireRecord,
  requireString,
} from './validate.js';

export interface RemediationFault {
  readonly id: string;
  readonly onsetMs: number;
  readonly endMs: number;
}

/** Names what an event is about: exactly one of `faultId` and `incidentId`. */
export interface FaultReference {
  readonly faultId?: string;
  readonly incidentId?: string;
}

export interface RemediationEvent extends FaultReference {
  /** When the action was taken. */
  readonly actionMs?: number;
  /** When the fault's effect was gone (remedy effective or metrics back to normal). */
  readonly mitigatedMs?: number;
}

export interface FaultDetectionEvent extends FaultReference {
  readonly atMs: number;
}

export interface RemediationInput {
  readonly faults: readonly RemediationFault[];
  readonly remediations: readonly RemediationEvent[];
  readonly detections?: readonly FaultDetectionEvent[];
  /** The faults each incident covers. */
  readonly incidentFaults?: Readonly<Record<string, readonly string[]>>;
}

export interface RemediationScoringOptions {
  /** A mitigation after the fault's end: counted (default) or the fault is unmitigated. */
  readonly lateMitigation?: 'count' | 'unmitigated';
}

export type ResolvedRemediationScoringOptions = Required<RemediationScoringOptions>;

export interface FaultRemediationOutcome {
  readonly id: string;
  readonly onsetMs: number;
  readonly endMs: number;
  readonly detectedMs: number | null;
  readonly timeToDetectMs: number | null;
  readonly firstActionMs: number | null;
  readonly timeToActMs: number | null;
  /** Earliest applying mitigation, even when `lateMitigation` makes it not count. */
  readonly mitigatedMs: number | null;
  readonly mitigatedAfterEnd: boolean;
  readonly mitigated: boolean;
  /** mitigatedMs - onsetMs when the fault counts as mitigated, else null. */
  readonly timeToMitigateMs: number | null;
}

export interface RemediationScore {
  readonly options: ResolvedRemediationScoringOptions;
  readonly faults: number;
  readonly detected: number;
  readonly acted: number;
  readonly mitigated: number;
  readonly unmitigated: number;
  /** Faults whose earliest mitigation came after their end (counted or not, per options). */
  readonly mitigatedAfterEnd: number;
  /** mitigated / faults (NaN with no faults). */
  readonly mitigationRate: number;
  readonly spuriousRemediations: number;
  readonly spuriousDetections: number;
  readonly timeToDetect: SummaryStats;
  readonly timeToAct: SummaryStats;
  readonly timeToMitigate: SummaryStats;
  /** In input order. */
  readonly perFault: readonly FaultRemediationOutcome[];
}

/** The fault ids of each incident's alerts ("none" noise left out), ids in string order. */
export function incidentFaultsFromAlerts(alerts: readonly CorrelatedAlert[]): Record<string, string[]> {
  const sets = new Map<string, Set<string>>();
  for (const a of alerts) {
    if (a.incident === null) continue;
    let set = sets.get(a.incident);
    if (set === undefined) sets.set(a.incident, (set = new Set()));
    if (a.truth !== NOISE_LABEL) set.add(a.truth);
  }
  return Object.fromEntries([...sets].map(([incident, faults]) => [incident, [...faults].sort()]));
}

function resolveOptions(input: unknown): ResolvedRemediationScoringOptions {
  const o = requireRecord(input ?? {}, 'options');
  const lateMitigation = o['lateMitigation'] ?? 'count';
  if (lateMitigation !== 'count' && lateMitigation !== 'unmitigated') {
    fail('options.lateMitigation', 'must be "count" or "unmitigated"', lateMitigation, 'BAD_OPTIONS');
  }
  return Object.freeze({ lateMitigation });
}

/** Scores remediation of faults (see the file header for every definition). */
export function scoreRemediation(
  input: RemediationInput,
  options: RemediationScoringOptions = {},
): RemediationScore {
  const opts = resolveOptions(options);
  const body = requireRecord(input, 'input');

  const faults = requireArray(body['faults'], 'faults').map((raw, i) => {
    const f = requireRecord(raw, `faults[${i}]`);
    const onsetMs = requireFinite(f['onsetMs'], `faults[${i}].onsetMs`);
    const endMs = requireFinite(f['endMs'], `faults[${i}].endMs`);
    if (endMs < onsetMs) fail(`faults[${i}].endMs`, `must be >= onsetMs ${onsetMs}`, endMs);
    return { id: requireString(f['id'], `faults[${i}].id`), onsetMs, endMs };
  });
  const faultIndex = new Map<string, number>();
  faults.forEach((f, i) => {
    const first = faultIndex.get(f.id);
    if (first !== undefined) fail(`faults[${i}].id`, `repeats faults[${first}].id`, f.id, 'DUPLICATE_ID');
    faultIndex.set(f.id, i);
  });
  const knownFault = (id: string, field: string): number => {
    const i = faultIndex.get(id);
    if (i === undefined) fail(field, 'names no fault in faults', id, 'UNKNOWN_FAULT');
    return i;
  };

  const incidents = new Map<string, number[]>();
  if (body['incidentFaults'] !== undefined) {
    const map = requireRecord(body['incidentFaults'], 'incidentFaults');
    for (const [incident, list] of Object.entries(map)) {
      const field = `incidentFaults.${incident}`;
      incidents.set(
        incident,
        requireArray(list, field).map((id, j) => knownFault(requireString(id, `${field}[${j}]`), `${field}[${j}]`)),
      );
    }
  }
  const resolve = (e: Record<string, unknown>, field: string): number[] => {
    const faultId = optionalString(e['faultId'], `${field}.faultId`);
    const incidentId = optionalString(e['incidentId'], `${field}.incidentId`);
    if ((faultId === undefined) === (incidentId === undefined)) {
      fail(field, 'must name exactly one of faultId and incidentId', e);
    }
    if (faultId !== undefined) return [knownFault(faultId, `${field}.faultId`)];
    return incidents.get(incidentId!) ?? [];
  };

  const detectedMs: (number | null)[] = faults.map(() => null);
  const firstActionMs: (number | null)[] = faults.map(() => null);
  const mitigatedMs: (number | null)[] = faults.map(() => null);
  /** Lowers best[i] to t when t is at or after fault i's onset; says whether it applied. */
  const offer = (best: (number | null)[], i: number, t: number | undefined): boolean => {
    if (t === undefined || t < faults[i]!.onsetMs) return false;
    const cur = best[i];
    if (cur === null || cur === undefined || t < cur) best[i] = t;
    return true;
  };

  let spuriousRemediations = 0;
  requireArray(body['remediations'], 'remediations').forEach((raw, i) => {
    const field = `remediations[${i}]`;
    const e = requireRecord(raw, field);
    const actionMs = optionalFinite(e['actionMs'], `${field}.actionMs`);
    const mitigated = optionalFinite(e['mitigatedMs'], `${field}.mitigatedMs`);
    if (actionMs === undefined && mitigated === undefined) {
      fail(field, 'must have actionMs or mitigatedMs', e);
    }
    if (actionMs !== undefined && mitigated !== undefined && mitigated < actionMs) {
      fail(`${field}.mitigatedMs`, `must be >= actionMs ${actionMs}`, mitigated);
    }
    let applied = false;
    for (const f of resolve(e, field)) {
      // Both offers must run: `||` would skip the second once the first applied.
      const a = offer(firstActionMs, f, actionMs);
      const m = offer(mitigatedMs, f, mitigated);
      applied = applied || a || m;
    }
    if (!applied) spuriousRemediations++;
  });

  let spuriousDetections = 0;
  const detections = body['detections'] === undefined ? [] : requireArray(body['detections'], 'detections');
  detections.forEach((raw, i) => {
    const field = `detections[${i}]`;
    const e = requireRecord(raw, field);
    const atMs = requireFinite(e['atMs'], `${field}.atMs`);
    let applied = false;
    for (const f of resolve(e, field)) applied = offer(detectedMs, f, atMs) || applied;
    if (!applied) spuriousDetections++;
  });

  const perFault: FaultRemediationOutcome[] = faults.map((f, i) => {
    const det = detectedMs[i] ?? null;
    const act = firstActionMs[i] ?? null;
    const mit = mitigatedMs[i] ?? null;
    const afterEnd = mit !== null && mit > f.endMs;
    const counts = mit !== null && !(afterEnd && opts.lateMitigation === 'unmitigated');
    return Object.freeze({
      id: f.id,
      onsetMs: f.onsetMs,
      endMs: f.endMs,
      detectedMs: det,
      timeToDetectMs: det === null ? null : det - f.onsetMs,
      firstActionMs: act,
      timeToActMs: act === null ? null : act - f.onsetMs,
      mitigatedMs: mit,
      mitigatedAfterEnd: afterEnd,
      mitigated: counts,
      timeToMitigateMs: counts ? mit - f.onsetMs : null,
    });
  });
  const values = (pick: (o: FaultRemediationOutcome) => number | null): number[] =>
    perFault.flatMap((o) => {
      const v = pick(o);
      return v === null ? [] : [v];
    });
  const mitigatedCount = perFault.filter((o) => o.mitigated).length;
  return Object.freeze({
    options: opts,
    faults: faults.length,
    detected: perFault.filter((o) => o.detectedMs !== null).length,
    acted: perFault.filter((o) => o.firstActionMs !== null).length,
    mitigated: mitigatedCount,
    unmitigated: faults.length - mitigatedCount,
    mitigatedAfterEnd: perFault.filter((o) => o.mitigatedAfterEnd).length,
    mitigationRate: ratio(mitigatedCount, faults.length),
    spuriousRemediations,
    spuriousDetections,
    timeToDetect: summarize(values((o) => o.timeToDetectMs)),
    timeToAct: summarize(values((o) => o.timeToActMs)),
    timeToMitigate: summarize(values((o) => o.timeToMitigateMs)),
    perFault: Object.freeze(perFault),
  });
}
