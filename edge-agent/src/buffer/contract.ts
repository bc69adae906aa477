// The shared contract every FrameBuffer implementation passes (CONVENTIONS 6), in the manner of
// aedes' abstract persistence tests: `runBufferContract(name, make)` registers the tests;
// each implementation's test file calls it with a factory. Not part of the runtime surface.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { AgentError } from '../errors.js';
import { ManualClock, metricValue, testSettings } from '../testing/index.js';
import type { TestSettings } from '../testing/index.js';
import type { FrameBuffer } from './frame-buffer.js';

export interface BufferContractContext {
  settings: TestSettings;
  /** Where the buffer persists; a fresh folder per test, the same path across reopen. */
  path: string;
  maxBytes: number;
  flushIntervalMs: number;
}

export type BufferFactory = (ctx: BufferContractContext) => FrameBuffer;

function frame(seq: number, size = 100): Uint8Array {
  const b = new Uint8Array(size);
  for (let i = 0; i < size; i++) b[i] = (seq * 31 + i) & 0xff;
  return b;
}

async function waitUntil(pred: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function runBufferContract(name: string, make: BufferFactory): void {
  async function fresh(over: Partial<BufferContractContext> = {}): Promise<BufferContractContext> {
    const dir = await mkdtemp(join(tmpdir(), 'aiops-buffer-contract-'));
    return { settings: testSettings('grpc/test', { dataDir: dir }), path: join(dir, 'b.buffer.sqlite'), maxBytes: 1 << 20, flushIntervalMs: 1000, ...over };
  }
  async function started(ctx: BufferContractContext): Promise<FrameBuffer> {
    const b = make(ctx);
    await b.start();
    return b;
  }
  /** Reopens the same file with fresh settings (a restart). */
  async function reopen(ctx: BufferContractContext): Promise<[FrameBuffer, BufferContractContext]> {
    const next = { ...ctx, settings: testSettings('grpc/test', { dataDir: ctx.settings.agent.dataDir }) };
    return [await started(next), next];
  }

  describe(`FrameBuffer contract: ${name}`, () => {
    it('starts empty', async () => {
      const b = await started(await fresh());
      assert.equal(b.size, 0);
      assert.equal(b.bytes, 0);
      assert.equal(b.maxSeq, 0);
      assert.deepEqual(b.peek(10), []);
      await b.shutdown();
    });

    it('peeks in sequence order, after a given sequence, with the exact bytes', async () => {
      const b = await started(await fresh());
      for (const s of [3, 5, 9, 10, 42]) assert.deepEqual(b.put(s, 1000 + s, frame(s, 50 + s)), { stored: true, evicted: 0 });
      assert.equal(b.size, 5);
      assert.equal(b.bytes, [3, 5, 9, 10, 42].reduce((a, s) => a + 50 + s, 0));
      assert.equal(b.maxSeq, 42);
      const first = b.peek(3);
      assert.deepEqual(first.map((f) => f.seq), [3, 5, 9]);
      assert.deepEqual(first.map((f) => f.createdMs), [1003, 1005, 1009]);
      assert.deepEqual(Buffer.from(first[1]!.bytes), Buffer.from(frame(5, 55)));
      assert.deepEqual(b.peek(10, 9).map((f) => f.seq), [10, 42]);
      assert.deepEqual(b.peek(10, 42), []);
      assert.deepEqual(b.peek(0), []);
      await b.shutdown();
    });

    it('ack deletes exactly one held frame and reports whether it was held', async () => {
      const b = await started(await fresh());
      for (let s = 1; s <= 4; s++) b.put(s, s, frame(s));
      assert.equal(b.ack(2), true);
      assert.equal(b.ack(2), false);
      assert.equal(b.ack(77), false);
      assert.deepEqual(b.peek(10).map((f) => f.seq), [1, 3, 4]);
      assert.equal(b.size, 3);
      assert.equal(b.bytes, 300);
      assert.equal(b.maxSeq, 4, 'maxSeq never goes down');
      await b.shutdown();
    });

    it('refuses a sequence that is not above every earlier one', async () => {
      const b = await started(await fresh());
      b.put(5, 0, frame(5));
      for (const bad of [5, 4, 0, -1, 1.5, Number.NaN]) {
        assert.throws(() => b.put(bad, 0, frame(1)), (e: unknown) => e instanceof AgentError && e.code === 'BUFFER_SEQUENCE', String(bad));
      }
      b.ack(5);
      assert.throws(() => b.put(5, 0, frame(1)), /not above/, 'an acked sequence is not reused');
      await b.shutdown();
    });

    it('is bounded in bytes: drops the oldest first and counts them', async () => {
      const ctx = await fresh({ maxBytes: 64 * 1024 });
      const b = await started(ctx);
      let evicted = 0;
      for (let s = 1; s <= 20; s++) evicted += b.put(s, s, frame(s, 10 * 1024)).evicted;
      assert.ok(b.bytes <= 64 * 1024, `bytes ${b.bytes}`);
      assert.equal(b.size, 6);
      assert.deepEqual(b.peek(100).map((f) => f.seq), [15, 16, 17, 18, 19, 20]);
      assert.equal(evicted, 14);
      assert.equal(await metricValue(ctx.settings, 'aiops_agent_buffer_dropped_frames_total', { reason: 'full' }), 14);
      assert.equal(await metricValue(ctx.settings, 'aiops_agent_buffer_frames'), 6);
      assert.equal(await metricValue(ctx.settings, 'aiops_agent_buffer_bytes'), 6 * 10 * 1024);
      await b.shutdown();
    });

    it('drops (and counts) a single frame larger than the whole buffer, keeping the rest', async () => {
      const ctx = await fresh({ maxBytes: 64 * 1024 });
      const b = await started(ctx);
      b.put(1, 1, frame(1, 1000));
      assert.deepEqual(b.put(2, 2, frame(2, 64 * 1024 + 1)), { stored: false, evicted: 0 });
      assert.deepEqual(b.peek(10).map((f) => f.seq), [1]);
      assert.equal(await metricValue(ctx.settings, 'aiops_agent_buffer_dropped_frames_total', { reason: 'too_large' }), 1);
      await b.shutdown();
    });

    it('persists across a restart (flush, then shutdown) and keeps maxSeq when drained', async () => {
      const ctx = await fresh();
      const a = await started(ctx);
      for (let s = 1; s <= 5; s++) a.put(s, 100 + s, frame(s, 200));
      a.ack(1);
      await a.flush();
      a.ack(2);
      await a.shutdown();
      const [b, ctx2] = await reopen(ctx);
      assert.deepEqual(b.peek(10).map((f) => [f.seq, f.createdMs]), [[3, 103], [4, 104], [5, 105]]);
      assert.deepEqual(Buffer.from(b.peek(1, 3)[0]!.bytes), Buffer.from(frame(4, 200)));
      assert.equal(b.bytes, 600);
      assert.equal(await metricValue(ctx2.settings, 'aiops_agent_buffer_frames'), 3);
      for (const f of b.peek(10)) b.ack(f.seq);
      await b.shutdown();
      const [c] = await reopen(ctx);
      assert.equal(c.size, 0);
      assert.equal(c.maxSeq, 5);
      await c.shutdown();
    });

    it('flushes by itself every flush interval', async () => {
      const clock = new ManualClock();
      const dir = await mkdtemp(join(tmpdir(), 'aiops-buffer-contract-'));
      const ctx: BufferContractContext = { settings: testSettings('grpc/test', { dataDir: dir, clock }), path: join(dir, 'b.buffer.sqlite'), maxBytes: 1 << 20, flushIntervalMs: 1000 };
      const a = await started(ctx);
      a.put(1, 1, frame(1));
      clock.advance(1000);
      await waitUntil(() => existsSync(ctx.path), 'buffer file written by the flush timer');
      const before = readFileSync(ctx.path);
      a.put(2, 2, frame(2));
      clock.advance(999);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(readFileSync(ctx.path), before, 'not written before the interval elapsed');
      clock.advance(1);
      await waitUntil(() => !readFileSync(ctx.path).equals(before), 'second flush');
      // A second process view of the file (the first is still running): both frames.
      const [b] = await reopen(ctx);
      assert.deepEqual(b.peek(10).map((f) => f.seq), [1, 2]);
      await b.shutdown();
      await a.shutdown();
    });

    it('shutdown is idempotent and safe without start; calls after it fail clearly', async () => {
      const ctx = await fresh();
      const never = make(ctx);
      await never.shutdown();
      await never.shutdown();
      const b = await started(await fresh());
      b.put(1, 1, frame(1));
      await b.shutdown();
      await b.shutdown();
      assert.throws(() => b.put(2, 2, frame(2)), (e: unknown) => e instanceof AgentError && e.code === 'BUFFER_CLOSED');
      assert.throws(() => b.peek(1), /shut down/);
    });

    const corruptions: Array<[string, (path: string, valid: Buffer) => void]> = [
      ['random bytes', (p) => writeFileSync(p, randomBytes(8192))],
      ['an empty file', (p) => writeFileSync(p, '')],
      ['a truncated buffer file', (p, valid) => writeFileSync(p, valid.subarray(0, Math.floor(valid.length / 2)))],
      ['a buffer file with flipped bytes', (p, valid) => {
        const v = Buffer.from(valid);
        for (let i = 100; i < v.length; i += 97) v[i] = v[i]! ^ 0xff;
        writeFileSync(p, v);
      }],
      ['an oversized (sparse) file', (p) => {
        writeFileSync(p, 'x');
        truncateSync(p, 4 * 1024 ** 3);
      }],
    ];
    for (const [what, corrupt] of corruptions) {
      it(`moves ${what} aside, counts it and carries on empty`, async () => {
        const ctx = await fresh();
        const a = await started(ctx);
        for (let s = 1; s <= 30; s++) a.put(s, s, frame(s, 3000));
        await a.shutdown();
        const valid = readFileSync(ctx.path);
        corrupt(ctx.path, valid);
        const [b, ctx2] = await reopen(ctx);
        assert.equal(b.size, 0);
        assert.equal(await metricValue(ctx2.settings, 'aiops_agent_buffer_corrupt_files_total'), 1);
        const dir = join(ctx.path, '..');
        assert.ok(readdirSync(dir).some((f) => f.startsWith('b.buffer.sqlite.corrupt-')), 'the bad file is kept aside for inspection');
        b.put(1000, 1, frame(1000));
        await b.shutdown();
        const [c] = await reopen(ctx);
        assert.deepEqual(c.peek(5).map((f) => f.seq), [1000]);
        await c.shutdown();
      });
    }

    it('matches a simple model under random put/ack/peek/restart sequences', async () => {
      const Cmd = fc.oneof(
        fc.record({ op: fc.constant('put' as const), size: fc.integer({ min: 1, max: 9000 }) }),
        fc.record({ op: fc.constant('ack' as const), pick: fc.nat() }),
        fc.record({ op: fc.constant('peek' as const), n: fc.integer({ min: 0, max: 20 }), after: fc.nat() }),
        fc.record({ op: fc.constant('restart' as const) }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(Cmd, { maxLength: 60 }), async (cmds) => {
          let ctx = await fresh({ maxBytes: 64 * 1024 });
          let b = await started(ctx);
          let model: Array<{ seq: number; size: number }> = [];
          let seq = 0;
          for (const c of cmds) {
            if (c.op === 'put') {
              seq++;
              b.put(seq, seq, frame(seq, c.size));
              model.push({ seq, size: c.size });
              while (model.reduce((a, m) => a + m.size, 0) > 64 * 1024) model.shift();
            } else if (c.op === 'ack') {
              const target = model.length > 0 && c.pick % 3 !== 0 ? model[c.pick % model.length]!.seq : seq + 1 + c.pick;
              const held = model.some((m) => m.seq === target);
              assert.equal(b.ack(target), held);
              model = model.filter((m) => m.seq !== target);
            } else if (c.op === 'peek') {
              const after = c.after % (seq + 2);
              assert.deepEqual(b.peek(c.n, after).map((f) => f.seq), model.filter((m) => m.seq > after).slice(0, c.n).map((m) => m.seq));
            } else {
              await b.shutdown();
              [b, ctx] = await reopen(ctx);
            }
            assert.equal(b.size, model.length);
            assert.equal(b.bytes, model.reduce((a, m) => a + m.size, 0));
          }
          for (const f of b.peek(1000)) {
            assert.deepEqual(Buffer.from(f.bytes), Buffer.from(frame(f.seq, model.find((m) => m.seq === f.seq)!.size)));
          }
          await b.shutdown();
        }),
        { numRuns: 25 },
      );
    });
  });
}
