// The detection chain (ARCHITECTURE section 5; issue #7, Deliver 6): Tier-1 flags, Tier-2
// (Agile) confirms, Tier-3 (Robust) validates - each stage's decision and score kept. A series
// routed to Agile alone is confirmed by Tier-2; a seasonal one needs both. While a series warms
// up, Tier-1 alone speaks (its score is the chain's).
import type { Route } from '../profile/index.js';
import type { TierScores } from './online.js';

export interface ChainParams {
  /** Tier-1 score at which a row is flagged. */
  tier1Flag: number;
  /** Tier-2 score at which a flag is confirmed. */
  tier2Confirm: number;
  /** Tier-3 score at which a confirmed flag is validated. */
  tier3Validate: number;
}

export const CHAIN_DEFAULTS: ChainParams = Object.freeze({ tier1Flag: 0.1, tier2Confirm: 0.5, tier3Validate: 0.5 });

export type StageDecision = 'not-flagged' | 'not-confirmed' | 'not-validated' | 'confirmed' | 'validated' | 'tier1-only';

export interface ChainResult {
  /** The chain's score per row, 0..1: the weakest stage the row's route requires, relative to its threshold. */
  score: Float64Array;
  decision: StageDecision[];
}

/**
 * The chain's score is the least of the required stages' scores, each first rescaled so that
 * its threshold maps to 0.5 (s < t: 0.5 s / t; else 0.5 + 0.5 (s - t) / (1 - t)): a row passes
 * the chain exactly when its score is at least 0.5, and the score says by how much.
 */
export function chainScores(tier1: Float64Array, tiers: TierScores, p: ChainParams): ChainResult {
  const n = tier1.length;
  const score = new Float64Array(n);
  const decision: StageDecision[] = new Array<StageDecision>(n);
  const rel = (s: number, t: number) => (s < t ? (0.5 * s) / t : 0.5 + (0.5 * (s - t)) / (1 - t));
  for (let i = 0; i < n; i++) {
    const route: Route = tiers.route[i]!;
    const s1 = rel(tier1[i]!, p.tier1Flag);
    if (route === 'tier1') {
      score[i] = s1;
      decision[i] = 'tier1-only';
      continue;
    }
    const s2 = rel(tiers.tier2[i]!, p.tier2Confirm);
    let s = Math.min(s1, s2);
    if (route === 'both' || route === 'robust') s = Math.min(s, rel(tiers.tier3[i]!, p.tier3Validate));
    score[i] = s;
    decision[i] = s1 < 0.5 ? 'not-flagged' : s2 < 0.5 ? 'not-confirmed' : route === 'agile' ? 'confirmed' : s < 0.5 ? 'not-validated' : 'validated';
  }
  return { score, decision };
}
