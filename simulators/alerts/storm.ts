// The alert-storm simulator: rules evaluated over simulated metrics (Prometheus), causes
// assigned from the ground truth, noise added, and the result run through Alertmanager's
// grouping into webhook (v4) notifications with delivery times.
import { alertFingerprint, compareCodePoints } from '../../shared-schemas/src/index.js';
import { HIDDEN_FAULT_LABEL, Rng } from '../model/index.js';
import type { GroundTruth, SimMetrics, TopologyDocument } from '../model/index.js';
import { alertEntity, attributeFault, NO_FAULT } from './causality.js';
import { resolveAlertStormOptions } from './config.js';
import type { AlertStormConfig } from './config.js';
import { dispatchAlerts } from './dispatch.js';
import type { DispatchAlert } from './dispatch.js';
import { AlertStormError } from './errors.js';
import { entityLabelOf, evaluateRules } from './evaluate.js';
import { deliveries, flapEpisode, flappingAlerts, unrelatedAlerts } from './noise.js';
import type { NoiseEntity } from './noise.js';
import { defaultAlertRules, parseAlertRules } from './rules.js';
import { generatorUrlFor, sortedLabels } from './webhook.js';
import type { WebhookV4 } from './webhook.js';

/** One alert (one firing episode of one label set) with its truth. */
export interface StormAlert {
  fingerprint: string;
  /** Sorted; includes the hidden `sim_fault` label. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** When the rule's condition first held (pending); noise alerts: startsAtMs. */
  activeAtMs: number;
  startsAtMs: number;
  /** null = still firing when the metrics end. */
  endsAtMs: number | null;
  /** `$value` at firing (rule alerts); null for noise. */
  value: number | null;
  generatorURL: string;
  /** Same as labels.sim_fault: the causing fault's id or "none". */
  faultId: string;
  source: 'rule' | 'flapping' | 'unrelated';
  /** `<group>/<alert>` of the rule that raised it, null for noise. */
  rule: string | null;
  entity: string | null;
  /** A rule alert cut into flapping cycles by the noise (every cycle is its own StormAlert). */
  flapped: boolean;
}

/** A webhook notification and when it reaches the receiver. */
export interface StormNotification {
  /** When the receiver gets it; notifications are ordered by it. */
  deliverAtMs: number;
  /** When Alertmanager sent it (equal to deliverAtMs unless late). */
  sentAtMs: number;
  /** A second delivery of the notification before it. */
  duplicate: boolean;
  late: boolean;
  payload: WebhookV4;
}

export interface AlertStormStats {
  seed: number;
  rules: number;
  series: number;
  evaluations: number;
  /** Alerts that went pending and never fired. */
  pendingOnly: number;
  alerts: number;
  bySource: { rule: number; flapping: number; unrelated: number };
  /** Rule alerts cut into flapping cycles (counted once each). */
  flappedRuleAlerts: number;
  /** Alerts per sim_fault value ("none" included), keys sorted. */
  byFault: Record<string, number>;
  /** Faults of the ground truth that no alert is attributed to. */
  faultsWithoutAlerts: string[];
  /** Notifications Alertmanager sent. */
  sentNotifications: number;
  /** Deliveries (sent + duplicates). */
  notifications: number;
  duplicates: number;
  late: number;
  /** Deliveries that arrive after one sent later than them. */
  outOfOrder: number;
}

export interface AlertStorm {
  notifications: StormNotification[];
  alerts: StormAlert[];
  stats: AlertStormStats;
}

