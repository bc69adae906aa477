// One entry point for every ranking method, so the CLI, the online stage and the evaluation run
// the same code: `ours` (engine.ts) and the published baselines (baselines.ts).
import { runBaseline } from './baselines.js';
import type { RcaConfig } from './config.js';
import { analyze } from './engine.js';
import type { RcaCase, RcaResult } from './frame.js';
import { dependencyClosure, petshopCase } from './datasets.js';
import type { PetshopIssue, PetshopScenario } from './datasets.js';

export const RCA_METHODS = ['ours', 'baro', 'nsigma'] as const;
export type RcaMethod = (typeof RCA_METHODS)[number];

/**
 * Ranks the causes of a case. `candidates`, when given, keeps only those entities in the
 * ranking (their series and the others' still inform ours as evidence).
 */
export function rankCauses(method: RcaMethod, c: RcaCase, cfg: RcaConfig, candidates?: ReadonlySet<string>): RcaResult {
  const r = method === 'ours' ? analyze(c, cfg) : runBaseline(method, c, cfg.after);
  if (!candidates) return r;
  const causes = r.causes.filter((x) => candidates.has(x.entity));
  const total = causes.reduce((s, x) => s + x.probability, 0);
  return {
    ...r,
    causes: causes.map((x) => ({ ...x, probability: total > 0 ? x.probability / total : 0 })),
    metrics: r.metrics.filter((m) => candidates.has(m.entity)),
  };
}

/**
 * One PetShop issue as the dataset defines the task: explain the target's SLO metric and
 * statistic (target.json) among the target and what it depends on. Windows follow the
 * dataset's own step: all the history before, the whole issue window after, two rows of guard;
 * everything else is `cfg`. Returns the ranking and the root cause's 1-based rank (0 = absent).
 */
export function rankPetshopIssue(method: RcaMethod, s: PetshopScenario, issue: PetshopIssue, cfg: RcaConfig): { result: RcaResult; rank: number; detectedAtMs: number } {
  const { frame: all, detectedAtMs, stepMs, historyRows } = petshopCase(s, issue);
  const frame = { timesMs: all.timesMs, series: all.series.filter((x) => x.metric === `${issue.targetMetric}-${issue.targetStatistic}`) };
  const c: RcaConfig = { ...cfg, before: (historyRows + 3) * stepMs, after: all.timesMs.length * stepMs, guard: 2 * stepMs };
  const result = rankCauses(method, { frame, detectedAtMs, topology: s.topology, focus: [issue.targetNode] }, c, dependencyClosure(s.topology, issue.targetNode));
  return { result, rank: result.causes.findIndex((x) => x.entity === issue.rootCause) + 1, detectedAtMs };
}
