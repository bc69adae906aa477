// The detection chain (ARCHITECTURE section 5; issue #7, Deliver 6): Tier-1 flags, Tier-2
// (Agile) confirms, Tier-3 (Robust) validates - each stage's decision and score kept. While a
// series warms up, Tier-1 alone speaks.
//
// The chain's score is the evidence of the stages the series' route asks for, weighted: Tier-1
// (which saw every sample of the window at the edge), Tier-2 and, for routes with Robust,
// Tier-3. Measured on NAB (bench/RESULTS.md): strict gating - alert only when every stage
// passes its own threshold - scored 55.6 standard, below Tier-1 alone (62.8), because each
// stage misses different anomalies and the misses compound; the weighted evidence scored 67.1
// (66.0 when Tier-3 also weighs in on series routed to Agile alone, hence tier3ForAll false).
// So a stage's "decision" (passed its threshold or not) is evidence recorded on the anomaly,
// and the alert is decided on the combined score.
import type { Route } from '../profile/index.js';
import type { TierScores } from './online.js';

export interface ChainParams {
  /** Tier-1 score at which a row is flagged. */
  tier1Flag: number;
  /** Tier-2 score at which a flag is confirmed. */
  tier2Confirm: number;
  /** Tier-3 score at which a confirmed flag is validated. */
  tier3Validate: number;
  /** Weights of the stages in the chain's score. */
  weights: { tier1: number; tier2: number; tier3: number };
  /** Use Tier-3 for series routed to Agile alone too (without a season: level and trend). */
  tier3ForAll: boolean;
}

export const CHAIN_DEFAULTS: ChainParams = Object.freeze({ tier1Flag: 0.19, tier2Confirm: 0.5, tier3Validate: 0.5, weights: Object.freeze({ tier1: 4, tier2: 1, tier3: 2 }), tier3ForAll: false }) as ChainParams;

export type StageDecision = 'not-flagged' | 'not-confirmed' | 'not-validated' | 'confirmed' | 'validated' | 'tier1-only';

export interface ChainResult {
  /** The chain's score per row, 0..1. */
  score: Float64Array;
  /** What the stages said, by their own thresholds (evidence). */
  decision: StageDecision[];
}

export function chainScores(tier1: Float64Array, tiers: TierScores, p: ChainParams): ChainResult {
  const n = tier1.length;
  const score = new Float64Array(n);
  const decision: StageDecision[] = new Array<StageDecision>(n);
  const w = p.weights;
  for (let i = 0; i < n; i++) {
    const route: Route = tiers.route[i]!;
    const s1 = tier1[i]!;
    if (route === 'tier1') {
      score[i] = s1;
      decision[i] = 'tier1-only';
      continue;
    }
    const s2 = tiers.tier2[i]!;
    const s3 = tiers.tier3[i]!;
    const robust = route === 'both' || route === 'robust' || p.tier3ForAll;
    score[i] = robust ? (w.tier1 * s1 + w.tier2 * s2 + w.tier3 * s3) / (w.tier1 + w.tier2 + w.tier3) : (w.tier1 * s1 + w.tier2 * s2) / (w.tier1 + w.tier2);
    decision[i] = s1 < p.tier1Flag ? 'not-flagged' : s2 < p.tier2Confirm ? 'not-confirmed' : !robust ? 'confirmed' : s3 < p.tier3Validate ? 'not-validated' : 'validated';
  }
  return { score, decision };
}
