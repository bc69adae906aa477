// Issue acceptance: "accepted data survives kill -9 of central". A child process writes
// batches and reports each one after the write returned; it is killed with SIGKILL mid-stream
// (a compaction may be running); the database is reopened and every reported batch must be
// there, whole, and the file must pass PRAGMA integrity_check.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ChunkReader } from './chunk-codec.js';
import { openDatabase } from './database.js';
import { SqliteMetricStore } from './metric-store.js';
import { BATCH_SPAN_MS, PER_SERIES, SERIES } from './testdata/durability-shape.js';

const WRITER = fileURLToPath(new URL('./testdata/durability-writer.ts', import.meta.url));
const PER_BATCH = SERIES * PER_SERIES;

async function runAndKill(path: string, sync: 'NORMAL' | 'FULL', base: number, killAfter: number): Promise<Set<number>> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, sync, String(base)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const accepted = new Set<number>();
  let stderr = '';
  let buf = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const m = /^accepted (\d+)$/.exec(line);
      if (m) accepted.add(Number(m[1]));
      // Kill mid-stream: the child is inside its next write (or a compaction) right now.
      if (accepted.size === killAfter) child.kill('SIGKILL');
    }
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const signal = await exited;
  clearTimeout(timer);
  assert.equal(signal, 'SIGKILL', `writer did not die by SIGKILL: ${stderr}`);
  assert.ok(accepted.size >= killAfter, `only ${accepted.size} batches before the kill: ${stderr}`);
  return accepted;
}

for (const sync of ['NORMAL', 'FULL'] as const) {
  describe(`durability (synchronous=${sync})`, () => {
    it('every batch reported as accepted survives kill -9, whole; the file is intact; compaction resumes', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'aiops-durable-'));
      const path = join(dir, 'central.db');
      const base = Math.floor(Date.now() / 60_000) * 60_000 - 3600_000;
      const accepted = await runAndKill(path, sync, base, sync === 'NORMAL' ? 150 : 60);

      const db = openDatabase(path, { now: Date.now });
      assert.deepEqual(db.integrityCheck(), [], 'PRAGMA integrity_check');
      // Samples per batch number, decoded from the chunks (several batches share a chunk).
      const perBatch = new Map<number, number>();
      const reader = new ChunkReader();
      for (const data of db.handle.prepare('SELECT data FROM sample_chunks').pluck().all() as Uint8Array[]) {
        const ts: number[] = [];
        reader.decode(data, ts, [], 0);
        for (const t of ts) {
          const n = Math.floor((t - base) / BATCH_SPAN_MS);
          perBatch.set(n, (perBatch.get(n) ?? 0) + 1);
        }
      }
      assert.equal(db.handle.prepare('SELECT COUNT(*) FROM samples').pluck().get(), 0, 'nothing is written to the legacy samples table');
      const recorded = new Set((db.handle.prepare("SELECT id FROM write_batches WHERE kind = 's'").pluck().all() as string[]).map((id) => Number(id.replace('batch-', ''))));
      for (const n of accepted) {
        assert.equal(perBatch.get(n), PER_BATCH, `accepted batch ${n} has ${perBatch.get(n) ?? 0} of ${PER_BATCH} samples`);
        assert.ok(recorded.has(n), `accepted batch ${n} lost its identity`);
      }
      // Atomicity: any batch present at all is present whole, together with its identity.
      for (const [n, c] of perBatch) {
        assert.equal(c, PER_BATCH, `batch ${n} is partial`);
        assert.ok(recorded.has(n), `batch ${n} stored without its identity`);
      }
      assert.ok(perBatch.size <= accepted.size + 1, `at most the in-flight batch beyond the reported ones (${perBatch.size} vs ${accepted.size})`);
      db.close();

      // The store reopens, redelivery is still deduplicated, and compaction resumes and agrees with raw.
      const store = SqliteMetricStore.open(path, { now: Date.now });
      const first = Math.min(...accepted);
      assert.equal((await store.writeSamples([{ labels: { __name__: 'durable', series: '0' }, tsMs: base, value: 0 }], `batch-${first}`)).duplicate, true);
      const now = Date.now();
      await store.compact(now);
      const closed = Math.floor((now - 60_000) / 60_000) * 60_000;
      const sel = { selector: { name: 'durable', matchers: [] }, startMs: base, endMs: closed, maxPoints: 2_000_000 };
      const raw = await store.query({ ...sel, resolution: 'raw' });
      const m1 = await store.query({ ...sel, resolution: '1m' });
      const rawCount = raw.reduce((n, p) => n + p.values.length, 0);
      assert.equal(m1.reduce((n, p) => n + p.count!.reduce((a, b) => a + b, 0), 0), rawCount);
      assert.ok(rawCount >= accepted.size * PER_BATCH);
      await store.close();
      await rm(dir, { recursive: true, force: true });
    });
  });
}
