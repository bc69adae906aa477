// The change store: record (a reporter's id makes a resend a duplicate, other content a
// conflict), list by entity, kind and time, tenants apart, pruning, and bad input refused with
// the field named and nothing stored.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StorageError } from './errors.js';
import { openSqliteStores } from './stores.js';
import type { SqliteStores } from './stores.js';
import type { ChangeInput } from './change-store.js';

const T = 1_790_000_000_000;
const deploy = (over: Partial<ChangeInput> = {}): ChangeInput => ({ tenant: 't1', atMs: T, entity: 'cart', entityKind: 'service', kind: 'deploy', description: 'pool size 50 -> 5', version: '1.4.2', source: 'ci', ...over });

describe('change store (SQLite)', () => {
  let s: SqliteStores;
  before(() => {
    s = openSqliteStores(':memory:', { now: () => T });
  });
  after(async () => s.close());

  it('records changes and lists them latest first, by entity, kind and time, tenants apart', async () => {
    const a = await s.changes.record(deploy(), T + 5);
    assert.equal(a.duplicate, false);
    assert.match(a.change.id, /^[0-9a-f-]{36}$/);
    assert.equal(a.change.recordedAtMs, T + 5);
    await s.changes.record(deploy({ atMs: T + 60_000, entity: 'node-1', entityKind: 'host', kind: 'config', version: '', description: 'kernel parameter' }), T + 60_000);
    await s.changes.record(deploy({ atMs: T + 120_000, entity: 'payment', kind: 'rollback' }), T + 120_000);
    await s.changes.record(deploy({ tenant: 't2', atMs: T + 1 }), T + 1);
    assert.deepEqual((await s.changes.list('t1')).map((c) => c.entity), ['payment', 'node-1', 'cart']);
    assert.deepEqual((await s.changes.list('t1', { entities: ['cart', 'node-1'] })).map((c) => c.entity), ['node-1', 'cart']);
    assert.deepEqual((await s.changes.list('t1', { entities: ['node-1'], entityKind: 'service' })).length, 0);
    assert.deepEqual((await s.changes.list('t1', { fromMs: T + 60_000, toMs: T + 120_000 })).map((c) => c.entity), ['node-1']);
    assert.deepEqual((await s.changes.list('t1', { entities: [] })).length, 0);
    assert.deepEqual((await s.changes.list('t1', { limit: 1 })).map((c) => c.entity), ['payment']);
    assert.deepEqual((await s.changes.list('t2')).map((c) => c.atMs), [T + 1]);
  });

  it("a reporter's id: a resend is a duplicate, other content under the same id a conflict", async () => {
    const first = await s.changes.record(deploy({ id: 'pipeline-42', entity: 'search' }), T);
    const again = await s.changes.record(deploy({ id: 'pipeline-42', entity: 'search', source: 'ci-retry' }), T + 1000);
    assert.equal(again.duplicate, true);
    assert.deepEqual(again.change, first.change, 'the stored event, as first recorded');
    await assert.rejects(s.changes.record(deploy({ id: 'pipeline-42', entity: 'search', version: '9.9.9' }), T), (e: StorageError) => e.code === 'CONFLICT' && /pipeline-42.*other content/.test(e.message));
    assert.equal((await s.changes.list('t1', { entities: ['search'] })).length, 1);
    assert.equal((await s.changes.record(deploy({ id: 'pipeline-42', tenant: 't2', entity: 'search' }), T)).duplicate, false, 'ids are per tenant');
  });

  it('prunes what took effect before a time, in every tenant', async () => {
    const before = (await s.changes.list('t1')).length + (await s.changes.list('t2')).length;
    assert.equal(await s.changes.prune(T + 60_000), before - 2);
    assert.deepEqual((await s.changes.list('t1')).map((c) => c.entity), ['payment', 'node-1']);
  });

  it('refuses bad changes with the field named and stores nothing', async () => {
    const n = (await s.changes.list('t1')).length;
    const bad: Array<[Partial<Record<keyof ChangeInput, unknown>>, RegExp]> = [
      [{ entity: '' }, /entity must not be empty/],
      [{ entity: '   ' }, /entity must not be empty/],
      [{ entity: 'x'.repeat(257) }, /entity must be at most 256/],
      [{ entity: 'cart\u0000; DROP TABLE change_events' }, /entity must not contain control characters/],
      [{ entity: 42 }, /entity must be a string/],
      [{ entityKind: 'pod' }, /entityKind must be service or host/],
      [{ kind: 'Deploy!' }, /kind must be a lower-case word/],
      [{ kind: 'x'.repeat(40) }, /kind must be/],
      [{ atMs: -1 }, /atMs must be an integer/],
      [{ atMs: 1.5 }, /atMs must be an integer/],
      [{ atMs: Number.NaN }, /atMs must be an integer/],
      [{ id: '../etc/passwd' }, /id must be 1..128/],
      [{ id: 'a'.repeat(129) }, /id must be 1..128/],
      [{ description: 'x'.repeat(2049) }, /description must be at most 2048/],
      [{ description: 'bell\u0007' }, /description must not contain control characters/],
      [{ version: 'v1\nv2' }, /version must not contain control characters/],
      [{ source: '' }, /source must not be empty/],
      [{ tenant: 'x'.repeat(300) }, /tenant must be a string/],
    ];
    for (const [over, re] of bad) {
      await assert.rejects(s.changes.record({ ...deploy(), ...over } as ChangeInput, T), (e: StorageError) => e.code === 'INVALID_ARGUMENT' && re.test(e.message), JSON.stringify(over).slice(0, 80));
    }
    await assert.rejects(s.changes.record(null as unknown as ChangeInput, T), /a change must be an object/);
    await assert.rejects(s.changes.list('t1', { fromMs: -5 }), /fromMs must be an integer/);
    await assert.rejects(s.changes.list('t1', { entities: Array.from({ length: 1001 }, (_, i) => `e${i}`) }), /entities must be at most 1000/);
    // A description may span lines; names that look like SQL are just names.
    const ok = await s.changes.record(deploy({ entity: "cart'); DROP TABLE change_events; --", description: 'line 1\nline 2\ttabbed' }), T + 200_000);
    assert.equal((await s.changes.get('t1', ok.change.id))?.description, 'line 1\nline 2\ttabbed');
    assert.equal((await s.changes.list('t1')).length, n + 1);
  });

  it('a closed store says so', async () => {
    const t = openSqliteStores(':memory:', { now: () => T });
    await t.close();
    await assert.rejects(t.changes.record(deploy(), T), (e: StorageError) => e.code === 'CLOSED');
  });
});
