// Test-only HTTP client for the receivers' tests (never imported by runtime code): one request,
// the whole answer, and network errors as a value instead of a throw.
import { request } from 'node:http';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Set when the exchange failed at the network level (status 0). */
  error?: string;
}

export function httpRequest(
  port: number,
  opts: { path?: string; method?: string; headers?: Record<string, string | number>; body?: Uint8Array | string; chunked?: boolean },
): Promise<HttpAnswer> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? Buffer.from(opts.body) : Buffer.from(opts.body.buffer, opts.body.byteOffset, opts.body.byteLength);
    if (body !== undefined && !opts.chunked && headers['content-length'] === undefined) headers['content-length'] = body.length;
    const req = request({ host: '127.0.0.1', port, path: opts.path ?? '/', method: opts.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (err) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error: err.message }));
    });
    req.on('error', (err) => resolve({ status: 0, headers: {}, body: Buffer.alloc(0), error: err.message }));
    if (body !== undefined && opts.chunked) {
      // Several writes so the body is streamed with Transfer-Encoding: chunked.
      const step = Math.max(1, Math.ceil(body.length / 8));
      for (let i = 0; i < body.length; i += step) req.write(body.subarray(i, i + step));
      req.end();
    } else req.end(body);
  });
}