function checkInputs(metrics: SimMetrics, truth: GroundTruth): void {
  const bad = (path: string, rule: string, got: unknown): never => {
    throw new AlertStormError('BAD_INPUT', `${path} ${rule} (got ${JSON.stringify(got)})`, { path });
  };
  if (!Number.isInteger(metrics.startMs)) bad('metrics.startMs', 'must be an integer number of ms', metrics.startMs);
  if (!Number.isInteger(metrics.stepMs) || metrics.stepMs <= 0) bad('metrics.stepMs', 'must be a positive integer', metrics.stepMs);
  if (!Number.isInteger(metrics.length) || metrics.length < 1) bad('metrics.length', 'must be a positive integer', metrics.length);
  const ids = new Set<string>();
  truth.faults.forEach((f, i) => {
    if (ids.has(f.id)) bad(`truth.faults[${i}].id`, 'must be unique', f.id);
    if (f.id === NO_FAULT) bad(`truth.faults[${i}].id`, `must not be "${NO_FAULT}"`, f.id);
    ids.add(f.id);
  });
}

function noiseEntities(metrics: SimMetrics, topology: TopologyDocument): NoiseEntity[] {
  const kinds = new Map(topology.nodes.map((n) => [n.id, n.kind] as const));
  const seen = new Map<string, NoiseEntity>();
  for (const s of metrics.series) {
    const kind = kinds.get(s.nodeId);
    if (kind === undefined || seen.has(s.nodeId)) continue;
    seen.set(s.nodeId, { name: s.entity, kind, label: entityLabelOf(kind) });
  }
  return [...seen.entries()].sort(([a], [b]) => compareCodePoints(a, b)).map(([, e]) => e);
}

/**
 * Generates an alert storm. `options` is the scenario's `alerts:` object (see
 * alertStormOptionsSchema), validated first; the same seed gives the same storm byte for byte.
 */
