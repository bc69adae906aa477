// Shared contracts of AuditLog, ApiKeyStore and AgentStore (CONVENTIONS 6). Not part of the
// runtime surface.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StorageError } from '../errors.js';
import type { AgentStore, ApiKeyStore, AuditLog } from '../types.js';
import type { SubjectFactory } from './alert-incident-contract.js';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const DAY = 24 * 60 * MIN;

function isStorageError(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StorageError && e.code === code && (message === undefined || message.test(e.message));
}

/** Flips one character of the secret part of a token (keeps the format valid). */
function tamper(token: string): string {
  const i = token.length - 5;
  return token.slice(0, i) + (token[i] === 'A' ? 'B' : 'A') + token.slice(i + 1);
}

export function runAuditLogContract(name: string, make: SubjectFactory<AuditLog>): void {
  describe(`AuditLog contract: ${name}`, () => {
    it('lists entries in append order with increasing seq, filtered by time and action, limited', async () => {
      const { store: s, close } = await make();
      await s.append({ atMs: T0, actor: 'k_1', action: 'key.create', target: 'k_2', details: { scopes: ['read'], n: 1, nested: { ok: true } } });
      await s.append({ atMs: T0 + 1000, actor: 'cli', action: 'agent.revoke', target: 'host-1' });
      await s.append({ atMs: T0 + 2000, actor: 'system', action: 'key.create', target: 'k_3' });
      const all = await s.list({});
      assert.deepEqual(all.map((e) => e.action), ['key.create', 'agent.revoke', 'key.create']);
      assert.ok(all[0]!.seq < all[1]!.seq && all[1]!.seq < all[2]!.seq);
      assert.deepEqual({ ...all[0], seq: 0 }, { seq: 0, atMs: T0, actor: 'k_1', action: 'key.create', target: 'k_2', details: { scopes: ['read'], n: 1, nested: { ok: true } } });
      assert.equal(all[1]!.details, undefined);
      assert.deepEqual((await s.list({ action: 'key.create' })).map((e) => e.target), ['k_2', 'k_3']);
      assert.deepEqual((await s.list({ sinceMs: T0 + 1000 })).map((e) => e.target), ['host-1', 'k_3']);
      assert.deepEqual((await s.list({ limit: 1 })).map((e) => e.target), ['k_2']);
      await close();
    });

    it('never stores secrets: secret-named details and credential-looking strings are redacted', async () => {
      const { store: s, close } = await make();
      const token = `aiops_k_0123456789abcdef_${'A'.repeat(43)}`;
      await s.append({
        atMs: T0,
        actor: 'cli',
        action: 'key.create',
        target: `key for ${token}`,
        details: {
          token,
          password: 'hunter2',
          nested: { apiKey: 'x', client_secret: 'y', Authorization: 'Bearer abcdefghijk', keyId: 'k_0123456789abcdef' },
          note: `created ${token} for bob`,
          header: 'Authorization: Bearer abcdefghijklmnop',
          list: [token, 'plain'],
          scopes: ['read'],
        },
      });
      const [e] = await s.list({});
      const text = JSON.stringify(e);
      assert.ok(!text.includes('A'.repeat(43)), text);
      assert.ok(!text.includes('hunter2') && !text.includes('abcdefghijk'), text);
      assert.equal(e!.details!['password'], '[redacted]');
      assert.deepEqual(e!.details!['nested'], { apiKey: '[redacted]', client_secret: '[redacted]', Authorization: '[redacted]', keyId: 'k_0123456789abcdef' });
      assert.equal(e!.details!['note'], 'created [redacted] for bob');
      assert.deepEqual(e!.details!['list'], ['[redacted]', 'plain']);
      assert.deepEqual(e!.details!['scopes'], ['read']);
      assert.equal(e!.target, 'key for [redacted]');
      await close();
    });

    it('refuses malformed entries', async () => {
      const { store: s, close } = await make();
      await assert.rejects(s.append({ atMs: -1, actor: 'a', action: 'x', target: '' }), isStorageError('INVALID_ARGUMENT', /atMs/));
      await assert.rejects(s.append({ atMs: T0, actor: '', action: 'x', target: '' }), isStorageError('INVALID_ARGUMENT', /actor/));
      await assert.rejects(s.append({ atMs: T0, actor: 'a', action: '', target: '' }), isStorageError('INVALID_ARGUMENT', /action/));
      await assert.rejects(s.append({ atMs: T0, actor: 'a', action: 'x', target: '', details: 'str' as never }), isStorageError('INVALID_ARGUMENT', /details/));
      await assert.rejects(s.append({ atMs: T0, actor: 'a', action: 'x', target: '', details: { big: 'x'.repeat(100_000) } }), isStorageError('INVALID_ARGUMENT', /bytes/));
      assert.deepEqual(await s.list({}), []);
      await close();
    });
  });
}

