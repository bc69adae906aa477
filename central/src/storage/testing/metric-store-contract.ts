// The shared contract of every MetricStore (CONVENTIONS 6), in the manner of aedes' abstract
// persistence tests: `runMetricStoreContract(name, make)` registers the tests; each
// implementation's test file calls it with a factory. A TSDB-backed store must pass the same.
// Not part of the runtime surface.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalLabelKey, compareCodePoints } from '../../../../shared-schemas/src/index.js';
import type { FeatureRow, Labels } from '../../../../shared-schemas/src/index.js';
import { StorageError } from '../errors.js';
import type { FeatureRecordWrite, FeatureSample, MetricSample, MetricStore, RetentionPolicy, SeriesPoints } from '../types.js';
import { rejection, TestClock } from './clock.js';

export interface MetricStoreContractContext {
  /** The store's clock (write-time retention and future checks, 'auto' resolution). */
  clock: TestClock;
  retention: RetentionPolicy;
  /** A 1m bucket is rolled up once it ended this long before compact's nowMs. */
  graceMs: number;
  /** How long batch identities are remembered (a redelivery within it is a duplicate). */
  batchIdRetentionMs: number;
  limits: {
    /** Labels per series, __name__ included. */
    maxLabels: number;
    maxLabelValueLength: number;
    maxBatchSize: number;
    /** Store-wide caps of a query's maxSeries / maxPoints. */
    maxQuerySeries: number;
    maxQueryPoints: number;
    /** Series the store holds at most; samples of new series beyond it are refused. */
    maxSeriesTotal: number;
  };
}

/** Creates an empty store configured from the context; its close() releases everything. */
export type MetricStoreFactory = (ctx: MetricStoreContractContext) => Promise<MetricStore>;

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** 2026-01-01T00:00:00Z: aligned to minutes, 5 minutes and hours. */
const T0 = Date.UTC(2026, 0, 1);

function isStorageError(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StorageError && e.code === code && (message === undefined || message.test(e.message));
}

function sortedByKey(sets: Labels[]): Labels[] {
  return [...sets].sort((a, b) => compareCodePoints(canonicalLabelKey(a), canonicalLabelKey(b)));
}

function featureRow(over: Partial<FeatureRow> = {}): FeatureSample['row'] {
  return { count: 5, min: 1, max: 4, mean: 2, std: 1, last: 3, p50: 2, p95: 4, tier1MaxScore: 0.5, flags: 0, bandLower: 0, bandUpper: 5, ...over };
}

/** The downsampled view of points, for deepEqual. */
function buckets(p: SeriesPoints | undefined): Array<[number, number, number, number, number, number]> {
  assert.ok(p !== undefined, 'series present');
  return p.timestamps.map((t, i) => [t, p.values[i]!, p.min![i]!, p.max![i]!, p.count![i]!, p.last![i]!]);
}

