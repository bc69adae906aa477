// Configuration of alert correlation (issue #8, Deliver 5-6): the time window an incident
// accepts related alerts in, the topology hop threshold (or "auto": from the graph's shape),
// the similarity weights and the join threshold, and which alerts may open an incident.
// Validated whole at start-up like the rest of central's config; the offline replay
// (`npm run correlate`) reads the same section so both paths run one configuration.
import { z } from 'zod';
import { duration } from '../../../shared-schemas/src/runtime/index.js';

/** Labels naming the entity an alert or series is about, in order of preference. */
export const DEFAULT_ENTITY_LABELS = ['service', 'database', 'queue', 'cache', 'instance_name', 'host', 'node'] as const;

export const SEVERITY_ORDER = ['none', 'info', 'warning', 'error', 'critical'] as const;
export type SeverityLevel = (typeof SEVERITY_ORDER)[number];

const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a label name');
const weight = z.number().min(0).max(10);

export const correlationConfigSchema = z
  .object({
    /** A new incident accepts related alerts for this long after its first alert... */
    window: duration({ min: 1000 }).default(300_000),
    /** ...extended to this long after each alert that joins it... */
    extend: duration({ min: 1000 }).default(300_000),
    /** ...but never beyond this long after it opened. */
    cap: duration({ min: 1000 }).default(3_600_000),
    /** An incident whose alerts all resolved stays open this long for a re-fire (flap damping). */
    resolve_hold: duration({ min: 0 }).default(300_000),
    /** Topology hops under which two entities count as related; "auto": half the graph's effective diameter, at least 1. */
    max_hops: z.union([z.literal('auto'), z.number().int().min(0).max(16)]).default('auto'),
    /** Labels naming the entity an alert is about, in order of preference (matched to topology node names or ids). */
    entity_labels: z.array(labelName).min(1).max(32).default([...DEFAULT_ENTITY_LABELS]),
    /** Labels left out of label similarity (besides the entity labels, which the topology judges). */
    ignore_labels: z.array(labelName).max(64).default(['alertname', 'severity', 'kind', 'job', 'prometheus', 'receiver']),
    /** Alerts below this severity join incidents but never open one (an unmatched info alert stays unassigned). */
    open_severity: z.enum(SEVERITY_ORDER).default('warning'),
    /** Similarity a gated candidate needs to be joined (0..sum of weights). */
    threshold: z.number().min(0).max(50).default(0.45),
    weights: z
      .object({
        topology: weight.default(0.5),
        time: weight.default(0.2),
        text: weight.default(0.1),
        labels: weight.default(0.1),
        cooccurrence: weight.default(0.1),
      })
      .strict()
      .prefault({}),
    /** Pairs of alert names seen together in this many resolved incidents before co-occurrence counts. */
    cooccurrence_min: z.number().int().min(1).max(1000).default(3),
    /** Open incidents kept per tenant; beyond it the oldest is closed early (counted). */
    max_open_incidents: z.number().int().min(10).max(1_000_000).default(10_000),
    /** Alerts one incident holds; further ones are counted and left unassigned. */
    max_incident_alerts: z.number().int().min(10).max(1_000_000).default(10_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.cap < c.window) ctx.addIssue({ code: 'custom', path: ['cap'], message: `must be >= window (${c.window} ms)`, input: c.cap });
  });

export type CorrelationConfigInput = z.input<typeof correlationConfigSchema>;
export type CorrelationConfig = z.output<typeof correlationConfigSchema>;

/** Defaults with `overrides` applied (tests, tools); central validates the section with its whole config. */
export function correlationConfig(overrides: CorrelationConfigInput = {}): CorrelationConfig {
  return correlationConfigSchema.parse(overrides);
}

export function severityRank(s: string | undefined): number {
  const v = (s ?? '').toLowerCase();
  const i = (SEVERITY_ORDER as readonly string[]).indexOf(v);
  if (i >= 0) return i;
  if (v === 'page' || v === 'high' || v === 'fatal') return SEVERITY_ORDER.indexOf('critical');
  if (v === 'low' || v === 'notice') return SEVERITY_ORDER.indexOf('info');
  if (v === 'warn' || v === 'medium') return SEVERITY_ORDER.indexOf('warning');
  return 0;
}
