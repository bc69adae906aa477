// Enrollment against a real central (gateway + agent routes + SQLite stores) on a loopback
// port: credentials written owner-only and reused, insecure files refused, permanent errors not
// retried, network errors and 5xx retried until central answers. Waits between attempts are
// injected (no wall-clock sleeping, no timing assertions).
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { Logger } from '../../../shared-schemas/src/runtime/index.js';
import { ensureCredentials, EnrollmentError, isLoopbackUrl, readCredentialsFile } from './index.js';
import type { EnrollmentConfig, EnsureCredentialsOptions } from './index.js';
import { makeTestPki } from '../exporters/internal/testdata/certs.js';
import { CENTRAL_START_MS, openCentralStores, startCentral } from './testdata/central.js';
import type { TestCentral } from './testdata/central.js';
import { freePort } from '../testing/index.js';

function tempDir(prefix = 'aiops-enroll-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function logs(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  return { logger: pino({ level: 'trace' }, { write: (l: string) => void lines.push(l) }) as unknown as Logger, lines };
}

function enrollmentConfig(url: string, token: string | undefined, dir: string, over: Partial<EnrollmentConfig> = {}): EnrollmentConfig {
  return { url, token, credentialsFile: join(dir, 'credentials.json'), caFile: undefined, timeoutMs: 5000, retry: { initialIntervalMs: 100, maxIntervalMs: 2000, maxElapsedMs: 0 }, ...over };
}

/** Records the waits instead of waiting; `onWait` may act (start central) before the next attempt. */
function recordingSleep(onWait?: (n: number, ms: number) => Promise<void> | void): { sleep: NonNullable<EnsureCredentialsOptions['sleep']>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms) => {
      waits.push(ms);
      await onWait?.(waits.length, ms);
    },
  };
}