export function runMetricStoreContract(name: string, make: MetricStoreFactory): void {
  function context(): MetricStoreContractContext {
    return {
      clock: new TestClock(T0),
      retention: { rawMs: 6 * HOUR, oneMinuteMs: 2 * DAY, fiveMinuteMs: 7 * DAY },
      graceMs: MIN,
      batchIdRetentionMs: DAY,
      limits: { maxLabels: 16, maxLabelValueLength: 256, maxBatchSize: 5000, maxQuerySeries: 100, maxQueryPoints: 50_000, maxSeriesTotal: 150 },
    };
  }
  async function fresh(): Promise<[MetricStore, MetricStoreContractContext]> {
    const ctx = context();
    return [await make(ctx), ctx];
  }

  describe(`MetricStore contract: ${name}`, () => {
    it('round-trips raw samples, ascending whatever the write order, last write of a (series, time) wins', async () => {
      const [s] = await fresh();
      const a = { __name__: 'cpu', host: 'a' };
      const b = { host: 'b', __name__: 'cpu' };
      const r = await s.writeSamples([
        { labels: a, tsMs: T0 - 20_000, value: 2.5 },
        { labels: a, tsMs: T0 - 30_000, value: -1 },
        { labels: b, tsMs: T0 - 30_000, value: 1e300 },
        { labels: a, tsMs: T0 - 10_000, value: 0 },
        { labels: { ...a }, tsMs: T0 - 20_000, value: 7 },
      ]);
      assert.deepEqual(r, { accepted: 5, duplicate: false, rejected: [] });
      const out = await s.query({ selector: { name: 'cpu', matchers: [] }, startMs: T0 - MIN, endMs: T0, resolution: 'raw' });
      assert.deepEqual(out, [
        { labels: { __name__: 'cpu', host: 'a' }, resolution: 'raw', timestamps: [T0 - 30_000, T0 - 20_000, T0 - 10_000], values: [-1, 7, 0] },
        { labels: { __name__: 'cpu', host: 'b' }, resolution: 'raw', timestamps: [T0 - 30_000], values: [1e300] },
      ]);
      // startMs inclusive, endMs exclusive.
      const edge = await s.query({ selector: { name: 'cpu', matchers: [{ name: 'host', op: '=', value: 'a' }] }, startMs: T0 - 30_000, endMs: T0 - 10_000, resolution: 'raw' });
      assert.deepEqual(edge[0]?.timestamps, [T0 - 30_000, T0 - 20_000]);
      await s.close();
    });

    it('treats a label with an empty value as absent (one series), and returns labels in full', async () => {
      const [s] = await fresh();
      await s.writeSamples([
        { labels: { __name__: 'm', a: '', b: 'x' }, tsMs: T0 - 2000, value: 1 },
        { labels: { __name__: 'm', b: 'x' }, tsMs: T0 - 1000, value: 2 },
        { labels: { ...(JSON.parse('{"__proto__": "p"}') as Labels), __name__: 'm', b: 'x', 'dotted.name': 'ü→✓' }, tsMs: T0 - 1000, value: 3 },
      ]);
      const all = await s.series({ matchers: [] }, 10);
      assert.equal(all.length, 2);
      const out = await s.query({ selector: { name: 'm', matchers: [{ name: 'a', op: '=', value: '' }, { name: '__proto__', op: '=', value: '' }] }, startMs: T0 - MIN, endMs: T0, resolution: 'raw' });
      assert.deepEqual(out.map((p) => [p.labels, p.values]), [[{ __name__: 'm', b: 'x' }, [1, 2]]]);
      const proto = await s.query({ selector: { matchers: [{ name: '__proto__', op: '=', value: 'p' }] }, startMs: T0 - MIN, endMs: T0 });
      assert.equal(proto.length, 1);
      assert.equal(Object.hasOwn(proto[0]!.labels, '__proto__'), true);
      assert.equal(proto[0]!.labels['dotted.name'], 'ü→✓');
      await s.close();
    });

    describe('selectors', () => {
      const sets: Labels[] = [
        { __name__: 'http_requests', job: 'api', path: '/a', code: '200' },
        { __name__: 'http_requests', job: 'api', path: '/b', code: '500' },
        { __name__: 'http_requests', job: 'web', code: '200' },
        { __name__: 'cpu', job: 'api', host: 'h1' },
        { __name__: 'cpu', job: 'web', host: 'h2\nx' },
      ];
      const cases: Array<[string, { name?: string; matchers: Array<{ name: string; op: '=' | '!=' | '=~' | '!~'; value: string }> }, number[]]> = [
        ['metric name', { name: 'http_requests', matchers: [] }, [0, 1, 2]],
        ['name-less equality', { matchers: [{ name: 'job', op: '=', value: 'api' }] }, [0, 1, 3]],
        ['name-less inequality (series without the label match)', { matchers: [{ name: 'path', op: '!=', value: '/a' }] }, [1, 2, 3, 4]],
        ['= "" selects series without the label', { name: 'http_requests', matchers: [{ name: 'path', op: '=', value: '' }] }, [2]],
        ['!= with a name', { name: 'http_requests', matchers: [{ name: 'path', op: '!=', value: '/a' }] }, [1, 2]],
        ['=~ is anchored: 2.. matches 200', { matchers: [{ name: 'code', op: '=~', value: '2..' }] }, [0, 2]],
        ['=~ is anchored: 2 does not match 200', { matchers: [{ name: 'code', op: '=~', value: '2' }] }, []],
        ['!~ is anchored', { name: 'http_requests', matchers: [{ name: 'code', op: '!~', value: '5.*' }] }, [0, 2]],
        ['alternation on __name__', { matchers: [{ name: '__name__', op: '=~', value: 'http_.*|cpu' }] }, [0, 1, 2, 3, 4]],
        ['. matches a newline', { matchers: [{ name: 'host', op: '=~', value: 'h2.*' }] }, [4]],
        ['several matchers are ANDed', { matchers: [{ name: 'job', op: '=~', value: 'api|web' }, { name: 'host', op: '!=', value: '' }] }, [3, 4]],
        ['a name and a conflicting __name__ matcher select nothing', { name: 'cpu', matchers: [{ name: '__name__', op: '=', value: 'http_requests' }] }, []],
        ['regex that matches the empty string', { name: 'cpu', matchers: [{ name: 'path', op: '=~', value: '/a|' }] }, [3, 4]],
        ['empty selector selects everything', { matchers: [] }, [0, 1, 2, 3, 4]],
        ['unknown label value', { matchers: [{ name: 'job', op: '=', value: 'db' }] }, []],
      ];
      for (const [title, selector, want] of cases) {
        it(title, async () => {
          const [s] = await fresh();
          await s.writeSamples(sets.map((labels, i) => ({ labels, tsMs: T0 - 1000, value: i })));
          const expected = sortedByKey(want.map((i) => sets[i]!));
          assert.deepEqual(await s.series(selector, 100), expected);
          const q = await s.query({ selector, startMs: T0 - MIN, endMs: T0 });
          assert.deepEqual(q.map((p) => p.labels), expected, 'query returns the same series in the same order');
          await s.close();
        });
      }

      it('series() honours its limit and orders by canonical label key', async () => {
        const [s] = await fresh();
        await s.writeSamples(sets.map((labels, i) => ({ labels, tsMs: T0 - 1000, value: i })));
        const two = await s.series({ matchers: [] }, 2);
        assert.deepEqual(two, sortedByKey(sets).slice(0, 2));
        await s.close();
      });

      it('refuses malformed selectors with INVALID_QUERY', async () => {
        const [s] = await fresh();
        const bad: unknown[] = [
          { matchers: [{ name: 'a', op: '=~', value: '(' }] },
          { matchers: [{ name: 'a', op: '==', value: 'x' }] },
          { matchers: [{ name: '', op: '=', value: 'x' }] },
          { matchers: [{ name: 'a', op: '=', value: 1 }] },
          { matchers: 'job=api' },
          { name: '', matchers: [] },
          null,
        ];
        for (const selector of bad) {
          await assert.rejects(s.series(selector as never, 10), isStorageError('INVALID_QUERY'), JSON.stringify(selector));
          await assert.rejects(s.query({ selector: selector as never, startMs: T0 - MIN, endMs: T0 }), isStorageError('INVALID_QUERY'));
        }
        await assert.rejects(s.series({ matchers: [{ name: 'a', op: '=~', value: '(' }] }, 10), /not a valid regular expression/);
        await s.close();
      });
    });

    describe('idempotent redelivery', () => {
      it('a batch id seen before is a duplicate and writes nothing, even with other content', async () => {
        const [s] = await fresh();
        const L = { __name__: 'm' };
        assert.deepEqual(await s.writeSamples([{ labels: L, tsMs: T0 - 1000, value: 1 }], 'agent-1/7'), { accepted: 1, duplicate: false, rejected: [] });
        assert.deepEqual(await s.writeSamples([{ labels: L, tsMs: T0 - 1000, value: 99 }, { labels: L, tsMs: T0 - 500, value: 5 }], 'agent-1/7'), { accepted: 0, duplicate: true, rejected: [] });
        const out = await s.query({ selector: { name: 'm', matchers: [] }, startMs: T0 - MIN, endMs: T0 });
        assert.deepEqual(out[0]?.values, [1]);
        // Another id is another batch; without an id there is no deduplication.
        assert.equal((await s.writeSamples([{ labels: L, tsMs: T0 - 500, value: 5 }], 'agent-1/8')).duplicate, false);
        assert.equal((await s.writeSamples([{ labels: L, tsMs: T0 - 500, value: 6 }])).accepted, 1);
        assert.equal((await s.writeSamples([{ labels: L, tsMs: T0 - 500, value: 6 }])).duplicate, false);
        await s.close();
      });

      it('a batch whose samples were all refused is still remembered', async () => {
        const [s] = await fresh();
        const first = await s.writeSamples([{ labels: { __name__: 'm' }, tsMs: T0, value: Number.NaN }], 'b');
        assert.equal(first.accepted, 0);
        assert.equal(first.rejected.length, 1);
        assert.equal((await s.writeSamples([{ labels: { __name__: 'm' }, tsMs: T0, value: 1 }], 'b')).duplicate, true);
        await s.close();
      });

      it('feature frames are deduplicated by (agentId, sequence)', async () => {
        const [s] = await fresh();
        const rows: FeatureSample[] = [{ labels: { __name__: 'f' }, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow() }];
        assert.deepEqual(await s.writeFeatureFrame('agent-1', 1, rows), { accepted: 1, duplicate: false, rejected: [] });
        assert.deepEqual(await s.writeFeatureFrame('agent-1', 1, rows), { accepted: 0, duplicate: true, rejected: [] });
        assert.equal((await s.writeFeatureFrame('agent-2', 1, rows)).duplicate, false, 'same sequence, other agent');
        assert.equal((await s.writeFeatureFrame('agent-1', 2, rows)).duplicate, false, 'same agent, next sequence');
        // Frame identities and sample batch ids do not collide.
        assert.equal((await s.writeSamples([{ labels: { __name__: 'm' }, tsMs: T0, value: 1 }], '["agent-1",1]')).duplicate, false);
        await s.close();
      });

      it('bus records are stored once per (group, topic, partition, offset): redeliveries are skipped, other groups and partitions are not', async () => {
        const [s] = await fresh();
        const rec = (offset: number, host: string) => ({ offset: String(offset), agentId: 'agent-1', rows: [{ labels: { __name__: 'bf', host }, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow({ last: offset }) }] });
        const p0 = { group: 'detect', topic: 'aiops.features', partition: 0 };
        assert.equal(await s.busOffset(p0), undefined);
        assert.deepEqual(await s.writeFeatureRecords(p0, [rec(0, 'a'), rec(1, 'b'), rec(5, 'c')]), { accepted: 3, duplicate: false, rejected: [], skippedRecords: 0 });
        assert.equal(await s.busOffset(p0), '6');
        // A redelivery overlapping what was stored: only the new records are written.
        assert.deepEqual(await s.writeFeatureRecords(p0, [rec(1, 'b'), rec(5, 'c'), rec(6, 'd')]), { accepted: 1, duplicate: false, rejected: [], skippedRecords: 2 });
        assert.deepEqual(await s.writeFeatureRecords(p0, [rec(6, 'd')]), { accepted: 0, duplicate: true, rejected: [], skippedRecords: 1 });
        assert.equal(await s.busOffset(p0), '7');
        // The same offsets in another partition or for another group are other records.
        assert.equal((await s.writeFeatureRecords({ ...p0, partition: 1 }, [rec(0, 'e')])).accepted, 1);
        assert.equal((await s.writeFeatureRecords({ ...p0, group: 'replay' }, [rec(0, 'f')])).accepted, 1);
        const out = await s.queryFeatures({ selector: { name: 'bf', matchers: [] }, startMs: T0 - MIN, endMs: T0 });
        assert.deepEqual(out.map((x) => x.labels['host']).sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
        assert.ok(out.every((x) => x.windows.length === 1), 'no row stored twice');
        // A refused row is reported with its index across the records; the offset still moves on.
        const bad: FeatureRecordWrite = { offset: '7', agentId: 'agent-1', rows: [{ labels: { __name__: 'bf', host: 'g' }, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow() }, { labels: {}, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow() }] };
        const r = await s.writeFeatureRecords(p0, [bad]);
        assert.equal(r.accepted, 1);
        assert.deepEqual(r.rejected.map((x) => x.index), [1]);
        assert.equal(await s.busOffset(p0), '8');
        await assert.rejects(s.writeFeatureRecords(p0, [rec(9, 'x'), rec(9, 'y')]), isStorageError('INVALID_ARGUMENT', /records\[1\]\.offset 9 is not after/));
        await assert.rejects(s.writeFeatureRecords(p0, [{ ...rec(1, 'x'), offset: '-1' }]), isStorageError('INVALID_ARGUMENT', /records\[0\]\.offset/));
        await assert.rejects(s.writeFeatureRecords({ ...p0, group: '' }, []), isStorageError('INVALID_ARGUMENT', /from\.group/));
        await assert.rejects(s.writeFeatureRecords({ ...p0, partition: -1 }, []), isStorageError('INVALID_ARGUMENT', /from\.partition/));
        await s.close();
      });

      it('concurrent deliveries of one batch store it exactly once', async () => {
        const [s] = await fresh();
        const batch: MetricSample[] = Array.from({ length: 50 }, (_, i) => ({ labels: { __name__: 'c', i: String(i % 5) }, tsMs: T0 - 60_000 + i * 1000, value: i }));
        const results = await Promise.all([
          ...Array.from({ length: 5 }, () => s.writeSamples(batch, 'same')),
          ...Array.from({ length: 10 }, (_, k) => s.writeSamples([{ labels: { __name__: 'c', i: 'x' }, tsMs: T0 - 1000 * (k + 1), value: k }], `other-${k}`)),
        ]);
        assert.equal(results.slice(0, 5).filter((r) => !r.duplicate).length, 1);
        assert.equal(results.slice(0, 5).filter((r) => r.duplicate && r.accepted === 0).length, 4);
        const out = await s.query({ selector: { name: 'c', matchers: [] }, startMs: T0 - 2 * MIN, endMs: T0 });
        assert.equal(out.reduce((n, p) => n + p.timestamps.length, 0), 60);
        await s.close();
      });
    });

    describe('columnar writes (writeSeries, where the store has it)', () => {
      it('stores columns as writeSamples stores objects: validation, indices over the call, last write wins, one batch id space', async (t) => {
        const [s] = await fresh();
        if (s.writeSeries === undefined) {
          t.skip('no writeSeries');
          await s.close();
          return;
        }
        const a = { __name__: 'col', host: 'a' };
        const r = await s.writeSeries(
          [
            { labels: a, timestamps: new Float64Array([T0 - 20_000, T0 - 30_000, T0 - 20_000]), values: new Float64Array([2.5, -1, 7]) },
            { labels: { host: 'x' }, timestamps: [T0 - 1000], values: [1] },
            { labels: { ...a, host: 'b' }, timestamps: [T0 - 30_000, T0 - 10_000], values: [Number.NaN, 1e300] },
          ],
          'col-1',
        );
        assert.deepEqual([r.accepted, r.duplicate, r.rejected.map((x) => x.index)], [4, false, [3, 4]]);
        assert.match(r.rejected[0]!.reason, /__name__/);
        assert.match(r.rejected[1]!.reason, /NaN/);
        assert.deepEqual(await s.writeSeries([{ labels: a, timestamps: [T0 - 5000], values: [9] }], 'col-1'), { accepted: 0, duplicate: true, rejected: [] });
        assert.equal((await s.writeSamples([{ labels: a, tsMs: T0 - 5000, value: 9 }], 'col-1')).duplicate, true, 'writeSamples and writeSeries share batch ids');
        // A later write of a stored (series, time) replaces its value.
        await s.writeSeries([{ labels: a, timestamps: [T0 - 30_000, T0 - 15_000], values: [-2, 3] }]);
        const out = await s.query({ selector: { name: 'col', matchers: [] }, startMs: T0 - MIN, endMs: T0, resolution: 'raw' });
        assert.deepEqual(out, [
          { labels: a, resolution: 'raw', timestamps: [T0 - 30_000, T0 - 20_000, T0 - 15_000], values: [-2, 7, 3] },
          { labels: { ...a, host: 'b' }, resolution: 'raw', timestamps: [T0 - 10_000], values: [1e300] },
        ]);
        await assert.rejects(s.writeSeries(Array.from({ length: 2 }, () => ({ labels: a, timestamps: new Float64Array(3000), values: new Float64Array(3000) }))), isStorageError('BATCH_TOO_LARGE'));
        await s.close();
      });
    });

    describe('bad input', () => {
      it('refuses bad samples with their index and reason and stores the rest of the batch', async () => {
        const [s, ctx] = await fresh();
        const ok = { __name__: 'ok' };
        const many: Labels = { __name__: 'm' };
        for (let i = 0; i < ctx.limits.maxLabels; i++) many[`l${i}`] = 'v';
        const batch: unknown[] = [
          { labels: ok, tsMs: T0 - 9000, value: 1 },
          { labels: ok, tsMs: T0 - 8000, value: Number.NaN },
          { labels: ok, tsMs: T0 - 8000, value: Infinity },
          { labels: ok, tsMs: T0 - 8000, value: -Infinity },
          { labels: ok, tsMs: T0 - 8000, value: '1' },
          { labels: {}, tsMs: T0 - 8000, value: 1 },
          { labels: { __name__: '' }, tsMs: T0 - 8000, value: 1 },
          { labels: many, tsMs: T0 - 8000, value: 1 },
          { labels: { __name__: 'm', big: 'x'.repeat(ctx.limits.maxLabelValueLength + 1) }, tsMs: T0 - 8000, value: 1 },
          { labels: { __name__: 'm', n: 5 }, tsMs: T0 - 8000, value: 1 },
          { labels: null, tsMs: T0 - 8000, value: 1 },
          { labels: ok, tsMs: 1.5, value: 1 },
          { labels: ok, tsMs: String(T0), value: 1 },
          { labels: ok, tsMs: T0 - ctx.retention.rawMs - 1, value: 1 },
          { labels: ok, tsMs: T0 + DAY, value: 1 },
          { labels: { __name__: 'm', bad: '\ud800' }, tsMs: T0 - 8000, value: 1 },
          'not a sample',
          { labels: ok, tsMs: T0 - 7000, value: -0.5 },
        ];
        const r = await s.writeSamples(batch as MetricSample[]);
        assert.equal(r.accepted, 2);
        assert.equal(r.duplicate, false);
        const reasons = new Map(r.rejected.map((x) => [x.index, x.reason]));
        const want: Array<[number, RegExp]> = [
          [1, /value is NaN/],
          [2, /value is \+Inf/],
          [3, /value is -Inf/],
          [4, /value must be a number/],
          [5, /__name__/],
          [6, /__name__/],
          [7, new RegExp(`more than ${ctx.limits.maxLabels} labels`)],
          [8, new RegExp(`labels\\.big: .*more than ${ctx.limits.maxLabelValueLength}`)],
          [9, /labels\.n: value must be a string/],
          [10, /labels must be an object/],
          [11, /tsMs must be an integer/],
          [12, /tsMs must be an integer/],
          [13, /older than the raw retention/],
          [14, /in the future/],
          [15, /not valid Unicode/],
          [16, /must be an object/],
        ];
        assert.deepEqual([...reasons.keys()].sort((a, b) => a - b), want.map(([i]) => i));
        for (const [i, re] of want) assert.match(reasons.get(i)!, re, `index ${i}`);
        const out = await s.query({ selector: { name: 'ok', matchers: [] }, startMs: T0 - MIN, endMs: T0 });
        assert.deepEqual(out[0]?.values, [1, -0.5]);
        await s.close();
      });

      it('refuses a batch above maxBatchSize whole, and arguments of the wrong type', async () => {
        const [s, ctx] = await fresh();
        const big = Array.from({ length: ctx.limits.maxBatchSize + 1 }, (_, i) => ({ labels: { __name__: 'm' }, tsMs: T0 - i, value: 1 }));
        await assert.rejects(s.writeSamples(big), isStorageError('BATCH_TOO_LARGE', /split the batch/));
        await assert.rejects(s.writeSamples('x' as never), isStorageError('INVALID_ARGUMENT'));
        await assert.rejects(s.writeSamples([], '' as never), isStorageError('INVALID_ARGUMENT', /batchId/));
        await assert.rejects(s.writeFeatureFrame('', 1, []), isStorageError('INVALID_ARGUMENT', /agentId/));
        await assert.rejects(s.writeFeatureFrame('a', -1, []), isStorageError('INVALID_ARGUMENT', /sequence/));
        await assert.rejects(s.writeFeatureFrame('a', 1.5, []), isStorageError('INVALID_ARGUMENT', /sequence/));
        assert.deepEqual(await s.series({ matchers: [] }, 10), []);
        assert.deepEqual(await s.writeSamples([]), { accepted: 0, duplicate: false, rejected: [] });
        await s.close();
      });

      it('refuses bad feature rows one by one', async () => {
        const [s] = await fresh();
        const L = { __name__: 'f' };
        const rows: unknown[] = [
          { labels: L, windowStartMs: T0 - 20_000, windowEndMs: T0 - 10_000, row: featureRow() },
          { labels: L, windowStartMs: T0 - 10_000, windowEndMs: T0 - 20_000, row: featureRow() },
          { labels: L, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow({ count: -1 }) },
          { labels: L, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow({ flags: 1.5 }) },
          { labels: L, windowStartMs: T0 - 10_000, windowEndMs: T0, row: { ...featureRow(), mean: 'x' } },
          { labels: {}, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow() },
          { labels: L, windowStartMs: T0 - 10_000, windowEndMs: T0, row: null },
          { labels: L, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow({ std: Number.NaN, bandLower: Number.NaN, bandUpper: Infinity }) },
        ];
        const r = await s.writeFeatureFrame('a', 1, rows as FeatureSample[]);
        assert.equal(r.accepted, 2);
        assert.deepEqual(r.rejected.map((x) => x.index), [1, 2, 3, 4, 5, 6]);
        assert.match(r.rejected[0]!.reason, /windowEndMs/);
        assert.match(r.rejected[1]!.reason, /row\.count/);
        assert.match(r.rejected[2]!.reason, /row\.flags/);
        assert.match(r.rejected[3]!.reason, /row\.mean/);
        assert.match(r.rejected[4]!.reason, /__name__/);
        assert.match(r.rejected[5]!.reason, /row must be an object/);
        await s.close();
      });

      it('refuses malformed queries', async () => {
        const [s] = await fresh();
        const selector = { matchers: [] };
        await assert.rejects(s.query({ selector, startMs: T0, endMs: T0 }), isStorageError('INVALID_QUERY', /endMs must be after startMs/));
        await assert.rejects(s.query({ selector, startMs: 1.5, endMs: T0 }), isStorageError('INVALID_QUERY', /startMs/));
        await assert.rejects(s.query({ selector, startMs: 0, endMs: T0, resolution: '1h' as never }), isStorageError('INVALID_QUERY', /resolution/));
        await assert.rejects(s.query({ selector, startMs: 0, endMs: T0, maxSeries: 0 }), isStorageError('INVALID_QUERY', /maxSeries/));
        await assert.rejects(s.query({ selector, startMs: 0, endMs: T0, maxPoints: -1 }), isStorageError('INVALID_QUERY', /maxPoints/));
        await assert.rejects(s.series(selector, 0), isStorageError('INVALID_ARGUMENT', /limit/));
        await s.close();
      });
    });

    describe('limits', () => {
      it('refuses a query beyond maxSeries or maxPoints instead of truncating it', async () => {
        const [s] = await fresh();
        const samples: MetricSample[] = [];
        for (let i = 0; i < 5; i++) for (let k = 0; k < 10; k++) samples.push({ labels: { __name__: 'm', i: String(i) }, tsMs: T0 - MIN + k * 1000, value: k });
        await s.writeSamples(samples);
        const q = { selector: { name: 'm', matchers: [] }, startMs: T0 - MIN, endMs: T0, resolution: 'raw' as const };
        assert.equal((await s.query({ ...q, maxSeries: 5, maxPoints: 50 })).length, 5);
        const e1 = await rejection(s.query({ ...q, maxSeries: 4 }));
        assert.ok(isStorageError('QUERY_LIMIT', /more than 4 series/)(e1), String(e1));
        assert.equal((e1 as StorageError).retryable, false);
        await assert.rejects(s.query({ ...q, maxPoints: 49 }), isStorageError('QUERY_LIMIT', /more than 49 points/));
        // Series without points in the range do not count.
        assert.equal((await s.query({ ...q, startMs: T0 - 2 * MIN, endMs: T0 - MIN, maxSeries: 1 })).length, 0);
        await s.close();
      });

      it('refuses samples of new series beyond maxSeriesTotal and keeps writing existing ones', async () => {
        const [s, ctx] = await fresh();
        const n = ctx.limits.maxSeriesTotal;
        const first = await s.writeSamples(Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'card', i: String(i) }, tsMs: T0 - 2000, value: i })));
        assert.equal(first.accepted, n);
        const r = await s.writeSamples([
          { labels: { __name__: 'card', i: '0' }, tsMs: T0 - 1000, value: 1 },
          { labels: { __name__: 'card', i: 'new-1' }, tsMs: T0 - 1000, value: 1 },
          { labels: { __name__: 'card', i: '1' }, tsMs: T0 - 1000, value: 1 },
          { labels: { __name__: 'card', i: 'new-2' }, tsMs: T0 - 1000, value: Number.NaN },
        ]);
        assert.equal(r.accepted, 2);
        assert.deepEqual(r.rejected.map((x) => x.index), [1, 3]);
        assert.match(r.rejected[0]!.reason, /series limit/);
        assert.match(r.rejected[1]!.reason, /NaN/);
        const fr = await s.writeFeatureFrame('a', 1, [{ labels: { __name__: 'card', i: 'new-3' }, windowStartMs: T0 - 10_000, windowEndMs: T0, row: featureRow() }]);
        assert.deepEqual([fr.accepted, fr.rejected.length], [0, 1]);
        assert.equal((await s.series({ name: 'card', matchers: [] }, 1000)).length, n);
        await s.close();
      });

      it('caps a query at the store-wide limits whatever it asks for', async () => {
        const [s, ctx] = await fresh();
        const n = ctx.limits.maxQuerySeries + 1;
        await s.writeSamples(Array.from({ length: n }, (_, i) => ({ labels: { __name__: 'wide', i: String(i) }, tsMs: T0 - 1000, value: i })));
        const q = { selector: { name: 'wide', matchers: [] }, startMs: T0 - MIN, endMs: T0 };
        await assert.rejects(s.query(q), isStorageError('QUERY_LIMIT'));
        await assert.rejects(s.query({ ...q, maxSeries: 10 * n }), isStorageError('QUERY_LIMIT'));
        assert.equal((await s.series(q.selector, 10 * n)).length, n, 'discovery is bounded by its own limit');
        await s.close();
      });
    });

    describe('downsampling', () => {
      // Hand-computed buckets. B is an hour before T0 (aligned to 5 minutes).
      const B = T0 - HOUR;
      const A = { __name__: 'req', job: 'api' };
      const samples: MetricSample[] = [
        { labels: A, tsMs: B + 150_000, value: 4 },
        { labels: A, tsMs: B + 15_000, value: 3 },
        { labels: A, tsMs: B, value: 1 },
        { labels: A, tsMs: B + 59_999, value: 2 },
        { labels: A, tsMs: B + 300_001, value: 7 },
        { labels: A, tsMs: B + 60_000, value: 10 },
        { labels: A, tsMs: B + 170_000, value: -2 },
      ];
      // [bucket, avg, min, max, count, last]
      const oneMinute: Array<[number, number, number, number, number, number]> = [
        [B, 2, 1, 3, 3, 2],
        [B + MIN, 10, 10, 10, 1, 10],
        [B + 2 * MIN, 1, -2, 4, 2, -2],
        [B + 5 * MIN, 7, 7, 7, 1, 7],
      ];
      const fiveMinute: Array<[number, number, number, number, number, number]> = [
        [B, 3, -2, 10, 6, -2],
        [B + 5 * MIN, 7, 7, 7, 1, 7],
      ];
      const q = (resolution: '1m' | '5m') => ({ selector: { name: 'req', matchers: [] }, startMs: B, endMs: B + 10 * MIN, resolution });

      it('computes avg, min, max, count and last per 1m and 5m bucket, before and after compaction', async () => {
        const [s] = await fresh();
        await s.writeSamples(samples);
        assert.deepEqual(buckets((await s.query(q('1m')))[0]), oneMinute, '1m aggregated from raw at query time');
        assert.deepEqual(buckets((await s.query(q('5m')))[0]), fiveMinute, '5m aggregated from raw at query time');
        const c = await s.compact(T0);
        assert.ok(c.downsampled >= 6, `downsampled ${c.downsampled}`);
        assert.equal(c.deleted, 0);
        assert.deepEqual(buckets((await s.query(q('1m')))[0]), oneMinute, '1m from stored buckets');
        assert.deepEqual(buckets((await s.query(q('5m')))[0]), fiveMinute, '5m from stored buckets');
        assert.equal((await s.query(q('1m')))[0]?.resolution, '1m');
        // Compacting again changes nothing.
        await s.compact(T0);
        assert.deepEqual(buckets((await s.query(q('5m')))[0]), fiveMinute);
        await s.close();
      });

      it('selects buckets by their start: [startMs, endMs) rounded up to the bucket', async () => {
        const [s] = await fresh();
        await s.writeSamples(samples);
        await s.compact(T0);
        const mid = await s.query({ ...q('1m'), startMs: B + 1, endMs: B + 2 * MIN + 1 });
        assert.deepEqual(mid[0]?.timestamps, [B + MIN, B + 2 * MIN]);
        await s.close();
      });

      it('folds feature rows exactly (sum = mean x count) and serves them as raw points', async () => {
        const [s] = await fresh();
        const F = { __name__: 'req', job: 'agent' };
        await s.writeFeatureFrame('agent-1', 1, [
          { labels: F, windowStartMs: B, windowEndMs: B + 10_000, row: featureRow({ count: 5, mean: 2, min: 1, max: 4, last: 3 }) },
          { labels: F, windowStartMs: B + 10_000, windowEndMs: B + 20_000, row: featureRow({ count: 5, mean: 4, min: 0, max: 9, last: 6 }) },
          { labels: F, windowStartMs: B + 20_000, windowEndMs: B + 30_000, row: featureRow({ count: 0, mean: Number.NaN, min: Number.NaN, max: Number.NaN, last: Number.NaN }) },
        ]);
        const sel = { name: 'req', matchers: [{ name: 'job', op: '=' as const, value: 'agent' }] };
        const raw = await s.query({ selector: sel, startMs: B, endMs: B + MIN, resolution: 'raw' });
        assert.deepEqual([raw[0]?.timestamps, raw[0]?.values], [[B, B + 10_000], [2, 4]], 'raw = window means; empty windows skipped');
        await s.compact(T0);
        const m1 = await s.query({ selector: sel, startMs: B, endMs: B + MIN, resolution: '1m' });
        assert.deepEqual(buckets(m1[0]), [[B, 3, 0, 9, 10, 6]]);
        await s.close();
      });

      it('recomputes buckets a late sample lands in (visible at once, stored at the next compaction)', async () => {
        const [s] = await fresh();
        await s.writeSamples(samples);
        await s.compact(T0);
        await s.writeSamples([{ labels: A, tsMs: B + 30_000, value: 100 }]);
        const late1m: typeof oneMinute = [[B, 26.5, 1, 100, 4, 2], ...oneMinute.slice(1)];
        const late5m: typeof fiveMinute = [[B, 118 / 7, -2, 100, 7, -2], fiveMinute[1]!];
        assert.deepEqual(buckets((await s.query(q('1m')))[0]), late1m, 'before compaction');
        assert.deepEqual(buckets((await s.query(q('5m')))[0]), late5m, 'before compaction');
        await s.compact(T0 + MIN);
        assert.deepEqual(buckets((await s.query(q('1m')))[0]), late1m, 'after compaction');
        assert.deepEqual(buckets((await s.query(q('5m')))[0]), late5m, 'after compaction');
        await s.close();
      });

      it('compaction and writes may interleave', async () => {
        const [s, ctx] = await fresh();
        const writes: Array<Promise<unknown>> = [];
        for (let k = 0; k < 20; k++) {
          writes.push(s.writeSamples([{ labels: { __name__: 'inter', k: String(k % 3) }, tsMs: B + k * 10_000, value: k }], `w${k}`));
          if (k % 5 === 0) writes.push(s.compact(ctx.clock.now()));
        }
        await Promise.all(writes);
        await s.compact(T0);
        const out = await s.query({ selector: { name: 'inter', matchers: [] }, startMs: B, endMs: B + 10 * MIN, resolution: '1m' });
        assert.equal(out.reduce((n, p) => n + p.count!.reduce((a, b) => a + b, 0), 0), 20);
        await s.close();
      });
    });

    describe('retention', () => {
      it('expires raw, then 1m, then 5m data; auto picks the finest resolution still retained', async () => {
        const [s, ctx] = await fresh();
        const L = { __name__: 'kept', host: 'a' };
        const pts = Array.from({ length: 12 }, (_, i) => ({ labels: L, tsMs: T0 - 30 * MIN + i * 5000, value: i }));
        await s.writeSamples(pts);
        const range = { selector: { name: 'kept', matchers: [] }, startMs: T0 - 30 * MIN, endMs: T0 - 25 * MIN };
        assert.equal((await s.query(range))[0]?.resolution, 'raw');
        assert.equal((await s.compact(T0)).deleted, 0);

        ctx.clock.set(T0 + 7 * HOUR);
        const c1 = await s.compact(ctx.clock.now());
        assert.ok(c1.deleted >= 12, `deleted ${c1.deleted}`);
        assert.deepEqual(await s.query({ ...range, resolution: 'raw' }), []);
        const auto1 = await s.query(range);
        assert.equal(auto1[0]?.resolution, '1m');
        assert.deepEqual(auto1[0]?.count, [12]);
        assert.equal(auto1[0]?.values[0], 5.5);
        // A recent range is still served raw.
        await s.writeSamples([{ labels: L, tsMs: ctx.clock.now() - 1000, value: 1 }]);
        assert.equal((await s.query({ ...range, startMs: ctx.clock.now() - MIN, endMs: ctx.clock.now() }))[0]?.resolution, 'raw');

        ctx.clock.set(T0 + 3 * DAY);
        await s.compact(ctx.clock.now());
        assert.deepEqual(await s.query({ ...range, resolution: '1m' }), []);
        const auto5 = await s.query(range);
        assert.equal(auto5[0]?.resolution, '5m');
        assert.deepEqual(auto5[0]?.count, [12]);

        ctx.clock.set(T0 + 8 * DAY);
        const c3 = await s.compact(ctx.clock.now());
        assert.ok(c3.deleted >= 1);
        assert.deepEqual(await s.query(range), []);
        assert.deepEqual(await s.series({ name: 'kept', matchers: [] }, 10), [], 'a series without data left is forgotten');
        // It can come back.
        assert.equal((await s.writeSamples([{ labels: L, tsMs: ctx.clock.now(), value: 3 }])).accepted, 1);
        assert.equal((await s.series({ name: 'kept', matchers: [] }, 10)).length, 1);
        await s.close();
      });

      it('forgets batch ids after a while, so the table stays bounded', async () => {
        const [s, ctx] = await fresh();
        await s.writeSamples([{ labels: { __name__: 'm' }, tsMs: T0, value: 1 }], 'old');
        ctx.clock.set(T0 + 2 * DAY);
        await s.compact(ctx.clock.now());
        assert.equal((await s.writeSamples([{ labels: { __name__: 'm' }, tsMs: ctx.clock.now(), value: 1 }], 'old')).duplicate, false);
        await s.close();
      });
    });

    it('returns stored feature rows with every field (NaN kept as NaN)', async () => {
      const [s] = await fresh();
      const F = { __name__: 'feat', host: 'h' };
      const row = featureRow({ count: 7, min: -1.25, max: 8, mean: 0.5, std: Number.NaN, last: 2, p50: 0.25, p95: 7.5, tier1MaxScore: 3.5, flags: 5, bandLower: Number.NaN, bandUpper: Infinity });
      await s.writeFeatureFrame('a', 1, [
        { labels: F, windowStartMs: T0 - 20_000, windowEndMs: T0 - 10_000, row },
        { labels: F, windowStartMs: T0 - 40_000, windowEndMs: T0 - 30_000, row: featureRow() },
        { labels: { __name__: 'feat', host: 'other' }, windowStartMs: T0 - 20_000, windowEndMs: T0 - 10_000, row: featureRow() },
      ]);
      const out = await s.queryFeatures({ selector: { name: 'feat', matchers: [{ name: 'host', op: '=', value: 'h' }] }, startMs: T0 - MIN, endMs: T0 });
      assert.equal(out.length, 1);
      assert.deepEqual(out[0]?.labels, F);
      assert.deepEqual(out[0]?.windows.map((w) => w.windowStartMs), [T0 - 40_000, T0 - 20_000]);
      assert.deepEqual(out[0]?.windows[1], { windowStartMs: T0 - 20_000, windowEndMs: T0 - 10_000, row });
      await assert.rejects(s.queryFeatures({ selector: { name: 'feat', matchers: [] }, startMs: T0 - MIN, endMs: T0, maxRows: 2 }), isStorageError('QUERY_LIMIT', /rows/));
      await assert.rejects(s.queryFeatures({ selector: { name: 'feat', matchers: [] }, startMs: T0 - MIN, endMs: T0, maxSeries: 1 }), isStorageError('QUERY_LIMIT', /series/));
      await s.close();
    });

    it('scans every series\' feature rows in pages, without the query caps', async () => {
      const [s] = await fresh();
      for (let a = 0; a < 2; a++) {
        const rows: FeatureSample[] = [];
        for (let i = 0; i < 3; i++) {
          for (const start of [T0 - 40_000, T0 - 20_000]) rows.push({ labels: { __name__: 'scan', agent: String(a), i: String(i) }, windowStartMs: start, windowEndMs: start + 10_000, row: featureRow({ mean: a * 10 + i }) });
        }
        await s.writeFeatureFrame(`agent-${a}`, 1, rows);
      }
      // A series without rows in the range is not listed.
      await s.writeFeatureFrame('agent-9', 1, [{ labels: { __name__: 'scan', agent: '9' }, windowStartMs: T0 - 5 * MIN, windowEndMs: T0 - 5 * MIN + 10_000, row: featureRow() }]);
      const pages: number[] = [];
      const seen = new Map<string, number[]>();
      for await (const page of s.scanFeatures({ startMs: T0 - MIN, endMs: T0, pageSize: 4 })) {
        pages.push(page.length);
        for (const f of page) seen.set(`${f.labels['agent']}/${f.labels['i']}`, f.windows.map((w) => w.row.mean));
      }
      assert.deepEqual(pages, [4, 2]);
      assert.deepEqual([...seen.keys()].sort(), ['0/0', '0/1', '0/2', '1/0', '1/1', '1/2']);
      assert.deepEqual(seen.get('1/2'), [12, 12]);
      const all = await s.queryFeatures({ selector: { name: 'scan', matchers: [] }, startMs: T0 - MIN, endMs: T0 });
      assert.equal(all.length, 6, 'the same series as a query');
      await assert.rejects(async () => {
        for await (const _ of s.scanFeatures({ startMs: T0, endMs: T0 - 1 })) void _;
      }, isStorageError('INVALID_QUERY', /endMs/));
      await s.close();
    });

    it('close is idempotent; calls after it fail with CLOSED', async () => {
      const [s] = await fresh();
      await s.close();
      await s.close();
      await assert.rejects(s.writeSamples([]), isStorageError('CLOSED'));
      await assert.rejects(s.query({ selector: { matchers: [] }, startMs: 0, endMs: 1 }), isStorageError('CLOSED'));
    });
  });
}
