/**
 * The NAB scorer: threshold optimisation per profile over the whole corpus, scoring at the
 * optimised threshold, and normalisation against the null detector (numenta/NAB nab/runner.py
 * optimize/score/normalize):
 *
 *   normalized = 100 * (raw - null) / (perfect - null),  perfect = windowCount * tpWeight
 *
 * where `null` is the raw score of NAB's null detector (the same constant score on every row,
 * itself scored at its own optimised threshold) and `windowCount` counts every labelled window.
 */
import {
  resolveNabScorerConfig,
  resolveScoringOptions,
  type NabScorerConfig,
  type NabScorerConfigInput,
  type NabScoringOptions,
} from './config.js';
import {
  constantDetectorResults,
  loadDetectorResults,
  loadNabCorpus,
  loadProfiles,
  type CostMatrix,
  type DetectorResults,
  type NabCorpus,
  type NabLoadProgress,
  type NabProfiles,
} from './corpus.js';
import { NabScoringError } from './errors.js';
import {
  optimizeThreshold,
  prepareCorpus,
  scoreAtThreshold,
  type FileScore,
  type NabCounts,
  type PreparedCorpus,
} from './sweep.js';

export interface ProfileScore extends NabCounts {
  readonly profile: string;
  readonly costMatrix: CostMatrix;
  /** Optimised over the whole corpus; rows with anomaly_score >= threshold are detections. */
  readonly threshold: number;
  readonly rawScore: number;
  /**
   * 100 * (raw - null) / (perfect - null). NaN when the corpus has no window and the null
   * detector is already perfect (0/0).
   */
  readonly normalizedScore: number;
  /** Raw score of the null detector on this corpus and profile. */
  readonly nullScore: number;
  /** Raw score of a perfect detector: windowCount * tpWeight. */
  readonly perfectScore: number;
  /** Scored windows (with rows after probation) and how many hold a detection. */
  readonly windows: number;
  readonly windowsDetected: number;
  readonly files: readonly FileScore[];
}

/** Profile name -> score, in profile order. */
export type DetectorScores = Readonly<Record<string, ProfileScore>>;

export interface ScoreDetectorOptions extends Partial<NabScoringOptions> {
  /** Results of the baseline detector; default: NAB's null detector built in memory. */
  readonly nullResults?: DetectorResults;
  /** Profiles to score, in order; default: all of `profiles`. */
  readonly profileNames?: readonly string[];
}

function pickProfiles(profiles: NabProfiles, names: readonly string[] | undefined): Array<[string, CostMatrix]> {
  const wanted = names ?? Object.keys(profiles);
  return wanted.map((name, i) => {
    const cm = profiles[name];
    if (cm === undefined) {
      throw new NabScoringError(
        'BAD_CONFIG',
        `profiles[${i}] must name a profile of the profiles file (got "${name}"; have ${Object.keys(profiles)
          .map((n) => `"${n}"`)
          .join(', ')})`,
        { field: `profiles[${i}]` },
      );
    }
    return [name, cm];
  });
}

function bestScore(prepared: PreparedCorpus, cm: CostMatrix) {
  const best = optimizeThreshold(prepared, cm);
  return scoreAtThreshold(prepared, cm, best.threshold);
}

/**
 * Scores one detector on a corpus for every profile: optimise the threshold on the whole
 * corpus, score every file at it, total, normalise. Pure and synchronous.
 */
export function scoreDetector(
  results: DetectorResults,
  corpus: NabCorpus,
  profiles: NabProfiles,
  options: ScoreDetectorOptions = {},
): DetectorScores {
  const opts = resolveScoringOptions(options);
  const chosen = pickProfiles(profiles, options.profileNames);
  const prepared = prepareCorpus(corpus, results, opts.probationPercent);
  const nullResults = options.nullResults ?? constantDetectorResults(corpus, opts.nullDetectorScore);
  const nullPrepared =
    nullResults === results ? prepared : prepareCorpus(corpus, nullResults, opts.probationPercent);
  const out: Record<string, ProfileScore> = {};
  for (const [profile, cm] of chosen) {
    const scored = bestScore(prepared, cm);
    const nullScore = bestScore(nullPrepared, cm).score;
    const perfectScore = corpus.windowCount * cm.tpWeight;
    out[profile] = {
      profile,
      costMatrix: cm,
      threshold: scored.threshold,
      rawScore: scored.score,
      normalizedScore: normalizeScore(scored.score, nullScore, perfectScore),
      nullScore,
      perfectScore,
      tp: scored.tp,
      fp: scored.fp,
      fn: scored.fn,
      tn: scored.tn,
      total: scored.total,
      windows: scored.windows,
      windowsDetected: scored.windowsDetected,
      files: scored.files,
    };
  }
  return Object.freeze(out);
}

