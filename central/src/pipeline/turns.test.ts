import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Turns, TurnsClosedError } from './turns.js';

const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('Turns', () => {
  it('runs jobs in FIFO order and passes results, rejections and synchronous throws back', async () => {
    const t = new Turns();
    const order: number[] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        t.run(async () => {
          order.push(i);
          if (i === 7) throw new Error('job 7 failed');
          return i * 2;
        }),
      ),
    );
    assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual(results[3], { status: 'fulfilled', value: 6 });
    assert.equal(results[7]!.status, 'rejected');
    const sync = await t
      .run((): Promise<never> => {
        throw new Error('sync throw');
      })
      .catch((e: Error) => e.message);
    assert.equal(sync, 'sync throw');
    assert.equal(t.size, 0);
  });

  it('starts a bounded number of jobs per event-loop turn, so other callbacks run while a backlog drains', async () => {
    let depth = -1;
    const t = new Turns({ maxPerTurn: 16, depth: { set: (v) => void (depth = v), inc: () => undefined, dec: () => undefined } });
    let started = 0;
    const all = Promise.all(Array.from({ length: 1000 }, () => t.run(async () => void started++)));
    assert.equal(started, 0, 'nothing runs in the caller\'s turn');
    assert.equal(depth, 1000);
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) {
      await nextTurn();
      seen.push(started);
    }
    // Another callback got 5 turns while jobs ran: each turn started at most maxPerTurn.
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i]! - seen[i - 1]! <= 16, `turn ${i} started ${seen[i]! - seen[i - 1]!} jobs`);
    assert.ok(seen[4]! < 1000, 'the backlog is not drained in one go');
    await all;
    assert.equal(started, 1000);
    assert.equal(depth, 0);
  });

  it('halves the jobs per turn when turns run over budget and grows again when they are short', async () => {
    let now = 0;
    let cost = 0;
    const t = new Turns({ turnBudgetMs: 20, maxPerTurn: 64, now: () => now });
    const perTurn: number[] = [];
    let inTurn = 0;
    const job = async () => {
      inTurn++;
      now += cost;
    };
    const drainTurns = async (n: number) => {
      for (let i = 0; i < n; i++) {
        inTurn = 0;
        await nextTurn();
        perTurn.push(inTurn);
      }
    };
    const jobs = Array.from({ length: 2000 }, () => t.run(job));
    cost = 15; // every job costs 15 ms: a turn of 8 jobs takes 120 ms, of one 15 ms (within budget)
    await drainTurns(6);
    const slow = perTurn.slice(-3);
    assert.ok(slow.every((n) => n === 1), `slow turns run one job each (got ${perTurn.join(',')})`);
    cost = 0; // free jobs: turns are short, the number grows by one per turn
    perTurn.length = 0;
    await drainTurns(10);
    for (let i = 2; i < perTurn.length; i++) assert.ok(perTurn[i]! >= perTurn[i - 1]!, `growing (got ${perTurn.join(',')})`);
    assert.ok(perTurn.at(-1)! > 1);
    await Promise.all(jobs);
  });

  it('close() refuses the jobs not yet started and every later one; started jobs finish', async () => {
    const t = new Turns({ maxPerTurn: 2 });
    let finished = 0;
    const jobs = Array.from({ length: 10 }, () =>
      t.run(async () => {
        await nextTurn();
        finished++;
      }),
    );
    await nextTurn(); // the first turn starts up to 2 jobs
    t.close();
    const settled = await Promise.allSettled(jobs);
    const rejected = settled.filter((r) => r.status === 'rejected');
    assert.ok(rejected.length >= 8, `${rejected.length} refused`);
    assert.ok(rejected.every((r) => (r as PromiseRejectedResult).reason instanceof TurnsClosedError));
    assert.equal(finished, 10 - rejected.length, 'started jobs ran to the end');
    await assert.rejects(t.run(async () => 1), TurnsClosedError);
    assert.equal(t.size, 0);
  });
});
