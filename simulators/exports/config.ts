// Options of the exporters. Every writer is deterministic: the same inputs give byte-identical
// files (fixed number formatting, fixed ordering, no wall-clock times).
import { z } from 'zod';
import { HOST_METRICS, SERVICE_METRICS } from '../model/index.js';
import { formatSchemaIssues } from '../topology/index.js';
import { ExportError } from './errors.js';

const ALL_METRICS = [...new Set<string>([...SERVICE_METRICS, ...HOST_METRICS])] as [string, ...string[]];

export const nabExportSchema = z
  .object({
    enabled: z.boolean().default(true),
    /**
     * Width of each labelled window as a fraction of the file's rows, shared by the file's
     * windows (NAB's rule: 10% of the length divided by the number of anomalies), centred on
     * the onset.
     */
    windowFraction: z.number().gt(0).max(1).default(0.1),
    /** Export only these metrics (default: all). */
    metrics: z.array(z.enum(ALL_METRICS)).min(1).optional(),
  })
  .strict();

export const rcaevalExportSchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Data kept before and after each fault's onset, ms (RCAEval uses 10 minutes each side). */
    beforeMs: z.number().int().min(0).default(600_000),
    afterMs: z.number().int().min(1).default(600_000),
  })
  .strict();

export const exportOptionsSchema = z
  .object({
    /** The wide metrics CSV (every series, one column each). */
    metricsCsv: z.boolean().default(true),
    nab: nabExportSchema.default({ enabled: true, windowFraction: 0.1 }),
    rcaeval: rcaevalExportSchema.default({ enabled: true, beforeMs: 600_000, afterMs: 600_000 }),
  })
  .strict();

export type NabExportOptions = z.output<typeof nabExportSchema>;
export type RcaevalExportOptions = z.output<typeof rcaevalExportSchema>;
export type ExportOptions = z.output<typeof exportOptionsSchema>;
export type ExportOptionsInput = z.input<typeof exportOptionsSchema>;

export function validateExportOptions(input: unknown, prefix = 'exports'): ExportOptions {
  const r = exportOptionsSchema.safeParse(input ?? {});
  if (!r.success) {
    const lines = formatSchemaIssues(r.error, input, prefix);
    throw new ExportError('BAD_OPTION', lines.length === 1 ? lines[0]! : `invalid export options:\n  ${lines.join('\n  ')}`);
  }
  return r.data;
}
