// An in-memory ApiKeyStore that keeps the interface's promises (storage/types.ts): the
// plaintext token is returned once by create() and only a SHA-256 hash of its secret is kept;
// verify() compares in constant time and refuses unknown, expired and revoked keys. For tests
// of the gateway and of components that register routes; the SQLite store is the production one.
//
// Token format as the SQLite store issues it (storage/credentials.ts):
// `aiops_<id>_<secret>`, id = `k_` + 16 hex digits (public, shown in lists and logs), secret =
// 32 random bytes as 43 base64url characters, stored as HMAC-SHA-256 under a per-key salt.
import { createHmac, randomBytes as nodeRandomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_SCOPES } from '../../storage/types.js';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore } from '../../storage/types.js';

interface Entry {
  record: ApiKeyRecord;
  salt: Buffer;
  secretHash: Buffer;
}

const TOKEN_RE = /^aiops_(k_[0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const DUMMY_SALT = nodeRandomBytes(16);
const DUMMY_HASH = hash(DUMMY_SALT, 'no such key');

export class MemoryApiKeyStore implements ApiKeyStore {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly randomBytes: (n: number) => Buffer = nodeRandomBytes) {}

  async create(input: { name: string; tenant: string; scopes: ApiKeyScope[]; expiresAtMs?: number }, nowMs: number): Promise<{ record: ApiKeyRecord; token: string }> {
    if (typeof input.name !== 'string' || input.name === '') throw new TypeError('name must be a non-empty string');
    if (typeof input.tenant !== 'string' || input.tenant === '') throw new TypeError('tenant must be a non-empty string');
    if (!Array.isArray(input.scopes) || input.scopes.length === 0) throw new TypeError('scopes must list at least one scope');
    for (const s of input.scopes) if (!API_KEY_SCOPES.includes(s)) throw new TypeError(`unknown scope ${JSON.stringify(s)}`);
    let id: string;
    do id = `k_${this.randomBytes(8).toString('hex')}`;
    while (this.entries.has(id));
    const secret = this.randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = {
      id,
      name: input.name,
      tenant: input.tenant,
      scopes: [...new Set(input.scopes)],
      createdAtMs: nowMs,
      expiresAtMs: input.expiresAtMs ?? 0,
      revokedAtMs: 0,
      lastUsedAtMs: 0,
    };
    const salt = this.randomBytes(16);
    this.entries.set(id, { record, salt, secretHash: hash(salt, secret) });
    return { record: { ...record, scopes: [...record.scopes] }, token: `aiops_${id}_${secret}` };
  }

  async verify(token: string, nowMs: number): Promise<ApiKeyRecord | undefined> {
    const m = typeof token === 'string' ? TOKEN_RE.exec(token) : null;
    const id = m?.[1] ?? '';
    const secret = m?.[2] ?? '';
    const entry = this.entries.get(id);
    // Compare against something even for unknown ids, so timing does not tell ids apart.
    const match = timingSafeEqual(hash(entry?.salt ?? DUMMY_SALT, secret), entry?.secretHash ?? DUMMY_HASH);
    if (entry === undefined || !match) return undefined;
    const r = entry.record;
    if (r.revokedAtMs !== 0) return undefined;
    if (r.expiresAtMs !== 0 && nowMs >= r.expiresAtMs) return undefined;
    r.lastUsedAtMs = nowMs;
    return { ...r, scopes: [...r.scopes] };
  }

  async revoke(id: string, nowMs: number): Promise<boolean> {
    const entry = this.entries.get(id);
    if (entry === undefined || entry.record.revokedAtMs !== 0) return false;
    entry.record.revokedAtMs = nowMs;
    return true;
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.entries.values()].map((e) => ({ ...e.record, scopes: [...e.record.scopes] })).sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
  }

  /** Everything the store holds, as it would be persisted (tests check no plaintext secret is in it). */
  dump(): string {
    return JSON.stringify([...this.entries.values()].map((e) => ({ ...e.record, salt: e.salt.toString('hex'), secretHash: e.secretHash.toString('hex') })));
  }
}

function hash(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** The secret half of a token this store issued (tests check it never leaks). */
export function secretOf(token: string): string {
  return token.slice(-43);
}