export function generateAlertStorm(metrics: SimMetrics, truth: GroundTruth, topology: TopologyDocument, options?: unknown): AlertStorm {
  const cfg: AlertStormConfig = resolveAlertStormOptions(options);
  checkInputs(metrics, truth);
  const seed = cfg.seed ?? truth.seed;
  const rng = new Rng(seed);
  const endMs = metrics.startMs + (metrics.length - 1) * metrics.stepMs;

  const ruleFile = cfg.rules ?? defaultAlertRules(topology, metrics, cfg.defaultRules);
  const rules = parseAlertRules(ruleFile, 'alerts.rules');
  const evaluation = evaluateRules(rules, metrics, topology, cfg.evaluationIntervalMs);

  const alerts: StormAlert[] = [];
  const flapRng = rng.fork('flapping-real');
  let flappedRuleAlerts = 0;
  for (const ep of evaluation.episodes) {
    const entity = alertEntity(ep.labels);
    const faultId = attributeFault(entity, ep.firedAtMs, truth, cfg.settleMs);
    const labels = sortedLabels({ ...ep.labels, [HIDDEN_FAULT_LABEL]: faultId });
    const base = {
      fingerprint: alertFingerprint(labels),
      labels,
      annotations: sortedLabels(ep.annotations),
      value: ep.value,
      generatorURL: generatorUrlFor(cfg.prometheusURL, ep.rule.exprText.trim()),
      faultId,
      source: 'rule' as const,
      rule: `${ep.rule.group}/${ep.rule.name}`,
      entity: entity ?? null,
    };
    // Only fault-caused alerts flap here; noise gets its own flapping alerts below.
    const flap = faultId !== NO_FAULT && flapRng.chance(cfg.noise.flapping.realFraction);
    const cycles = flap ? flapEpisode(flapRng, cfg.noise.flapping, ep.firedAtMs, ep.resolvedAtMs, endMs, ep.rule.intervalMs ?? cfg.evaluationIntervalMs) : undefined;
    if (cycles) {
      flappedRuleAlerts++;
      cycles.forEach(([s, e], i) => {
        alerts.push({ ...base, activeAtMs: i === 0 ? ep.activeAtMs : s, startsAtMs: s, endsAtMs: e ?? null, flapped: true });
      });
    } else {
      alerts.push({ ...base, activeAtMs: ep.activeAtMs, startsAtMs: ep.firedAtMs, endsAtMs: ep.resolvedAtMs ?? null, flapped: false });
    }
  }

  const entities = noiseEntities(metrics, topology);
  const noise = [
    ...flappingAlerts(rng.fork('flapping'), cfg.noise.flapping, entities, metrics.startMs, endMs),
    ...unrelatedAlerts(rng.fork('unrelated'), cfg.noise.unrelated, entities, metrics.startMs, endMs),
  ];
  for (const n of noise) {
    const labels = sortedLabels(n.labels);
    alerts.push({
      fingerprint: alertFingerprint(labels),
      labels,
      annotations: sortedLabels(n.annotations),
      activeAtMs: n.startsAtMs,
      startsAtMs: n.startsAtMs,
      endsAtMs: n.endsAtMs ?? null,
      value: null,
      generatorURL: generatorUrlFor(cfg.prometheusURL, n.expr),
      faultId: NO_FAULT,
      source: n.source,
      rule: null,
      entity: alertEntity(labels) ?? null,
      flapped: false,
    });
  }
  alerts.sort((a, b) => a.startsAtMs - b.startsAtMs || compareCodePoints(a.fingerprint, b.fingerprint));

  const toDispatch: DispatchAlert[] = alerts.map((a) => ({
    fingerprint: a.fingerprint,
    labels: a.labels,
    annotations: a.annotations,
    startsAtMs: a.startsAtMs,
    endsAtMs: a.endsAtMs ?? undefined,
    generatorURL: a.generatorURL,
  }));
  const sent = dispatchAlerts(toDispatch, cfg.route, endMs + cfg.route.groupWaitMs + cfg.route.groupIntervalMs);
  const plans = deliveries(rng.fork('late'), rng.fork('duplicates'), cfg.noise, sent.map((s) => s.sentAtMs));
  const notifications: Array<StormNotification & { seq: number }> = [];
  sent.forEach((s, i) => {
    for (const d of plans[i] ?? []) {
      notifications.push({ deliverAtMs: d.deliverAtMs, sentAtMs: s.sentAtMs, duplicate: d.duplicate, late: d.late, payload: s.payload, seq: notifications.length });
    }
  });
  notifications.sort((a, b) => a.deliverAtMs - b.deliverAtMs || a.sentAtMs - b.sentAtMs || a.seq - b.seq);

  let outOfOrder = 0;
  let maxSent = -Infinity;
  for (const n of notifications) {
    if (n.sentAtMs < maxSent) outOfOrder++;
    maxSent = Math.max(maxSent, n.sentAtMs);
  }
  const counts = new Map<string, number>([[NO_FAULT, 0]]);
  for (const f of truth.faults) counts.set(f.id, 0);
  for (const a of alerts) counts.set(a.faultId, (counts.get(a.faultId) ?? 0) + 1);
  const byFault: Record<string, number> = {};
  for (const k of [...counts.keys()].sort(compareCodePoints)) byFault[k] = counts.get(k) as number;

  const stats: AlertStormStats = {
    seed,
    rules: rules.length,
    series: metrics.series.length,
    evaluations: evaluation.evaluations,
    pendingOnly: evaluation.pendingOnly,
    alerts: alerts.length,
    bySource: {
      rule: alerts.filter((a) => a.source === 'rule').length,
      flapping: alerts.filter((a) => a.source === 'flapping').length,
      unrelated: alerts.filter((a) => a.source === 'unrelated').length,
    },
    flappedRuleAlerts,
    byFault,
    faultsWithoutAlerts: truth.faults.filter((f) => counts.get(f.id) === 0).map((f) => f.id),
    sentNotifications: sent.length,
    notifications: notifications.length,
    duplicates: notifications.filter((n) => n.duplicate).length,
    late: notifications.filter((n) => n.late && !n.duplicate).length,
    outOfOrder,
  };
  return { notifications: notifications.map(({ seq: _s, ...n }) => n), alerts, stats };
}
