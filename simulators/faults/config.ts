// A fault as callers hand it to injectFaults: the shared FaultSpec plus an optional id and,
// for config_change, which way the bad configuration hurts.
import { z } from 'zod';
import { FAULT_TYPES } from '../model/index.js';
import type { FaultSpec } from '../model/index.js';
import { formatSchemaIssues } from '../topology/index.js';
import { FaultError } from './errors.js';

export const CONFIG_CHANGE_VARIANTS = ['latency', 'errors'] as const;
export type ConfigChangeVariant = (typeof CONFIG_CHANGE_VARIANTS)[number];

export const faultInputSchema = z
  .object({
    /** Stable id within the run (default f1, f2, ... by position). */
    id: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'must be letters, digits, "_", "." or "-"')
      .max(64)
      .optional(),
    type: z.enum(FAULT_TYPES),
    /** Node name or node id. */
    target: z.string().min(1).max(256),
    /** Onset, ms after the run's start (rounded up to the next step). */
    onsetMs: z.number().int().min(0),
    /** Duration, ms (rounded to whole steps, at least one). */
    durationMs: z.number().int().min(1),
    /** Strength, 1 = the fault type's typical strength. */
    severity: z.number().gt(0).max(10).default(1),
    /** config_change only: the bad configuration slows the target down, or makes it fail. */
    variant: z.enum(CONFIG_CHANGE_VARIANTS).optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.variant !== undefined && f.type !== 'config_change') {
      ctx.addIssue({ code: 'custom', path: ['variant'], message: `applies to config_change faults only (this fault is ${f.type})` });
    }
  });

export type FaultInput = z.input<typeof faultInputSchema>;
export type ValidFault = FaultSpec & { id?: string; variant?: ConfigChangeVariant };

export const injectOptionsSchema = z
  .object({
    /** Scenario name written into the ground truth. */
    scenario: z.string().min(1).max(200).default('unnamed'),
    /**
     * An entity is listed as affected when some metric moved by at least this fraction of its
     * baseline (ratios such as error_rate against a floor of 0.001) at some step.
     */
    minEffect: z.number().gt(0).max(10).default(0.02),
  })
  .strict();

export type InjectOptions = z.output<typeof injectOptionsSchema>;
export type InjectOptionsInput = z.input<typeof injectOptionsSchema>;

export function validateFaults(input: readonly unknown[], prefix = 'faults'): ValidFault[] {
  const out: ValidFault[] = [];
  const ids = new Map<string, number>();
  input.forEach((raw, k) => {
    const r = faultInputSchema.safeParse(raw);
    if (!r.success) {
      const lines = formatSchemaIssues(r.error, raw, `${prefix}[${k}]`);
      throw new FaultError('BAD_FAULT', lines.length === 1 ? lines[0]! : `invalid fault:\n  ${lines.join('\n  ')}`);
    }
    const id = r.data.id ?? `f${k + 1}`;
    const prev = ids.get(id);
    if (prev !== undefined) throw new FaultError('BAD_FAULT', `${prefix}[${k}].id ${JSON.stringify(id)} is already used by ${prefix}[${prev}]`);
    ids.set(id, k);
    out.push(r.data);
  });
  return out;
}

export function validateInjectOptions(input: unknown): InjectOptions {
  const r = injectOptionsSchema.safeParse(input ?? {});
  if (!r.success) throw new FaultError('BAD_FAULT', formatSchemaIssues(r.error, input, 'options').join('\n  '));
  return r.data;
}
