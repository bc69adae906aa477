// Seeded noise on top of the rule-driven alerts. Each kind draws from its own named stream
// (Rng.fork), so turning one kind up does not move the numbers another kind draws.
//
//   flapping (real)   a fault-caused alert fires and resolves a few times before it settles:
//                     its firing is cut into cycles on the evaluation grid; same labels, same
//                     sim_fault.
//   flapping (noise)  an alert unrelated to any fault (sim_fault "none", severity warning)
//                     fires and resolves repeatedly on one entity.
//   unrelated         low-severity alerts (info or warning, sim_fault "none") on random
//                     entities, each firing once for a random duration.
//   duplicates        a notification delivered a second time, a little later.
//   late              a notification delivered after a delay, hence out of order.
//
// Noise alert starts follow a Poisson process at the configured rate over the metrics' span.
import type { Rng } from '../model/index.js';
import type { NoiseConfig } from './config.js';
import { NO_FAULT } from './causality.js';
import { HIDDEN_FAULT_LABEL } from '../model/index.js';

export interface NoiseEntity {
  name: string;
  kind: string;
  /** `service`, `host` or `instance`. */
  label: 'service' | 'host' | 'instance';
}

export interface NoiseAlert {
  source: 'flapping' | 'unrelated';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAtMs: number;
  endsAtMs: number | undefined;
  expr: string;
}

interface CatalogEntry {
  alertname: string;
  severity: 'info' | 'warning';
  /** Which entities it can be about. */
  on: 'service' | 'host';
  summary: string;
  expr: string;
}

/** Unrelated, low-severity alerts: real-world chores that page nobody and explain nothing. */
export const UNRELATED_CATALOG: readonly CatalogEntry[] = [
  { alertname: 'CertificateExpiringSoon', severity: 'info', on: 'service', summary: 'TLS certificate of {e} expires within 30 days', expr: 'cert_expiry_days < 30' },
  { alertname: 'PodRestarted', severity: 'warning', on: 'service', summary: 'A container of {e} restarted', expr: 'increase(restarts_total[10m]) > 0' },
  { alertname: 'ConfigReloadFailed', severity: 'warning', on: 'service', summary: '{e} failed to reload its configuration', expr: 'config_last_reload_successful == 0' },
  { alertname: 'LogVolumeHigh', severity: 'info', on: 'service', summary: '{e} writes more log lines than usual', expr: 'rate(log_lines_total[5m]) > 500' },
  { alertname: 'BackupJobSlow', severity: 'info', on: 'host', summary: 'The nightly backup on {e} is slow', expr: 'backup_duration_seconds > 3600' },
  { alertname: 'NTPClockSkew', severity: 'warning', on: 'host', summary: 'Clock of {e} is skewed', expr: 'abs(node_timex_offset_seconds) > 0.05' },
  { alertname: 'SwapInUse', severity: 'info', on: 'host', summary: '{e} is using swap', expr: 'node_memory_SwapUsed_bytes > 0' },
];

/** Alerts that flap: thresholds set right at the normal level of a noisy signal. */
export const FLAPPING_CATALOG: readonly CatalogEntry[] = [
  { alertname: 'ConnectionPoolChurn', severity: 'warning', on: 'service', summary: '{e} opens and closes connections at a high rate', expr: 'rate(connections_opened_total[1m]) > 50' },
  { alertname: 'GCPauseSpike', severity: 'warning', on: 'service', summary: 'GC pauses of {e} spiked', expr: 'gc_pause > 0.05' },
  { alertname: 'HostNetworkErrors', severity: 'warning', on: 'host', summary: '{e} sees network interface errors', expr: 'rate(node_network_receive_errs_total[2m]) > 1' },
  { alertname: 'DiskIOLatencyHigh', severity: 'warning', on: 'host', summary: 'Disk I/O latency on {e} is high', expr: 'disk_io_latency_seconds > 0.1' },
];

function entriesFor(catalog: readonly CatalogEntry[], e: NoiseEntity): CatalogEntry[] {
  return catalog.filter((c) => (c.on === 'host' ? e.kind === 'Host' : e.kind !== 'Host'));
}

function poissonStarts(rng: Rng, ratePerHour: number, startMs: number, endMs: number): number[] {
  const out: number[] = [];
  if (ratePerHour <= 0 || endMs <= startMs) return out;
  const perMs = ratePerHour / 3_600_000;
  let t = startMs;
  for (;;) {
    t += -Math.log(1 - rng.uniform()) / perMs;
    if (t >= endMs) break;
    out.push(Math.floor(t / 1000) * 1000);
  }
  return out;
}

function noiseLabels(c: CatalogEntry, e: NoiseEntity): Record<string, string> {
  return { alertname: c.alertname, severity: c.severity, [e.label]: e.name, kind: e.kind, [HIDDEN_FAULT_LABEL]: NO_FAULT };
}

/** Keeps alerts with the same labels from overlapping (one fingerprint = one alert at a time). */
class Occupancy {
  private readonly busyUntil = new Map<string, number>();
  free(key: string, from: number): boolean {
    const until = this.busyUntil.get(key);
    return until === undefined || from > until;
  }
  take(key: string, until: number): void {
    this.busyUntil.set(key, until);
  }
}

