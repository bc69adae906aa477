// Configuration of the HTTP gateway: validated whole at start-up (CONVENTIONS 7), defaults
// applied here, errors naming the path and the bad value.
import { z } from 'zod';
import { API_KEY_SCOPES } from '../storage/types.js';
import { GatewayConfigError } from './errors.js';

const MiB = 1024 * 1024;

const rateSchema = z.object({
  /** Tokens added per second (sustained requests/s). */
  ratePerSecond: z.number().positive().max(1_000_000),
  /** Bucket size (requests allowed at once after a quiet period). */
  burst: z.number().int().min(1).max(1_000_000),
});

export const GatewayConfigSchema = z
  .object({
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    /** Name and version published in the OpenAPI document. */
    info: z
      .object({
        title: z.string().min(1).default('AIOps central API'),
        version: z.string().min(1).default('0.1.0'),
      })
      .prefault({}),
    limits: z
      .object({
        /** Default body limit of a route (a route may set its own). Content-Length over it and streams passing it answer 413. */
        bodyBytes: z.number().int().min(1).max(256 * MiB).default(1 * MiB),
        /** Requests being answered at once; beyond it 503 with Retry-After. */
        maxInFlight: z.number().int().min(1).max(100_000).default(512),
        /** A handler must answer within this (a route may set its own timeoutMs); 503 otherwise. */
        handlerTimeoutMs: z.number().int().min(1).max(600_000).default(30_000),
        /** Whole request (headers and body) must arrive within this (node's requestTimeout). */
        requestTimeoutMs: z.number().int().min(1).max(600_000).default(60_000),
        /** Headers must arrive within this (slowloris). */
        headersTimeoutMs: z.number().int().min(1).max(600_000).default(10_000),
        keepAliveTimeoutMs: z.number().int().min(1).max(600_000).default(5_000),
        /** Request line + headers, bytes; over it node answers 431 (node's default is 16 KiB). */
        maxHeaderBytes: z.number().int().min(1024).max(1 * MiB).default(16 * 1024),
        /** Headers counted per request; extra ones are dropped by node. */
        maxHeadersCount: z.number().int().min(16).max(2000).default(100),
        /** A credential longer than this is refused as malformed without asking the key store. */
        maxTokenLength: z.number().int().min(16).max(4096).default(512),
        /** shutdown() waits this long for in-flight requests, then closes every connection. */
        shutdownGraceMs: z.number().int().min(0).max(600_000).default(10_000),
        /** A readiness check not settled within this counts as failing. */
        readinessTimeoutMs: z.number().int().min(1).max(60_000).default(2_000),
      })
      .prefault({}),
    /** Token bucket per API key. */
    rateLimit: z
      .object({
        ratePerSecond: z.number().positive().max(1_000_000).default(50),
        burst: z.number().int().min(1).max(1_000_000).default(100),
        /** Overrides by key id (the public part of a token, e.g. `k_3f9a1c2e`). */
        perKey: z.record(z.string().min(1), rateSchema).default({}),
        /** Buckets kept; the least recently used one is dropped beyond it (counted). */
        maxBuckets: z.number().int().min(1).max(10_000_000).default(100_000),
      })
      .prefault({}),
    /**
     * Token bucket per client address, charged only by credentials the key store refused: once
     * empty, further refused credentials answer 429 with Retry-After instead of 401. Valid keys
     * are never refused by it (clients behind one NAT or proxy share an address).
     */
    authFailureLimit: z
      .object({
        ratePerSecond: z.number().positive().max(1_000_000).default(1),
        burst: z.number().int().min(1).max(1_000_000).default(20),
        maxBuckets: z.number().int().min(1).max(10_000_000).default(100_000),
      })
      .prefault({}),
    /** When set, /metrics requires a key holding this scope; unauthenticated otherwise. */
    metricsScope: z.enum(API_KEY_SCOPES).optional(),
    /** Trust X-Forwarded-For for the client address (only behind a proxy you run). */
    trustProxy: z.boolean().default(false),
    /** Reuse a well-formed incoming X-Request-Id instead of minting one. */
    acceptRequestId: z.boolean().default(true),
    /**
     * Check every handler's answer against its declared responses (status and schema); a
     * mismatch answers 500 and is logged. On in tests, off by default in production.
     */
    validateResponses: z.boolean().default(false),
  })
  .strict();

export type GatewayConfig = z.output<typeof GatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof GatewayConfigSchema>;

/** Validates and defaults a gateway config; throws GatewayConfigError naming the first bad key. */
export function parseGatewayConfig(input: unknown, path = 'gateway'): GatewayConfig {
  const r = GatewayConfigSchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const at = [path, ...issue.path.map(String)].join('.');
  const got = valueAt(input, issue.path);
  throw new GatewayConfigError(at, `${at}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`, { cause: r.error });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = input;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}
