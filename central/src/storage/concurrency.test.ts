// Several connections to one database file (WAL: many readers, one writer at a time), as when
// two central processes or a CLI share the embedded database.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openDatabase } from './database.js';
import { StorageError } from './errors.js';
import { SqliteMetricStore } from './metric-store.js';
import { TestClock } from './testing/index.js';

const HOUR = 3600_000;
const T0 = Date.UTC(2026, 0, 1);

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function twoConnections(busyTimeoutMs = 5000) {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-conc-'));
  dirs.push(dir);
  const path = join(dir, 'central.db');
  const clock = new TestClock(T0);
  const opts = { now: clock.now, retention: { rawMs: 2 * HOUR, oneMinuteMs: 4 * HOUR, fiveMinuteMs: 8 * HOUR } };
  const a = SqliteMetricStore.open(path, { ...opts, database: { busyTimeoutMs } });
  const b = SqliteMetricStore.open(path, { ...opts, database: { busyTimeoutMs } });
  return { path, clock, a, b };
}

describe('two connections to one file', () => {
  it('interleaved writers both succeed and each reads the other’s commits', async () => {
    const { a, b } = await twoConnections();
    const writes: Array<Promise<unknown>> = [];
    for (let i = 0; i < 50; i++) {
      const s = i % 2 === 0 ? a : b;
      writes.push(s.writeSamples([{ labels: { __name__: 'w', conn: i % 2 === 0 ? 'a' : 'b', i: String(i % 7) }, tsMs: T0 - 1000 * i, value: i }], `batch-${i}`));
    }
    await Promise.all(writes);
    for (const s of [a, b]) {
      const out = await s.query({ selector: { name: 'w', matchers: [] }, startMs: T0 - HOUR, endMs: T0 + 1 });
      assert.equal(out.reduce((n, p) => n + p.values.length, 0), 50);
    }
    await a.close();
    await b.close();
  });

  it('the same batch delivered through both connections is stored once', async () => {
    const { a, b } = await twoConnections();
    const batch = [{ labels: { __name__: 'd' }, tsMs: T0 - 1000, value: 1 }];
    const [ra, rb] = await Promise.all([a.writeSamples(batch, 'agent/1'), b.writeSamples(batch, 'agent/1')]);
    assert.deepEqual([ra.duplicate, rb.duplicate].sort(), [false, true]);
    assert.equal((await b.writeSamples(batch, 'agent/1')).duplicate, true);
    assert.equal((await a.writeSamples(batch, 'agent/1')).duplicate, true);
    await a.close();
    await b.close();
  });

  it('a writer whose cached series was garbage-collected by the other connection re-creates it', async () => {
    const { clock, a, b } = await twoConnections();
    const L = { __name__: 'gc', host: 'x' };
    await a.writeSamples([{ labels: L, tsMs: T0 - 1000, value: 1 }]);
    // b expires everything (and forgets the series) far in the future.
    clock.set(T0 + 9 * HOUR);
    await b.compact(clock.now());
    assert.deepEqual(await b.series({ name: 'gc', matchers: [] }, 10), []);
    // a still caches the old series id: the foreign key refuses it, a drops its cache and retries.
    const r = await a.writeSamples([{ labels: L, tsMs: clock.now() - 1000, value: 2 }]);
    assert.equal(r.accepted, 1);
    const out = await b.query({ selector: { name: 'gc', matchers: [] }, startMs: clock.now() - HOUR, endMs: clock.now() });
    assert.deepEqual(out.map((p) => [p.labels, p.values]), [[L, [2]]]);
    await a.close();
    await b.close();
  });

  it('a writer blocked beyond the busy timeout gets a retryable BUSY error and nothing is half-written', async () => {
    const { path, a, b } = await twoConnections(50);
    const blocker = openDatabase(path, { now: () => T0 });
    blocker.handle.exec('BEGIN IMMEDIATE');
    try {
      await assert.rejects(b.writeSamples([{ labels: { __name__: 'busy' }, tsMs: T0 - 1000, value: 1 }], 'x'), (e: unknown) => {
        assert.ok(e instanceof StorageError, String(e));
        assert.equal(e.code, 'BUSY');
        assert.equal(e.retryable, true);
        assert.match(e.message, /nothing of the batch was stored/);
        return true;
      });
      // Readers are not blocked by a writer in WAL mode.
      assert.deepEqual(await a.series({ matchers: [] }, 10), []);
    } finally {
      blocker.handle.exec('ROLLBACK');
      blocker.close();
    }
    // The retry succeeds: the batch id was not recorded by the failed attempt.
    assert.equal((await b.writeSamples([{ labels: { __name__: 'busy' }, tsMs: T0 - 1000, value: 1 }], 'x')).duplicate, false);
    await a.close();
    await b.close();
  });
});
