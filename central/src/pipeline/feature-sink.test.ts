// FeatureSink against the embedded SQLite MetricStore (in memory): a tenant's rows are stored
// under its scope (a `tenant` label for tenants other than the default), readers get the frame
// as the agent sent it, a resent frame is stored once and not read twice, and TenantScope
// round-trips stored labels back to (tenant, labels) for the detector's priming.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SelfMetrics, silentLogger } from '../../../shared-schemas/src/runtime/index.js';
import type { FrameConsumer, IngestedFrame } from '../component.js';
import { SqliteMetricStore } from '../storage/index.js';
import { FeatureSink } from './feature-sink.js';
import { TenantScope } from './tenant-scope.js';

const T0 = Date.UTC(2026, 2, 4, 8, 0, 0);
const row = { count: 10, min: 1, max: 3, mean: 2, std: 0.5, last: 2, p50: 2, p95: 3, tier1MaxScore: 0.1, flags: 0, bandLower: 0, bandUpper: 4 };

function frame(tenant: string, agentId: string, sequence: number, labels: Record<string, string>): IngestedFrame {
  return { tenant, agentId, sequence, windowStartMs: T0 - 20_000, windowEndMs: T0 - 10_000, rows: [{ labels: Object.freeze({ ...labels }), row }] };
}

describe('FeatureSink', () => {
  it('stores other tenants\' rows under a tenant label, the default tenant\'s as sent; readers get the frame unchanged', async () => {
    const store = SqliteMetricStore.open(':memory:', { now: () => T0 });
    const read: IngestedFrame[] = [];
    const reader: FrameConsumer = { consumeFrame: async (f) => void read.push(f) };
    const self = new SelfMetrics();
    const sink = new FeatureSink({ store, readers: [reader], logger: silentLogger(), metrics: self.forComponent('features'), scope: new TenantScope('default') });
    await sink.consumeFrame(frame('default', 'a1', 1, { __name__: 'cpu', host: 'h1' }));
    await sink.consumeFrame(frame('acme', 'a2', 1, { __name__: 'cpu', host: 'h2' }));
    await sink.consumeFrame(frame('acme', 'a2', 1, { __name__: 'cpu', host: 'h2' })); // resent
    const stored = await store.queryFeatures({ selector: { name: 'cpu', matchers: [] }, startMs: T0 - 60_000, endMs: T0 });
    assert.deepEqual(
      stored.map((s) => s.labels),
      [
        { __name__: 'cpu', host: 'h1' },
        { __name__: 'cpu', host: 'h2', tenant: 'acme' },
      ],
    );
    assert.deepEqual(read.map((f) => [f.tenant, f.rows[0]!.labels]), [
      ['default', { __name__: 'cpu', host: 'h1' }],
      ['acme', { __name__: 'cpu', host: 'h2' }],
    ], 'the resent frame is not read again; readers see the agent\'s labels');
    const scope = new TenantScope('default');
    assert.deepEqual(stored.map((s) => scope.unscope(s.labels)), [
      { tenant: 'default', labels: { __name__: 'cpu', host: 'h1' } },
      { tenant: 'acme', labels: { __name__: 'cpu', host: 'h2' } },
    ]);
    await store.close();
  });

  it('TenantScope makes one frozen copy per label set and tenant', () => {
    const scope = new TenantScope('default');
    const l = Object.freeze({ a: '1' });
    const c1 = scope.labels('acme', l);
    assert.equal(scope.labels('acme', l), c1, 'cached');
    assert.ok(Object.isFrozen(c1));
    assert.equal(scope.labels('default', l), l, 'the default tenant is stored as sent');
    assert.deepEqual(scope.labels('acme', { b: '2' }), { b: '2', tenant: 'acme' });
  });
});
