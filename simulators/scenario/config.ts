// The scenario file: what to simulate, with which faults, and what to export. Validated whole
// (zod) before anything is generated; every error names the path in the file and the bad value,
// e.g. `faults[1].onset must be a multiple of step 10s (got "95s")`.
import { z } from 'zod';
import { benignOptionsSchema } from '../metrics/index.js';
import { FAULT_TYPES } from '../model/index.js';
import { nabExportSchema } from '../exports/index.js';
import type { NabExportOptions } from '../exports/index.js';
import { CONFIG_CHANGE_VARIANTS } from '../faults/index.js';
import type { ValidFault } from '../faults/index.js';
import { formatSchemaIssues, topologySpecSchema } from '../topology/index.js';
import type { TopologySpec } from '../topology/index.js';
import { formatDuration, parseDuration } from './duration.js';
import { ScenarioError } from './errors.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

const durationText = z.string().refine((s) => Number.isFinite(parseDuration(s)), { message: 'must be a duration like "90s", "15m", "2h" or "1h30m"' });

const faultSchema = z
  .object({
    id: z.string().regex(NAME_RE, 'must be letters, digits, "_", "." or "-"').max(64).optional(),
    type: z.enum(FAULT_TYPES),
    /** Node name (or node id) in the topology. */
    target: z.string().min(1).max(256),
    /** After the scenario's start. */
    onset: durationText,
    duration: durationText,
    severity: z.number().gt(0).max(10).default(1),
    variant: z.enum(CONFIG_CHANGE_VARIANTS).optional(),
  })
  .strict();

