// The agent's own HTTP endpoint: /metrics (Prometheus text format) and /healthz. Loopback by
// default; nothing here accepts input.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { SelfMetrics } from '../../../shared-schemas/src/runtime/index.js';

export interface StatusServerOptions {
  listen: string;
  metrics: SelfMetrics;
  /** Health details; `ok: false` answers 503. */
  health(): { ok: boolean; details: Record<string, unknown> };
}

export class StatusServer {
  private server: Server | undefined;
  address: { host: string; port: number } | undefined;

  constructor(private readonly opts: StatusServerOptions) {}

  async start(): Promise<void> {
    const i = this.opts.listen.lastIndexOf(':');
    const host = this.opts.listen.slice(0, i) || '127.0.0.1';
    const port = Number(this.opts.listen.slice(i + 1));
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (url === '/metrics') {
        this.opts.metrics
          .render()
          .then((text) => res.writeHead(200, { 'content-type': this.opts.metrics.registry.contentType }).end(text))
          .catch((err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${err.message}\n`));
        return;
      }
      if (url === '/healthz') {
        const h = this.opts.health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: h.ok ? 'ok' : 'unhealthy', ...h.details }));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const a = server.address();
    if (a && typeof a === 'object') this.address = { host: a.address, port: a.port };
    this.server = server;
  }

  async shutdown(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}
