// One bounded HTTP GET of an exposition body: a whole-request deadline, no redirects followed,
// gzip accepted and inflated under the same byte limit (a decompression bomb stops at the limit),
// the content type checked, the body decoded as strict UTF-8. Never throws: returns an outcome
// with a `reason` that becomes the self-metric label.
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import type { Clock } from '../../component.js';

/** Prometheus' own Accept header for the text format, with OpenMetrics refused: we parse 0.0.4. */
export const ACCEPT = 'text/plain;version=0.0.4;q=1,*/*;q=0.1';

export type ScrapeFailureReason =
  | 'timeout'
  | 'connect'
  | 'redirect'
  | 'http_status'
  | 'unsupported_content_type'
  | 'unsupported_encoding'
  | 'body_too_large'
  | 'decompress'
  | 'invalid_utf8'
  | 'aborted';

export type FetchOutcome =
  | { ok: true; body: string; openMetrics: boolean; bytes: number }
  | { ok: false; reason: ScrapeFailureReason; message: string };

export interface FetchRequest {
  url: URL;
  headers: Record<string, string>;
  timeoutMs: number;
  maxBodyBytes: number;
  agent: http.Agent | https.Agent;
  clock: Clock;
  /** Aborts the request (shutdown). */
  signal?: AbortSignal;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

export function fetchExposition(req: FetchRequest): Promise<FetchOutcome> {
  return new Promise<FetchOutcome>((resolve) => {
    let settled = false;
    let timer: unknown;
    let creq: http.ClientRequest | undefined;
    const finish = (o: FetchOutcome) => {
      if (settled) return;
      settled = true;
      req.clock.clearTimeout(timer);
      req.signal?.removeEventListener('abort', onAbort);
      // A failed exchange leaves the socket in an unknown state: close it. A complete one goes
      // back to the keep-alive pool.
      if (!o.ok) creq?.destroy();
      resolve(o);
    };
    const fail = (reason: ScrapeFailureReason, message: string) => finish({ ok: false, reason, message });
    const onAbort = () => fail('aborted', 'scrape aborted (shutdown)');
    if (req.signal?.aborted) return onAbort();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    timer = req.clock.setTimeout(() => fail('timeout', `no complete answer within ${req.timeoutMs} ms`), req.timeoutMs);

    const mod = req.url.protocol === 'https:' ? https : http;
    try {
      creq = mod.request(req.url, { method: 'GET', headers: req.headers, agent: req.agent });
    } catch (err) {
      return fail('connect', (err as Error).message);
    }
    creq.on('error', (err: NodeJS.ErrnoException) => fail('connect', err.code ?? err.message));
    creq.on('response', (res) => {
      // Listeners first: destroying the request on an early failure may make `res` emit 'error'.
      res.on('error', (err: NodeJS.ErrnoException) => fail('connect', err.code ?? err.message));
      res.on('aborted', () => fail('connect', 'connection closed before the body ended'));
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.resume();
        return fail('redirect', `HTTP ${status} (redirects are not followed)`);
      }
      if (status !== 200) {
        res.resume();
        return fail('http_status', `HTTP ${status}`);
      }
      const ctype = String(res.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      const openMetrics = ctype === 'application/openmetrics-text';
      if (!(ctype === '' || ctype === 'text/plain' || openMetrics)) {
        res.resume();
        return fail('unsupported_content_type', `content type "${ctype.slice(0, 64)}" is not the text format`);
      }
      const enc = String(res.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
      if (enc !== 'identity' && enc !== 'gzip' && enc !== '') {
        res.resume();
        return fail('unsupported_encoding', `content encoding "${enc.slice(0, 32)}"`);
      }
      const declared = Number(res.headers['content-length']);
      if (enc !== 'gzip' && Number.isFinite(declared) && declared > req.maxBodyBytes) {
        res.resume();
        return fail('body_too_large', `Content-Length ${declared} > max_body_bytes ${req.maxBodyBytes}`);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      const stream = enc === 'gzip' ? res.pipe(createGunzip()) : res;
      if (stream !== res) stream.on('error', (err: Error) => fail('decompress', err.message));
      stream.on('data', (c: Buffer) => {
        if (settled) return;
        total += c.length;
        if (total > req.maxBodyBytes) {
          // Settle first: destroying the streams emits 'aborted'/'error', which must not win.
          fail('body_too_large', `body larger than max_body_bytes ${req.maxBodyBytes}${enc === 'gzip' ? ' (after gunzip)' : ''}`);
          if (stream !== res) stream.destroy();
          return;
        }
        chunks.push(c);
      });
      stream.on('end', () => {
        if (settled) return;
        let body: string;
        try {
          body = decoder.decode(Buffer.concat(chunks, total));
        } catch {
          return fail('invalid_utf8', 'body is not valid UTF-8');
        }
        finish({ ok: true, body, openMetrics, bytes: total });
      });
    });
    creq.end();
  });
}
