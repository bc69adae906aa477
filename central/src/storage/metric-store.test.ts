import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteMetricStore } from './metric-store.js';
import { runMetricStoreContract } from './testing/index.js';
import type { MetricStoreContractContext } from './testing/index.js';
import type { MetricStore } from './types.js';

function options(ctx: MetricStoreContractContext) {
  return { now: ctx.clock.now, retention: ctx.retention, graceMs: ctx.graceMs, batchIdRetentionMs: ctx.batchIdRetentionMs, limits: ctx.limits };
}

runMetricStoreContract('sqlite :memory:', async (ctx) => SqliteMetricStore.open(':memory:', options(ctx)));

runMetricStoreContract('sqlite file (WAL)', async (ctx): Promise<MetricStore> => {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-metrics-'));
  const store = SqliteMetricStore.open(join(dir, 'central.db'), options(ctx));
  const close = store.close.bind(store);
  store.close = async () => {
    await close();
    await rm(dir, { recursive: true, force: true });
  };
  return store;
});