async function rejectsWith(p: Promise<unknown>, code: string, message: RegExp): Promise<EnrollmentError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof EnrollmentError, `EnrollmentError expected, got ${(e as Error).name}: ${(e as Error).message}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

describe('ensureCredentials against a real central', () => {
  let central: TestCentral;
  before(async () => {
    central = await startCentral();
  });
  after(() => central.close());

  it('enrolls, writes the credentials owner-only (0600, atomically), and a second start reuses them without a token', async () => {
    const dir = join(tempDir(), 'data'); // created by the enrollment, 0700
    const token = await central.token({ tenant: 'shop' });
    const l = logs();
    const { sleep, waits } = recordingSleep();
    const got = await ensureCredentials({ config: enrollmentConfig(central.url, token, dir), agent: { id: 'web-1', tenant: 'default', configured: { id: true, tenant: false } }, logger: l.logger, sleep });
    assert.equal(got.source, 'enrolled');
    assert.equal(got.agentId, 'web-1');
    assert.equal(got.tenant, 'shop', 'the tenant of the token is taken when the config sets none');
    assert.match(got.secret, /^aiops_a_/);
    assert.deepEqual(waits, [], 'no retry needed');
    assert.notEqual(await central.stores.agents.verify('web-1', got.secret, central.t.clock.now()), undefined, 'central verifies the stored secret');

    const file = join(dir, 'credentials.json');
    if (process.platform !== 'win32') {
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    }
    assert.deepEqual(readdirSync(dir), ['credentials.json'], 'no temp or probe file left behind');
    const doc = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    assert.equal(doc.version, 1);
    assert.equal(doc.agent_id, 'web-1');
    assert.equal(doc.tenant, 'shop');
    assert.equal(doc.secret, got.secret);
    assert.equal(doc.central_url, central.url);

    const requests = await central.enrollRequests();
    for (const t of [undefined, token]) {
      const again = await ensureCredentials({ config: enrollmentConfig(central.url, t, dir), agent: { id: 'web-1', tenant: 'default', configured: { id: true, tenant: false } }, logger: l.logger });
      assert.equal(again.source, 'file');
      assert.equal(again.secret, got.secret);
      assert.equal(again.tenant, 'shop');
    }
    assert.equal(await central.enrollRequests(), requests, 'the second and third starts did not call central');
    const all = l.lines.join('\n');
    assert.ok(!all.includes(token.slice(-43)) && !all.includes(got.secret.slice(-43)), 'neither the token nor the secret is logged');
    assert.match(all, /enrolled with central; credentials stored/);
  });

  it('takes the agent id from the credentials when agent.id is unset (host renamed); a configured one must match', async () => {
    const dir = tempDir();
    await ensureCredentials({ config: enrollmentConfig(central.url, await central.token(), dir), agent: { id: 'old-host', tenant: 'default' }, logger: logs().logger });
    const renamed = await ensureCredentials({ config: enrollmentConfig(central.url, undefined, dir), agent: { id: 'new-host', tenant: 'default', configured: { id: false, tenant: true } }, logger: logs().logger });
    assert.equal(renamed.agentId, 'old-host');
    await rejectsWith(
      ensureCredentials({ config: enrollmentConfig(central.url, undefined, dir), agent: { id: 'new-host', tenant: 'default', configured: { id: true, tenant: true } }, logger: logs().logger }),
      'IDENTITY_MISMATCH',
      /credentials in .* are for agent "old-host" but agent.id is "new-host": set agent.id to "old-host"/,
    );
  });

  it('a configured tenant must match the token\'s: refused after the credentials are stored, which later starts can use', async () => {
    const dir = tempDir();
    await rejectsWith(
      ensureCredentials({ config: enrollmentConfig(central.url, await central.token({ tenant: 'shop' }), dir), agent: { id: 'db-7', tenant: 'billing', configured: { id: true, tenant: true } }, logger: logs().logger }),
      'IDENTITY_MISMATCH',
      /enrolled agent "db-7" in tenant "shop" .* but agent.tenant is "billing": leave agent.tenant unset .*aiops agents enroll --tenant billing/,
    );
    const fixed = await ensureCredentials({ config: enrollmentConfig(central.url, undefined, dir), agent: { id: 'db-7', tenant: 'shop', configured: { id: true, tenant: true } }, logger: logs().logger });
    assert.equal(fixed.tenant, 'shop');
    assert.equal(fixed.source, 'file');
  });

  it('refuses a credentials file readable by group or others, telling the chmod to run; works again after it', async () => {
    if (process.platform === 'win32') return;
    const dir = tempDir();
    const cfg = enrollmentConfig(central.url, await central.token(), dir);
    await ensureCredentials({ config: cfg, agent: { id: 'perm-1', tenant: 'default' }, logger: logs().logger });
    for (const mode of [0o640, 0o604, 0o660]) {
      chmodSync(cfg.credentialsFile, mode);
      await rejectsWith(
        ensureCredentials({ config: { ...cfg, token: undefined }, agent: { id: 'perm-1', tenant: 'default' }, logger: logs().logger }),
        'INSECURE_FILE',
        new RegExp(`accessible by group or others \\(mode 0${mode.toString(8)}\\).*Run: chmod 600 ${cfg.credentialsFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`),
      );
    }
    chmodSync(cfg.credentialsFile, 0o600);
    assert.equal((await ensureCredentials({ config: { ...cfg, token: undefined }, agent: { id: 'perm-1', tenant: 'default' }, logger: logs().logger })).source, 'file');
  });

  it('refuses a symbolic link, a non-JSON file and a file missing the secret, saying to remove it', async () => {
    const dir = tempDir();
    const target = join(dir, 'elsewhere.json');
    writeFileSync(target, JSON.stringify({ version: 1, agent_id: 'a', tenant: 'default', secret: 'aiops_a_x' }), { mode: 0o600 });
    const link = join(dir, 'credentials.json');
    symlinkSync(target, link);
    await rejectsWith(readCredentialsFile(link), 'INSECURE_FILE', /symbolic link/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{ not json', { mode: 0o600 });
    await rejectsWith(readCredentialsFile(bad), 'BAD_FILE', /not valid JSON; remove it to enroll again/);
    writeFileSync(bad, JSON.stringify({ version: 1, agent_id: 'a', tenant: 'default' }), { mode: 0o600 });
    const e = await rejectsWith(readCredentialsFile(bad), 'BAD_FILE', /not valid \(secret: .*\); remove it/);
    assert.equal(e.retryable, false);
  });

  it('401 is permanent: not retried, nothing written, the message says to create a new token with `aiops agents enroll`', async () => {
    const token = await central.token();
    await ensureCredentials({ config: enrollmentConfig(central.url, token, tempDir()), agent: { id: 'first', tenant: 'default' }, logger: logs().logger });
    const dir = tempDir();
    const { sleep, waits } = recordingSleep();
    const e = await rejectsWith(
      ensureCredentials({ config: enrollmentConfig(central.url, token, dir), agent: { id: 'second', tenant: 'default' }, logger: logs().logger, sleep }),
      'TOKEN_REFUSED',
      /refused the enrollment token \(unknown, already used or expired\): create a new one with `aiops agents enroll` and start the agent with AIOPS_ENROLLMENT_TOKEN=<token>/,
    );
    assert.equal(e.retryable, false);
    assert.deepEqual(waits, []);
    assert.deepEqual(readdirSync(dir), []);
    assert.ok(!e.message.includes(token.slice(-43)), 'the token is not in the message');
  });

  it('409 is permanent: an active agent has the id; the message says how to proceed', async () => {
    await ensureCredentials({ config: enrollmentConfig(central.url, await central.token(), tempDir()), agent: { id: 'twin', tenant: 'default' }, logger: logs().logger });
    await rejectsWith(
      ensureCredentials({ config: enrollmentConfig(central.url, await central.token(), tempDir()), agent: { id: 'twin', tenant: 'default' }, logger: logs().logger }),
      'AGENT_EXISTS',
      /already enrolled as "twin"; the token was not used.*aiops agents revoke twin/,
    );
  });

  it('no credentials and no token: refused with what to do', async () => {
    await rejectsWith(
      ensureCredentials({ config: enrollmentConfig(central.url, undefined, tempDir()), agent: { id: 'x', tenant: 'default' }, logger: logs().logger }),
      'NO_TOKEN',
      /no agent credentials at .*credentials.json and no enrollment token: create one on central with `aiops agents enroll`/,
    );
  });

  it('a credentials folder that cannot be written is found before the token is used', async () => {
    const dir = tempDir();
    const notAFolder = join(dir, 'file');
    writeFileSync(notAFolder, '');
    const token = await central.token();
    await rejectsWith(
      ensureCredentials({ config: { ...enrollmentConfig(central.url, token, dir), credentialsFile: join(notAFolder, 'credentials.json') }, agent: { id: 'nowrite', tenant: 'default' }, logger: logs().logger }),
      'WRITE_FAILED',
      /cannot write the credentials file .*the enrollment token was not used/,
    );
    const ok = await ensureCredentials({ config: enrollmentConfig(central.url, token, dir), agent: { id: 'nowrite', tenant: 'default' }, logger: logs().logger });
    assert.equal(ok.source, 'enrolled', 'the token is still good');
  });

  it('a wrong URL path answers 404: permanent, pointing at agent.enrollment.url', async () => {
    await rejectsWith(
      ensureCredentials({ config: enrollmentConfig(`${central.url}/not-central`, await central.token(), tempDir()), agent: { id: 'u', tenant: 'default' }, logger: logs().logger }),
      'REJECTED',
      /no enrollment endpoint at .*\/not-central\/api\/v1\/agents\/enroll \(404\): is agent.enrollment.url central's API base URL/,
    );
  });
});

describe('ensureCredentials: retries', () => {
  it('retries network errors with growing backoff until central appears on its port', async () => {
    const port = await freePort();
    const stores = openCentralStores();
    const { token } = await stores.agents.createEnrollmentToken({ tenant: 'default', expiresAtMs: CENTRAL_START_MS + 3_600_000, createdBy: 'test' }, CENTRAL_START_MS);
    let central: TestCentral | undefined;
    const { sleep, waits } = recordingSleep(async (n) => {
      if (n === 3) central = await startCentral({ port, stores });
    });
    const retries: string[] = [];
    try {
      const got = await ensureCredentials({
        config: enrollmentConfig(`http://127.0.0.1:${port}`, token, tempDir()),
        agent: { id: 'late-1', tenant: 'default' },
        logger: logs().logger,
        sleep,
        random: () => 0.5,
        onRetry: (r) => retries.push(r.error.message),
      });
      assert.equal(got.source, 'enrolled');
      assert.equal(got.agentId, 'late-1');
      assert.notEqual(central, undefined, 'central was started');
      assert.deepEqual(waits, [100, 200, 400], 'three refused connections with exponential backoff (jitter neutral), then central answered');
      assert.equal(retries.length, 3);
      assert.ok(retries.every((m) => /cannot reach central at 127\.0\.0\.1:\d+: ECONNREFUSED/.test(m)), retries.join('\n'));
      assert.notEqual(await stores.agents.verify('late-1', got.secret, CENTRAL_START_MS), undefined, 'central verifies the secret');
    } finally {
      if (central !== undefined) await central.close();
      else await stores.close();
    }
  });

  it('retries 5xx and honours Retry-After (capped by retry.max_interval), then enrolls through to central', async () => {
    const central = await startCentral();
    let failures = 2;
    const proxy: Server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (failures-- > 0) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': failures === 1 ? '1' : '3600' });
          res.end(JSON.stringify({ error: 'unavailable', message: 'central is starting', requestId: 'r-1' }));
          return;
        }
        void fetch(`${central.url}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(await r.text());
        });
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    try {
      const { sleep, waits } = recordingSleep();
      const retries: string[] = [];
      const got = await ensureCredentials({
        config: enrollmentConfig(`http://127.0.0.1:${(proxy.address() as { port: number }).port}`, await central.token(), tempDir(), { retry: { initialIntervalMs: 100, maxIntervalMs: 5000, maxElapsedMs: 0 } }),
        agent: { id: 'busy-1', tenant: 'default' },
        logger: logs().logger,
        sleep,
        random: () => 0.5,
        onRetry: (r) => retries.push(r.error.message),
      });
      assert.equal(got.source, 'enrolled');
      assert.deepEqual(waits, [1000, 5000], 'Retry-After 1 s, then 3600 s capped at max_interval');
      assert.match(retries[0]!, /central answered 503: central is starting \(request id r-1\)/);
    } finally {
      await new Promise<void>((r) => proxy.close(() => r()));
      await central.close();
    }
  });

  it('gives up after retry.max_elapsed_time (retryable), and stops at once when aborted', async () => {
    const port = await freePort();
    let t = 0;
    const { sleep } = recordingSleep((_, ms) => {
      t += ms;
    });
    const cfg = enrollmentConfig(`http://127.0.0.1:${port}`, `aiops_e_${'0'.repeat(16)}_${'A'.repeat(43)}`, tempDir(), { retry: { initialIntervalMs: 1000, maxIntervalMs: 1000, maxElapsedMs: 3500 } });
    const e = await rejectsWith(ensureCredentials({ config: cfg, agent: { id: 'g', tenant: 'default' }, logger: logs().logger, sleep, now: () => t, random: () => 0.5 }), 'GAVE_UP', /could not enroll with central at .* within 3500 ms \(4 attempts\): cannot reach central/);
    assert.equal(e.retryable, true);

    const ac = new AbortController();
    await rejectsWith(
      ensureCredentials({
        config: { ...cfg, retry: { ...cfg.retry, maxElapsedMs: 0 } },
        agent: { id: 'g', tenant: 'default' },
        logger: logs().logger,
        signal: ac.signal,
        sleep: async () => ac.abort(),
      }),
      'ABORTED',
      /stopped before central answered/,
    );
  });

  it('a request central does not answer in time is retried (timeout)', async () => {
    const central = await startCentral();
    let hang = true;
    const held: Array<() => void> = [];
    const slow: Server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (hang) {
          hang = false;
          held.push(() => res.destroy());
          return; // never answers
        }
        void fetch(`${central.url}${req.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(await r.text());
        });
      });
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', () => r()));
    try {
      const retries: string[] = [];
      const got = await ensureCredentials({
        config: enrollmentConfig(`http://127.0.0.1:${(slow.address() as { port: number }).port}`, await central.token(), tempDir(), { timeoutMs: 200 }),
        agent: { id: 'slow-1', tenant: 'default' },
        logger: logs().logger,
        sleep: async () => undefined,
        onRetry: (r) => retries.push(r.error.message),
      });
      assert.equal(got.source, 'enrolled');
      assert.match(retries[0]!, /no answer from 127\.0\.0\.1:\d+ within 200 ms/);
    } finally {
      for (const h of held) h();
      slow.closeAllConnections();
      await new Promise<void>((r) => slow.close(() => r()));
      await central.close();
    }
  });
});

