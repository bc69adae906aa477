// The embedded broker's mqtts listener: client-certificate authentication (the subject CN is the
// agent id) with the real agent exporter, and password authentication over TLS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { Central, makeAgent, makeWindow, rawConnect, seqs, until } from './testdata/harness.js';
import { makeTestPki } from './testdata/pki.js';
import type { TestPki } from './testdata/pki.js';

describe('mqtt ingest: mqtts listener', () => {
  let pki: TestPki;
  before(() => {
    pki = makeTestPki(['tls-agent', 'tls-unknown', 'tls-revoked', 'tls-other']);
  });

  const raw = (port: number, cn: string | undefined, opts: Record<string, unknown> = {}) =>
    rawConnect(
      port,
      {
        ca: readFileSync(pki.caFile),
        rejectUnauthorized: true,
        servername: 'localhost',
        ...(cn !== undefined ? { cert: readFileSync(cn === 'stranger' ? pki.stranger.cert : pki.clients[cn]!.cert), key: readFileSync(cn === 'stranger' ? pki.stranger.key : pki.clients[cn]!.key), clientId: cn } : {}),
        ...opts,
      },
      `mqtts://127.0.0.1:${port}`,
    );

  it('require_client_cert: the certificate CN is the agent id; unknown, revoked, mismatched and untrusted certificates are refused and counted', async () => {
    const c = new Central({ config: { tls: { cert_file: pki.serverCert, key_file: pki.serverKey, ca_file: pki.caFile, require_client_cert: true } } });
    const port = await c.start();
    for (const id of ['tls-agent', 'tls-revoked', 'tls-other']) await c.enroll(id);
    await c.stores.agents.revoke('tls-revoked', Date.now());

    const { e } = makeAgent({
      port,
      agentId: 'tls-agent',
      url: `mqtts://127.0.0.1:${port}`,
      config: { tls: { ca_file: pki.caFile, cert_file: pki.clients['tls-agent']!.cert, key_file: pki.clients['tls-agent']!.key, server_name: 'localhost' } },
    });
    await e.start();
    for (let i = 0; i < 5; i++) await e.consumeWindow(makeWindow('tls-agent', i));
    await until(() => c.stored.of('tls-agent').length === 5 && e.frames.buffer.size === 0, '5 frames over mTLS');
    assert.deepEqual([...c.stored.of('tls-agent')].sort((a, b) => a - b), seqs(5));

    assert.equal((await raw(port, 'tls-unknown')).refused, 5);
    assert.equal((await raw(port, 'tls-revoked')).refused, 5);
    assert.equal((await raw(port, 'tls-other', { clientId: 'tls-agent' })).refused, 5);
    assert.equal((await raw(port, 'tls-other', { username: 'tls-agent', password: 'x' })).refused, 5);
    await assert.rejects(raw(port, 'stranger'));
    await assert.rejects(raw(port, undefined, { clientId: 'tls-agent' }));
    const failures = (reason: string) => c.metric('aiops_central_mqtt_auth_failures_total', { reason });
    assert.equal(await failures('unknown_agent'), 1);
    assert.equal(await failures('revoked'), 1);
    assert.equal(await failures('client_id_mismatch'), 1);
    assert.equal(await failures('username_mismatch'), 1);
    await until(async () => (await failures('tls_handshake')) === 2, 'untrusted and missing certificates counted');
    assert.deepEqual(c.stored.frames.filter((f) => f.agentId !== 'tls-agent'), []);
    await e.shutdown();
    await c.stop();
  });

  it('without require_client_cert: username/password over mqtts', async () => {
    const c = new Central({ config: { tls: { cert_file: pki.serverCert, key_file: pki.serverKey } } });
    const port = await c.start();
    const secret = await c.enroll('tls-pw');
    const { e } = makeAgent({ port, agentId: 'tls-pw', username: 'tls-pw', password: secret, url: `mqtts://127.0.0.1:${port}`, config: { tls: { ca_file: pki.caFile, server_name: 'localhost' } } });
    await e.start();
    for (let i = 0; i < 3; i++) await e.consumeWindow(makeWindow('tls-pw', i));
    await until(() => c.stored.of('tls-pw').length === 3, '3 frames over mqtts');
    assert.equal((await raw(port, undefined, { clientId: 'tls-pw', username: 'tls-pw', password: 'wrong' })).refused, 5);
    assert.equal(await c.metric('aiops_central_mqtt_auth_failures_total', { reason: 'bad_secret' }), 1);
    await e.shutdown();
    await c.stop();
  });

  it('an unreadable TLS file fails start with TLS_FILES', async () => {
    const c = new Central({ config: { tls: { cert_file: '/nonexistent/server.crt', key_file: pki.serverKey } } });
    await assert.rejects(c.ingest.start(), (err: Error & { code?: string }) => err.name === 'MqttIngestError' && err.code === 'TLS_FILES' && /mqtt\.tls/.test(err.message));
    await c.stop();
  });
});
