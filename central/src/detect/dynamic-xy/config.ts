// Configuration of central's `detection:` section (anomalies to alerts with Dynamic X-Y
// suppression). Validated whole before anything is built (CONVENTIONS 7) and again on every
// live change (PUT /api/v1/config/detection -> DynamicXyDetector.update): a refused document
// leaves the running configuration untouched. Errors name the path and the bad value:
// `detection.x must be <= detection.y (got 6)`.
import { z } from 'zod';
import { CodedError, configIssues, duration, regexString } from '../../../../shared-schemas/src/runtime/index.js';
import type { ConfigIssue } from '../../../../shared-schemas/src/runtime/index.js';
import { FeatureFlags } from '../../../../shared-schemas/src/index.js';

/** Windows a series' flag history holds (one uint32 per series): the largest Y. */
export const MAX_Y = 32;

/** FeatureRow.flags bits that may make a window a candidate, by config name. */
export const TRIGGER_FLAGS = {
  anomaly: FeatureFlags.ANOMALY,
  band_breach: FeatureFlags.BAND_BREACH,
  zscore: FeatureFlags.ZSCORE,
  level_shift: FeatureFlags.LEVEL_SHIFT,
  gap: FeatureFlags.GAP,
  counter_reset: FeatureFlags.COUNTER_RESET,
} as const;
export type TriggerFlagName = keyof typeof TRIGGER_FLAGS;

const SEVERITIES = ['info', 'warning', 'critical'] as const;
const labelName = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'must be a valid label name');
const count = (min: number, max: number) => z.number().int().min(min).max(max);

const boundsSchema = (lo: number, hi: number, dMin: number, dMax: number) =>
  z
    .object({ min: count(lo, hi).default(dMin), max: count(lo, hi).default(dMax) })
    .strict()
    .superRefine((b, ctx) => {
      if (b.min > b.max) ctx.addIssue({ code: 'custom', path: ['min'], message: `must be <= max ${b.max}`, input: b.min });
    })
    .prefault({});

export const detectionConfigSchema = z
  .object({
    /** Flagged windows needed among the last `y` (the default until a series has learnt its own). */
    x: count(1, MAX_Y).default(3),
    /** Windows looked at (one window = the agent's feature window, 10 s by default). */
    y: count(1, MAX_Y).default(5),
    /**
     * FeatureRow.flags bits that make a window a candidate anomaly. BAND_BREACH stays set while
     * the value is outside the Tier-1 band, ANOMALY marks where the Tier-1 score crossed its
     * threshold (mostly the onset). Windows still WARMING_UP never count.
     */
    trigger_flags: z
      .array(z.enum(Object.keys(TRIGGER_FLAGS) as [TriggerFlagName, ...TriggerFlagName[]]))
      .min(1)
      .default(['anomaly', 'band_breach', 'level_shift']),
    learn: z
      .object({
        enabled: z.boolean().default(true),
        /** Windows a series must have been observed for before learnt values replace x and y. */
        min_history: count(1, 10_000_000).default(360),
        /** Past flap episodes needed before learning (fewer: the defaults). */
        min_flaps: count(1, 1024).default(5),
        /** Flap episodes remembered per series (the newest), 32 bytes each. */
        history_flaps: count(1, 256).default(16),
        /**
         * The target: the share of flap episodes the learnt X-of-Y must suppress. With k of the n
         * remembered flaps firing, a new flap fires with probability <= (k + 1) / (n + 1); the
         * learnt rule keeps that <= 1 - suppress (0.9: at most 1 flap in 10 becomes an alert).
         */
        suppress: z.number().gt(0).max(1).default(0.9),
        /**
         * Allow learnt rules that need fewer flags than the configured x (a series whose flaps are
         * all single windows would learn 2 of 3). Off: learning only ever adds suppression.
         */
        loosen: z.boolean().default(false),
        /** Bounds of the learnt X (the lower bound also keeps a single flag from ever firing when >= 2). */
        x: boundsSchema(1, MAX_Y, 2, 8),
        y: boundsSchema(1, MAX_Y, 2, MAX_Y),
      })
      .strict()
      .prefault({}),
    /** Consecutive windows without a flag before a firing alert resolves; unset = the series' Y. */
    resolve_after: count(1, 100_000).optional(),
    /**
     * Series with state; beyond it the least recently seen one is evicted (counted, and logged
     * at most once a minute). Default: the metric store's own series limit (1,000,000), so the
     * detector never forgets series the store still takes; a few hundred bytes each.
     */
    max_series: count(1, 10_000_000).default(1_000_000),
    /** A series not seen for this long is dropped (its firing alert resolved). */
    idle_timeout: duration({ min: 1000 }).default(15 * 60_000),
    /** Alerts kept for redelivery while the next stage fails; the oldest is dropped beyond it (counted). */
    max_pending: count(1, 1_000_000).default(10_000),
    /** `alertname` label of every alert. */
    alertname: z.string().min(1).max(256).default('MetricAnomaly'),
    /** Severity label: the first rule whose regexes all match the series wins, else `default`. */
    severity: z
      .object({
        default: z.enum(SEVERITIES).default('warning'),
        rules: z
          .array(
            z
              .object({
                severity: z.enum(SEVERITIES),
                /** Regex on the metric name (`__name__`), anchored. */
                metric: regexString().optional(),
                /** Regexes on label values, anchored; all must match. */
                labels: z.record(labelName, regexString()).default({}),
              })
              .strict(),
          )
          .max(256)
          .default([]),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.x > c.y) ctx.addIssue({ code: 'custom', path: ['x'], message: `must be <= y ${c.y}`, input: c.x });
    if (c.learn.x.min > c.learn.y.max) ctx.addIssue({ code: 'custom', path: ['learn', 'x', 'min'], message: `must be <= learn.y.max ${c.learn.y.max}`, input: c.learn.x.min });
  });

export type DetectionConfig = z.output<typeof detectionConfigSchema>;
export type DetectionConfigInput = z.input<typeof detectionConfigSchema>;
export type SeverityName = (typeof SEVERITIES)[number];

/** The configuration is invalid; `issues` lists every problem with its path. Never retryable. */
export class DetectionConfigError extends CodedError<'INVALID_CONFIG'> {
  override name = 'DetectionConfigError';
  constructor(
    readonly issues: ConfigIssue[],
    options?: { cause?: unknown },
  ) {
    super('INVALID_CONFIG', `invalid detection configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}): ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, false, options);
  }
}

/** Validates a raw document; every problem with its path under `prefix` (the REST API answers 400 with them). */
export function checkDetectionConfig(raw: unknown, prefix = 'detection'): { ok: true; config: DetectionConfig } | { ok: false; issues: ConfigIssue[] } {
  const parsed = detectionConfigSchema.safeParse(raw ?? {}, { reportInput: true });
  if (parsed.success) return { ok: true, config: parsed.data };
  return { ok: false, issues: configIssues(parsed.error, prefix) };
}

/** Validates a raw document and applies the defaults; throws DetectionConfigError naming every bad field. */
export function validateDetectionConfig(raw: unknown, prefix = 'detection'): DetectionConfig {
  const r = checkDetectionConfig(raw, prefix);
  if (r.ok) return r.config;
  throw new DetectionConfigError(r.issues);
}

/** Every default, as `detection: {}` gives. */
export const DEFAULT_DETECTION_CONFIG: Readonly<DetectionConfig> = Object.freeze(validateDetectionConfig({}));
