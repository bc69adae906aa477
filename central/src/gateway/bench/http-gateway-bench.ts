// Decision 016 measurement: requests/s of an authenticated JSON GET through the gateway
// (fastify 5) against the same work on bare node:http with a hand-written router. Both servers
// do the same steps: request id, bearer token -> MemoryApiKeyStore.verify (SHA-256 + constant
// time compare), per-key token bucket, scope check, path-parameter route, JSON answer, one
// pino access line (to a discarding stream) and the same prom-client counter + histogram.
//
// Each server runs in its own child process; this process is the load generator (node:http,
// keep-alive, C concurrent loops). Rounds alternate A/B/A/B... and the medians are reported
// side by side. On a 2-core machine client and server share the CPU: the ratio is the figure
// to read, not the absolute numbers.
//
// Usage: npx tsx central/src/gateway/bench/http-gateway-bench.ts [seconds=5] [rounds=3] [concurrency=32]
import { fork } from 'node:child_process';
import { fastify } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Agent, createServer, request } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Counter, Histogram, Registry } from 'prom-client';
import { z } from 'zod';
import { extractCredential, scopeAllows } from '../auth.js';
import { createGateway } from '../gateway.js';
import { TokenBucketLimiter } from '../rate-limit.js';
import { MemoryApiKeyStore } from '../testing/memory-api-key-store.js';

type Mode = 'fastify' | 'node-http' | 'fastify-bare' | 'node-bare';
const ALL_MODES: readonly Mode[] = ['fastify', 'node-http', 'fastify-bare', 'node-bare'];
// BENCH_MODES=fastify,node-http runs a subset.
const MODES: readonly Mode[] = process.env.BENCH_MODES ? (process.env.BENCH_MODES.split(',') as Mode[]) : ALL_MODES;

async function serve(mode: Mode): Promise<void> {
  const store = new MemoryApiKeyStore();
  const { token } = await store.create({ name: 'bench', tenant: 't1', scopes: ['read'] }, Date.now());
  const logger = pino({ level: 'info' }, { write: () => {} });
  const registry = new Registry();
  const clock = { now: () => Date.now() };
  const answer = (id: string) => ({ id, status: 'open', services: ['checkout', 'payments'], alerts: 3 });
  let port: number;
  if (mode === 'fastify-bare') {
    // The floor of each stack: route + JSON answer, nothing else.
    const app = fastify({ logger: false });
    app.get('/api/v1/incidents/:id', async (req) => answer((req.params as { id: string }).id));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as { port: number }).port;
  } else if (mode === 'node-bare') {
    const server = createServer((req, res) => {
      const text = JSON.stringify(answer((req.url ?? '').slice(18)));
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  } else if (mode === 'fastify') {
    const g = createGateway({ config: { listen: { host: '127.0.0.1', port: 0 }, rateLimit: { ratePerSecond: 1e6, burst: 1e6 } }, keys: store, logger, registry, clock });
    g.route({
      method: 'GET',
      path: '/api/v1/incidents/{id}',
      scope: 'read',
      summary: 'bench',
      params: z.object({ id: z.string().min(1) }),
      responses: { 200: { description: 'ok' } },
      handler: (ctx) => ({ status: 200, body: answer(ctx.params.id) }),
    });
    await g.start();
    port = g.address!.port;
  } else {
    const limiter = new TokenBucketLimiter({ defaults: { ratePerSecond: 1e6, burst: 1e6 }, maxBuckets: 100_000, now: clock.now });
    const requests = new Counter({ name: 'bench_requests_total', help: 'x', labelNames: ['route', 'method', 'status'], registers: [registry] });
    const duration = new Histogram({ name: 'bench_duration_seconds', help: 'x', labelNames: ['route', 'method'], registers: [registry] });
    const re = /^\/api\/v1\/incidents\/([^/]+)$/;
    const send = (res: ServerResponse, status: number, body: unknown, id: string): void => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-request-id': id });
      res.end(text);
    };
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const t0 = process.hrtime.bigint();
      const id = randomUUID();
      const path = (req.url ?? '/').split('?', 1)[0]!;
      const m = re.exec(path);
      res.once('close', () => {
        requests.inc({ route: m ? '/api/v1/incidents/{id}' : '(unmatched)', method: req.method ?? 'GET', status: String(res.statusCode) });
        duration.observe({ route: '/api/v1/incidents/{id}', method: 'GET' }, Number(process.hrtime.bigint() - t0) / 1e9);
        logger.info({ reqId: id, method: req.method, route: '/api/v1/incidents/{id}', status: res.statusCode }, 'request');
      });
      if (!m || req.method !== 'GET') return send(res, 404, { error: 'route_not_found' }, id);
      const cred = extractCredential(req.headers, 512);
      if (cred.kind !== 'token') return send(res, 401, { error: 'unauthorized' }, id);
      const rec = await store.verify(cred.token, clock.now());
      if (!rec) return send(res, 401, { error: 'unauthorized' }, id);
      if (!limiter.take(rec.id).allowed) return send(res, 429, { error: 'rate_limited' }, id);
      if (!scopeAllows(rec.scopes, 'read')) return send(res, 403, { error: 'forbidden' }, id);
      const idParam = decodeURIComponent(m[1]!);
      if (idParam.length < 1) return send(res, 400, { error: 'invalid_request' }, id);
      send(res, 200, answer(idParam), id);
    };
    const server = createServer((req, res) => void handle(req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  }
  process.on('message', (m) => {
    if (m === 'exit') process.exit(0); // lets --cpu-prof write its profile
    if (m === 'cpu') {
      const u = process.cpuUsage();
      process.send!({ cpuUs: u.user + u.system });
    }
  });
  process.send!({ port, token });
}

function cpuOf(child: ReturnType<typeof fork>): Promise<number> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve((m as { cpuUs: number }).cpuUs));
    child.send('cpu');
  });
}

