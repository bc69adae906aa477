// Issue #3 deliver 4, kill -9: an exporter in a child process buffers frames while central is
// unreachable, is killed with SIGKILL, and is started again on the same data folder with
// central up: it resumes from the buffer, central gets every frame created before the last
// flush, in order; at most one flush interval of frames is lost; sequences never repeat.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { REPO_ROOT } from '../internal/testdata/real-peer.js';
import { TestIngestServer } from './testdata/ingest-server.js';
import { freePort, until as sharedUntil } from '../../testing/index.js';

const CHILD = fileURLToPath(new URL('./testdata/kill9-child.ts', import.meta.url));
const EVERY_MS = 100;
const FLUSH_MS = 1000;

interface Run {
  child: ChildProcess;
  events: Array<{ event: string; maxSeq: number; at: number }>;
  exited: Promise<number | null>;
}

function run(dataDir: string, port: number): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dataDir, String(port), String(EVERY_MS)], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const events: Run['events'] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    try {
      events.push({ ...(JSON.parse(l) as { event: string; maxSeq: number }), at: Date.now() });
    } catch {
      // not ours
    }
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, events, exited };
}

const until = (pred: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> => sharedUntil(pred, what, timeoutMs);


describe('kill -9 of an agent with a buffer', () => {
  it('resumes from the buffer after SIGKILL and loses at most one flush interval', { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aiops-kill9-'));
    const port = await freePort();
    // Run 1: central is down, frames pile up in the buffer and are flushed every second.
    const first = run(dataDir, port);
    await until(() => first.events.filter((e) => e.event === 'flushed').length >= 3 && first.events.filter((e) => e.event === 'window').length >= 30, 'three flushes and 30 windows');
    first.child.kill('SIGKILL');
    assert.equal(await first.exited, null);
    const flushed = first.events.filter((e) => e.event === 'flushed');
    const lastFlushed = flushed.at(-1)!.maxSeq;
    const created = Math.max(...first.events.filter((e) => e.event === 'window').map((e) => e.maxSeq));
    assert.ok(lastFlushed >= 10, `frames flushed before the kill: ${lastFlushed}`);

    // Run 2: central is up; the restarted agent replays its buffer.
    const server = new TestIngestServer();
    await server.start(port);
    const second = run(dataDir, port);
    try {
      await until(() => second.events.some((e) => e.event === 'started'), 'second run started');
      const started = second.events.find((e) => e.event === 'started')!;
      await until(() => seqsUpTo(server, lastFlushed).length === lastFlushed, `frames 1..${lastFlushed} received`);
      await until(() => server.recorder.unique.some((s) => s > created), 'a frame of the second run received');
      const rec = server.recorder;
      assert.ok(rec.inOrder, `in order: ${rec.unique.join(',')}`);
      assert.deepEqual(seqsUpTo(server, lastFlushed), Array.from({ length: lastFlushed }, (_, i) => i + 1), 'every frame flushed before the kill');
      const lost = created - seqsUpTo(server, created).length;
      const maxLoss = Math.ceil(FLUSH_MS / EVERY_MS) + 2;
      assert.ok(lost <= maxLoss, `lost ${lost} frames created after the last flush (bound: one flush interval = ${maxLoss} windows)`);
      const newFrames = rec.unique.filter((s) => s > created);
      assert.ok(newFrames.length > 0 && newFrames[0]! > created, 'the second run never reuses a sequence of the first');
      assert.ok(started.maxSeq >= lastFlushed);
      process.stderr.write(`[kill -9] created ${created}, flushed ${lastFlushed}, lost ${lost}, second run starts at ${newFrames[0]}\n`);
    } finally {
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0, 'clean shutdown on SIGTERM');
      await server.stop();
    }
  });
});

function seqsUpTo(server: TestIngestServer, n: number): number[] {
  return server.recorder.unique.filter((s) => s <= n);
}
