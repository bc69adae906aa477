// Access logs: one JSON line per request with the route pattern, status, duration, bytes, the
// key id and the request id; no token, secret or query string ever reaches the log, even when
// authentication fails or a handler logs its request.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { secretOf, startTestGateway } from './testing/index.js';
import type { TestGateway } from './testing/index.js';

describe('access logs', () => {
  let t: TestGateway;
  before(async () => {
    t = await startTestGateway({
      config: { rateLimit: { ratePerSecond: 1000, burst: 1000 }, authFailureLimit: { ratePerSecond: 1, burst: 1000 } },
      register: (g) => {
        g.route({
          method: 'POST',
          path: '/api/v1/things/{id}',
          scope: 'write',
          summary: 'logs what it was given',
          body: z.object({ name: z.string() }),
          responses: { 201: { description: 'created', body: z.object({ id: z.string() }) } },
          handler: (ctx) => {
            // A careless handler: logs its whole context. Credentials must not be in it.
            ctx.log.info({ headers: ctx.headers, principal: ctx.principal, params: ctx.params }, 'handling');
            return { status: 201, body: { id: ctx.params.id } };
          },
        });
        g.route({
          method: 'GET',
          path: '/api/v1/fail',
          scope: 'read',
          summary: 'fails',
          responses: { 200: { description: 'never' } },
          handler: () => {
            throw new Error('boom');
          },
        });
      },
    });
  });
  after(() => t.close());

  it('writes one line per request with route pattern, status, duration, bytes, key id and request id', async () => {
    const n0 = t.logs.lines.length;
    const res = await fetch(`${t.url}/api/v1/things/abc?verbose=1`, { method: 'POST', headers: { ...t.auth('write'), 'content-type': 'application/json' }, body: '{"name":"x"}' });
    assert.equal(res.status, 201);
    await res.text();
    await waitFor(() => t.logs.records().slice(n0).some((r) => r.msg === 'request'));
    const lines = t.logs.records().slice(n0).filter((r) => r.msg === 'request');
    assert.equal(lines.length, 1);
    const l = lines[0]!;
    assert.equal(l.method, 'POST');
    assert.equal(l.route, '/api/v1/things/{id}', 'the pattern, not the URL');
    assert.equal(l.status, 201);
    assert.equal(typeof l.durationMs, 'number');
    assert.equal(l.bytesIn, 12);
    assert.equal(l.bytesOut, Buffer.byteLength('{"id":"abc"}'));
    assert.equal(l.keyId, t.keyIds.write);
    assert.equal(l.tenant, 't1');
    assert.equal(l.reqId, res.headers.get('x-request-id'));
    assert.equal(l.remote, '127.0.0.1');
    assert.ok(!JSON.stringify(l).includes('verbose'), 'no query string');
    const handlerLine = t.logs.records().slice(n0).find((r) => r.msg === 'handling');
    assert.equal(handlerLine?.reqId, l.reqId, 'handler logs carry the request id');
  });

  it('logs failed authentication with its reason, and 404s without their path', async () => {
    const n0 = t.logs.lines.length;
    await (await fetch(`${t.url}/api/v1/things/abc`, { method: 'POST' })).text();
    await (await fetch(`${t.url}/api/v1/no/such/path`)).text();
    await waitFor(() => t.logs.records().slice(n0).filter((r) => r.msg === 'request').length >= 2);
    const [a, b] = t.logs.records().slice(n0).filter((r) => r.msg === 'request');
    assert.equal(a!.status, 401);
    assert.equal(a!.authFailure, 'missing');
    assert.equal(b!.status, 404);
    assert.equal(b!.route, '(unmatched)');
    assert.ok(!JSON.stringify(b).includes('such'));
  });

  it('never writes a token or secret, for valid, invalid, malformed, oversized or misplaced credentials', async () => {
    const n0 = t.logs.lines.length;
    const extra = await t.store.create({ name: 'x', tenant: 't1', scopes: ['read'] }, t.clock.now());
    await t.store.revoke(extra.record.id, t.clock.now());
    const secrets = [
      t.tokens.write,
      t.tokens.read,
      extra.token,
      'k_00000000.Sup3rS3cretGuessNumberOne',
      'dXNlcjpTM2NyZXRQYXNzd29yZA',
      `HugeToken${'Z'.repeat(3000)}`,
      'QueryStringSecretValue123',
    ];
    const sends: Array<[string, RequestInit]> = [
      ['/api/v1/things/a', { method: 'POST', headers: { authorization: `Bearer ${t.tokens.write}`, 'content-type': 'application/json' }, body: '{"name":"n"}' }],
      ['/api/v1/things/a', { method: 'POST', headers: { 'x-api-key': t.tokens.write, 'content-type': 'application/json' }, body: '{"name":"n"}' }],
      ['/api/v1/things/a', { method: 'POST', headers: { authorization: `Bearer ${t.tokens.read}` } }], // 403
      ['/api/v1/things/a', { method: 'POST', headers: { authorization: `Bearer ${extra.token}` } }], // revoked
      ['/api/v1/things/a', { method: 'POST', headers: { authorization: 'Bearer k_00000000.Sup3rS3cretGuessNumberOne' } }],
      ['/api/v1/things/a', { method: 'POST', headers: { authorization: 'Basic dXNlcjpTM2NyZXRQYXNzd29yZA' } }],
      ['/api/v1/things/a', { method: 'POST', headers: { authorization: `Bearer HugeToken${'Z'.repeat(3000)}` } }],
      ['/api/v1/things/a?api_key=QueryStringSecretValue123', { method: 'POST' }],
      ['/api/v1/fail?token=QueryStringSecretValue123', { headers: { authorization: `Bearer ${t.tokens.read}` } }], // 500 logged
      ['/api/v1/nowhere?api_key=QueryStringSecretValue123', { headers: { authorization: `Bearer ${t.tokens.read}` } }],
    ];
    for (const [path, init] of sends) await (await fetch(`${t.url}${path}`, init)).text();
    await waitFor(() => t.logs.records().slice(n0).filter((r) => r.msg === 'request').length >= sends.length);
    const written = t.logs.lines.slice(n0).join('\n');
    assert.ok(written.length > 0);
    assert.ok(written.includes('boom'), 'the 500 was logged (so the check below looked at real lines)');
    for (const s of secrets) {
      assert.ok(!written.includes(s), `secret ${s.slice(0, 12)}... is not in the logs`);
      // Nor the secret half of a token alone.
      assert.ok(!written.includes(secretOf(s)), `secret part of ${s.slice(0, 12)}... is not in the logs`);
    }
    assert.ok(!/authorization|x-api-key/i.test(written), 'no credential header names either');
  });
});

async function waitFor(cond: () => boolean): Promise<void> {
  // Access lines are written when the response closes, which may be just after fetch resolves.
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), 'condition not met within 1 s');
}