describe('ensureCredentials over https', () => {
  it('verifies central with agent.enrollment.ca_file; a CA that did not sign it is a permanent TLS error naming ca_file', async () => {
    const pki = makeTestPki();
    const central = await startCentral();
    // TLS in front of central (as a reverse proxy or central's own TLS listener would be).
    const forward = (req: IncomingMessage, res: ServerResponse): void => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void fetch(`${central.url}${req.url}`, { method: req.method, headers: { 'content-type': 'application/json' }, body: Buffer.concat(chunks) }).then(async (r) => {
          res.writeHead(r.status, { 'content-type': 'application/json' });
          res.end(await r.text());
        });
      });
    };
    const tls = createHttpsServer({ cert: pki.read(pki.serverCert), key: pki.read(pki.serverKey) }, forward);
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    const url = `https://127.0.0.1:${(tls.address() as { port: number }).port}`;
    try {
      const { sleep, waits } = recordingSleep();
      const wrong = await rejectsWith(
        ensureCredentials({ config: enrollmentConfig(url, await central.token(), tempDir(), { caFile: pki.otherCaFile }), agent: { id: 'tls-1', tenant: 'default' }, logger: logs().logger, sleep }),
        'TLS',
        /cannot verify central's certificate at 127\.0\.0\.1:\d+ \([A-Z_]+\): set agent\.enrollment\.ca_file to the CA that signed it/,
      );
      assert.equal(wrong.retryable, false);
      assert.deepEqual(waits, [], 'not retried');
      const ok = await ensureCredentials({ config: enrollmentConfig(url, await central.token(), tempDir(), { caFile: pki.caFile }), agent: { id: 'tls-1', tenant: 'default' }, logger: logs().logger });
      assert.equal(ok.source, 'enrolled');
      assert.notEqual(await central.stores.agents.verify('tls-1', ok.secret, central.t.clock.now()), undefined, 'central verifies the secret');
    } finally {
      tls.closeAllConnections();
      await new Promise<void>((r) => tls.close(() => r()));
      await central.close();
    }
  });
});

