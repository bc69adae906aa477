// Metrics over REST: POST /api/v1/metrics/write takes Prometheus remote-write 1.0 (snappy
// protobuf, so a Prometheus or an agent can point remote_write here) and a JSON form; GET
// /api/v1/metrics/query answers range queries by series selector (raw, 1m or 5m resolution);
// GET /api/v1/metrics/features returns the stored feature rows (scores, flags, bands).
// A remote-write body is identified by its SHA-256: a client retrying the same body (after a
// timeout) stores it once.
// Samples travel as columns per series (decodeRemoteWriteColumns, MetricStore.writeSeries): no
// object per sample between the body and the store (decision 019). A store without
// writeSeries (a wrapper such as the TSDB exporter's) gets the same samples through
// writeSamples, with the same batch ids.
import { createHash } from 'node:crypto';
import snappy from 'snappy';
import { z } from 'zod';
import { decodeRemoteWriteColumns, RemoteWriteInputError } from '../../../edge-agent/src/receivers/remotewrite/index.js';
import type { LabelSetCache, RemoteWriteLimits } from '../../../edge-agent/src/receivers/remotewrite/index.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import type { MetricSample, MetricStore, SeriesColumns, WriteResult } from '../storage/index.js';
import { ERR, LabelsSchema, storageToApi, tenantOf, timeParam } from './common.js';
import { parseSelector, SelectorSyntaxError } from './selector.js';
import { TenantScope } from '../pipeline/index.js';

export interface MetricRoutesDeps {
  metrics: MetricStore;
  /** Largest remote-write body, compressed and uncompressed, bytes. */
  maxRemoteWriteBytes: number;
  /** Samples in one write (JSON or remote-write). Default 1,000,000. */
  maxSamplesPerWrite?: number;
  /** Tenants other than the default get a `tenant` label on what they write and query. */
  defaultTenant: string;
  /**
   * Remote-write label sets remembered by their wire bytes, so that a known series costs
   * neither decoding its labels nor validating them again in the store (~1 KB each).
   * Default 50,000; 0 turns it off.
   */
  labelCacheSize?: number;
}

/** Samples per store call (and per transaction); part k of a body has batch id `<id>/<k>`. */
const STORE_CHUNK = 50_000;

/**
 * Snappy blocks through the native addon (3x the pure-JS decoder on remote-write bodies);
 * decodeRemoteWriteColumns checks the declared length against the limit before calling it.
 */
function nativeUncompress(block: Uint8Array): Uint8Array {
  return snappy.uncompressSync(Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength), { asBuffer: true }) as Buffer;
}

type Column = Float64Array | number[];

/** At most `cap` entries in two generations (a hit in the older one moves it back). */
class BoundedLabelCache implements LabelSetCache {
  private hot = new Map<string, Readonly<Record<string, string>>>();
  private cold = new Map<string, Readonly<Record<string, string>>>();
  constructor(private readonly half: number) {}
  get(wire: string): Readonly<Record<string, string>> | undefined {
    const v = this.hot.get(wire);
    if (v !== undefined) return v;
    const c = this.cold.get(wire);
    if (c !== undefined) this.set(wire, c);
    return c;
  }
  set(wire: string, labels: Readonly<Record<string, string>>): void {
    if (this.hot.size >= this.half) {
      this.cold = this.hot;
      this.hot = new Map();
    }
    this.hot.set(wire, labels);
  }
}
const cut = (c: Column, from: number, to: number): Column => (c instanceof Float64Array ? c.subarray(from, to) : c.slice(from, to));

