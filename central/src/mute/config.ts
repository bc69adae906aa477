// Inhibition rules (Alertmanager's `inhibit_rules`, same fields): while an alert matching
// `source_matchers` fires, alerts matching `target_matchers` that carry the same values of the
// `equal` labels are muted (e.g. a node down mutes the alerts of the services on it). Each
// matcher is one PromQL-style matcher text: `severity="critical"`, `alertname=~"Node.*"`.
import { z } from 'zod';
import { parseSelector } from '../api/selector.js';
import { compileSelector, SILENCE_LIMITS } from '../storage/index.js';
import type { CompiledSelector, LabelMatcher } from '../storage/index.js';

const matcherText = z
  .string()
  .max(1024)
  .transform((text, ctx): LabelMatcher => {
    try {
      const sel = parseSelector(`{${text}}`);
      if (sel.matchers.length !== 1) throw new Error('must be exactly one matcher');
      compileSelector(sel, SILENCE_LIMITS);
      return sel.matchers[0]!;
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `must be one matcher like severity="critical" or alertname=~"Node.*" (${(err as Error).message})`, input: text });
      return z.NEVER;
    }
  });

export const inhibitRuleSchema = z
  .object({
    source_matchers: z.array(matcherText).min(1).max(32),
    target_matchers: z.array(matcherText).min(1).max(32),
    equal: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a label name')).max(32).default([]),
  })
  .strict();

export const inhibitRulesSchema = z.array(inhibitRuleSchema).max(256).default([]);

export type InhibitRule = z.output<typeof inhibitRuleSchema>;

export interface CompiledInhibitRule {
  source: CompiledSelector;
  target: CompiledSelector;
  equal: readonly string[];
}

export function compileInhibitRules(rules: readonly InhibitRule[]): CompiledInhibitRule[] {
  return rules.map((r) => ({ source: compileSelector({ matchers: r.source_matchers }, SILENCE_LIMITS), target: compileSelector({ matchers: r.target_matchers }, SILENCE_LIMITS), equal: [...r.equal] }));
}