/** NAB's normalisation: the null detector maps to 0, a perfect detector to 100. */
export function normalizeScore(raw: number, nullScore: number, perfectScore: number): number {
  return (100 * (raw - nullScore)) / (perfectScore - nullScore);
}

export type NabProgressEvent =
  | { readonly phase: 'corpus' | 'results'; readonly file: string; readonly done: number; readonly total: number }
  | { readonly phase: 'scoring'; readonly detector: string; readonly profiles: readonly string[] };

export interface NabScorerSettings {
  /** Progress of long runs (file loading); the CLI prints it to stderr. */
  readonly onProgress?: (event: NabProgressEvent) => void;
}

export interface NabDetectorReport {
  readonly detector: string;
  readonly resultsDir: string;
  readonly files: number;
  readonly windows: number;
  readonly probationPercent: number;
  readonly profiles: DetectorScores;
}

export interface NabScorer {
  readonly config: NabScorerConfig;
  /** Loads (once) and returns the corpus and profiles named by the config. */
  load(): Promise<{ readonly corpus: NabCorpus; readonly profiles: NabProfiles }>;
  /** Scores `<resultsDir>/<detector>/...` result files against the corpus. */
  scoreResults(detector: string, resultsDir: string): Promise<NabDetectorReport>;
  /** Scores in-memory results (e.g. a detector run in-process over `load().corpus`). */
  score(results: DetectorResults): Promise<NabDetectorReport>;
}

/**
 * Factory of the scorer component. The whole config is validated here, before any file is read;
 * the corpus and profiles are read on first use and kept.
 */
export function createNabScorer(input: NabScorerConfigInput, settings: NabScorerSettings = {}): NabScorer {
  const config = resolveNabScorerConfig(input);
  const progress: NabLoadProgress | undefined =
    settings.onProgress === undefined ? undefined : (e) => settings.onProgress?.(e);
  let loading: Promise<{ corpus: NabCorpus; profiles: NabProfiles }> | undefined;

  const load = (): Promise<{ corpus: NabCorpus; profiles: NabProfiles }> => {
    if (loading === undefined) {
      const attempt = (async () => {
        const profiles = await loadProfiles(config.profilesPath);
        pickProfiles(profiles, config.profiles);
        const corpus = await loadNabCorpus(config.nabRoot, {
          dataDir: config.dataDir,
          labelsPath: config.labelsPath,
          ...(progress === undefined ? {} : { onProgress: progress }),
        });
        return { corpus, profiles };
      })();
      loading = attempt;
      // A failed load is not kept: the next call reads the files again.
      attempt.catch(() => {
        if (loading === attempt) loading = undefined;
      });
    }
    return loading;
  };

  const report = (results: DetectorResults, resultsDir: string, corpus: NabCorpus, profiles: NabProfiles) => {
    const profileNames = config.profiles ?? Object.keys(profiles);
    settings.onProgress?.({ phase: 'scoring', detector: results.detector, profiles: profileNames });
    const scores = scoreDetector(results, corpus, profiles, {
      probationPercent: config.probationPercent,
      nullDetectorScore: config.nullDetectorScore,
      profileNames,
    });
    return {
      detector: results.detector,
      resultsDir,
      files: corpus.files.length,
      windows: corpus.windowCount,
      probationPercent: config.probationPercent,
      profiles: scores,
    };
  };

  return {
    config,
    load,
    async scoreResults(detector, resultsDir) {
      const { corpus, profiles } = await load();
      const results = await loadDetectorResults(resultsDir, detector, corpus, {
        ...(progress === undefined ? {} : { onProgress: progress }),
      });
      return report(results, resultsDir, corpus, profiles);
    },
    async score(results) {
      const { corpus, profiles } = await load();
      return report(results, '(in memory)', corpus, profiles);
    },
  };
}
