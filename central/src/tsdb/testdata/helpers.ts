// Test helpers of central/src/tsdb: settings with captured logs and a private metrics registry,
// a clock that records the delays asked of it, and a scripted loopback HTTP server standing in
// for a TSDB in the unit tests (the real ones are in peers.ts). Test-only.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { uncompress } from 'snappyjs';
import { prompbTypes } from '../../../../edge-agent/src/receivers/remotewrite/index.js';
import { SelfMetrics } from '../../../../shared-schemas/src/runtime/index.js';
import type { Clock } from '../../../../shared-schemas/src/runtime/index.js';
import { captureLogs } from '../../gateway/testing/index.js';
import type { CapturedLogs } from '../../gateway/testing/index.js';
import type { TsdbSettings } from '../remote-write-exporter.js';

export interface TestSettings extends TsdbSettings {
  selfMetrics: SelfMetrics;
  logs: CapturedLogs;
}

/**
 * A real clock that records every setTimeout delay; the delays listed in `shorten` (an honoured
 * Retry-After) fire after 20 ms, so tests check the delay asked, not wall time. Only those: a
 * request timeout shortened too would abort requests on a loaded machine.
 */
export class RecordingClock implements Clock {
  readonly delays: number[] = [];
  private readonly shorten: ReadonlySet<number>;
  constructor(shorten: Iterable<number> = []) {
    this.shorten = new Set(shorten);
  }
  now(): number {
    return Date.now();
  }
  setInterval(fn: () => void, ms: number) {
    return setInterval(fn, ms);
  }
  clearInterval(h: unknown): void {
    clearInterval(h as NodeJS.Timeout);
  }
  setTimeout(fn: () => void, ms: number) {
    this.delays.push(ms);
    return setTimeout(fn, this.shorten.has(ms) ? 20 : ms);
  }
  clearTimeout(h: unknown): void {
    clearTimeout(h as NodeJS.Timeout);
  }
}

export function testSettings(id = 'tsdb/remote_write', clock: Clock = new RecordingClock()): TestSettings {
  const selfMetrics = new SelfMetrics();
  const logs = captureLogs('debug');
  return { id, logger: logs.logger, metrics: selfMetrics.forComponent(id), clock, selfMetrics, logs };
}

/** One self-metric's value, summed over the label sets matching `labels`; a free loopback port (the shared test toolkit's). */
export { freePort, metricValue } from '../../../../edge-agent/src/testing/index.js';

export interface DecodedSeries {
  /** In wire order. */
  labels: Array<[string, string]>;
  samples: Array<[number, number]>;
}

/** Decodes a remote-write body (snappy block + WriteRequest) keeping the wire order. */
export function decodeBody(body: Uint8Array): DecodedSeries[] {
  const { writeRequest } = prompbTypes();
  const msg = writeRequest.toObject(writeRequest.decode(uncompress(body)), { longs: Number, defaults: true }) as {
    timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: Array<{ value: number; timestamp: number }> }>;
  };
  return msg.timeseries.map((t) => ({ labels: t.labels.map((l) => [l.name, l.value]), samples: t.samples.map((s) => [s.timestamp, s.value]) }));
}

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** What the fake answers: a status with headers and body, or 'hang' (never answers) or 'reset' (destroys the socket). */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang' | 'reset';

/**
 * A loopback HTTP server answering from a script: each request takes the next reply, the last
 * one repeats. Records every request with its body.
 */
export class FakeTsdb {
  readonly requests: RecordedRequest[] = [];
  private script: Reply[] = [{ status: 204 }];
  private readonly server: http.Server;
  private readonly hung = new Set<http.ServerResponse>();
  url = '';

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const r = this.script.length > 1 ? this.script.shift()! : this.script[0]!;
        if (r === 'hang') {
          this.hung.add(res);
          return;
        }
        if (r === 'reset') {
          req.socket.destroy();
          return;
        }
        res.writeHead(r.status, r.headers ?? {});
        res.end(r.body ?? '');
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The replies to the next requests (the last one repeats). */
  reply(...script: Reply[]): void {
    this.script = script;
  }

  /** Series of every remote-write request so far, in order. */
  written(): DecodedSeries[] {
    return this.requests.filter((r) => r.method === 'POST' && r.url.startsWith('/api/v1/write')).flatMap((r) => decodeBody(r.body));
  }

  async close(): Promise<void> {
    for (const res of this.hung) res.destroy();
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
