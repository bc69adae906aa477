// The part of a frame an analysis may read. Every method (ours and the baselines) takes its
// indices from here and reads no value outside [from, to): the no-peeking rule - nothing at or
// after detection + `after` is ever looked at, whatever the frame holds.
import type { RcaCase } from './frame.js';

/** First index whose time is >= t (times ascending). */
export function lowerBound(times: ArrayLike<number>, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface VisibleRange {
  /** First index at or after detection - before. */
  from: number;
  /** First index at or after detection. */
  split: number;
  /** First index at or after detection + after (exclusive end of what may be read). */
  to: number;
  fromMs: number;
  toMs: number;
}

export function visibleRange(c: RcaCase, beforeMs: number, afterMs: number): VisibleRange {
  const t = c.frame.timesMs;
  const fromMs = c.detectedAtMs - beforeMs;
  const toMs = c.detectedAtMs + afterMs;
  const from = Number.isFinite(fromMs) ? lowerBound(t, fromMs) : 0;
  const split = lowerBound(t, c.detectedAtMs);
  const to = lowerBound(t, toMs);
  return { from, split: Math.max(from, split), to: Math.max(split, to), fromMs: Number.isFinite(fromMs) ? fromMs : (t.length > 0 ? t[0]! : c.detectedAtMs), toMs };
}
