// ConfigStore on SQLite: one row per (tenant, name) holding the latest version of a JSON
// document, with an optimistic-concurrency version (the REST API's ETag / If-Match). Every
// put is audited by the caller (the API), not here.
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant } from './alert-store.js';
import { show } from './labels.js';
import type { ConfigDocument, ConfigStore } from './types.js';

const NAME_RE = /^[a-z][a-z0-9_.-]{0,63}$/;
/** A config document larger than this is refused (topologies of a few thousand nodes fit). */
export const MAX_CONFIG_DOCUMENT_BYTES = 8 * 1024 * 1024;

interface Row {
  tenant: string;
  name: string;
  version: number;
  body: string;
  updated_at_ms: number;
  updated_by: string;
}

function toDoc(r: Row): ConfigDocument {
  return { tenant: r.tenant, name: r.name, version: r.version, body: JSON.parse(r.body) as unknown, updatedAtMs: r.updated_at_ms, updatedBy: r.updated_by };
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) throw new StorageError('INVALID_ARGUMENT', `config name must match ${NAME_RE} (got ${show(name)})`);
  return name;
}

export class SqliteConfigStore implements ConfigStore {
  private readonly st;

  constructor(private readonly db: SqliteDatabase) {
    const h = db.handle;
    try {
      this.st = {
        get: h.prepare('SELECT * FROM config_documents WHERE tenant = ? AND name = ?'),
        list: h.prepare('SELECT * FROM config_documents WHERE name = ? ORDER BY tenant'),
        upsert: h.prepare(`INSERT INTO config_documents (tenant, name, version, body, updated_at_ms, updated_by) VALUES (?, ?, 1, ?, ?, ?)
          ON CONFLICT (tenant, name) DO UPDATE SET version = config_documents.version + 1, body = excluded.body,
            updated_at_ms = excluded.updated_at_ms, updated_by = excluded.updated_by`),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the config store (is the database migrated?)');
    }
  }

  async get(tenant: string, name: string): Promise<ConfigDocument | undefined> {
    this.ensureOpen();
    checkTenant(tenant);
    checkName(name);
    try {
      const r = this.st.get.get(tenant, name) as Row | undefined;
      return r === undefined ? undefined : toDoc(r);
    } catch (err) {
      throw toStorageError(err, 'config lookup failed');
    }
  }

  async list(name: string): Promise<ConfigDocument[]> {
    this.ensureOpen();
    checkName(name);
    try {
      return (this.st.list.all(name) as Row[]).map(toDoc);
    } catch (err) {
      throw toStorageError(err, 'config listing failed');
    }
  }

  async put(input: { tenant: string; name: string; body: unknown; updatedBy: string; expectedVersion?: number }, nowMs: number): Promise<ConfigDocument> {
    this.ensureOpen();
    checkTenant(input.tenant);
    checkName(input.name);
    checkNow(nowMs);
    if (typeof input.updatedBy !== 'string' || input.updatedBy === '') throw new StorageError('INVALID_ARGUMENT', 'updatedBy must be a non-empty string');
    const ev = input.expectedVersion;
    if (ev !== undefined && (!Number.isSafeInteger(ev) || ev < 0)) throw new StorageError('INVALID_ARGUMENT', `expectedVersion must be an integer >= 0 (got ${show(ev)})`);
    let body: string;
    try {
      body = JSON.stringify(input.body);
    } catch (err) {
      throw new StorageError('INVALID_ARGUMENT', `config body is not JSON-serialisable: ${(err as Error).message}`);
    }
    if (body === undefined) throw new StorageError('INVALID_ARGUMENT', 'config body is missing');
    if (Buffer.byteLength(body) > MAX_CONFIG_DOCUMENT_BYTES) throw new StorageError('INVALID_ARGUMENT', `config document larger than ${MAX_CONFIG_DOCUMENT_BYTES} bytes`);
    try {
      return this.db.handle.transaction(() => {
        const cur = this.st.get.get(input.tenant, input.name) as Row | undefined;
        if (ev !== undefined && (cur?.version ?? 0) !== ev) {
          throw new StorageError('CONFLICT', `config "${input.name}" is at version ${cur?.version ?? 0}, not ${ev}: read it again and retry`);
        }
        this.st.upsert.run(input.tenant, input.name, body, nowMs, input.updatedBy);
        return toDoc(this.st.get.get(input.tenant, input.name) as Row);
      })();
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw toStorageError(err, `config "${input.name}" not stored`);
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the config store is closed (its database was closed)');
  }
}
