// Configuration of root-cause analysis (issue #9): which data the engine reads around the
// detection time, how deviations are judged, the Granger tests, the priors, the known-failure
// rules, and when central re-runs the analysis of an incident. The offline CLI (`npm run rca`)
// reads the same `rca:` section, so both paths run one configuration.
import { z } from 'zod';
import { duration } from '../../../shared-schemas/src/runtime/index.js';

export const rcaConfigSchema = z
  .object({
    /** Run RCA on new and grown incidents in central. */
    enabled: z.boolean().default(true),
    /** Topology hops around the incident's services whose metrics are candidates. */
    hops: z.number().int().min(0).max(6).default(2),
    /** History before the detection time the baselines are fitted on. */
    before: duration({ min: 60_000 }).default(1_800_000),
    /** Data after the detection time the engine may read (no sample at or after detection + after is read). */
    after: duration({ min: 0 }).default(600_000),
    /** The last part before detection kept out of the baseline: an onset there is found, not learnt as normal. */
    guard: duration({ min: 0 }).default(180_000),
    /** Scaled deviation (in interquartile ranges) from which a metric counts as anomalous. */
    min_score: z.number().min(0.5).max(1000).default(4),
    /** Scaled deviation that marks a metric's onset (first sustained crossing). */
    onset_score: z.number().min(0.5).max(1000).default(3),
    /** Samples an onset may lead the dependent's and still explain it (clock skew, sampling). */
    onset_tolerance: z.number().int().min(0).max(60).default(1),
    /** Weight kept by a deviation that the topology explains (0 = explained symptoms never rank). */
    explained_weight: z.number().min(0).max(1).default(0.15),
    granger: z
      .object({
        enabled: z.boolean().default(true),
        max_lag: z.number().int().min(1).max(20).default(3),
        /** False discovery rate over all tests of one analysis (Benjamini-Hochberg). */
        fdr: z.number().min(0.0001).max(0.5).default(0.05),
        /** Pairs tested per analysis at most (strongest deviations first). */
        max_pairs: z.number().int().min(0).max(10_000).default(300),
        /**
         * Rows after the earlier onset a pair needs before its tests may prune an edge or orient
         * one against the topology (below it they only confirm: too few rows, too little power).
         */
        min_rows: z.number().int().min(8).max(10_000).default(20),
      })
      .strict()
      .prefault({}),
    /** Weight kept by a deviation already present where the onset search begins (detection - guard): a standing condition. */
    standing_weight: z.number().min(0).max(1).default(0.25),
    /** Weight kept by a candidate that no chain of deviating dependencies links to the incident's services. */
    disconnected_weight: z.number().min(0).max(1).default(0.1),
    /** Prior odds multiplier of an entity changed (deploy, config) within change_window before the onset. */
    change_prior: z.number().min(1).max(1000).default(3),
    change_window: duration({ min: 0 }).default(1_800_000),
    /** Sharpness of the posterior over deviation scores (higher = more mass on the top candidate). */
    temperature: z.number().min(0.01).max(100).default(1),
    rules: z
      .object({
        enabled: z.boolean().default(true),
        /** Disk usage ratio from which a rising filesystem is "disk full". */
        disk_full_ratio: z.number().min(0.5).max(1).default(0.9),
        /** Certificate lifetime left (seconds) under which "certificate expiry" matches. */
        cert_expiry_seconds: z.number().min(0).default(86_400),
        /** Memory drop (fraction of the peak) after a climb that reads as an OOM kill and restart. */
        oom_drop: z.number().min(0.1).max(1).default(0.5),
      })
      .strict()
      .prefault({}),
    /** Causes stored on the incident. */
    max_causes: z.number().int().min(1).max(50).default(5),
    /** Series read per analysis at most (the store query is refused beyond it, not truncated). */
    max_series: z.number().int().min(10).max(100_000).default(5000),
    /** A grown incident is re-analysed at most this often. */
    rerun_interval: duration({ min: 1000 }).default(30_000),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.guard >= c.before) ctx.addIssue({ code: 'custom', path: ['guard'], message: `must be < before (${c.before} ms)`, input: c.guard });
    if (c.onset_score > c.min_score) ctx.addIssue({ code: 'custom', path: ['onset_score'], message: `must be <= min_score (${c.min_score})`, input: c.onset_score });
  });

export type RcaConfigInput = z.input<typeof rcaConfigSchema>;
export type RcaConfig = z.output<typeof rcaConfigSchema>;

/** Defaults with `overrides` applied (tests, tools); central validates the section with its whole config. */
export function rcaConfig(overrides: RcaConfigInput = {}): RcaConfig {
  return rcaConfigSchema.parse(overrides);
}
