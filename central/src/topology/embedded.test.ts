// The embedded topology store: the topology store contract on central's SQLite database, and
// what only it shows - the topology survives a restart of the process (reopening the file).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDatabase } from '../storage/database.js';
import type { SqliteDatabase } from '../storage/database.js';
import { EmbeddedTopologyStore } from './embedded.js';
import { runTopologyStoreContract, SHOP } from './testing/store-contract.js';

let dir: string;
const dbs: SqliteDatabase[] = [];
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aiops-topology-'));
});
after(async () => {
  for (const db of dbs) if (!db.closed) db.close();
  await rm(dir, { recursive: true, force: true });
});
const open = (file = ':memory:') => {
  const db = openDatabase(file, { now: () => Date.now() });
  dbs.push(db);
  return db;
};

runTopologyStoreContract('embedded', async () => new EmbeddedTopologyStore(open()));

describe('embedded topology store', () => {
  it('keeps the topology across a restart (the database file reopened)', async () => {
    const file = join(dir, 'central.db');
    const a = open(file);
    await new EmbeddedTopologyStore(a).putDeclared('default', SHOP, 1000);
    a.close();
    const s = new EmbeddedTopologyStore(open(file));
    assert.equal((await s.snapshot('default')).nodes.length, 9);
    assert.deepEqual((await s.blastRadius('default', 'cache:redis')).map((r) => r.id), ['service:cart', 'service:checkout', 'service:frontend', 'lb:edge']);
  });

  it('says it is closed once its database is', async () => {
    const db = open();
    const s = new EmbeddedTopologyStore(db);
    db.close();
    await assert.rejects(s.snapshot('default'), /closed/);
  });
});
