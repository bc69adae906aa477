// The SQLite ConfigStore (versioned documents, optimistic concurrency) and LogStore
// (idempotent batches, per-record refusals, label and text filters, retention).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { StorageError } from './errors.js';
import { openSqliteStores } from './stores.js';

const T0 = Date.UTC(2026, 0, 1);
const now = () => T0;

describe('SqliteConfigStore', () => {
  it('versions documents per tenant and name, and refuses a stale expectedVersion', async () => {
    const s = openSqliteStores(':memory:', { now });
    try {
      assert.equal(await s.configs.get('default', 'detection'), undefined);
      const v1 = await s.configs.put({ tenant: 'default', name: 'detection', body: { x: 3, y: 5 }, updatedBy: 'k_1', expectedVersion: 0 }, T0);
      assert.equal(v1.version, 1);
      const v2 = await s.configs.put({ tenant: 'default', name: 'detection', body: { x: 4, y: 6 }, updatedBy: 'k_1', expectedVersion: 1 }, T0 + 1);
      assert.deepEqual([v2.version, v2.body, v2.updatedAtMs], [2, { x: 4, y: 6 }, T0 + 1]);
      await assert.rejects(
        s.configs.put({ tenant: 'default', name: 'detection', body: {}, updatedBy: 'k_2', expectedVersion: 1 }, T0 + 2),
        (e: unknown) => e instanceof StorageError && e.code === 'CONFLICT' && /version 2, not 1/.test(e.message),
      );
      await s.configs.put({ tenant: 'other', name: 'detection', body: { x: 1 }, updatedBy: 'cli' }, T0);
      assert.deepEqual((await s.configs.list('detection')).map((d) => [d.tenant, d.version]), [['default', 2], ['other', 1]]);
      assert.deepEqual((await s.configs.get('default', 'detection'))?.body, { x: 4, y: 6 });
    } finally {
      await s.close();
    }
  });

  it('refuses bad names, tenants and bodies with the field named', async () => {
    const s = openSqliteStores(':memory:', { now });
    try {
      await assert.rejects(s.configs.put({ tenant: 'default', name: '../etc', body: {}, updatedBy: 'x' }, T0), /config name must match/);
      await assert.rejects(s.configs.put({ tenant: 'default', name: 'a', body: undefined, updatedBy: 'x' }, T0), /body is missing/);
      await assert.rejects(s.configs.put({ tenant: 'default', name: 'a', body: { big: 'x'.repeat(9 * 1024 * 1024) }, updatedBy: 'x' }, T0), /larger than/);
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      await assert.rejects(s.configs.put({ tenant: 'default', name: 'a', body: cyclic, updatedBy: 'x' }, T0), /not JSON-serialisable/);
    } finally {
      await s.close();
    }
  });

  it('keeps documents across a reopen of the file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'aiops-config-'));
    try {
      const a = openSqliteStores(join(dir, 'c.db'), { now });
      await a.configs.put({ tenant: 'default', name: 'topology', body: { version: 1, nodes: [], edges: [] }, updatedBy: 'cli' }, T0);
      await a.close();
      const b = openSqliteStores(join(dir, 'c.db'), { now });
      assert.equal((await b.configs.get('default', 'topology'))?.version, 1);
      await b.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('SqliteLogStore', () => {
  const line = (i: number, extra: Partial<{ level: string; service: string; message: string }> = {}) => ({
    tsMs: T0 + i * 1000,
    level: extra.level ?? 'info',
    labels: { service: extra.service ?? 'cart', host: 'h1' },
    message: extra.message ?? `request ${i} served`,
  });

  it('stores lines, answers newest first with label, level and text filters', async () => {
    const s = openSqliteStores(':memory:', { now });
    try {
      const r = await s.logs.write('default', [line(1), line(2, { level: 'error', message: 'connection refused to db' }), line(3, { service: 'checkout' })]);
      assert.deepEqual([r.accepted, r.duplicate, r.rejected.length], [3, false, 0]);
      const all = await s.logs.query({ tenant: 'default', startMs: T0, endMs: T0 + 10_000 });
      assert.deepEqual(all.map((l) => l.tsMs), [T0 + 3000, T0 + 2000, T0 + 1000]);
      assert.deepEqual((await s.logs.query({ tenant: 'default', startMs: T0, endMs: T0 + 10_000, labels: { service: 'cart' } })).length, 2);
      assert.deepEqual((await s.logs.query({ tenant: 'default', startMs: T0, endMs: T0 + 10_000, level: 'error' })).map((l) => l.message), ['connection refused to db']);
      assert.deepEqual((await s.logs.query({ tenant: 'default', startMs: T0, endMs: T0 + 10_000, contains: 'refused' })).length, 1);
      assert.deepEqual((await s.logs.query({ tenant: 'other', startMs: T0, endMs: T0 + 10_000 })).length, 0);
      assert.deepEqual((await s.logs.query({ tenant: 'default', startMs: T0, endMs: T0 + 10_000, limit: 1 })).length, 1);
    } finally {
      await s.close();
    }
  });

  it('stores a batch once, refuses bad records one by one and keeps the good ones', async () => {
    const s = openSqliteStores(':memory:', { now });
    try {
      const bad = [line(1), { tsMs: -1, level: 'info', labels: {}, message: 'x' }, { ...line(2), level: 'loud' }, { ...line(3), message: 'x'.repeat(17 * 1024) }, { ...line(4), labels: { a: 5 } }, null];
      const r = await s.logs.write('default', bad as never, 'batch-1');
      assert.equal(r.accepted, 1);
      assert.deepEqual(r.rejected.map((x) => x.index), [1, 2, 3, 4, 5]);
      assert.match(r.rejected[0]!.reason, /tsMs/);
      assert.match(r.rejected[1]!.reason, /level must be one of/);
      assert.match(r.rejected[2]!.reason, /longer than/);
      assert.match(r.rejected[3]!.reason, /labels\.a must be a string/);
      const again = await s.logs.write('default', bad as never, 'batch-1');
      assert.deepEqual([again.accepted, again.duplicate], [0, true]);
      assert.equal((await s.logs.query({ tenant: 'default', startMs: 0, endMs: T0 + 10_000 })).length, 1);
      await assert.rejects(s.logs.write('default', new Array(10_001).fill(line(1))), (e: unknown) => e instanceof StorageError && e.code === 'BATCH_TOO_LARGE');
    } finally {
      await s.close();
    }
  });

  it('prunes lines older than retention', async () => {
    const s = openSqliteStores(':memory:', { now });
    try {
      await s.logs.write('default', [line(1), line(100)]);
      assert.equal(await s.logs.prune(T0 + 50_000), 1);
      assert.deepEqual((await s.logs.query({ tenant: 'default', startMs: 0, endMs: T0 + 1e6 })).map((l) => l.tsMs), [T0 + 100_000]);
    } finally {
      await s.close();
    }
  });
});
