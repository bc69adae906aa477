// Small text helpers shared by the packages.
import { z } from 'zod';

/** `s` with every regular-expression metacharacter escaped (matches `s` literally). */
export function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A zod schema for a regular expression given in config: refused, with the reason, when it does not compile. */
export function regexString() {
  return z.string().superRefine((re, ctx) => {
    try {
      new RegExp(re);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(e as Error).message}`, input: re });
    }
  });
}