async function load(port: number, token: string, seconds: number, concurrency: number): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let done = 0;
  let errors = 0;
  const until = performance.now() + seconds * 1000;
  const one = (): Promise<void> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = request({ host: '127.0.0.1', port, path: '/api/v1/incidents/inc-42', agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) {
            done++;
            latencies.push(performance.now() - t0);
          } else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) await one();
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { rps: done / elapsed, p50: q(0.5), p99: q(0.99), errors };
}

async function main(): Promise<void> {
  const [seconds = 5, rounds = 3, concurrency = 32] = process.argv.slice(2).map(Number);
  const self = fileURLToPath(import.meta.url);
  const results = Object.fromEntries(MODES.map((m) => [m, [] as Array<{ rps: number; p50: number; p99: number; errors: number; cpuPerReq: number }>])) as Record<Mode, Array<{ rps: number; p50: number; p99: number; errors: number; cpuPerReq: number }>>;
  for (let r = 0; r < rounds; r++) {
    // Rotate the order each round so no mode always runs first or last.
    const order = MODES.map((_, i) => MODES[(i + r) % MODES.length]!);
    for (const mode of order) {
      const child = fork(self, ['--serve', mode], { execArgv: ['--import', 'tsx'] });
      const { port, token } = await new Promise<{ port: number; token: string }>((resolve) => child.once('message', (m) => resolve(m as { port: number; token: string })));
      await load(port, token, 1, concurrency); // warm-up (JIT, connections)
      const cpu0 = await cpuOf(child);
      const res = await load(port, token, seconds, concurrency);
      const cpuPerReq = ((await cpuOf(child)) - cpu0) / (res.rps * seconds);
      results[mode].push({ ...res, cpuPerReq });
      console.log(`round ${r + 1} ${mode.padEnd(12)} ${res.rps.toFixed(0).padStart(6)} req/s  p50 ${res.p50.toFixed(2)} ms  p99 ${res.p99.toFixed(2)} ms  server CPU ${cpuPerReq.toFixed(1)} us/req  errors ${res.errors}`);
      child.kill();
      await new Promise((r2) => child.once('exit', r2));
    }
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const med = (m: Mode) => ({ rps: median(results[m].map((x) => x.rps)), p50: median(results[m].map((x) => x.p50)), p99: median(results[m].map((x) => x.p99)), cpu: median(results[m].map((x) => x.cpuPerReq)) });
  console.log(`\nmedian of ${rounds} rounds, ${seconds} s each, ${concurrency} concurrent keep-alive connections`);
  console.log('| server | req/s | p50 ms | p99 ms | server CPU us/req |');
  console.log('|---|---:|---:|---:|---:|');
  const label: Record<Mode, string> = {
    fastify: 'gateway (fastify 5): auth + rate limit + scope + zod params + logs + metrics',
    'node-http': 'node:http + hand router, same steps',
    'fastify-bare': 'fastify 5, route + JSON only',
    'node-bare': 'node:http, JSON only',
  };
  for (const m of MODES) {
    const x = med(m);
    console.log(`| ${label[m]} | ${x.rps.toFixed(0)} | ${x.p50.toFixed(2)} | ${x.p99.toFixed(2)} | ${x.cpu.toFixed(1)} |`);
  }
  if (MODES.length < ALL_MODES.length) return;
  console.log(`\nratios (req/s): gateway / node:http same steps = ${(med('fastify').rps / med('node-http').rps).toFixed(2)}; fastify bare / node bare = ${(med('fastify-bare').rps / med('node-bare').rps).toFixed(2)}`);
  console.log(`ratios (server CPU per request): gateway / node:http same steps = ${(med('fastify').cpu / med('node-http').cpu).toFixed(2)}; fastify bare / node bare = ${(med('fastify-bare').cpu / med('node-bare').cpu).toFixed(2)}`);
}

if (process.argv[2] === '--serve') void serve(process.argv[3] as Mode);
else await main();