const scenarioFileSchema = z
  .object({
    name: z.string().regex(NAME_RE, 'must be letters, digits, "_", "." or "-"').max(100),
    description: z.string().max(2000).optional(),
    topology: topologySpecSchema,
    seed: z.number().int().min(0).max(0xffff_ffff),
    /** ISO 8601 time with a zone, e.g. 2024-03-04T00:00:00Z; whole seconds. */
    start: z.string().refine((s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) && Number.isFinite(Date.parse(s)) && Date.parse(s) % 1000 === 0, {
      message: 'must be an ISO 8601 time with a zone on a whole second, e.g. "2024-03-04T00:00:00Z"',
    }),
    duration: durationText,
    step: durationText.default('10s'),
    noise: z.number().min(0).max(5).default(1),
    /** Time an effect takes to cross one edge of the topology: a multiple of step, 0 allowed. */
    hopLag: durationText.optional(),
    benign: benignOptionsSchema.default({ deploysPerDay: 1, levelShiftsPerDay: 0.5 }),
    groundTruth: z.object({ minEffect: z.number().gt(0).max(10).default(0.02) }).strict().default({ minEffect: 0.02 }),
    faults: z.array(faultSchema).max(200).default([]),
    exports: z
      .object({
        metricsCsv: z.boolean().default(true),
        nab: nabExportSchema.default({ enabled: true, windowFraction: 0.1 }),
        rcaeval: z
          .object({ enabled: z.boolean().default(true), before: durationText.default('10m'), after: durationText.default('10m') })
          .strict()
          .default({ enabled: true, before: '10m', after: '10m' }),
      })
      .strict()
      .default({ metricsCsv: true, nab: { enabled: true, windowFraction: 0.1 }, rcaeval: { enabled: true, before: '10m', after: '10m' } }),
    /** Passed untouched to the alert-storm generator. */
    alerts: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type ScenarioFile = z.input<typeof scenarioFileSchema>;

/** A validated scenario, times in ms. */
export interface Scenario {
  name: string;
  description?: string;
  topology: TopologySpec;
  seed: number;
  startMs: number;
  durationMs: number;
  stepMs: number;
  noise: number;
  hopLagSteps: number;
  benign: { deploysPerDay: number; levelShiftsPerDay: number };
  minEffect: number;
  faults: ValidFault[];
  exports: {
    metricsCsv: boolean;
    nab: NabExportOptions;
    rcaeval: { enabled: boolean; beforeMs: number; afterMs: number };
  };
  /** The file's `alerts:` object, untouched (undefined when absent). */
  alerts?: Record<string, unknown>;
}

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/**
 * Validates a parsed scenario file (the object YAML gave). Throws ScenarioError BAD_SCENARIO
 * listing every problem as `path message (got value)`.
 */
export function validateScenario(input: unknown, source = 'scenario'): Scenario {
  const r = scenarioFileSchema.safeParse(input);
  if (!r.success) {
    const lines = formatSchemaIssues(r.error, input);
    throw new ScenarioError('BAD_SCENARIO', `${source}: invalid scenario (${lines.length} problem${lines.length > 1 ? 's' : ''}):\n  ${lines.join('\n  ')}`);
  }
  const f = r.data;
  const problems: string[] = [];
  const stepMs = parseDuration(f.step);
  const durationMs = parseDuration(f.duration);
  if (stepMs < 1000 || stepMs % 1000 !== 0) problems.push(`step must be whole seconds, at least 1s (got ${show(f.step)})`);
  const stepText = formatDuration(stepMs);
  const multiple = (ms: number): boolean => stepMs > 0 && ms % stepMs === 0;
  if (durationMs <= 0 || !multiple(durationMs)) problems.push(`duration must be a positive multiple of step ${stepText} (got ${show(f.duration)})`);
  else if (durationMs / stepMs < 2) problems.push(`duration must cover at least 2 steps of ${stepText} (got ${show(f.duration)})`);
  const hopLagMs = f.hopLag === undefined ? stepMs : parseDuration(f.hopLag);
  if (!multiple(hopLagMs) || hopLagMs / stepMs > 60) problems.push(`hopLag must be a multiple of step ${stepText}, at most 60 steps (got ${show(f.hopLag)})`);
  const faults: ValidFault[] = f.faults.map((x, k) => {
    const onsetMs = parseDuration(x.onset);
    const faultMs = parseDuration(x.duration);
    if (!multiple(onsetMs)) problems.push(`faults[${k}].onset must be a multiple of step ${stepText} (got ${show(x.onset)})`);
    else if (onsetMs <= 0 || onsetMs >= durationMs) problems.push(`faults[${k}].onset must be after the start and before the end (0 < onset < ${f.duration}; got ${show(x.onset)})`);
    if (faultMs <= 0 || !multiple(faultMs)) problems.push(`faults[${k}].duration must be a positive multiple of step ${stepText} (got ${show(x.duration)})`);
    if (x.variant !== undefined && x.type !== 'config_change') problems.push(`faults[${k}].variant applies to config_change faults only (got ${show(x.variant)} on ${x.type})`);
    const out: ValidFault = { type: x.type, target: x.target, onsetMs, durationMs: faultMs, severity: x.severity };
    if (x.id !== undefined) out.id = x.id;
    if (x.variant !== undefined) out.variant = x.variant;
    return out;
  });
  const ids = new Map<string, number>();
  f.faults.forEach((x, k) => {
    const id = x.id ?? `f${k + 1}`;
    if (ids.has(id)) problems.push(`faults[${k}].id ${show(id)} is already used by faults[${ids.get(id)}]`);
    ids.set(id, k);
  });
  const beforeMs = parseDuration(f.exports.rcaeval.before);
  const afterMs = parseDuration(f.exports.rcaeval.after);
  if (afterMs <= 0) problems.push(`exports.rcaeval.after must be positive (got ${show(f.exports.rcaeval.after)})`);
  if (problems.length > 0) {
    throw new ScenarioError('BAD_SCENARIO', `${source}: invalid scenario (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  ${problems.join('\n  ')}`);
  }
  const scenario: Scenario = {
    name: f.name,
    topology: f.topology as TopologySpec,
    seed: f.seed,
    startMs: Date.parse(f.start),
    durationMs,
    stepMs,
    noise: f.noise,
    hopLagSteps: hopLagMs / stepMs,
    benign: f.benign,
    minEffect: f.groundTruth.minEffect,
    faults,
    exports: {
      metricsCsv: f.exports.metricsCsv,
      nab: f.exports.nab,
      rcaeval: { enabled: f.exports.rcaeval.enabled, beforeMs, afterMs },
    },
  };
  if (f.description !== undefined) scenario.description = f.description;
  // The alert-storm section is handed on exactly as written (not zod's copy of it).
  if (f.alerts !== undefined) scenario.alerts = (input as { alerts: Record<string, unknown> }).alerts;
  return scenario;
}