/** Unrelated low-severity alerts over [startMs, endMs]. */
export function unrelatedAlerts(rng: Rng, cfg: NoiseConfig['unrelated'], entities: readonly NoiseEntity[], startMs: number, endMs: number): NoiseAlert[] {
  const out: NoiseAlert[] = [];
  if (entities.length === 0) return out;
  const occ = new Occupancy();
  for (const t of poissonStarts(rng, cfg.ratePerHour, startMs, endMs)) {
    const e = rng.pick(entities);
    const choices = entriesFor(UNRELATED_CATALOG, e);
    const c = rng.pick(choices);
    const dur = Math.round(rng.between(cfg.minDurationMs, cfg.maxDurationMs) / 1000) * 1000 || 1000;
    const key = `${c.alertname}\u0000${e.name}`;
    if (!occ.free(key, t)) continue;
    const end = t + dur;
    occ.take(key, end > endMs ? Infinity : end);
    out.push({
      source: 'unrelated',
      labels: noiseLabels(c, e),
      annotations: { summary: c.summary.replace('{e}', e.name) },
      startsAtMs: t,
      endsAtMs: end > endMs ? undefined : end,
      expr: c.expr,
    });
  }
  return out;
}

/** Phase lengths of one flapping alert: fire, resolve, fire, ... (2 x cycles - 1 phases). */
function phases(rng: Rng, cycles: number, periodMs: number, gridMs: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < 2 * cycles - 1; i++) out.push(Math.max(1, Math.round((periodMs * rng.between(0.5, 1.5)) / gridMs)) * gridMs);
  return out;
}

/** Flapping noise alerts: each fires and resolves `minCycles..maxCycles` times. */
export function flappingAlerts(rng: Rng, cfg: NoiseConfig['flapping'], entities: readonly NoiseEntity[], startMs: number, endMs: number): NoiseAlert[] {
  const out: NoiseAlert[] = [];
  if (entities.length === 0) return out;
  const occ = new Occupancy();
  for (const t0 of poissonStarts(rng, cfg.ratePerHour, startMs, endMs)) {
    const e = rng.pick(entities);
    const c = rng.pick(entriesFor(FLAPPING_CATALOG, e));
    const cycles = rng.int(cfg.minCycles, cfg.maxCycles);
    const ph = phases(rng, cycles, cfg.periodMs, 1000);
    const key = `${c.alertname}\u0000${e.name}`;
    if (!occ.free(key, t0)) continue;
    let t = t0;
    let last = t0;
    for (let i = 0; i < ph.length && t < endMs; i += 2) {
      const end = t + (ph[i] as number);
      out.push({
        source: 'flapping',
        labels: noiseLabels(c, e),
        annotations: { summary: c.summary.replace('{e}', e.name) },
        startsAtMs: t,
        endsAtMs: end > endMs ? undefined : end,
        expr: c.expr,
      });
      last = end > endMs ? Infinity : end;
      t = end + (ph[i + 1] ?? 0);
    }
    occ.take(key, last);
  }
  return out;
}

/**
 * Cuts a firing [firedAt, resolvedAt) into flapping cycles on the evaluation grid: fire,
 * resolve, fire, ..., the last firing running to the original end. Returns the firing
 * intervals, or undefined when not even one cycle fits before the end.
 */
export function flapEpisode(
  rng: Rng,
  cfg: NoiseConfig['flapping'],
  firedAtMs: number,
  resolvedAtMs: number | undefined,
  endMs: number,
  gridMs: number,
): Array<[number, number | undefined]> | undefined {
  const cycles = rng.int(cfg.minCycles, cfg.maxCycles);
  const ph = phases(rng, cycles, cfg.periodMs, gridMs);
  const limit = (resolvedAtMs ?? endMs) - gridMs; // the final firing keeps at least one interval
  const out: Array<[number, number | undefined]> = [];
  let t = firedAtMs;
  for (let i = 0; i + 1 < ph.length; i += 2) {
    const off = t + (ph[i] as number);
    const on = off + (ph[i + 1] as number);
    if (on > limit) break;
    out.push([t, off]);
    t = on;
  }
  if (out.length === 0) return undefined;
  out.push([t, resolvedAtMs]);
  return out;
}

export interface Delivery {
  deliverAtMs: number;
  duplicate: boolean;
  late: boolean;
}

/**
 * Delivery times of `sentAtMs` notifications: some late (min..max delay), some delivered twice
 * (the copy up to maxDelay after the first delivery). One or two deliveries per notification,
 * in input order.
 */
export function deliveries(lateRng: Rng, dupRng: Rng, cfg: NoiseConfig, sentAtMs: readonly number[]): Delivery[][] {
  return sentAtMs.map((sent) => {
    const late = lateRng.chance(cfg.late.probability);
    const at = late ? sent + lateRng.int(cfg.late.minDelayMs, cfg.late.maxDelayMs) : sent;
    const out: Delivery[] = [{ deliverAtMs: at, duplicate: false, late }];
    if (dupRng.chance(cfg.duplicates.probability)) out.push({ deliverAtMs: at + dupRng.int(0, cfg.duplicates.maxDelayMs), duplicate: true, late });
    return out;
  });
}
