// Logs over REST: POST /api/v1/logs/write takes streams of lines (Loki's push shape: a label
// set and its entries), stored for the incident time ranges RCA reads; GET /api/v1/logs/query
// returns lines by labels, level, text and time range. A body sent twice is stored once.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseTimestamp } from '../../../shared-schemas/src/index.js';
import { ApiError } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { LOG_LEVELS } from '../storage/index.js';
import type { LogRecord, LogStore } from '../storage/index.js';
import { ERR, labelFilters, LabelsSchema, storageToApi, tenantOf, timeParam } from './common.js';

export interface LogRoutesDeps {
  logs: LogStore;
  /** Lines in one write. Default 10,000. */
  maxLinesPerWrite?: number;
}

const tsIn = z.union([z.number().int().nonnegative(), z.string()]);

const LogWrite = z
  .object({
    streams: z
      .array(
        z
          .object({
            labels: LabelsSchema,
            entries: z.array(z.object({ ts: tsIn, level: z.enum(LOG_LEVELS).optional(), line: z.string() }).strict()).min(1),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export function registerLogRoutes(gateway: Gateway, deps: LogRoutesDeps): void {
  const maxLines = deps.maxLinesPerWrite ?? 10_000;
  gateway.route({
    method: 'POST',
    path: '/api/v1/logs/write',
    scope: 'write',
    summary: 'Write log lines',
    description: '{"streams":[{"labels":{"service":"cart","host":"a"},"entries":[{"ts":"2026-01-01T00:00:00Z" or ms,"level":"error","line":"..."}]}]}. Lines refused one by one (too long, bad level) are listed; the rest are stored.',
    tags: ['logs'],
    body: LogWrite,
    responses: { 200: { description: 'Lines stored', body: z.object({ accepted: z.number().int(), duplicate: z.boolean(), rejected: z.array(z.object({ index: z.number().int(), reason: z.string() })) }) }, 400: ERR[400], 413: ERR[413], 503: ERR[503] },
    handler: async (ctx) => {
      const records: LogRecord[] = [];
      ctx.body.streams.forEach((s, si) =>
        s.entries.forEach((e, ei) => {
          let tsMs: number;
          try {
            tsMs = typeof e.ts === 'number' ? e.ts : parseTimestamp(e.ts, 'ts');
          } catch {
            throw new ApiError(400, 'invalid_request', 'must be RFC 3339 or integer ms', { field: `body.streams[${si}].entries[${ei}].ts` });
          }
          records.push({ labels: s.labels, tsMs, level: e.level ?? 'unknown', message: e.line });
        }),
      );
      if (records.length > maxLines) throw new ApiError(413, 'payload_too_large', `more than ${maxLines} lines in one write (got ${records.length})`);
      const hash = createHash('sha256').update(JSON.stringify(ctx.body)).digest('base64url');
      try {
        return { status: 200, body: await deps.logs.write(tenantOf(ctx.principal), records, hash) };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });

  gateway.route({
    method: 'GET',
    path: '/api/v1/logs/query',
    scope: 'read',
    summary: 'Log lines by labels, level, text and time range, newest first',
    tags: ['logs'],
    query: z
      .object({
        start: timeParam,
        end: timeParam,
        label: z.union([z.string(), z.array(z.string())]).optional().describe('name=value; repeat for several'),
        level: z.enum(LOG_LEVELS).optional(),
        contains: z.string().max(1024).optional(),
        limit: z.coerce.number().int().min(1).max(10_000).default(1000),
      })
      .strict(),
    responses: { 200: { description: 'Lines', body: z.object({ lines: z.array(z.object({ ts: z.string(), level: z.string(), labels: LabelsSchema, line: z.string() })) }) }, 400: ERR[400], 503: ERR[503] },
    handler: async (ctx) => {
      const q = ctx.query;
      if (q.end <= q.start) throw new ApiError(400, 'invalid_request', 'end must be after start', { field: 'query.end' });
      const labels = labelFilters(q.label);
      try {
        const lines = await deps.logs.query({ tenant: tenantOf(ctx.principal), startMs: q.start, endMs: q.end, labels, ...(q.level ? { level: q.level } : {}), ...(q.contains ? { contains: q.contains } : {}), limit: q.limit });
        return { status: 200, body: { lines: lines.map((l) => ({ ts: new Date(l.tsMs).toISOString(), level: l.level, labels: l.labels, line: l.message })) } };
      } catch (err) {
        return storageToApi(err);
      }
    },
  });
}
