/**
 * The NAB scoring function and threshold sweep (numenta/NAB nab/sweeper.py, nab/optimizer.py,
 * nab/scorer.py, the versions that produced the published scoreboard).
 *
 * Per row, independently of the threshold:
 * - inside a window of width W whose last row is R, row i has relative position
 *   -(R - i + 1) / W, so the window's first row is at exactly -1 and its last row at -1/W;
 *   a detection there is worth scaledSigmoid(position) * tpWeight / scaledSigmoid(-1), i.e.
 *   exactly tpWeight at the window's first row;
 * - outside windows, a detection costs scaledSigmoid(|R - i| / (W - 1)) * fpWeight, measured
 *   from the last row R of the closest preceding window (width W), or -fpWeight when no window
 *   precedes it; scaledSigmoid is -1 beyond position 3;
 * - rows before the probationary length min(floor(p * n), p * 5000) are dropped entirely: they
 *   are neither detections nor counted rows, and a window with no row left is not scored.
 * For one threshold T the detections are the rows with anomaly_score >= T; a window scores the
 * best of its detections, or -fnWeight when it has none; false positives add up.
 */
import type { CostMatrix, DetectorResults, NabCorpus, NabDataFile } from './corpus.js';
import { NAB_PROBATION_REFERENCE_ROWS, NAB_SWEEP_START_THRESHOLD } from './config.js';
import { NabScoringError } from './errors.js';

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** NAB's scaled sigmoid: 2*sigmoid(-5x) - 1, and -1 for x > 3 (far behind a window). */
export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition > 3.0) return -1.0;
  return 2 * sigmoid(-5 * relativePosition) - 1.0;
}

/** scaledSigmoid(-1) = 0.98661...: the unscaled value of a detection on a window's first row. */
export const MAX_TP = scaledSigmoid(-1.0);

/** Rows with index < this are probationary (NAB compares the row index to this float). */
export function probationaryLength(rows: number, probationPercent: number): number {
  return Math.min(Math.floor(probationPercent * rows), probationPercent * NAB_PROBATION_REFERENCE_ROWS);
}

export interface RowAnnotation {
  /** Unweighted scaled-sigmoid value of a detection on each row. */
  readonly unweighted: Float64Array;
  /** Index into `file.windows` for rows inside a window, else -1. */
  readonly window: Int32Array;
  readonly probationaryLength: number;
}

/**
 * Walks a file's rows like NAB's `Sweeper.calcSweepScore`: a window opens on the first row whose
 * timestamp equals its start and closes after the row whose timestamp equals its end.
 */
export function annotateRows(file: NabDataFile, probationPercent: number): RowAnnotation {
  const n = file.timestamps.length;
  const unweighted = new Float64Array(n);
  const window = new Int32Array(n).fill(-1);
  const windows = file.windows;
  let next = 0;
  let cur = -1;
  let curRight = 0;
  let curWidth = 0;
  let prevRight = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    const t = file.timestamps[i]!;
    const pending = windows[next];
    if (pending !== undefined && t === pending.start) {
      cur = next++;
      curRight = pending.endIndex;
      curWidth = pending.endIndex - pending.startIndex + 1;
    }
    if (cur >= 0) {
      unweighted[i] = scaledSigmoid(-(curRight - i + 1) / curWidth);
      window[i] = cur;
    } else if (prevRight < 0) {
      unweighted[i] = -1.0;
    } else {
      // NAB divides by (width - 1): a one-row window makes every later FP cost the full -1.
      unweighted[i] = scaledSigmoid(Math.abs(prevRight - i) / (prevWidth - 1));
    }
    if (cur >= 0 && t === windows[cur]!.end) {
      prevRight = i;
      prevWidth = curWidth;
      cur = -1;
    }
  }
  return { unweighted, window, probationaryLength: probationaryLength(n, probationPercent) };
}

/**
 * The scorable rows of a whole corpus for one detector, flattened and pre-sorted so that every
 * profile's sweep is a single pass. Everything here is independent of the cost matrix.
 */
export interface PreparedCorpus {
  readonly corpus: NabCorpus;
  readonly detector: string;
  /** Scorable (non-probationary) rows, file after file. */
  readonly size: number;
  readonly score: Float64Array;
  readonly unweighted: Float64Array;
  /** Corpus-wide window id, or -1 outside windows. */
  readonly window: Int32Array;
  /** Scorable rows of file f are [fileStart[f], fileStart[f + 1]). */
  readonly fileStart: Uint32Array;
  /** First corpus-wide window id of file f is windowStart[f]. */
  readonly windowStart: Uint32Array;
  /** 1 when the window has at least one scorable row (only those are scored, as in NAB). */
  readonly windowScorable: Uint8Array;
  readonly scorableWindows: number;
  /** Row positions by anomaly score, highest first; equal scores keep corpus order. */
  readonly order: Uint32Array;
}

