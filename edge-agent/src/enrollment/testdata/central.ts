// A test central for the enrollment tests: the real gateway with the real agent routes
// (central/src/api/agents.ts) over SQLite ':memory:' stores and real API keys, listening on a
// loopback port; optionally the embedded MQTT broker shape, an aedes that authenticates agents
// with their enrolled id and secret (AgentStore.verify) and drops a revoked agent's connection
// (the routes' onRevoke).
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { Aedes } from 'aedes';
import type { Client } from 'aedes';
import { registerAgentRoutes } from '../../../../central/src/api/agents.js';
import { startTestGateway } from '../../../../central/src/gateway/testing/index.js';
import type { TestGateway } from '../../../../central/src/gateway/testing/index.js';
import { openSqliteStores } from '../../../../central/src/storage/index.js';
import type { SqliteStores } from '../../../../central/src/storage/index.js';

export interface TestCentral {
  t: TestGateway;
  stores: SqliteStores;
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** Enroll requests that reached the route (any answer). */
  enrollRequests(): Promise<number>;
  /** A fresh enrollment token (admin key, over HTTP). */
  token(opts?: { tenant?: string; ttl?: string }): Promise<string>;
  revoke(agentId: string): Promise<number>;
  close(): Promise<void>;
}

/** The time of the test gateway's manual clock when it starts. */
export const CENTRAL_START_MS = 1_700_000_000_000;

/** Opens central's stores before central runs (to mint a token for a central that is not up yet). */
export function openCentralStores(): SqliteStores {
  return openSqliteStores(':memory:', { now: () => CENTRAL_START_MS });
}

export async function startCentral(opts: { port?: number; onRevoke?: (agentId: string) => void | Promise<void>; stores?: SqliteStores } = {}): Promise<TestCentral> {
  let t: TestGateway | undefined;
  const now = (): number => t?.clock.now() ?? CENTRAL_START_MS;
  const stores = opts.stores ?? openSqliteStores(':memory:', { now });
  try {
    t = await startTestGateway({
      keys: stores.apiKeys,
      audit: stores.audit,
      config: { listen: { host: '127.0.0.1', port: opts.port ?? 0 }, rateLimit: { ratePerSecond: 1000, burst: 1000 } },
      register: (g) => registerAgentRoutes(g, { agents: stores.agents, clock: { now }, defaultTenant: 'default', ...(opts.onRevoke ? { onRevoke: opts.onRevoke } : {}) }),
    });
  } catch (err) {
    await stores.close();
    throw err;
  }
  const tg = t;
  return {
    t: tg,
    stores,
    url: tg.url,
    port: tg.gateway.address!.port,
    enrollRequests: async () => (await stores.audit.list({ action: 'agent.enroll', limit: 10_000 })).length,
    async token(o = {}) {
      const res = await fetch(`${tg.url}/api/v1/agents/enrollment-tokens`, { method: 'POST', headers: { ...tg.auth('admin'), 'content-type': 'application/json' }, body: JSON.stringify(o) });
      if (res.status !== 201) throw new Error(`token not created: ${res.status} ${await res.text()}`);
      return ((await res.json()) as { token: string }).token;
    },
    async revoke(agentId) {
      const res = await fetch(`${tg.url}/api/v1/agents/${agentId}`, { method: 'DELETE', headers: tg.auth('admin') });
      return res.status;
    },
    async close() {
      await tg.close();
      await stores.close();
    },
  };
}

/** The embedded broker's shape: agents authenticate as (agent id, secret); revoke drops the connection. */
export class AgentBroker {
  readonly authenticated: string[] = [];
  readonly refused: Array<{ clientId: string; username: string | undefined }> = [];
  broker!: Aedes;
  url = '';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly clients = new Map<string, Client>();

  constructor(private readonly stores: SqliteStores, private readonly now: () => number) {}

  async start(): Promise<void> {
    this.broker = await Aedes.createBroker({
      authenticate: (client, username, password, done) => {
        void (async () => {
          const rec = username !== undefined && username === client.id && password !== undefined ? await this.stores.agents.verify(username, password.toString(), this.now()) : undefined;
          if (rec === undefined) {
            this.refused.push({ clientId: client.id, username });
            return done(Object.assign(new Error('bad username or password'), { returnCode: 4 as const }), null);
          }
          this.authenticated.push(client.id);
          this.clients.set(client.id, client);
          done(null, true);
        })();
      },
    });
    this.server = createServer((s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      this.broker.handle(s);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `mqtt://127.0.0.1:${(this.server.address() as { port: number }).port}`;
  }

  /** onRevoke: the agent's live connection ends now. */
  drop(agentId: string): void {
    const c = this.clients.get(agentId);
    this.clients.delete(agentId);
    c?.close();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
    await new Promise<void>((r) => this.broker.close(() => r()));
  }
}
