// Tenant isolation in the shared metric store: the series of a tenant other than the default
// carry a `tenant` label (added on write, required on read by the API); the default tenant's
// series carry none. `tenant` is therefore a reserved label name in stored series.
import type { Labels } from '../../../shared-schemas/src/index.js';

export const TENANT_LABEL = 'tenant';

export class TenantScope {
  /** A non-default tenant's copy of a frozen label set, made once per label set. */
  private readonly copies = new Map<string, WeakMap<object, Readonly<Labels>>>();

  constructor(readonly defaultTenant: string) {}

  /** The labels a tenant's series is stored under. */
  labels(tenant: string, labels: Readonly<Labels>): Readonly<Labels> {
    if (tenant === this.defaultTenant) return labels;
    if (!Object.isFrozen(labels)) return { ...labels, [TENANT_LABEL]: tenant };
    let copies = this.copies.get(tenant);
    if (copies === undefined) this.copies.set(tenant, (copies = new WeakMap()));
    let copy = copies.get(labels);
    if (copy === undefined) copies.set(labels, (copy = Object.freeze({ ...labels, [TENANT_LABEL]: tenant })));
    return copy;
  }

  /** The tenant of a stored series and its labels as the tenant wrote them. */
  unscope(stored: Readonly<Labels>): { tenant: string; labels: Labels } {
    const tenant = stored[TENANT_LABEL];
    if (tenant === undefined || tenant === this.defaultTenant) return { tenant: this.defaultTenant, labels: { ...stored } };
    const labels: Labels = {};
    for (const [k, v] of Object.entries(stored)) if (k !== TENANT_LABEL) labels[k] = v;
    return { tenant, labels };
  }
}
