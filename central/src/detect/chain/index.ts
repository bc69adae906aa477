// Public surface of the detection chain (issue #7, Deliver 6): Tier-2 and Tier-3 over a series
// online and batched, the novelty stage, and the chain's decision per row.
export { CHAIN_DEFAULTS, chainScores } from './chain.js';
export type { ChainParams, ChainResult, StageDecision } from './chain.js';
export { onlineProfile, scoreTiersOnline } from './online.js';
export { fillGaps } from '../stats.js';
export type { OnlineOptions, TierScores, TierSessions } from './online.js';
export { NoveltyRecord } from './novelty.js';
export { ChainConfirmer } from './confirmer.js';
export type { ConfirmerOptions } from './confirmer.js';
