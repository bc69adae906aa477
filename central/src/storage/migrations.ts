// Versioned schema migrations. The database records every applied migration in
// `schema_migrations (id, name, applied_at_ms)`; `migrate` applies the missing ones in id
// order, each in its own IMMEDIATE transaction together with its record, so a crash or a
// failing migration leaves the database at the previous version and a second process opening
// the same file at the same moment waits for the first instead of applying twice.
//
// A database that holds a migration id this build does not know was written by a newer
// build: it is refused (SCHEMA_TOO_NEW) rather than used, because an older build could corrupt
// tables whose meaning changed. A database whose recorded name of a known id differs is not
// ours or was edited (SCHEMA_MISMATCH). Migrations are append-only: never edit or renumber a
// released one; add a new one.
import type Database from 'better-sqlite3';
import { StorageError, toStorageError } from './errors.js';

export interface Migration {
  /** Positive integer, strictly increasing through the list; the schema version once applied. */
  id: number;
  /** Short description, recorded with the id (`metrics: series, samples, rollups`). */
  name: string;
  /** SQL script (may hold several statements) or a function run inside the transaction. */
  up: string | ((db: Database.Database) => void);
}

export interface MigrateResult {
  /** Schema version before (0 = empty database). */
  from: number;
  /** Schema version now. */
  to: number;
  /** Ids applied by this call. */
  applied: number[];
}

interface AppliedRow {
  id: number;
  name: string;
}

/** Checks a migration list: ids positive integers, strictly increasing; names non-empty. */
export function checkMigrations(migrations: readonly Migration[]): void {
  let prev = 0;
  for (const m of migrations) {
    if (!Number.isSafeInteger(m.id) || m.id <= prev) {
      throw new StorageError('INVALID_ARGUMENT', `migration ids must be positive integers in strictly increasing order (got ${m.id} after ${prev})`);
    }
    if (typeof m.name !== 'string' || m.name.trim() === '') throw new StorageError('INVALID_ARGUMENT', `migration ${m.id} needs a name`);
    prev = m.id;
  }
}

/** The current schema version of an open database (0 when no migration was applied). */
export function schemaVersion(db: Database.Database): number {
  if (!hasMigrationsTable(db)) return 0;
  const row = db.prepare('SELECT MAX(id) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

function hasMigrationsTable(db: Database.Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get() !== undefined;
}

function checkApplied(applied: readonly AppliedRow[], known: ReadonlyMap<number, Migration>, lastKnown: number, where: string): void {
  for (const row of applied) {
    const m = known.get(row.id);
    if (m === undefined) {
      if (row.id > lastKnown) {
        throw new StorageError(
          'SCHEMA_TOO_NEW',
          `${where} is at schema version ${Math.max(...applied.map((r) => r.id))} ("${applied[applied.length - 1]?.name ?? ''}") but this build knows versions up to ${lastKnown}: it was written by a newer build; run that build or restore a backup taken before the upgrade`,
        );
      }
      throw new StorageError('SCHEMA_MISMATCH', `${where} records migration ${row.id} ("${row.name}") that this build does not have: not a database of this build`);
    }
    if (m.name !== row.name) {
      throw new StorageError('SCHEMA_MISMATCH', `${where} records migration ${row.id} as "${row.name}" but this build calls it "${m.name}": not a database of this build`);
    }
  }
}

/**
 * Applies the missing migrations in order. `where` names the database in error messages (its
 * path). Throws SCHEMA_TOO_NEW / SCHEMA_MISMATCH before touching anything, and
 * MIGRATION_FAILED (with the SQLite error as cause) when a migration fails.
 */
export function migrate(db: Database.Database, migrations: readonly Migration[], opts: { now: () => number; where?: string }): MigrateResult {
  checkMigrations(migrations);
  const where = opts.where ?? 'the database';
  const known = new Map(migrations.map((m) => [m.id, m]));
  const lastKnown = migrations.length === 0 ? 0 : (migrations[migrations.length - 1] as Migration).id;
  if (!hasMigrationsTable(db)) {
    const foreign = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1").get() as { name: string } | undefined;
    if (foreign !== undefined) {
      throw new StorageError('SCHEMA_MISMATCH', `${where} holds tables (e.g. "${foreign.name}") but no schema_migrations: not a database of this build`);
    }
  }
  try {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)');
  } catch (err) {
    throw toStorageError(err, `cannot create schema_migrations in ${where}`);
  }
  const readApplied = db.prepare('SELECT id, name FROM schema_migrations ORDER BY id');
  const record = db.prepare('INSERT INTO schema_migrations (id, name, applied_at_ms) VALUES (?, ?, ?)');
  const before = readApplied.all() as AppliedRow[];
  checkApplied(before, known, lastKnown, where);
  const from = before.length === 0 ? 0 : (before[before.length - 1] as AppliedRow).id;
  const applied: number[] = [];
  for (const m of migrations) {
    const step = db.transaction(() => {
      // Re-read inside the write lock: another process may have applied it meanwhile.
      if (db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?').get(m.id) !== undefined) return false;
      if (typeof m.up === 'string') db.exec(m.up);
      else m.up(db);
      record.run(m.id, m.name, opts.now());
      db.pragma(`user_version = ${m.id}`);
      return true;
    });
    try {
      if (step.immediate()) applied.push(m.id);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const wrapped = toStorageError(err, `migration ${m.id} ("${m.name}") of ${where}`);
      if (wrapped.code === 'BUSY' || wrapped.code === 'DISK_FULL' || wrapped.code === 'IO' || wrapped.code === 'READ_ONLY' || wrapped.code === 'CORRUPT') throw wrapped;
      throw new StorageError('MIGRATION_FAILED', `${wrapped.message}; rolled back, the database stays at version ${applied.at(-1) ?? from}`, false, { cause: err });
    }
  }
  const after = readApplied.all() as AppliedRow[];
  checkApplied(after, known, lastKnown, where);
  return { from, to: after.length === 0 ? 0 : (after[after.length - 1] as AppliedRow).id, applied };
}
