// Known failure modes that answer with certainty when they match (the rule-based fallback of
// the RCA engine): a filling disk past its threshold, an OOM kill (memory climbs then drops
// to a fraction of its peak: the restart), a dependency that stopped answering while its
// callers fail, a certificate about to expire. Each match names the entity and the reading.
import type { RcaConfig } from './config.js';
import type { RcaCase } from './frame.js';
import type { SeriesProfile } from './engine.js';

export interface RuleMatch {
  entity: string;
  rule: 'disk_full' | 'oom_kill' | 'dependency_down' | 'certificate_expiry';
  detail: string;
}

const pct = (v: number): string => `${(v * 100).toFixed(1)}%`;

export function matchRules(c: RcaCase, P: { profiles: readonly SeriesProfile[]; baseEnd: number; to: number }, cfg: RcaConfig, dependents: ReadonlyMap<string, readonly string[]>): RuleMatch[] {
  const out: RuleMatch[] = [];
  const anomalousEntities = new Set(P.profiles.filter((p) => p.score >= cfg.min_score).map((p) => p.entity));
  for (const p of P.profiles) {
    const name = p.metric.toLowerCase();
    // Disk full: a usage ratio (0..1) that rose past the threshold.
    if (/disk|filesystem|fs_|_fs|volume/.test(name) && !/io|read|write|bytes_per|latency/.test(name) && p.sign > 0 && p.score >= cfg.min_score && p.max <= 1.0001 && p.max >= cfg.rules.disk_full_ratio) {
      out.push({ entity: p.entity, rule: 'disk_full', detail: `${p.metric} reached ${pct(p.max)} (threshold ${pct(cfg.rules.disk_full_ratio)}, normally ${pct(p.median)})` });
    }
    // Certificate expiry: seconds left under the threshold.
    if (/cert|tls|ssl/.test(name) && /expir|not_after|valid/.test(name) && Number.isFinite(p.last) && p.last < cfg.rules.cert_expiry_seconds) {
      out.push({ entity: p.entity, rule: 'certificate_expiry', detail: `${p.metric} is ${Math.round(p.last)} s (under ${cfg.rules.cert_expiry_seconds} s)` });
    }
    // Dependency down: stopped reporting while something that depends on it deviates.
    if (p.dark) {
      const callers = (dependents.get(p.entity) ?? []).filter((d) => anomalousEntities.has(d));
      if (callers.length > 0) out.push({ entity: p.entity, rule: 'dependency_down', detail: `${p.entity} stopped reporting ${p.metric} while ${callers.length} dependent(s) deviate (${callers.slice(0, 4).join(', ')})` });
    }
    // OOM kill: memory climbed well above normal, then fell by oom_drop of its peak.
    if (/mem|heap|rss/.test(name) && p.sign > 0 && p.score >= cfg.min_score && Number.isFinite(p.max) && p.max > 0) {
      const values = c.frame.series[p.index]!.values;
      let peak = Number.NEGATIVE_INFINITY;
      let dropped = false;
      for (let i = P.baseEnd; i < P.to; i++) {
        const v = values[i]!;
        if (!Number.isFinite(v)) continue;
        if (v > peak) peak = v;
        else if (peak > p.median + cfg.min_score * p.scale && v <= peak * (1 - cfg.rules.oom_drop)) dropped = true;
      }
      if (dropped) out.push({ entity: p.entity, rule: 'oom_kill', detail: `${p.metric} climbed to ${peak.toPrecision(3)} then dropped by more than ${pct(cfg.rules.oom_drop)} (a kill and restart)` });
    }
  }
  const seen = new Set<string>();
  return out.filter((m) => (seen.has(`${m.entity}/${m.rule}`) ? false : (seen.add(`${m.entity}/${m.rule}`), true)));
}
