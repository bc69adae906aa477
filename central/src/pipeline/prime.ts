// Rebuilding per-series state from stored feature rows: the detector at start-up (embedded
// mode, every series) and a partition taken over from the bus (only that partition's series).
// Every series is read a page at a time (a query would stop at its series cap), each under the
// tenant its rows were stored for, with the labels its agent sends (TenantScope.unscope).
import type { Labels } from '../../../shared-schemas/src/index.js';
import type { FeatureSeries, MetricStore } from '../storage/types.js';
import type { TenantScope } from './tenant-scope.js';

/** A reader that rebuilds its state from stored windows (DynamicXyDetector). */
export interface PrimedReader {
  /** Rebuilds state from stored windows, emitting nothing; returns windows applied. */
  prime(tenant: string, history: ReadonlyArray<{ labels: Labels; windows: FeatureSeries['windows'] }>): number;
}

export interface PrimeOptions {
  store: MetricStore;
  scope: TenantScope;
  readers: readonly PrimedReader[];
  startMs: number;
  endMs: number;
  /** Only these series (default: all). */
  which?: (tenant: string, labels: Labels) => boolean;
}

/** Primes the readers; returns the series read and the windows the readers applied. */
export async function primeFromStore(o: PrimeOptions): Promise<{ series: number; windows: number }> {
  let series = 0;
  let windows = 0;
  for await (const page of o.store.scanFeatures({ startMs: o.startMs, endMs: o.endMs })) {
    const byTenant = new Map<string, Array<{ labels: Labels; windows: FeatureSeries['windows'] }>>();
    for (const f of page) {
      const { tenant, labels } = o.scope.unscope(f.labels);
      if (o.which !== undefined && !o.which(tenant, labels)) continue;
      let list = byTenant.get(tenant);
      if (list === undefined) byTenant.set(tenant, (list = []));
      list.push({ labels, windows: f.windows });
      series++;
    }
    for (const [tenant, history] of byTenant) for (const r of o.readers) windows += r.prime(tenant, history);
  }
  return { series, windows };
}