export function runApiKeyStoreContract(name: string, make: SubjectFactory<ApiKeyStore>): void {
  describe(`ApiKeyStore contract: ${name}`, () => {
    it('issues aiops_<id>_<secret> tokens with 256-bit secrets and verifies them', async () => {
      const { store: s, close } = await make();
      const { record, token } = await s.create({ name: 'ci', tenant: 't1', scopes: ['write', 'read', 'write'] }, T0);
      const m = /^aiops_(k_[0-9a-f]{16})_([A-Za-z0-9_-]+)$/.exec(token);
      assert.ok(m, token);
      assert.equal(m[1], record.id);
      assert.ok(Buffer.from(m[2]!, 'base64url').length >= 32, 'at least 32 random bytes');
      assert.deepEqual(record, { id: record.id, name: 'ci', tenant: 't1', scopes: ['read', 'write'], createdAtMs: T0, expiresAtMs: 0, revokedAtMs: 0, lastUsedAtMs: 0 });
      const v = await s.verify(token, T0 + 5 * MIN);
      assert.equal(v?.id, record.id);
      assert.equal(v?.lastUsedAtMs, T0 + 5 * MIN);
      const other = await s.create({ name: 'ci', tenant: 't1', scopes: ['read'] }, T0);
      assert.notEqual(other.token, token);
      assert.notEqual(other.record.id, record.id);
      await close();
    });

    it('refuses wrong, tampered, malformed, revoked and expired tokens', async () => {
      const { store: s, close } = await make();
      const { record, token } = await s.create({ name: 'k', tenant: '', scopes: ['admin'], expiresAtMs: T0 + DAY }, T0);
      const other = await s.create({ name: 'k2', tenant: '', scopes: ['read'] }, T0);
      assert.equal(await s.verify(tamper(token), T0), undefined);
      // The id of one key with the secret of another.
      assert.equal(await s.verify(`aiops_${record.id}_${other.token.slice(-43)}`, T0), undefined);
      for (const bad of ['', 'aiops_', token.slice(0, -1), `${token}x`, token.toUpperCase(), `Bearer ${token}`, 42 as never]) {
        assert.equal(await s.verify(bad, T0), undefined, String(bad));
      }
      assert.equal(await s.verify(token, T0 + DAY), undefined, 'expired at expiresAtMs');
      assert.ok(await s.verify(token, T0 + DAY - 1));
      assert.equal(await s.revoke(record.id, T0 + 1000), true);
      assert.equal(await s.revoke(record.id, T0 + 2000), false, 'already revoked');
      assert.equal(await s.revoke('k_nope', T0), false);
      assert.equal(await s.verify(token, T0 + 3000), undefined);
      const listed = await s.list();
      const byId = (a: [string, number], b: [string, number]) => (a[0] < b[0] ? -1 : 1);
      assert.deepEqual(listed.map((k): [string, number] => [k.id, k.revokedAtMs]).sort(byId), ([[record.id, T0 + 1000], [other.record.id, 0]] as Array<[string, number]>).sort(byId));
      assert.ok(!JSON.stringify(listed).includes(token.slice(-43)), 'listings never hold a secret');
      await close();
    });

    it('refuses bad input clearly without echoing secrets', async () => {
      const { store: s, close } = await make();
      await assert.rejects(s.create({ name: '', tenant: 't', scopes: ['read'] }, T0), isStorageError('INVALID_ARGUMENT', /name/));
      await assert.rejects(s.create({ name: 'n', tenant: 't', scopes: [] }, T0), isStorageError('INVALID_ARGUMENT', /scopes/));
      await assert.rejects(s.create({ name: 'n', tenant: 't', scopes: ['root' as never] }, T0), isStorageError('INVALID_ARGUMENT', /unknown scope/));
      await assert.rejects(s.create({ name: 'n', tenant: 't', scopes: ['read'], expiresAtMs: T0 }, T0), isStorageError('INVALID_ARGUMENT', /expiresAtMs/));
      assert.deepEqual(await s.list(), []);
      await close();
    });
  });
}

