// Starts a gateway on 127.0.0.1:0 with an in-memory key store, a manual clock, captured logs
// and a fresh registry, plus one key per scope: the fixture of the gateway's tests and of any
// component testing its routes over real HTTP.
import { Registry } from 'prom-client';
import type { ApiKeyRecord, ApiKeyScope, ApiKeyStore, AuditLog } from '../../storage/types.js';
import type { GatewayConfigInput } from '../config.js';
import { createGateway } from '../gateway.js';
import type { Gateway } from '../gateway.js';
import { captureLogs } from './log-capture.js';
import type { CapturedLogs } from './log-capture.js';
import { ManualClock } from './manual-clock.js';
import { MemoryApiKeyStore } from './memory-api-key-store.js';

/** The key store under test, counting verify() calls (tests prove some requests never reach it). */
export class CountingKeyStore implements ApiKeyStore {
  verifyCalls = 0;
  constructor(readonly inner: ApiKeyStore) {}
  create(input: Parameters<ApiKeyStore['create']>[0], nowMs: number): Promise<{ record: ApiKeyRecord; token: string }> {
    return this.inner.create(input, nowMs);
  }
  verify(token: string, nowMs: number): Promise<ApiKeyRecord | undefined> {
    this.verifyCalls++;
    return this.inner.verify(token, nowMs);
  }
  revoke(id: string, nowMs: number): Promise<boolean> {
    return this.inner.revoke(id, nowMs);
  }
  list(): Promise<ApiKeyRecord[]> {
    return this.inner.list();
  }
}

export interface TestGateway {
  gateway: Gateway;
  /** `http://127.0.0.1:<port>` */
  url: string;
  store: CountingKeyStore;
  clock: ManualClock;
  logs: CapturedLogs;
  registry: Registry;
  /** A token per scope, each key holding exactly that scope (tenant "t1"). */
  tokens: Record<ApiKeyScope, string>;
  /** Key ids of `tokens`. */
  keyIds: Record<ApiKeyScope, string>;
  /** `{ authorization: 'Bearer <token>' }` for a scope. */
  auth(scope: ApiKeyScope): Record<string, string>;
  close(): Promise<void>;
}

export async function startTestGateway(
  opts: {
    config?: GatewayConfigInput;
    audit?: AuditLog;
    register?: (g: Gateway) => void;
    validateResponses?: boolean;
    /** The key store (default: a MemoryApiKeyStore); pass the SQLite one to run the same tests on it. */
    keys?: ApiKeyStore;
  } = {},
): Promise<TestGateway> {
  const store = new CountingKeyStore(opts.keys ?? new MemoryApiKeyStore());
  const clock = new ManualClock();
  const logs = captureLogs();
  const registry = new Registry();
  const tokens = {} as Record<ApiKeyScope, string>;
  const keyIds = {} as Record<ApiKeyScope, string>;
  for (const scope of ['read', 'write', 'approve', 'admin'] as const) {
    const k = await store.create({ name: `${scope}-key`, tenant: 't1', scopes: [scope] }, clock.now());
    tokens[scope] = k.token;
    keyIds[scope] = k.record.id;
  }
  const gateway = createGateway({
    config: { listen: { host: '127.0.0.1', port: 0 }, validateResponses: opts.validateResponses ?? true, limits: { shutdownGraceMs: 1000 }, ...opts.config },
    keys: store,
    ...(opts.audit ? { audit: opts.audit } : {}),
    logger: logs.logger,
    registry,
    clock,
  });
  opts.register?.(gateway);
  await gateway.start();
  const a = gateway.address!;
  return {
    gateway,
    url: `http://${a.host}:${a.port}`,
    store,
    clock,
    logs,
    registry,
    tokens,
    keyIds,
    auth: (scope) => ({ authorization: `Bearer ${tokens[scope]}` }),
    close: () => gateway.shutdown(),
  };
}
