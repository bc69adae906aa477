import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDatabase } from './database.js';
import { StorageError } from './errors.js';
import { checkMigrations, migrate, schemaVersion } from './migrations.js';
import type { Migration } from './migrations.js';
import { STORAGE_MIGRATIONS } from './schema.js';

const now = () => 1_000;

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function tempPath(name = 'central.db'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'aiops-db-'));
  dirs.push(dir);
  return join(dir, name);
}

function isStorageError(code: string, message?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => e instanceof StorageError && e.code === code && (message === undefined || message.test(e.message));
}

const M1: Migration = { id: 1, name: 'one', up: 'CREATE TABLE a (x INTEGER)' };
const M2: Migration = { id: 2, name: 'two', up: (db) => db.exec('CREATE TABLE b (y INTEGER)') };

describe('openDatabase', () => {
  it('opens a file in WAL mode, synchronous NORMAL, foreign keys on, busy timeout, owner-only, migrated', async () => {
    const path = await tempPath();
    const db = openDatabase(path, { now });
    const h = db.handle;
    assert.equal(h.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(h.pragma('synchronous', { simple: true }), 1, 'NORMAL');
    assert.equal(h.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(h.pragma('busy_timeout', { simple: true }), 5000);
    assert.equal(h.pragma('wal_autocheckpoint', { simple: true }), 10_000);
    assert.equal(db.schemaVersion, STORAGE_MIGRATIONS.at(-1)!.id);
    assert.equal(h.pragma('user_version', { simple: true }), db.schemaVersion);
    assert.deepEqual(db.integrityCheck(), []);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    db.close();
    db.close();
    assert.equal(db.closed, true);
    const again = openDatabase(path, { now, synchronous: 'FULL', busyTimeoutMs: 50 });
    assert.equal(again.handle.pragma('synchronous', { simple: true }), 2, 'FULL');
    assert.equal(again.handle.pragma('busy_timeout', { simple: true }), 50);
    assert.equal(again.schemaVersion, db.schemaVersion);
    again.close();
  });

  it('opens a private in-memory database', () => {
    const db = openDatabase(':memory:', { now });
    assert.equal(db.path, ':memory:');
    assert.equal(db.schemaVersion, STORAGE_MIGRATIONS.at(-1)!.id);
    db.close();
  });

  it('refuses bad options, and a file that is not a database', async () => {
    assert.throws(() => openDatabase(':memory:', { now, synchronous: 'OFF' as never }), isStorageError('INVALID_ARGUMENT', /synchronous/));
    assert.throws(() => openDatabase(':memory:', { now, busyTimeoutMs: -1 }), isStorageError('INVALID_ARGUMENT', /busyTimeoutMs/));
    assert.throws(() => openDatabase(':memory:', { now, checkpoint: 'later' as never }), isStorageError('INVALID_ARGUMENT', /checkpoint/));
    assert.throws(() => openDatabase(':memory:', { now, checkpointIntervalMs: 0 }), isStorageError('INVALID_ARGUMENT', /checkpointIntervalMs/));
    assert.throws(() => openDatabase('', { now }), isStorageError('INVALID_ARGUMENT'));
    const path = await tempPath();
    writeFileSync(path, 'this is not a database, just some text long enough to have a header.........'.repeat(20));
    assert.throws(() => openDatabase(path, { now }), isStorageError('CORRUPT'));
  });
});

describe('migrations', () => {
  it('apply in order, each recorded, and only once', async () => {
    const path = await tempPath();
    const h = new Database(path);
    assert.deepEqual(migrate(h, [M1, M2], { now }), { from: 0, to: 2, applied: [1, 2] });
    assert.deepEqual(migrate(h, [M1, M2], { now }), { from: 2, to: 2, applied: [] });
    assert.deepEqual(h.prepare('SELECT id, name, applied_at_ms FROM schema_migrations ORDER BY id').all(), [
      { id: 1, name: 'one', applied_at_ms: 1000 },
      { id: 2, name: 'two', applied_at_ms: 1000 },
    ]);
    assert.equal(schemaVersion(h), 2);
    h.close();
  });

  it('upgrade an older database with the new migrations only', () => {
    const h = new Database(':memory:');
    migrate(h, [M1], { now });
    assert.deepEqual(migrate(h, [M1, M2], { now }), { from: 1, to: 2, applied: [2] });
    h.close();
  });

  it('refuse a database written by a newer build, before touching it', () => {
    const h = new Database(':memory:');
    migrate(h, [M1, M2], { now });
    assert.throws(() => migrate(h, [M1], { now, where: 'database /x/central.db' }), (e: unknown) => {
      assert.ok(isStorageError('SCHEMA_TOO_NEW')(e));
      assert.match((e as Error).message, /database \/x\/central\.db is at schema version 2 \("two"\) but this build knows versions up to 1: it was written by a newer build/);
      return true;
    });
    assert.equal(schemaVersion(h), 2);
    h.close();
  });

  it('refuse a database whose history differs (renamed migration, foreign tables)', () => {
    const h = new Database(':memory:');
    migrate(h, [M1], { now });
    assert.throws(() => migrate(h, [{ ...M1, name: 'uno' }], { now }), isStorageError('SCHEMA_MISMATCH', /"one" but this build calls it "uno"/));
    const foreign = new Database(':memory:');
    foreign.exec('CREATE TABLE users (id INTEGER)');
    assert.throws(() => migrate(foreign, [M1], { now }), isStorageError('SCHEMA_MISMATCH', /"users"/));
    h.close();
    foreign.close();
  });

  it('roll a failing migration back whole and stay at the previous version', () => {
    const h = new Database(':memory:');
    const bad: Migration = { id: 3, name: 'bad', up: 'CREATE TABLE c (z INTEGER); INSERT INTO nope VALUES (1);' };
    assert.throws(() => migrate(h, [M1, M2, bad], { now }), (e: unknown) => {
      assert.ok(isStorageError('MIGRATION_FAILED', /migration 3 \("bad"\).*no such table: nope.*stays at version 2/)(e), String(e));
      return true;
    });
    assert.equal(schemaVersion(h), 2);
    assert.equal(h.prepare("SELECT 1 FROM sqlite_master WHERE name = 'c'").get(), undefined, 'partial DDL rolled back');
    h.close();
  });

  it('check the list: ids increasing, names present', () => {
    assert.throws(() => checkMigrations([M2, M1]), isStorageError('INVALID_ARGUMENT', /strictly increasing/));
    assert.throws(() => checkMigrations([M1, { ...M2, id: 1 }]), isStorageError('INVALID_ARGUMENT'));
    assert.throws(() => checkMigrations([{ ...M1, name: ' ' }]), isStorageError('INVALID_ARGUMENT', /name/));
    checkMigrations(STORAGE_MIGRATIONS);
  });

  it('a second connection to the same file applies only what the first has not', async () => {
    const path = await tempPath();
    const a = new Database(path, { timeout: 5000 });
    const b = new Database(path, { timeout: 5000 });
    a.pragma('journal_mode = WAL');
    migrate(a, [M1], { now });
    // b still believes nothing is applied beyond what it read: the in-transaction re-check skips it.
    assert.deepEqual(migrate(b, [M1, M2], { now }).applied, [2]);
    assert.deepEqual(migrate(a, [M1, M2], { now }).applied, []);
    a.close();
    b.close();
  });
});
