// The published robust baselines, implemented from their descriptions for side-by-side runs
// (`npm run rca -- --method baro|nsigma`):
//
// - BARO (Pham et al., FSE 2024), its root-cause step: every metric is scaled with a robust
//   scaler fitted on the data before the anomaly time (centre = median, scale = interquartile
//   range, 25th to 75th percentile), the data from the anomaly time on are transformed, and the
//   metric's score is the largest scaled value; metrics rank by score. The anomaly time is the
//   given detection time (the evaluation gives it; BARO's Bayesian change-point step is not used).
// - NSigma: the same with the mean and standard deviation (a z-score).
//
// As in scikit-learn's scalers, a zero scale is replaced by 1. Services rank by their best metric.
import type { RankedCause, RankedMetric, RcaCase, RcaResult } from './frame.js';
import { meanStd, percentile, sortedFinite } from './stats.js';
import { visibleRange } from './window.js';

export type BaselineMethod = 'baro' | 'nsigma';

export function runBaseline(method: BaselineMethod, c: RcaCase, afterMs: number): RcaResult {
  const { from, to, split, fromMs, toMs } = visibleRange(c, Number.POSITIVE_INFINITY, afterMs);
  const metrics: RankedMetric[] = [];
  for (const s of c.frame.series) {
    const normal = new Float64Array(Math.max(0, split - from));
    for (let i = from; i < split; i++) normal[i - from] = s.values[i]!;
    let centre: number;
    let scale: number;
    if (method === 'baro') {
      const sorted = sortedFinite(normal);
      if (sorted.length === 0) continue;
      centre = percentile(sorted, 50);
      scale = percentile(sorted, 75) - percentile(sorted, 25);
    } else {
      const ms = meanStd(normal);
      if (!Number.isFinite(ms.mean)) continue;
      centre = ms.mean;
      scale = ms.std;
    }
    if (!(scale > 0)) scale = 1;
    let best = Number.NEGATIVE_INFINITY;
    for (let i = split; i < to; i++) {
      const v = s.values[i]!;
      if (!Number.isFinite(v)) continue;
      const z = (v - centre) / scale;
      if (z > best) best = z;
    }
    if (best === Number.NEGATIVE_INFINITY) continue;
    metrics.push({ entity: s.entity, metric: s.metric, score: best });
  }
  metrics.sort((a, b) => b.score - a.score || a.entity.localeCompare(b.entity) || a.metric.localeCompare(b.metric));
  const causes: RankedCause[] = [];
  const seen = new Set<string>();
  let total = 0;
  for (const m of metrics) if (!seen.has(m.entity)) {
    seen.add(m.entity);
    total += Math.max(0, m.score);
  }
  seen.clear();
  for (const m of metrics) {
    if (seen.has(m.entity)) continue;
    seen.add(m.entity);
    causes.push({ entity: m.entity, metric: m.metric, score: m.score, probability: total > 0 ? Math.max(0, m.score) / total : 0, onsetMs: null, method, evidence: [`${m.entity}_${m.metric} ${method === 'baro' ? 'robust' : 'standard'} score ${m.score.toFixed(2)} against the data before detection`] });
  }
  return { causes, metrics, window: { fromMs, toMs }, method };
}
