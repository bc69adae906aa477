import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NabScoringError } from './errors.js';

/**
 * NAB constants (numenta/NAB nab/util.py getProbationPeriod, nab/sweeper.py). The probationary
 * period of a file of n rows is min(floor(probationPercent * n), probationPercent * 5000).
 */
export const NAB_PROBATION_PERCENT = 0.15;
export const NAB_PROBATION_REFERENCE_ROWS = 5000;
/** The constant anomaly score the NAB null detector reports for every row. */
export const NAB_NULL_DETECTOR_SCORE = 0.5;
/** The sweep starts above every valid score, so its first row is "nothing detected". */
export const NAB_SWEEP_START_THRESHOLD = 1.1;
/** Profile names in the order NAB reports them. */
export const NAB_PROFILE_NAMES = ['standard', 'reward_low_FP_rate', 'reward_low_FN_rate'] as const;

/** Options for the scoring maths itself (no file locations). */
export interface NabScoringOptions {
  /** Fraction of each file (capped at fraction * 5000 rows) whose detections are ignored. */
  readonly probationPercent: number;
  /** Constant score of the in-memory null detector used as the 0-point of normalisation. */
  readonly nullDetectorScore: number;
}

/** Typed configuration of a `NabScorer` (see `createNabScorer`). */
export interface NabScorerConfig extends NabScoringOptions {
  /** The NAB root: the folder holding `data/`, `labels/` and `config/`. */
  readonly nabRoot: string;
  /** Folder of `<category>/<name>.csv` data files. Default `<nabRoot>/data`. */
  readonly dataDir: string;
  /** Anomaly windows per file. Default `<nabRoot>/labels/combined_windows.json`. */
  readonly labelsPath: string;
  /** Cost matrices per profile. Default `<nabRoot>/config/profiles.json`. */
  readonly profilesPath: string;
  /** Profiles to score, in order; undefined means every profile in `profilesPath`. */
  readonly profiles: readonly string[] | undefined;
}

export type NabScorerConfigInput = Partial<NabScorerConfig> & { readonly nabRoot: string };

export const DEFAULT_SCORING_OPTIONS: NabScoringOptions = Object.freeze({
  probationPercent: NAB_PROBATION_PERCENT,
  nullDetectorScore: NAB_NULL_DETECTOR_SCORE,
});

function badConfig(path: string, rule: string, got: unknown): NabScoringError {
  return new NabScoringError('BAD_CONFIG', `${path} ${rule} (got ${JSON.stringify(got)})`, {
    field: path,
  });
}

/** Validates scoring options as a whole; errors name the option and the bad value. */
export function resolveScoringOptions(input: Partial<NabScoringOptions> = {}): NabScoringOptions {
  const probationPercent = input.probationPercent ?? NAB_PROBATION_PERCENT;
  if (typeof probationPercent !== 'number' || !(probationPercent >= 0 && probationPercent < 1)) {
    throw badConfig('probationPercent', 'must be a number in [0, 1)', probationPercent);
  }
  const nullDetectorScore = input.nullDetectorScore ?? NAB_NULL_DETECTOR_SCORE;
  if (
    typeof nullDetectorScore !== 'number' ||
    !(nullDetectorScore >= 0 && nullDetectorScore <= 1)
  ) {
    throw badConfig('nullDetectorScore', 'must be a number in [0, 1]', nullDetectorScore);
  }
  return Object.freeze({ probationPercent, nullDetectorScore });
}

/** Fills defaults from `nabRoot` and validates the whole config before anything is read. */
export function resolveNabScorerConfig(input: NabScorerConfigInput): NabScorerConfig {
  if (typeof input.nabRoot !== 'string' || input.nabRoot.length === 0) {
    throw badConfig('nabRoot', 'must be a non-empty path', input.nabRoot);
  }
  const nabRoot = resolve(input.nabRoot);
  const under = (p: string | undefined, fallback: string, name: string): string => {
    if (p === undefined) return join(nabRoot, fallback);
    if (typeof p !== 'string' || p.length === 0) throw badConfig(name, 'must be a non-empty path', p);
    return isAbsolute(p) ? p : resolve(p);
  };
  const profiles = input.profiles;
  if (profiles !== undefined) {
    if (!Array.isArray(profiles) || profiles.length === 0) {
      throw badConfig('profiles', 'must be a non-empty list of profile names', profiles);
    }
    profiles.forEach((p, i) => {
      if (typeof p !== 'string' || p.length === 0) {
        throw badConfig(`profiles[${i}]`, 'must be a non-empty string', p);
      }
    });
  }
  return Object.freeze({
    ...resolveScoringOptions(input),
    nabRoot,
    dataDir: under(input.dataDir, 'data', 'dataDir'),
    labelsPath: under(input.labelsPath, join('labels', 'combined_windows.json'), 'labelsPath'),
    profilesPath: under(input.profilesPath, join('config', 'profiles.json'), 'profilesPath'),
    profiles: profiles === undefined ? undefined : Object.freeze([...profiles]),
  });
}

/** The repository root (this file lives in `<root>/simulators/scoring/`). */
export function repoRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

/**
 * The shared benchmark `data` folder: `$AIOPS_SHARED_DATA` when set, else
 * `<repoRoot>/../shared/data`. The data is read in place, never copied into the repo.
 */
export function sharedDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['AIOPS_SHARED_DATA'];
  if (fromEnv !== undefined && fromEnv.length > 0) return resolve(fromEnv);
  return resolve(repoRoot(), '..', 'shared', 'data');
}

/** `<shared data>/nab`, the default NAB root. */
export function defaultNabRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(sharedDataDir(env), 'nab');
}
