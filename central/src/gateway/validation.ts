// Input validation with zod, reported as `{ field, problem }` where `field` is a path a person
// can read: `body.alerts[0].labels`, `query.limit`, `params.id`.
import type { z } from 'zod';

export type InputPart = 'params' | 'query' | 'body';

export interface FieldProblem {
  field: string;
  problem: string;
}

/** At most this many problems are reported per request (the first one is `field`/`problem`). */
export const MAX_REPORTED_ISSUES = 10;

const IDENT_RE = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

export function formatField(part: InputPart, path: readonly PropertyKey[]): string {
  let out: string = part;
  for (const k of path) {
    if (typeof k === 'number') out += `[${k}]`;
    else if (typeof k === 'string' && IDENT_RE.test(k)) out += `.${k}`;
    else out += `[${JSON.stringify(String(k))}]`;
  }
  return out;
}

export type ValidationOutcome<T> = { ok: true; value: T } | { ok: false; problems: FieldProblem[] };

export function validate<S extends z.ZodType>(schema: S, part: InputPart, input: unknown): ValidationOutcome<z.output<S>> {
  const r = schema.safeParse(input);
  if (r.success) return { ok: true, value: r.data };
  const problems: FieldProblem[] = [];
  for (const issue of r.error.issues) {
    if (problems.length >= MAX_REPORTED_ISSUES) break;
    // Keys named in an unrecognized_keys issue are the fields at fault.
    const keys = (issue as { keys?: unknown }).keys;
    const path = issue.code === 'unrecognized_keys' && Array.isArray(keys) && keys.length > 0 ? [...issue.path, String(keys[0])] : issue.path;
    problems.push({ field: formatField(part, path), problem: clip(issue.message) });
  }
  return { ok: false, problems };
}

/** Problems quote input sometimes (an enum value, a key): bounded. */
function clip(s: string): string {
  return s.length > 300 ? `${s.slice(0, 300)}...` : s;
}
