// Public surface of the inhibit-and-silence stage (issue #8, Deliver 5): silences from the
// store and Alertmanager-style inhibit_rules mute firing alerts before correlation.
import type { AlertConsumer, CentralSettings } from '../component.js';
import type { SqliteSilenceStore } from '../storage/index.js';
import { inhibitRulesSchema } from './config.js';
import type { InhibitRule } from './config.js';
import { MuteStage } from './mute.js';

export { compileInhibitRules, inhibitRuleSchema, inhibitRulesSchema } from './config.js';
export type { CompiledInhibitRule, InhibitRule } from './config.js';
export { MuteStage } from './mute.js';
export type { MuteReason } from './mute.js';

export const muteFactory = {
  type: 'mute',
  description: 'stored alerts -> the ones no active silence or firing inhibiting alert mutes (the rest held until released)',
  configSchema: inhibitRulesSchema,
  create: (settings: CentralSettings, rules: readonly InhibitRule[], deps: { silences: Pick<SqliteSilenceStore, 'list'>; next: AlertConsumer }): MuteStage => new MuteStage(settings, rules, deps),
} as const;
