// API keys and agent credentials on SQLite.
//
// Token formats (prefixed so secret scanners and the audit log's redaction recognise them):
//   API key           aiops_k_<16 hex id>_<43 base64url secret>
//   enrollment token  aiops_e_<16 hex id>_<43 base64url secret>
//   agent secret      aiops_a_<43 base64url secret>        (presented with the agent id)
// Each secret is 32 bytes from crypto.randomBytes (256 bits). The id is public (it appears in
// listings and audit entries); only the secret authenticates.
//
// Storage: a per-credential random 16-byte salt and HMAC-SHA-256(salt, secret). A slow
// password hash (scrypt, argon2) exists to make guessing low-entropy human passwords
// expensive; these secrets have 256 bits of entropy, so a fast hash leaves brute force as
// hopeless as it is against the key itself, while a verification on every API request and
// agent connection costs ~2 microseconds instead of ~50 ms of CPU (a slow hash on every
// request would also be a denial-of-service lever). The salt makes equal secrets hash
// differently and precomputed tables useless. Comparison is constant-time (timingSafeEqual),
// and an unknown id still computes a hash so both paths cost the same.
//
// Neither plaintext secrets nor hashes leave this module: records carry ids and metadata only,
// and error messages never echo a token.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { SqliteDatabase } from './database.js';
import { StorageError, toStorageError } from './errors.js';
import { checkNow, checkTenant } from './alert-store.js';
import { isPlainObject, show } from './labels.js';
import { API_KEY_SCOPES } from './types.js';
import type { AgentRecord, AgentStore, ApiKeyRecord, ApiKeyScope, ApiKeyStore } from './types.js';