export function runAgentStoreContract(name: string, make: SubjectFactory<AgentStore>): void {
  describe(`AgentStore contract: ${name}`, () => {
    it('enrolls an agent once per token and verifies its secret', async () => {
      const { store: s, close } = await make();
      const { token, expiresAtMs } = await s.createEnrollmentToken({ tenant: 't1', expiresAtMs: T0 + DAY, createdBy: 'k_admin' }, T0);
      assert.equal(expiresAtMs, T0 + DAY);
      assert.match(token, /^aiops_e_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      const e = await s.enroll(token, 'host-1', T0 + MIN);
      assert.ok(e);
      assert.deepEqual(e.record, { agentId: 'host-1', tenant: 't1', enrolledAtMs: T0 + MIN, revokedAtMs: 0, lastSeenAtMs: 0 });
      assert.ok(Buffer.from(e.secret.replace(/^aiops_a_/, ''), 'base64url').length >= 32);
      assert.equal(await s.enroll(token, 'host-2', T0 + MIN), undefined, 'a token is used once');
      assert.deepEqual(await s.verify('host-1', e.secret, T0 + MIN), e.record);
      assert.equal(await s.verify('host-1', tamper(e.secret), T0 + MIN), undefined);
      assert.equal(await s.verify('host-2', e.secret, T0 + MIN), undefined);
      assert.equal(await s.verify('host-1', '', T0 + MIN), undefined);
      await close();
    });

    it('refuses expired, unknown and tampered enrollment tokens', async () => {
      const { store: s, close } = await make();
      const { token } = await s.createEnrollmentToken({ tenant: 't1', expiresAtMs: T0 + MIN, createdBy: 'cli' }, T0);
      assert.equal(await s.enroll(tamper(token), 'h', T0), undefined);
      assert.equal(await s.enroll('aiops_e_0123456789abcdef_' + 'A'.repeat(43), 'h', T0), undefined);
      assert.equal(await s.enroll('garbage', 'h', T0), undefined);
      assert.equal(await s.enroll(token, 'h', T0 + MIN), undefined, 'expired at expiresAtMs');
      assert.deepEqual(await s.list(), []);
      await close();
    });

    it('revokes, re-enrolls (rotating the secret) and refuses an id of another tenant', async () => {
      const { store: s, close } = await make();
      const t1 = await s.createEnrollmentToken({ tenant: 't1', expiresAtMs: T0 + DAY, createdBy: 'cli' }, T0);
      const first = (await s.enroll(t1.token, 'host-1', T0))!;
      assert.equal(await s.revoke('host-1', T0 + 1000), true);
      assert.equal(await s.revoke('host-1', T0 + 2000), false);
      assert.equal(await s.revoke('nope', T0), false);
      assert.equal(await s.verify('host-1', first.secret, T0 + 3000), undefined, 'revoked');
      assert.equal((await s.list())[0]?.revokedAtMs, T0 + 1000);
      assert.deepEqual(await s.get('host-1'), (await s.list())[0], 'get returns what list holds, revoked included');
      assert.equal(await s.get('nope'), undefined);

      const again = await s.createEnrollmentToken({ tenant: 't1', expiresAtMs: T0 + DAY, createdBy: 'cli' }, T0);
      const second = (await s.enroll(again.token, 'host-1', T0 + 5000))!;
      assert.equal(second.record.revokedAtMs, 0);
      assert.notEqual(second.secret, first.secret);
      assert.equal(await s.verify('host-1', first.secret, T0 + 6000), undefined, 'the old secret stops working');
      assert.ok(await s.verify('host-1', second.secret, T0 + 6000));

      const t2 = await s.createEnrollmentToken({ tenant: 't2', expiresAtMs: T0 + DAY, createdBy: 'cli' }, T0);
      await assert.rejects(s.enroll(t2.token, 'host-1', T0 + 7000), isStorageError('CONFLICT', /another tenant/));
      assert.ok(await s.enroll(t2.token, 'host-9', T0 + 8000), 'the token was not consumed by the refused enrollment');
      assert.deepEqual((await s.list()).map((a) => [a.agentId, a.tenant]), [['host-1', 't1'], ['host-9', 't2']]);
      await close();
    });

    it('touch moves lastSeen forward only and ignores unknown agents', async () => {
      const { store: s, close } = await make();
      const { token } = await s.createEnrollmentToken({ tenant: '', expiresAtMs: T0 + DAY, createdBy: 'cli' }, T0);
      await s.enroll(token, 'h', T0);
      await s.touch('h', T0 + 5000);
      await s.touch('h', T0 + 1000);
      await s.touch('unknown', T0);
      assert.deepEqual((await s.list()).map((a) => [a.agentId, a.lastSeenAtMs]), [['h', T0 + 5000]]);
      await close();
    });

    it('refuses bad input', async () => {
      const { store: s, close } = await make();
      await assert.rejects(s.createEnrollmentToken({ tenant: 't', expiresAtMs: T0, createdBy: 'cli' }, T0), isStorageError('INVALID_ARGUMENT', /expiresAtMs/));
      await assert.rejects(s.createEnrollmentToken({ tenant: 't', expiresAtMs: T0 + 31 * DAY, createdBy: 'cli' }, T0), isStorageError('INVALID_ARGUMENT', /30 days/));
      await assert.rejects(s.createEnrollmentToken({ tenant: 't', expiresAtMs: T0 + DAY, createdBy: '' }, T0), isStorageError('INVALID_ARGUMENT', /createdBy/));
      const { token } = await s.createEnrollmentToken({ tenant: 't', expiresAtMs: T0 + DAY, createdBy: 'cli' }, T0);
      for (const bad of ['', 'a/b', 'a+b', '#', 'x'.repeat(129), 'a b']) {
        await assert.rejects(s.enroll(token, bad, T0), isStorageError('INVALID_ARGUMENT', /agentId/), bad);
      }
      assert.ok(await s.enroll(token, 'ok-1.host_a:9', T0), 'the refused calls did not use the token');
      await close();
    });
  });
}
