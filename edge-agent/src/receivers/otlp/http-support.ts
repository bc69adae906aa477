// Small pieces shared by the HTTP receivers (OTLP here, remote-write imports them too): a
// bounded body reader, host:port parsing, and a drop logger that logs once per reason and
// interval with the count instead of once per item (CONVENTIONS 11).
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Clock } from '../../component.js';
import type { Logger } from '../../../../shared-schemas/src/runtime/index.js';
import { BadInputError } from '../../errors.js';

/** Splits "host:port" / "[v6]:port"; an empty host means 127.0.0.1. */
export function parseHostPort(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  let host = endpoint.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host: host === '' ? '127.0.0.1' : host, port: Number(endpoint.slice(i + 1)) };
}

/** The request was aborted by the peer before its body was complete. */
export class AbortedError extends Error {
  override name = 'AbortedError';
}

/**
 * Reads a request body of at most `limit` bytes. A declared Content-Length over the limit is
 * refused before reading; a streamed body is refused as soon as it passes the limit (the rest
 * is discarded, and the caller answers with `Connection: close`).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined) {
    const n = Number(declared);
    if (Number.isFinite(n) && n > limit) {
      return Promise.reject(new BadInputError('TOO_LARGE', `body of ${n} bytes exceeds the limit of ${limit} bytes`, 413));
    }
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let done = false;
    const finish = (err: Error | undefined): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('aborted', onAborted);
      req.off('error', onError);
      if (err) {
        chunks.length = 0;
        req.on('error', () => {}); // late socket errors after we gave up are expected
        reject(err);
      } else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > limit) {
        finish(new BadInputError('TOO_LARGE', `body exceeds the limit of ${limit} bytes`, 413));
        req.resume(); // discard the rest until the connection closes
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(undefined);
    const onAborted = (): void => finish(new AbortedError('request aborted by the client'));
    const onError = (err: Error): void => finish(new AbortedError(`request stream failed: ${err.message}`));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('aborted', onAborted);
    req.on('error', onError);
  });
}

/** Media type without parameters, lower case ("application/json; charset=utf-8" -> "application/json"). */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';', 1)[0]!.trim().toLowerCase();
}

/**
 * Logs drops at most once per `intervalMs` per reason, with the count accumulated since the
 * last line; `flush()` (at shutdown) writes what is pending. Details are truncated: they may
 * quote input.
 */
export class DropLog {
  private readonly pending = new Map<string, { count: number; detail: string }>();
  private readonly lastAt = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly clock: Clock,
    private readonly what: string,
    private readonly intervalMs = 60_000,
  ) {}

  note(reason: string, count: number, detail: string): void {
    if (count <= 0) return;
    const now = this.clock.now();
    const p = this.pending.get(reason) ?? { count: 0, detail: '' };
    p.count += count;
    p.detail = detail.length > 300 ? `${detail.slice(0, 300)}...` : detail;
    const last = this.lastAt.get(reason);
    if (last === undefined || now - last >= this.intervalMs) {
      this.pending.delete(reason);
      this.lastAt.set(reason, now);
      this.logger.warn({ reason, count: p.count, example: p.detail }, `dropped ${p.count} ${this.what} (${reason})${last === undefined ? '' : ` since the last report`}`);
    } else {
      this.pending.set(reason, p);
    }
  }

  flush(): void {
    for (const [reason, p] of this.pending) {
      this.logger.warn({ reason, count: p.count, example: p.detail }, `dropped ${p.count} ${this.what} (${reason}) since the last report`);
    }
    this.pending.clear();
  }
}

/**
 * Starts an HTTP listener for a receiver: bounded timeouts and header count, a handler whose
 * unexpected failure answers 500 (logged) instead of crashing, resolved once listening.
 */
export async function listenHttp(opts: {
  endpoint: string;
  requestTimeoutMs: number;
  logger: Logger;
  /** Names the receiver in log lines, e.g. "otlp: OTLP/HTTP". */
  what: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
}): Promise<{ server: Server; address: { host: string; port: number } | undefined }> {
  const { host, port } = parseHostPort(opts.endpoint);
  const server = createServer((req, res) => {
    opts.handle(req, res).catch((err: unknown) => {
      opts.logger.error({ err }, `${opts.what}: unexpected error answering a request`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  server.requestTimeout = opts.requestTimeoutMs;
  server.headersTimeout = Math.min(opts.requestTimeoutMs, 10_000);
  server.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger.error({ err }, `${opts.what}: server error`));
  const a = server.address();
  return { server, address: a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined };
}