const JsonWrite = z
  .object({
    series: z
      .array(
        z
          .object({
            labels: LabelsSchema.refine((l) => typeof l.__name__ === 'string' && l.__name__ !== '', 'must hold a non-empty __name__'),
            samples: z.array(z.tuple([z.number().int().nonnegative(), z.union([z.number(), z.enum(['NaN', '+Inf', '-Inf'])])])).min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

const WriteOut = z.object({ accepted: z.number().int(), duplicate: z.boolean(), rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })) });

export function registerMetricRoutes(gateway: Gateway, deps: MetricRoutesDeps): void {
  const maxSamples = deps.maxSamplesPerWrite ?? 1_000_000;
  const rwLimits: RemoteWriteLimits = {
    maxRequestBytes: deps.maxRemoteWriteBytes,
    maxSeries: 1_000_000,
    maxSamples,
    maxLabelsPerSeries: 64,
    maxLabelNameBytes: 128,
    maxLabelValueBytes: 2048,
    maxMetadata: 10_000,
  };
  const cacheSize = deps.labelCacheSize ?? 50_000;
  const labelCache = cacheSize > 0 ? new BoundedLabelCache(Math.max(1, Math.floor(cacheSize / 2))) : undefined;
  /** Tenant isolation in the shared metric store (pipeline/tenant-scope.ts). */
  const scope = new TenantScope(deps.defaultTenant);

  /**
   * Writes `series` in parts of STORE_CHUNK samples (a series may straddle two parts), part k
   * with batch id `${batchId}/${k}`; rejected indices count over the whole body.
   */
  const store = async (series: SeriesColumns[], batchId: string) => {
    const out = { accepted: 0, duplicate: false, rejected: [] as Array<{ index: number; reason: string }> };
    const add = (r: WriteResult, offset: number) => {
      out.accepted += r.accepted;
      out.duplicate ||= r.duplicate;
      for (const x of r.rejected) if (out.rejected.length < 100) out.rejected.push({ index: x.index + offset, reason: x.reason });
    };
    const write = async (part: SeriesColumns[], k: number) => {
      const id = `${batchId}/${k}`;
      if (deps.metrics.writeSeries !== undefined) return deps.metrics.writeSeries(part, id);
      const samples: MetricSample[] = [];
      for (const s of part) for (let i = 0; i < s.timestamps.length; i++) samples.push({ labels: s.labels, tsMs: s.timestamps[i]!, value: s.values[i]! });
      return deps.metrics.writeSamples(samples, id);
    };
    let part: SeriesColumns[] = [];
    let size = 0;
    let k = 0;
    for (const s of series) {
      const len = s.timestamps.length;
      for (let off = 0; off < len; ) {
        const take = Math.min(len - off, STORE_CHUNK - size);
        part.push(take === len ? s : { labels: s.labels, timestamps: cut(s.timestamps as Column, off, off + take), values: cut(s.values as Column, off, off + take) });
        size += take;
        off += take;
        if (size === STORE_CHUNK) {
          add(await write(part, k), k * STORE_CHUNK);
          part = [];
          size = 0;
          k++;
        }
      }
    }
    if (size > 0) add(await write(part, k), k * STORE_CHUNK);
    return out;
  };

  gateway.route({
    method: 'POST',
    path: '/api/v1/metrics/write',
    scope: 'write',
    summary: 'Write samples: Prometheus remote-write 1.0 (application/x-protobuf, snappy) or JSON',
    description:
      'Remote-write: configure `remote_write: [{url: .../api/v1/metrics/write, authorization: {credentials: <key>}}]` in Prometheus; answers 204. JSON: {"series":[{"labels":{"__name__":"cpu","host":"a"},"samples":[[<ms>, <value>], ...]}]}; answers 200 with what was accepted and refused. A body sent twice is stored once.',
    tags: ['metrics'],
    body: JsonWrite,
    rawBody: { contentTypes: ['application/x-protobuf'] },
    bodyLimitBytes: deps.maxRemoteWriteBytes,
    timeoutMs: 60_000,
    responses: { 200: { description: 'JSON samples stored', body: WriteOut }, 204: { description: 'Remote-write body stored' }, 400: ERR[400], 413: ERR[413], 503: ERR[503] },
    handler: async (ctx) => {
      const tenant = tenantOf(ctx.principal);
      if (ctx.raw !== undefined) {
        const enc = ctx.raw.contentEncoding?.toLowerCase();
        if (enc !== undefined && enc !== 'snappy' && enc !== 'identity') throw new ApiError(415, 'unsupported_media_type', `Content-Encoding "${enc.slice(0, 40)}" is not supported: remote-write bodies are snappy`);
        let decoded: ReturnType<typeof decodeRemoteWriteColumns>;
        try {
          decoded = decodeRemoteWriteColumns(ctx.raw.bytes, rwLimits, { uncompress: nativeUncompress, labelCache });
        } catch (err) {
          if (err instanceof RemoteWriteInputError) throw new ApiError(err.status === 413 ? 413 : 400, err.status === 413 ? 'payload_too_large' : 'invalid_request', err.message, { field: 'body' });
          throw err;
        }
        const series: SeriesColumns[] = decoded.series.map((s) => ({ labels: scope.labels(tenant, s.labels), timestamps: s.timestamps, values: s.values }));
        const hash = createHash('sha256').update(ctx.raw.bytes).digest('base64url');
        let r;
        try {
          r = await store(series, `rw/${tenant}/${hash}`);
        } catch (err) {
          return storageToApi(err);
        }
        if (decoded.droppedSeries > 0 || r.rejected.length > 0) {
          // Prometheus drops a batch answered 4xx; what was valid is stored, so say what was not.
          const first = decoded.firstProblem ?? r.rejected[0]?.reason ?? '';
          throw new ApiError(400, 'invalid_request', `stored ${r.accepted} samples; refused ${decoded.droppedSeries} series and ${r.rejected.length} samples (first: ${first})`, { field: 'body' });
        }
        return { status: 204 };
      }
      const body = ctx.body;
      let n = 0;
      for (const s of body.series) n += s.samples.length;
      if (n > maxSamples) throw new ApiError(413, 'payload_too_large', `more than ${maxSamples} samples in one write (got ${n})`);
      const series: SeriesColumns[] = body.series.map((s) => {
        const timestamps = new Float64Array(s.samples.length);
        const values = new Float64Array(s.samples.length);
        s.samples.forEach(([ts, v], i) => {
          timestamps[i] = ts;
          values[i] = typeof v === 'number' ? v : v === 'NaN' ? NaN : v === '+Inf' ? Infinity : -Infinity;
        });
        return { labels: scope.labels(tenant, s.labels), timestamps, values };
      });
      const hash = createHash('sha256').update(JSON.stringify(body)).digest('base64url');
      try {
        return { status: 200, body: await store(series, `json/${tenant}/${hash}`) };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  const selectorParam = z.string().transform((v, ctx) => {
    try {
      return parseSelector(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof SelectorSyntaxError ? err.message : String(err) });
      return z.NEVER;
    }
  });
  /** The series and time range both query routes take. */
  const rangeParams = { selector: selectorParam, start: timeParam, end: timeParam };
  const withTenant = (tenant: string, sel: ReturnType<typeof parseSelector>) =>
    tenant === deps.defaultTenant ? sel : { ...sel, matchers: [...sel.matchers.filter((m) => m.name !== 'tenant'), { name: 'tenant', op: '=' as const, value: tenant }] };
  const range = (q: { start: number; end: number }) => {
    if (q.end <= q.start) throw new ApiError(400, 'invalid_request', `end must be after start`, { field: 'query.end' });
  };

  gateway.route({
    method: 'GET',
    path: '/api/v1/metrics/query',
    scope: 'read',
    summary: 'Range query by series selector',
    description: 'selector: PromQL selector (name{label="v",other=~"re"}); start/end: RFC 3339 or epoch seconds/ms (end exclusive); resolution raw|1m|5m|auto (auto: the finest still retained for the range).',
    tags: ['metrics'],
    query: z
      .object({
        ...rangeParams,
        resolution: z.enum(['raw', '1m', '5m', 'auto']).default('auto'),
        max_series: z.coerce.number().int().min(1).max(10_000).default(1000),
      })
      .strict(),
    responses: {
      200: {
        description: 'Series in the range',
        body: z.object({
          series: z.array(
            z.object({
              labels: LabelsSchema,
              resolution: z.enum(['raw', '1m', '5m']),
              timestamps: z.array(z.number()),
              values: z.array(z.number().nullable()),
              min: z.array(z.number().nullable()).optional(),
              max: z.array(z.number().nullable()).optional(),
              count: z.array(z.number()).optional(),
            }),
          ),
        }),
      },
      400: ERR[400],
      422: ERR[422],
      503: ERR[503],
    },
    handler: async (ctx) => {
      const q = ctx.query;
      range(q);
      try {
        const res = await deps.metrics.query({ selector: withTenant(tenantOf(ctx.principal), q.selector), startMs: q.start, endMs: q.end, resolution: q.resolution, maxSeries: q.max_series });
        const fin = (a: number[]) => a.map((v) => (Number.isFinite(v) ? v : null));
        return {
          status: 200,
          body: {
            series: res.map((s) => ({
              labels: s.labels,
              resolution: s.resolution,
              timestamps: s.timestamps,
              values: fin(s.values),
              ...(s.min ? { min: fin(s.min) } : {}),
              ...(s.max ? { max: fin(s.max) } : {}),
              ...(s.count ? { count: s.count } : {}),
            })),
          },
        };
      } catch (err) {
        return storageToApi(err, 'query.selector');
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/metrics/features',
    scope: 'read',
    summary: "Stored feature rows of agents' 10 s windows (statistics, Tier-1 score, flags, band)",
    tags: ['metrics'],
    query: z
      .object({
        ...rangeParams,
        max_series: z.coerce.number().int().min(1).max(10_000).default(100),
      })
      .strict(),
    responses: { 200: { description: 'Feature rows by series', body: z.object({ series: z.array(z.object({ labels: LabelsSchema, windows: z.array(z.record(z.string(), z.unknown())) })) }) }, 400: ERR[400], 422: ERR[422], 503: ERR[503] },
    handler: async (ctx) => {
      const q = ctx.query;
      range(q);
      try {
        const res = await deps.metrics.queryFeatures({ selector: withTenant(tenantOf(ctx.principal), q.selector), startMs: q.start, endMs: q.end, maxSeries: q.max_series });
        const clean = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' && !Number.isFinite(v) ? null : v]));
        return { status: 200, body: { series: res.map((s) => ({ labels: s.labels, windows: s.windows.map((w) => ({ windowStartMs: w.windowStartMs, windowEndMs: w.windowEndMs, ...clean(w.row as unknown as Record<string, unknown>) })) })) } };
      } catch (err) {
        return storageToApi(err, 'query.selector');
      }
    },
  });
}