describe('credentials folder', () => {
  it('the credentials file is created 0600 even under a permissive umask', async () => {
    if (process.platform === 'win32') return;
    const central = await startCentral();
    const old = process.umask(0o000);
    try {
      const dir = join(tempDir(), 'nested', 'data');
      mkdirSync(join(dir, '..'), { recursive: true });
      await ensureCredentials({ config: enrollmentConfig(central.url, await central.token(), dir), agent: { id: 'umask-1', tenant: 'default' }, logger: logs().logger });
      assert.equal(statSync(join(dir, 'credentials.json')).mode & 0o777, 0o600);
      assert.equal(statSync(dir).mode & 0o777, 0o700);
    } finally {
      process.umask(old);
      await central.close();
    }
  });
});

describe('plain-http warning', () => {
  it('is skipped only for loopback URLs (traffic that never leaves the host)', () => {
    for (const u of ['http://127.0.0.1:8080', 'http://localhost:8080/', 'http://127.1.2.3', 'http://[::1]:8080']) assert.equal(isLoopbackUrl(u), true, u);
    for (const u of ['http://10.0.0.1:8080', 'http://central.example.com', 'http://127.0.0.1.evil.example', 'http://localhost.evil.example', 'not a url']) assert.equal(isLoopbackUrl(u), false, u);
  });
});