export function prepareCorpus(
  corpus: NabCorpus,
  results: DetectorResults,
  probationPercent: number,
): PreparedCorpus {
  const annotations: RowAnnotation[] = [];
  let size = 0;
  for (const file of corpus.files) {
    const scores = results.scores.get(file.relativePath);
    if (scores === undefined) {
      throw new NabScoringError(
        'BAD_RESULTS',
        `results of detector "${results.detector}" have no scores for ${file.relativePath}`,
        { field: file.relativePath },
      );
    }
    if (scores.length !== file.timestamps.length) {
      throw new NabScoringError(
        'ROW_MISMATCH',
        `results of detector "${results.detector}" for ${file.relativePath} have ${scores.length} rows ` +
          `but data file ${file.path} has ${file.timestamps.length}`,
        { file: file.path, field: file.relativePath },
      );
    }
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      if (!(s >= 0 && s <= 1)) {
        throw new NabScoringError(
          'BAD_RESULTS',
          `results of detector "${results.detector}" for ${file.relativePath}: row ${i + 1} anomaly ` +
            `score must be in [0, 1] (got ${s})`,
          { field: file.relativePath },
        );
      }
    }
    const a = annotateRows(file, probationPercent);
    annotations.push(a);
    size += Math.max(0, file.timestamps.length - Math.ceil(a.probationaryLength));
  }

  const score = new Float64Array(size);
  const unweighted = new Float64Array(size);
  const window = new Int32Array(size);
  const fileStart = new Uint32Array(corpus.files.length + 1);
  const windowStart = new Uint32Array(corpus.files.length + 1);
  const windowScorable = new Uint8Array(corpus.windowCount);
  let k = 0;
  let w0 = 0;
  corpus.files.forEach((file, f) => {
    const a = annotations[f]!;
    const scores = results.scores.get(file.relativePath)!;
    fileStart[f] = k;
    windowStart[f] = w0;
    for (let i = 0; i < scores.length; i++) {
      if (i < a.probationaryLength) continue;
      score[k] = scores[i]!;
      unweighted[k] = a.unweighted[i]!;
      const w = a.window[i]!;
      window[k] = w < 0 ? -1 : w0 + w;
      if (w >= 0) windowScorable[w0 + w] = 1;
      k++;
    }
    w0 += file.windows.length;
  });
  fileStart[corpus.files.length] = k;
  windowStart[corpus.files.length] = w0;
  if (k !== size) throw new Error(`internal: scorable row count ${k} != ${size}`);

  let scorableWindows = 0;
  for (const s of windowScorable) scorableWindows += s;

  const order = new Uint32Array(size);
  for (let i = 0; i < size; i++) order[i] = i;
  // Descending by score; ties keep corpus order (Python's sort is stable).
  order.sort((a, b) => score[b]! - score[a]! || a - b);

  return {
    corpus,
    detector: results.detector,
    size,
    score,
    unweighted,
    window,
    fileStart,
    windowStart,
    windowScorable,
    scorableWindows,
    order,
  };
}

/** NAB counts rows, not windows: tp = detected rows inside windows, fn = undetected ones. */
export interface NabCounts {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
  readonly tn: number;
  /** Scorable rows (probationary rows excluded). */
  readonly total: number;
}

export interface ThresholdScore extends NabCounts {
  /** Rows with anomaly_score >= threshold are detections (1.1: none are). */
  readonly threshold: number;
  readonly score: number;
}

function weightOf(unweighted: number, inWindow: boolean, cm: CostMatrix): number {
  return inWindow ? (unweighted * cm.tpWeight) / MAX_TP : unweighted * cm.fpWeight;
}

/**
 * Scores differing by less than this are a tie: the running sums reach the same mathematical
 * score at two thresholds by different additions, and may differ in the last bits.
 */
export const SCORE_TIE_EPSILON = 1e-9;

/**
 * Scores every threshold in one pass over the rows sorted by anomaly score (NAB's
 * `Sweeper.calcScoreByThreshold` on the whole corpus) and returns the best one. The candidate
 * thresholds are 1.1 (nothing detected) and every distinct score. Ties (within
 * SCORE_TIE_EPSILON) go to the higher threshold, as NAB's stable sort of the sweep by score
 * keeps the first (highest) one.
 * `onThreshold`, when given, sees every candidate in sweep order.
 */
