// The `alerts:` options of a scenario, validated whole before anything runs. Durations are
// Prometheus-style text ("30s", "5m", "1h30m") or numbers of milliseconds.
import { z } from 'zod';
import { AlertStormError } from './errors.js';
import { formatPromDuration, parsePromDuration } from './expr.js';
import type { RouteOptions } from './dispatch.js';
import type { DefaultRuleOptions } from './rules.js';

const DAY = 86_400_000;

function duration(minMs: number, maxMs: number) {
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parsePromDuration(v.trim());
    if (!Number.isFinite(ms) || (typeof v === 'number' && !Number.isInteger(v))) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration such as "30s", "5m", "1h30m" or a whole number of milliseconds', input: v });
      return z.NEVER;
    }
    if (ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: `must be between ${formatPromDuration(minMs)} and ${formatPromDuration(maxMs)}`, input: v });
      return z.NEVER;
    }
    return ms;
  });
}

const probability = z.number().min(0).max(1);
const rate = z.number().min(0).max(3600);

/**
 * Schema of the `alerts:` options object. Noise knobs left unset follow `noise.level` (0..1):
 * at level 1 there are 4 flapping noise alerts and 12 unrelated low-severity alerts per hour,
 * half of the fault-caused alerts flap before they settle, and 30% of notifications are
 * duplicated and 30% arrive late; each scales linearly with the level.
 */