/** Matches every credential this module issues (for redaction). */
export const TOKEN_PATTERN = /aiops_(?:[ke]_[0-9a-f]{16}_|a_)[A-Za-z0-9_-]{43}/;
const API_KEY_TOKEN = /^aiops_(k_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const ENROLL_TOKEN = /^aiops_(e_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const AGENT_SECRET = /^aiops_a_([A-Za-z0-9_-]{43})$/;
/** Agent ids become an MQTT topic level (`aiops/v1/<tenant>/agents/<agentId>/...`). */
const AGENT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SECRET_BYTES = 32;
const SALT_BYTES = 16;
/** lastUsedAtMs is written at most this often per key (verify runs on every request). */
const LAST_USED_RESOLUTION_MS = 60_000;
export const MAX_ENROLLMENT_TOKEN_LIFETIME_MS = 30 * 24 * 3600_000;
/** Enrollment tokens are deleted this long after they expired. */
const ENROLLMENT_TOKEN_KEEP_MS = 7 * 24 * 3600_000;

function newSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

function newId(prefix: 'k' | 'e'): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

function hash(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

const DUMMY_SALT = randomBytes(SALT_BYTES);
const DUMMY_HASH = hash(DUMMY_SALT, 'x');

/** Constant-time check of `secret` against a stored salt and hash (a dummy when absent). */
function secretMatches(row: { salt: Buffer; hash: Buffer } | undefined, secret: string): boolean {
  const salt = row?.salt ?? DUMMY_SALT;
  const expected = row?.hash ?? DUMMY_HASH;
  const actual = hash(salt, secret);
  return actual.length === expected.length && timingSafeEqual(actual, expected) && row !== undefined;
}

function checkText(value: unknown, name: string, max = 256): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new StorageError('INVALID_ARGUMENT', `${name} must be a non-empty string of at most ${max} characters (got ${show(value)})`);
  }
  return value;
}

// ------------------------------------------------------------------ API keys

interface KeyRow {
  id: string;
  name: string;
  tenant: string;
  scopes: string;
  salt: Buffer;
  hash: Buffer;
  created_at_ms: number;
  expires_at_ms: number;
  revoked_at_ms: number;
  last_used_at_ms: number;
}

function keyRecord(r: KeyRow): ApiKeyRecord {
  return {
    id: r.id,
    name: r.name,
    tenant: r.tenant,
    scopes: JSON.parse(r.scopes) as ApiKeyScope[],
    createdAtMs: r.created_at_ms,
    expiresAtMs: r.expires_at_ms,
    revokedAtMs: r.revoked_at_ms,
    lastUsedAtMs: r.last_used_at_ms,
  };
}

export class SqliteApiKeyStore implements ApiKeyStore {
  private readonly st;

  constructor(private readonly db: SqliteDatabase) {
    const h = db.handle;
    try {
      this.st = {
        insert: h.prepare('INSERT INTO api_keys (id, name, tenant, scopes, salt, hash, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
        get: h.prepare('SELECT * FROM api_keys WHERE id = ?'),
        used: h.prepare('UPDATE api_keys SET last_used_at_ms = @now WHERE id = @id AND last_used_at_ms < @now'),
        revoke: h.prepare('UPDATE api_keys SET revoked_at_ms = ? WHERE id = ? AND revoked_at_ms = 0'),
        list: h.prepare('SELECT * FROM api_keys ORDER BY created_at_ms, id'),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the API key store (is the database migrated?)');
    }
  }

  async create(input: { name: string; tenant: string; scopes: ApiKeyScope[]; expiresAtMs?: number }, nowMs: number): Promise<{ record: ApiKeyRecord; token: string }> {
    this.ensureOpen();
    checkNow(nowMs);
    if (!isPlainObject(input)) throw new StorageError('INVALID_ARGUMENT', `key input must be an object (got ${show(input)})`);
    const name = checkText(input.name, 'name');
    const tenant = checkTenant(input.tenant);
    if (!Array.isArray(input.scopes) || input.scopes.length === 0) throw new StorageError('INVALID_ARGUMENT', `scopes must be a non-empty array of ${API_KEY_SCOPES.join(', ')}`);
    const scopes: ApiKeyScope[] = [];
    for (const s of input.scopes) {
      if (!API_KEY_SCOPES.includes(s)) throw new StorageError('INVALID_ARGUMENT', `unknown scope ${show(s)} (known: ${API_KEY_SCOPES.join(', ')})`);
      if (!scopes.includes(s)) scopes.push(s);
    }
    scopes.sort((a, b) => API_KEY_SCOPES.indexOf(a) - API_KEY_SCOPES.indexOf(b));
    const expiresAtMs = input.expiresAtMs ?? 0;
    if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0 || (expiresAtMs !== 0 && expiresAtMs <= nowMs)) {
      throw new StorageError('INVALID_ARGUMENT', `expiresAtMs must be 0 (never) or a time after now ${nowMs} (got ${show(expiresAtMs)})`);
    }
    const secret = newSecret();
    const salt = randomBytes(SALT_BYTES);
    const digest = hash(salt, secret);
    for (let attempt = 0; ; attempt++) {
      const id = newId('k');
      try {
        this.st.insert.run(id, name, tenant, JSON.stringify(scopes), salt, digest, nowMs, expiresAtMs);
        const record: ApiKeyRecord = { id, name, tenant, scopes, createdAtMs: nowMs, expiresAtMs, revokedAtMs: 0, lastUsedAtMs: 0 };
        return { record, token: `aiops_${id}_${secret}` };
      } catch (err) {
        // A 64-bit id collision: astronomically rare, but draw again rather than fail.
        if (attempt < 3 && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') continue;
        throw toStorageError(err, 'API key not created');
      }
    }
  }

  async verify(token: string, nowMs: number): Promise<ApiKeyRecord | undefined> {
    this.ensureOpen();
    checkNow(nowMs);
    const m = typeof token === 'string' ? API_KEY_TOKEN.exec(token) : null;
    if (m === null) return undefined;
    try {
      const row = this.st.get.get(m[1]) as KeyRow | undefined;
      if (!secretMatches(row, m[2] as string) || row === undefined) return undefined;
      if (row.revoked_at_ms !== 0 || (row.expires_at_ms !== 0 && nowMs >= row.expires_at_ms)) return undefined;
      if (nowMs - row.last_used_at_ms >= LAST_USED_RESOLUTION_MS && this.st.used.run({ now: nowMs, id: row.id }).changes > 0) row.last_used_at_ms = nowMs;
      return keyRecord(row);
    } catch (err) {
      throw toStorageError(err, 'API key verification failed');
    }
  }

  /** True when this call revoked an active key; false when unknown or already revoked. */
  async revoke(id: string, nowMs: number): Promise<boolean> {
    this.ensureOpen();
    checkNow(nowMs);
    if (typeof id !== 'string') throw new StorageError('INVALID_ARGUMENT', `id must be a string (got ${show(id)})`);
    try {
      return this.st.revoke.run(nowMs, id).changes > 0;
    } catch (err) {
      throw toStorageError(err, 'API key revocation failed');
    }
  }

  /** Every key (revoked and expired included), oldest first. */
  async list(): Promise<ApiKeyRecord[]> {
    this.ensureOpen();
    try {
      return (this.st.list.all() as KeyRow[]).map(keyRecord);
    } catch (err) {
      throw toStorageError(err, 'API key listing failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the API key store is closed (its database was closed)');
  }
}

// ------------------------------------------------------------------ agents

interface TokenRow {
  id: string;
  tenant: string;
  salt: Buffer;
  hash: Buffer;
  expires_at_ms: number;
  used_at_ms: number;
}

interface AgentRow {
  agent_id: string;
  tenant: string;
  salt: Buffer;
  hash: Buffer;
  enrolled_at_ms: number;
  revoked_at_ms: number;
  last_seen_at_ms: number;
}

function agentRecord(r: AgentRow): AgentRecord {
  return { agentId: r.agent_id, tenant: r.tenant, enrolledAtMs: r.enrolled_at_ms, revokedAtMs: r.revoked_at_ms, lastSeenAtMs: r.last_seen_at_ms };
}

function checkAgentId(agentId: unknown): string {
  if (typeof agentId !== 'string' || !AGENT_ID.test(agentId)) {
    throw new StorageError('INVALID_ARGUMENT', `agentId must be 1-128 characters of A-Z a-z 0-9 . _ : - (it is an MQTT topic level) (got ${show(agentId)})`);
  }
  return agentId;
}

/**
 * Enrollment: an operator creates a one-time token (valid until its expiry, at most 30 days);
 * an agent presents it once with its id and receives its own secret. Enrolling an id that
 * already exists in the same tenant re-enrolls it (a reinstalled host): the old secret stops
 * working and a revoked agent becomes active again, because the operator issued the token.
 * An id enrolled under another tenant is a CONFLICT and the token is not consumed.
 */
export class SqliteAgentStore implements AgentStore {
  private readonly st;

  constructor(private readonly db: SqliteDatabase) {
    const h = db.handle;
    try {
      this.st = {
        insertToken: h.prepare('INSERT INTO enrollment_tokens (id, tenant, salt, hash, created_by, created_at_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
        pruneTokens: h.prepare('DELETE FROM enrollment_tokens WHERE expires_at_ms < ?'),
        getToken: h.prepare('SELECT id, tenant, salt, hash, expires_at_ms, used_at_ms FROM enrollment_tokens WHERE id = ?'),
        useToken: h.prepare('UPDATE enrollment_tokens SET used_at_ms = ?, used_by = ? WHERE id = ? AND used_at_ms = 0'),
        getAgent: h.prepare('SELECT * FROM agents WHERE agent_id = ?'),
        upsertAgent: h.prepare(`INSERT INTO agents (agent_id, tenant, salt, hash, enrolled_at_ms, revoked_at_ms, last_seen_at_ms, enrollment_token_id) VALUES (?, ?, ?, ?, ?, 0, 0, ?)
          ON CONFLICT (agent_id) DO UPDATE SET salt = excluded.salt, hash = excluded.hash, enrolled_at_ms = excluded.enrolled_at_ms, revoked_at_ms = 0,
            enrollment_token_id = excluded.enrollment_token_id`),
        revoke: h.prepare('UPDATE agents SET revoked_at_ms = ? WHERE agent_id = ? AND revoked_at_ms = 0'),
        touch: h.prepare('UPDATE agents SET last_seen_at_ms = @now WHERE agent_id = @id AND last_seen_at_ms < @now'),
        list: h.prepare('SELECT * FROM agents ORDER BY agent_id'),
      };
    } catch (err) {
      throw toStorageError(err, 'cannot prepare the agent store (is the database migrated?)');
    }
  }

  async createEnrollmentToken(input: { tenant: string; expiresAtMs: number; createdBy: string }, nowMs: number): Promise<{ token: string; expiresAtMs: number }> {
    this.ensureOpen();
    checkNow(nowMs);
    if (!isPlainObject(input)) throw new StorageError('INVALID_ARGUMENT', `token input must be an object (got ${show(input)})`);
    const tenant = checkTenant(input.tenant);
    const createdBy = checkText(input.createdBy, 'createdBy');
    const exp = input.expiresAtMs;
    if (!Number.isSafeInteger(exp) || exp <= nowMs || exp > nowMs + MAX_ENROLLMENT_TOKEN_LIFETIME_MS) {
      throw new StorageError('INVALID_ARGUMENT', `expiresAtMs must be after now ${nowMs} and at most 30 days ahead (got ${show(exp)})`);
    }
    const secret = newSecret();
    const salt = randomBytes(SALT_BYTES);
    const digest = hash(salt, secret);
    try {
      return this.db.handle
        .transaction(() => {
          this.st.pruneTokens.run(nowMs - ENROLLMENT_TOKEN_KEEP_MS);
          for (let attempt = 0; ; attempt++) {
            const id = newId('e');
            try {
              this.st.insertToken.run(id, tenant, salt, digest, createdBy, nowMs, exp);
              return { token: `aiops_${id}_${secret}`, expiresAtMs: exp };
            } catch (err) {
              if (attempt < 3 && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') continue;
              throw err;
            }
          }
        })
        .immediate();
    } catch (err) {
      throw toStorageError(err, 'enrollment token not created');
    }
  }

  async enroll(token: string, agentId: string, nowMs: number): Promise<{ record: AgentRecord; secret: string } | undefined> {
    this.ensureOpen();
    checkNow(nowMs);
    checkAgentId(agentId);
    const m = typeof token === 'string' ? ENROLL_TOKEN.exec(token) : null;
    if (m === null) return undefined;
    const secret = newSecret();
    const salt = randomBytes(SALT_BYTES);
    const digest = hash(salt, secret);
    let result: AgentRecord | undefined;
    try {
      result = this.db.handle
        .transaction((): AgentRecord | undefined => {
          const row = this.st.getToken.get(m[1]) as TokenRow | undefined;
          if (!secretMatches(row, m[2] as string) || row === undefined) return undefined;
          if (row.used_at_ms !== 0 || nowMs >= row.expires_at_ms) return undefined;
          const existing = this.st.getAgent.get(agentId) as AgentRow | undefined;
          if (existing !== undefined && existing.tenant !== row.tenant) {
            throw new StorageError('CONFLICT', `agent ${agentId} is enrolled in another tenant; the enrollment token was not used`);
          }
          if (this.st.useToken.run(nowMs, agentId, row.id).changes !== 1) return undefined;
          this.st.upsertAgent.run(agentId, row.tenant, salt, digest, nowMs, row.id);
          return agentRecord(this.st.getAgent.get(agentId) as AgentRow);
        })
        .immediate();
    } catch (err) {
      throw toStorageError(err, 'enrollment failed');
    }
    return result === undefined ? undefined : { record: result, secret: `aiops_a_${secret}` };
  }

  async verify(agentId: string, secret: string, nowMs: number): Promise<AgentRecord | undefined> {
    this.ensureOpen();
    checkNow(nowMs);
    if (typeof agentId !== 'string' || !AGENT_ID.test(agentId)) return undefined;
    const m = typeof secret === 'string' ? AGENT_SECRET.exec(secret) : null;
    try {
      const row = this.st.getAgent.get(agentId) as AgentRow | undefined;
      if (m === null) return undefined;
      if (!secretMatches(row, m[1] as string) || row === undefined || row.revoked_at_ms !== 0) return undefined;
      return agentRecord(row);
    } catch (err) {
      throw toStorageError(err, 'agent verification failed');
    }
  }

  /** True when this call revoked an active agent; false when unknown or already revoked. */
  async revoke(agentId: string, nowMs: number): Promise<boolean> {
    this.ensureOpen();
    checkNow(nowMs);
    if (typeof agentId !== 'string') throw new StorageError('INVALID_ARGUMENT', `agentId must be a string (got ${show(agentId)})`);
    try {
      return this.st.revoke.run(nowMs, agentId).changes > 0;
    } catch (err) {
      throw toStorageError(err, 'agent revocation failed');
    }
  }

  /** Every agent (revoked included), by id. */
  async list(): Promise<AgentRecord[]> {
    this.ensureOpen();
    try {
      return (this.st.list.all() as AgentRow[]).map(agentRecord);
    } catch (err) {
      throw toStorageError(err, 'agent listing failed');
    }
  }

  async get(agentId: string): Promise<AgentRecord | undefined> {
    this.ensureOpen();
    if (typeof agentId !== 'string') throw new StorageError('INVALID_ARGUMENT', 'agentId must be a string');
    try {
      const row = this.st.getAgent.get(agentId) as AgentRow | undefined;
      return row === undefined ? undefined : agentRecord(row);
    } catch (err) {
      throw toStorageError(err, 'agent lookup failed');
    }
  }

  /** Records that the agent was seen at nowMs (never moves lastSeen back); unknown ids are ignored. */
  async touch(agentId: string, nowMs: number): Promise<void> {
    this.ensureOpen();
    checkNow(nowMs);
    if (typeof agentId !== 'string') throw new StorageError('INVALID_ARGUMENT', `agentId must be a string (got ${show(agentId)})`);
    try {
      this.st.touch.run({ now: nowMs, id: agentId });
    } catch (err) {
      throw toStorageError(err, 'agent touch failed');
    }
  }

  private ensureOpen(): void {
    if (this.db.closed) throw new StorageError('CLOSED', 'the agent store is closed (its database was closed)');
  }
}
