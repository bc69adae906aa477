// The SQLite AlertStore, IncidentStore, AuditLog, ApiKeyStore and AgentStore against their
// shared contracts, file-backed (WAL) and in memory, plus what is specific to SQLite.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStores } from './stores.js';
import type { SqliteStores } from './stores.js';
import {
  runAgentStoreContract,
  runAlertStoreContract,
  runApiKeyStoreContract,
  runAuditLogContract,
  runIncidentStoreContract,
} from './testing/index.js';
import type { ContractSubject } from './testing/index.js';

const now = () => Date.UTC(2026, 0, 1);

async function openFile(): Promise<{ stores: SqliteStores; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-stores-'));
  const stores = openSqliteStores(join(dir, 'central.db'), { now });
  return {
    stores,
    async close() {
      await stores.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function openMemory(): Promise<{ stores: SqliteStores; close(): Promise<void> }> {
  const stores = openSqliteStores(':memory:', { now });
  return { stores, close: () => stores.close() };
}

for (const [kind, open] of [['sqlite file (WAL)', openFile], ['sqlite :memory:', openMemory]] as const) {
  const subject =
    <T>(pick: (s: SqliteStores) => T) =>
    async (): Promise<ContractSubject<T>> => {
      const o = await open();
      return { store: pick(o.stores), close: o.close };
    };
  runAlertStoreContract(kind, subject((s) => s.alerts));
  runIncidentStoreContract(kind, subject((s) => s.incidents));
  runAuditLogContract(kind, subject((s) => s.audit));
  runApiKeyStoreContract(kind, subject((s) => s.apiKeys));
  runAgentStoreContract(kind, subject((s) => s.agents));
}

describe('SQLite specifics', () => {
  it('the audit log is append-only at the storage level (UPDATE and DELETE are refused)', async () => {
    const { stores, close } = await openMemory();
    await stores.audit.append({ atMs: 1, actor: 'cli', action: 'x.y', target: 't' });
    assert.throws(() => stores.db.handle.prepare("UPDATE audit_log SET actor = 'mallory'").run(), /append-only/);
    assert.throws(() => stores.db.handle.prepare('DELETE FROM audit_log').run(), /append-only/);
    assert.equal((await stores.audit.list({}))[0]?.actor, 'cli');
    await close();
  });

  it('stores credentials only as salted hashes: no column holds a plaintext secret', async () => {
    const { stores, close } = await openFile();
    const key = await stores.apiKeys.create({ name: 'ci', tenant: 't', scopes: ['read'] }, 1);
    const enrollment = await stores.agents.createEnrollmentToken({ tenant: 't', expiresAtMs: 10_000, createdBy: 'cli' }, 1);
    const agent = (await stores.agents.enroll(enrollment.token, 'h1', 2))!;
    const secrets = [key.token.slice(-43), enrollment.token.slice(-43), agent.secret.slice(-43)];
    const h = stores.db.handle;
    for (const table of ['api_keys', 'enrollment_tokens', 'agents']) {
      const rows = h.prepare(`SELECT * FROM ${table}`).all() as Array<Record<string, unknown>>;
      assert.equal(rows.length, 1);
      const row = rows[0]!;
      assert.equal((row['salt'] as Buffer).length, 16, `${table}.salt`);
      assert.equal((row['hash'] as Buffer).length, 32, `${table}.hash`);
      const dump = JSON.stringify(row, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64url') : v));
      for (const s of secrets) assert.ok(!dump.includes(s), `${table} holds a secret`);
    }
    await close();
  });

  it('prunes resolved alerts and incidents past their retention, never firing or open ones', async () => {
    const { stores, close } = await openMemory();
    const base = { annotations: {}, startsAtMs: 1, endsAtMs: 0, generatorUrl: '', fingerprint: '', tenant: 't', source: 's' };
    await stores.alerts.upsert({ ...base, status: 'firing', labels: { alertname: 'old-firing' } }, 10);
    await stores.alerts.upsert({ ...base, status: 'resolved', labels: { alertname: 'old-resolved' } }, 10);
    await stores.alerts.upsert({ ...base, status: 'resolved', labels: { alertname: 'new-resolved' } }, 1000);
    assert.equal(await stores.alerts.pruneResolved(500), 1);
    assert.deepEqual((await stores.alerts.list('t', {})).map((a) => a.labels['alertname']).sort(), ['new-resolved', 'old-firing']);
    const inc = { id: 'a', tenant: 't', title: '', status: 'resolved' as const, severity: 'info' as const, openedAtMs: 1, updatedAtMs: 10, resolvedAtMs: 10, representativeFingerprint: '', alertFingerprints: [], services: [], commonLabels: {}, rootCauses: [] };
    await stores.incidents.put(inc);
    await stores.incidents.put({ ...inc, id: 'b', status: 'open', resolvedAtMs: 0 });
    assert.equal(await stores.incidents.pruneResolved(500), 1);
    assert.deepEqual((await stores.incidents.list('t', {})).map((i) => i.id), ['b']);
    await close();
  });

  it('two stores on one database share it; closing the bundle closes everything', async () => {
    const { stores, close } = await openMemory();
    await stores.metrics.writeSamples([{ labels: { __name__: 'm' }, tsMs: now(), value: 1 }]);
    await stores.alerts.upsert({ status: 'firing', labels: { alertname: 'A' }, annotations: {}, startsAtMs: 1, endsAtMs: 0, generatorUrl: '', fingerprint: '', tenant: '', source: 's' }, 2);
    await close();
    await close();
    assert.equal(stores.db.closed, true);
    await assert.rejects(stores.alerts.list('', {}), /closed/);
  });
});