export const alertStormOptionsSchema = z
  .object({
    /** Seed of every random choice; default: the ground truth's seed. */
    seed: z.number().int().min(0).max(0xffff_ffff).optional(),
    /** Rule evaluation interval (for groups without their own `interval`). */
    evaluationInterval: duration(1000, 3_600_000).default(30_000),
    /** How long after a fault's end an alert on an affected entity is still attributed to it. */
    settle: duration(0, DAY).default(300_000),
    /** A rule file (YAML text or the parsed structure); default: rules derived from the topology. */
    rules: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    defaultRules: z
      .object({
        /** Robust standard deviations above the median for baseline thresholds. */
        sigmas: z.number().min(0.5).max(100).default(6),
        /** Overrides every default rule's `for`. */
        for: duration(0, DAY).optional(),
      })
      .strict()
      .prefault({}),
    route: z
      .object({
        receiver: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must match [A-Za-z0-9_.-]{1,64}').default('aiops-webhook'),
        groupBy: z
          .array(z.string().regex(/^([A-Za-z_][A-Za-z0-9_]*|\.\.\.)$/, 'must be a label name or "..."'))
          .min(1)
          .max(32)
          .default(['alertname']),
        groupWait: duration(0, 3_600_000).default(30_000),
        groupInterval: duration(1000, DAY).default(300_000),
        repeatInterval: duration(1000, 30 * DAY).default(4 * 3_600_000),
      })
      .strict()
      .prefault({}),
    /** Alertmanager's external URL, copied into every notification. */
    externalURL: z.url({ protocol: /^https?$/ }).default('http://alertmanager.sim:9093'),
    /** Prometheus' external URL, the base of every alert's generatorURL. */
    prometheusURL: z.url({ protocol: /^https?$/ }).default('http://prometheus.sim:9090'),
    noise: z
      .object({
        level: probability.default(0.3),
        flapping: z
          .object({
            /** Flapping noise alerts (sim_fault="none") started per hour. */
            ratePerHour: rate.optional(),
            /** Fraction of fault-caused alerts that flap before they settle into firing. */
            realFraction: probability.optional(),
            /** Fire/resolve cycles per flapping alert, inclusive range. */
            minCycles: z.number().int().min(1).max(50).default(2),
            maxCycles: z.number().int().min(1).max(50).default(5),
            /** Mean length of one firing or resolved phase (each drawn in [0.5, 1.5] x period). */
            period: duration(1000, 3_600_000).default(120_000),
          })
          .strict()
          .prefault({}),
        duplicates: z
          .object({
            /** Probability that a notification is delivered twice. */
            probability: probability.optional(),
            /** The copy arrives up to this long after the original. */
            maxDelay: duration(0, 3_600_000).default(30_000),
          })
          .strict()
          .prefault({}),
        unrelated: z
          .object({
            /** Low-severity alerts with no relation to any fault, started per hour. */
            ratePerHour: rate.optional(),
            minDuration: duration(1000, DAY).default(120_000),
            maxDuration: duration(1000, DAY).default(1_800_000),
          })
          .strict()
          .prefault({}),
        late: z
          .object({
            /** Probability that a notification is delivered late (out of order). */
            probability: probability.optional(),
            minDelay: duration(0, DAY).default(30_000),
            maxDelay: duration(0, DAY).default(180_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((o, ctx) => {
    const n = o.noise;
    if (n.flapping.minCycles > n.flapping.maxCycles) {
      ctx.addIssue({ code: 'custom', path: ['noise', 'flapping', 'maxCycles'], message: `must be >= minCycles (${n.flapping.minCycles})`, input: n.flapping.maxCycles });
    }
    if (n.unrelated.minDuration > n.unrelated.maxDuration) {
      ctx.addIssue({ code: 'custom', path: ['noise', 'unrelated', 'maxDuration'], message: `must be >= minDuration (${formatPromDuration(n.unrelated.minDuration)})` });
    }
    if (n.late.minDelay > n.late.maxDelay) {
      ctx.addIssue({ code: 'custom', path: ['noise', 'late', 'maxDelay'], message: `must be >= minDelay (${formatPromDuration(n.late.minDelay)})` });
    }
  });

export type AlertStormOptions = z.input<typeof alertStormOptionsSchema>;

export interface NoiseConfig {
  level: number;
  flapping: { ratePerHour: number; realFraction: number; minCycles: number; maxCycles: number; periodMs: number };
  duplicates: { probability: number; maxDelayMs: number };
  unrelated: { ratePerHour: number; minDurationMs: number; maxDurationMs: number };
  late: { probability: number; minDelayMs: number; maxDelayMs: number };
}

/** Validated options with every default and level-derived knob filled in. */
export interface AlertStormConfig {
  seed: number | undefined;
  evaluationIntervalMs: number;
  settleMs: number;
  rules: string | Record<string, unknown> | undefined;
  defaultRules: DefaultRuleOptions;
  route: RouteOptions;
  prometheusURL: string;
  noise: NoiseConfig;
}

/** Noise knobs at level 1 (each scales linearly with the level unless set explicitly). */
export const NOISE_AT_LEVEL_1 = Object.freeze({
  flappingPerHour: 4,
  flappingRealFraction: 0.5,
  duplicateProbability: 0.3,
  unrelatedPerHour: 12,
  lateProbability: 0.3,
});

function show(v: unknown): string {
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Validates the `alerts:` options (undefined = all defaults). Errors are AlertStormError
 * BAD_OPTIONS naming the path and the bad value: `alerts.noise.level Too big: expected number
 * to be <=1 (got 3)`.
 */
export function resolveAlertStormOptions(input: unknown, path = 'alerts'): AlertStormConfig {
  const r = alertStormOptionsSchema.safeParse(input ?? {}, { reportInput: true });
  if (!r.success) {
    const msgs = r.error.issues.map((i) => {
      const p = [path, ...i.path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))].join('').replace(/\.\[/g, '[');
      let m = i.message;
      if (i.code === 'unrecognized_keys') m = `has unknown key(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
      const got = 'input' in i && i.code !== 'unrecognized_keys' && i.input !== undefined ? ` (got ${show(i.input)})` : '';
      return { p, text: `${p} ${m}${got}` };
    });
    throw new AlertStormError('BAD_OPTIONS', msgs.map((m) => m.text).join('; '), { path: msgs[0]?.p ?? path });
  }
  const o = r.data;
  const L = o.noise.level;
  const n = o.noise;
  return {
    seed: o.seed,
    evaluationIntervalMs: o.evaluationInterval,
    settleMs: o.settle,
    rules: o.rules,
    defaultRules: { sigmas: o.defaultRules.sigmas, forMs: o.defaultRules.for },
    route: {
      receiver: o.route.receiver,
      groupBy: o.route.groupBy,
      groupWaitMs: o.route.groupWait,
      groupIntervalMs: o.route.groupInterval,
      repeatIntervalMs: o.route.repeatInterval,
      externalURL: o.externalURL,
    },
    prometheusURL: o.prometheusURL,
    noise: {
      level: L,
      flapping: {
        ratePerHour: n.flapping.ratePerHour ?? NOISE_AT_LEVEL_1.flappingPerHour * L,
        realFraction: n.flapping.realFraction ?? NOISE_AT_LEVEL_1.flappingRealFraction * L,
        minCycles: n.flapping.minCycles,
        maxCycles: n.flapping.maxCycles,
        periodMs: n.flapping.period,
      },
      duplicates: { probability: n.duplicates.probability ?? NOISE_AT_LEVEL_1.duplicateProbability * L, maxDelayMs: n.duplicates.maxDelay },
      unrelated: {
        ratePerHour: n.unrelated.ratePerHour ?? NOISE_AT_LEVEL_1.unrelatedPerHour * L,
        minDurationMs: n.unrelated.minDuration,
        maxDurationMs: n.unrelated.maxDuration,
      },
      late: { probability: n.late.probability ?? NOISE_AT_LEVEL_1.lateProbability * L, minDelayMs: n.late.minDelay, maxDelayMs: n.late.maxDelay },
    },
  };
}