export function optimizeThreshold(
  prepared: PreparedCorpus,
  cm: CostMatrix,
  onThreshold?: (row: ThresholdScore) => void,
): ThresholdScore {
  const { score, unweighted, window, order, windowScorable } = prepared;
  const parts = new Float64Array(windowScorable.length);
  let windowSum = 0;
  for (let w = 0; w < parts.length; w++) {
    if (windowScorable[w] === 1) {
      parts[w] = -cm.fnWeight;
      windowSum += parts[w]!;
    }
  }
  let inWindow = 0;
  for (let i = 0; i < prepared.size; i++) if (window[i]! >= 0) inWindow++;
  let tp = 0;
  let fp = 0;
  let fn = inWindow;
  let tn = prepared.size - inWindow;
  let fpSum = 0;
  let threshold = NAB_SWEEP_START_THRESHOLD;
  let best: ThresholdScore | undefined;
  const emit = (): void => {
    const row: ThresholdScore = { threshold, score: fpSum + windowSum, tp, fp, fn, tn, total: prepared.size };
    onThreshold?.(row);
    if (best === undefined || row.score > best.score + SCORE_TIE_EPSILON) best = row;
  };
  for (let k = 0; k < order.length; k++) {
    const p = order[k]!;
    const s = score[p]!;
    if (s !== threshold) {
      emit();
      threshold = s;
    }
    const w = window[p]!;
    if (w < 0) {
      fp++;
      tn--;
      fpSum += weightOf(unweighted[p]!, false, cm);
    } else {
      tp++;
      fn--;
      const v = weightOf(unweighted[p]!, true, cm);
      if (v > parts[w]!) {
        windowSum += v - parts[w]!;
        parts[w] = v;
      }
    }
  }
  emit();
  return best!;
}

export interface FileScore extends NabCounts {
  readonly relativePath: string;
  readonly score: number;
  /** Windows of the file that have scorable rows, and how many of them hold a detection. */
  readonly windows: number;
  readonly windowsDetected: number;
}

export interface CorpusScore extends NabCounts {
  readonly threshold: number;
  /** Sum of the file scores, as NAB's scorer totals them. */
  readonly score: number;
  readonly windows: number;
  readonly windowsDetected: number;
  readonly files: readonly FileScore[];
}

/** Scores every file at one threshold (NAB's `scoreCorpus`) and totals the results. */
export function scoreAtThreshold(
  prepared: PreparedCorpus,
  cm: CostMatrix,
  threshold: number,
): CorpusScore {
  const { score, unweighted, window, fileStart, windowStart, windowScorable } = prepared;
  const files: FileScore[] = [];
  const totals = { score: 0, tp: 0, fp: 0, fn: 0, tn: 0, total: 0, windows: 0, windowsDetected: 0 };
  prepared.corpus.files.forEach((file, f) => {
    const w0 = windowStart[f]!;
    const nw = windowStart[f + 1]! - w0;
    const best = new Float64Array(nw).fill(Number.NEGATIVE_INFINITY);
    let tp = 0;
    let fp = 0;
    let fn = 0;
    let tn = 0;
    let fpSum = 0;
    const end = fileStart[f + 1]!;
    for (let p = fileStart[f]!; p < end; p++) {
      const w = window[p]!;
      const detected = score[p]! >= threshold;
      if (w < 0) {
        if (detected) {
          fp++;
          fpSum += weightOf(unweighted[p]!, false, cm);
        } else {
          tn++;
        }
      } else if (detected) {
        tp++;
        const v = weightOf(unweighted[p]!, true, cm);
        if (v > best[w - w0]!) best[w - w0] = v;
      } else {
        fn++;
      }
    }
    let fileScore = fpSum;
    let windows = 0;
    let windowsDetected = 0;
    for (let j = 0; j < nw; j++) {
      if (windowScorable[w0 + j] !== 1) continue;
      windows++;
      const v = best[j]!;
      if (v === Number.NEGATIVE_INFINITY) {
        fileScore += -cm.fnWeight;
      } else {
        windowsDetected++;
        fileScore += Math.max(v, -cm.fnWeight);
      }
    }
    const fs: FileScore = {
      relativePath: file.relativePath,
      score: fileScore,
      tp,
      fp,
      fn,
      tn,
      total: end - fileStart[f]!,
      windows,
      windowsDetected,
    };
    files.push(fs);
    totals.score += fs.score;
    totals.tp += tp;
    totals.fp += fp;
    totals.fn += fn;
    totals.tn += tn;
    totals.total += fs.total;
    totals.windows += windows;
    totals.windowsDetected += windowsDetected;
  });
  return { threshold, ...totals, files };
}
