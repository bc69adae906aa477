// The embedded mode: an aedes broker inside central on a net (mqtt) or tls (mqtts) listener.
// Central is the broker, so it is also the authority:
//
// Authentication (aedes `authenticate`): username = agent id and password = the enrolled secret
// (AgentStore.verify), or with tls.require_client_cert the verified client certificate's subject
// CN is the agent id (enrolled, not revoked). The MQTT client id must equal the agent id. Every
// refusal is CONNACK 5 "not authorized" whatever the reason (a client learns nothing about which
// agent ids exist), counted by reason and logged without the secret. A store failure answers 3
// "server unavailable" (the agent retries with backoff).
//
// ACL: an agent publishes only `<prefix>/<its tenant>/agents/<its id>/{features,alerts,logs,heartbeat}`
// and subscribes only to its own `.../config`. A refused SUBSCRIBE is answered SUBACK 0x80 and
// the connection stays. A refused PUBLISH closes the connection without PUBACK: MQTT 3.1.1 has
// no negative PUBACK and aedes closes the connection when authorizePublish fails (MQTT-3.3.5-2).
// The agent's exporter sees a lost connection, resends, and after max_frame_attempts drops the
// frame (attempts_exhausted): the misconfiguration is visible on both sides, nothing is stored.
//
// Acknowledgement: for QoS 1 aedes writes the PUBACK right after authorizePublish succeeds, so
// every message is handled inside authorizePublish and a PUBACK means durable (or refused for
// good). Outcomes (see ingest-core.ts): ack -> PUBACK; withhold -> no PUBACK and the connection
// is closed, which the agent's exporter treats as retry (its buffer resends, and its new
// connection starts a new dictionary epoch, which is also how a resync is asked for).
//
// Messages from agents are never routed to other clients (authorizeForward lets only an agent's
// own config through) and never retained. MQTT wills are ignored. MQTT 5 clients are refused by
// aedes 1.x (CONNACK 1): agents use protocol_version 4.
//
// aedes' persistence is in memory: its sessions and retained config messages do not survive a
// central restart; agents reconnect (their exporter subscribes to config on every connection)
// and the service re-pushes configuration after start.
import { readFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { Aedes } from 'aedes';
import type { AedesPublishPacket, AuthenticateError, Client, ConnectPacket, PublishPacket, Subscription } from 'aedes';
import type { AgentRecord } from '../../storage/index.js';
import { TurnsClosedError } from '../../pipeline/index.js';
import type { FrameSession, SessionIdentity } from '../../pipeline/index.js';
import { IngestCore, MqttIngestError } from './ingest-core.js';
import type { Verdict } from './ingest-core.js';
import { guardPacketSize } from './packet-guard.js';
import { agentTopics, ownKind } from './topics.js';
import type { AgentKind, AgentTopics } from './topics.js';

/** MQTT 3.1.1 CONNACK return codes. */
const SERVER_UNAVAILABLE = 3 as const;
const NOT_AUTHORIZED = 5 as const;
/** Fixed header, topic length field, the longest topic and the packet id around a payload. */
const PUBLISH_OVERHEAD = 2 + 65_535 + 2;

export type AuthFailureReason =
  | 'no_credentials'
  | 'client_id_mismatch'
  | 'unknown_agent'
  | 'bad_secret'
  | 'revoked'
  | 'no_certificate'
  | 'certificate_cn'
  | 'username_mismatch'
  | 'tls_handshake'
  | 'store_error'
  | 'shutting_down';

interface Conn {
  readonly client: Client;
  readonly identity: SessionIdentity;
  readonly topics: AgentTopics;
  readonly session: FrameSession;
  inFlight: number;
  /** ACL actions already audited on this connection (one entry per action per connection). */
  audited: Set<string>;
}


function authError(code: 3 | 5, message: string) {
  return Object.assign(new Error(message), { returnCode: code });
}

function clip(s: string | undefined, n = 128): string | undefined {
  return s === undefined ? undefined : s.length > n ? `${s.slice(0, n)}...` : s;
}

export class EmbeddedBroker {
  private broker: Aedes | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly conns = new WeakMap<Client, Conn>();
  /** Agent id -> its newest authenticated connection. */
  private readonly live = new Map<string, Conn>();
  private stopping = false;
  private boundPort: number | undefined;
  private revocationSeq = 0;
  /** Agent id -> revocationSeq of its last revokeAgent (only while authentications are running). */
  private readonly revokedAt = new Map<string, number>();
  private authsRunning = 0;

  constructor(private readonly core: IngestCore) {}

  get port(): number | undefined {
    return this.boundPort;
  }

  get connectedAgents(): number {
    return this.live.size;
  }

  async start(): Promise<void> {
    const cfg = this.core.config;
    let tlsOptions: { cert: Buffer; key: Buffer; ca?: Buffer; requestCert: boolean; rejectUnauthorized: boolean } | undefined;
    if (cfg.tls !== undefined) {
      const t = cfg.tls;
      try {
        const [cert, key, ca] = await Promise.all([readFile(t.cert_file), readFile(t.key_file), t.ca_file !== undefined ? readFile(t.ca_file) : Promise.resolve(undefined)]);
        tlsOptions = { cert, key, ...(ca !== undefined ? { ca } : {}), requestCert: t.require_client_cert, rejectUnauthorized: t.require_client_cert };
      } catch (err) {
        throw new MqttIngestError('TLS_FILES', `mqtt.tls: cannot read a TLS file: ${(err as Error).message}`, false, { cause: err });
      }
    }
    const broker = await Aedes.createBroker({
      // Agent ids are up to 128 characters (the 23-character limit is MQTT 3.1's).
      maxClientsIdLength: 128,
      drainTimeout: 30_000,
      preConnect: (client, packet, cb) => this.preConnect(client, packet, cb),
      authenticate: (client, username, password, done) => {
        void this.authenticate(client, username, password).then(
          (err) => done(err as AuthenticateError | null, err === null ? true : null),
          (err: unknown) => done(authError(SERVER_UNAVAILABLE, (err as Error).message) as AuthenticateError, null),
        );
      },
      authorizePublish: (client, packet, cb) => this.authorizePublish(client, packet, cb),
      authorizeSubscribe: (client, sub, cb) => this.authorizeSubscribe(client, sub, cb),
      authorizeForward: (client, packet) => this.authorizeForward(client, packet),
    });
    this.broker = broker;
    const gauge = () => this.core.m.connections.set(broker.connectedClients);
    broker.on('clientReady', gauge);
    broker.on('clientDisconnect', (client) => {
      gauge();
      const conn = this.conns.get(client);
      if (conn !== undefined && this.live.get(conn.identity.agentId) === conn) this.live.delete(conn.identity.agentId);
    });
    broker.on('clientError', (client, err) => {
      this.core.logger.debug({ client: clip(client.id), err: err.message }, 'mqtt client connection ended with an error');
    });

    const onConnection = (socket: Socket) => this.onConnection(socket);
    const server: Server = tlsOptions !== undefined ? createTlsServer(tlsOptions, onConnection) : createNetServer(onConnection);
    if (tlsOptions !== undefined) {
      server.on('tlsClientError', (err: Error) => {
        this.core.m.authFailures.inc(1, { reason: 'tls_handshake' });
        this.core.log('warn', 'auth-tls_handshake', { reason: 'tls_handshake', err: err.message }, 'mqtts handshake failed (no or untrusted client certificate?)');
      });
    }
    const m = /^(.*):(\d+)$/.exec(cfg.listen)!;
    const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
    const port = Number(m[2]);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((r) => broker.close(() => r()));
      this.broker = undefined;
      throw new MqttIngestError('LISTEN', `mqtt.listen: cannot listen on ${cfg.listen}: ${(err as Error).message}`, true, { cause: err });
    }
    server.on('error', (err) => this.core.logger.error({ err: err.message }, 'mqtt listener error'));
    this.server = server;
    const addr = server.address();
    this.boundPort = typeof addr === 'object' && addr !== null ? addr.port : port;
    this.core.logger.info({ listen: `${host}:${this.boundPort}`, tls: tlsOptions !== undefined, clientCert: cfg.tls?.require_client_cert ?? false, topicPrefix: cfg.topic_prefix }, 'embedded MQTT broker listening');
  }

  /**
   * Stops accepting connections and messages, waits (bounded) for messages being stored so
   * their PUBACKs go out, then closes every connection. Agents resend what was not acknowledged.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    // Messages still waiting for their turn are not stored: refused at once (the agents resend),
    // so shutdown waits only for those being stored.
    this.core.turns.close();
    const server = this.server;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    const drained = await this.core.drain(timeoutMs);
    if (!drained) this.core.logger.warn({ pending: this.core.pendingCount }, 'shutdown: messages still being stored after shutdown_timeout; their agents will resend them');
    if (this.sockets.size > 0) this.core.m.disconnects.inc(this.live.size, { reason: 'shutdown' });
    for (const s of this.sockets) s.destroy();
    await closed;
    this.server = undefined;
    const broker = this.broker;
    this.broker = undefined;
    if (broker) await new Promise<void>((r) => broker.close(() => r()));
    this.live.clear();
    this.core.m.connections.set(0);
  }

  /** Closes the agent's live connection now; returns whether there was one. */
  revokeAgent(agentId: string): boolean {
    this.revokedAt.set(agentId, ++this.revocationSeq);
    const conn = this.live.get(agentId);
    if (conn === undefined) return false;
    this.live.delete(agentId);
    this.core.m.disconnects.inc(1, { reason: 'revoked' });
    this.core.logger.info({ agent: agentId, tenant: conn.identity.tenant }, 'revoked agent disconnected');
    this.core.audit({ actor: 'system', action: 'agent.disconnect', target: agentId, details: { transport: 'mqtt', reason: 'revoked' } });
    conn.client.close();
    return true;
  }

  async pushConfig(topic: string, payload: Buffer): Promise<void> {
    const broker = this.broker;
    if (broker === undefined || this.stopping) throw new MqttIngestError('NOT_RUNNING', 'the embedded MQTT broker is not running', true);
    const packet: PublishPacket = { cmd: 'publish', topic, payload, qos: 1, retain: true, dup: false };
    await new Promise<void>((resolve, reject) =>
      broker.publish(packet, (err) => (err ? reject(new MqttIngestError('PUBLISH_FAILED', `config not published on ${topic}: ${err.message}`, true, { cause: err })) : resolve())),
    );
  }

  // --- connections ----------------------------------------------------------------------------

  private onConnection(socket: Socket): void {
    if (this.stopping || this.broker === undefined) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    guardPacketSize(socket, this.core.config.max_payload + PUBLISH_OVERHEAD, (declared) => {
      const conn = this.connOfSocket(socket);
      this.core.oversized(conn?.identity, 'packet', declared);
      this.core.m.disconnects.inc(1, { reason: 'oversized' });
    });
    this.broker.handle(socket);
  }

  private connOfSocket(socket: Socket): Conn | undefined {
    const client = (socket as Socket & { client?: Client }).client;
    return client ? this.conns.get(client) : undefined;
  }

  private preConnect(_client: Client, packet: ConnectPacket, cb: (error: Error | null, success: boolean) => void): void {
    // Agents do not use wills, and a will would be published outside authorizePublish's
    // acknowledgement path: dropped.
    if (packet.will) delete packet.will;
    cb(null, true);
  }

  /** Null = accepted (the connection's state is registered); otherwise the CONNACK refusal. */
  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Error | null> {
    this.authsRunning++;
    try {
      return await this.authenticateInner(client, username, password);
    } finally {
      if (--this.authsRunning === 0) this.revokedAt.clear();
    }
  }

  private async authenticateInner(client: Client, username: string | undefined, password: Buffer | undefined): Promise<Error | null> {
    const seqAtStart = this.revocationSeq;
    const clientId = client.id;
    const remote = (client.conn as Socket).remoteAddress;
    const refuse = (reason: AuthFailureReason, agent: string | undefined, code: 3 | 5 = NOT_AUTHORIZED): Error => {
      this.core.m.authFailures.inc(1, { reason });
      this.core.log('warn', `auth-${reason}`, { reason, agent: clip(agent), clientId: clip(clientId), remote }, 'MQTT connection refused');
      return authError(code, code === NOT_AUTHORIZED ? 'not authorized' : 'server unavailable');
    };
    if (this.stopping) return refuse('shutting_down', username, SERVER_UNAVAILABLE);
    const tls = this.core.config.tls;
    let record: AgentRecord | undefined;
    let agentId: string;
    try {
      if (tls?.require_client_cert) {
        const sock = client.conn as TLSSocket;
        if (typeof sock.getPeerCertificate !== 'function' || !sock.authorized) return refuse('no_certificate', username);
        const cn: unknown = sock.getPeerCertificate()?.subject?.CN;
        if (typeof cn !== 'string' || cn === '') return refuse('certificate_cn', username);
        agentId = cn;
        if (username !== undefined && username !== cn) return refuse('username_mismatch', cn);
        if (clientId !== cn) return refuse('client_id_mismatch', cn);
        record = await this.core.deps.agents.get(cn);
        if (record === undefined) return refuse('unknown_agent', cn);
        if (record.revokedAtMs !== 0) return refuse('revoked', cn);
      } else {
        if (username === undefined || password === undefined) return refuse('no_credentials', username);
        agentId = username;
        if (clientId !== username) return refuse('client_id_mismatch', username);
        record = await this.core.deps.agents.verify(username, password.toString('utf8'), this.core.settings.clock.now());
        if (record === undefined) return refuse(await this.whyRefused(username), username);
      }
    } catch (err) {
      this.core.m.authFailures.inc(1, { reason: 'store_error' });
      this.core.log('error', 'auth-store_error', { reason: 'store_error', clientId: clip(clientId), err: (err as Error).message }, 'cannot check MQTT credentials: refused as server unavailable');
      return authError(SERVER_UNAVAILABLE, 'server unavailable');
    }
    // revokeAgent() ran while the store was being asked: its answer may predate the revocation.
    if ((this.revokedAt.get(agentId) ?? 0) > seqAtStart) return refuse('revoked', agentId);
    if (this.stopping || client.closed) return refuse('shutting_down', agentId, SERVER_UNAVAILABLE);
    const identity: SessionIdentity = { agentId, tenant: record.tenant, transport: 'mqtt' };
    const conn: Conn = {
      client,
      identity,
      topics: agentTopics(this.core.config.topic_prefix, record.tenant, agentId),
      // One dictionary per connection: the agent starts a new epoch on every connection.
      session: this.core.deps.ingest.session(identity),
      inFlight: 0,
      audited: new Set(),
    };
    this.conns.set(client, conn);
    this.live.set(agentId, conn);
    this.core.logger.debug({ agent: agentId, tenant: record.tenant, remote }, 'agent connected');
    return null;
  }

  /** Why verify() refused: only for the metric label and the log line. */
  private async whyRefused(agentId: string): Promise<AuthFailureReason> {
    try {
      const r = await this.core.deps.agents.get(agentId);
      return r === undefined ? 'unknown_agent' : r.revokedAtMs !== 0 ? 'revoked' : 'bad_secret';
    } catch {
      return 'bad_secret';
    }
  }


  // --- ACL and messages -----------------------------------------------------------------------

  private denied(conn: Conn | undefined, client: Client | null, action: 'publish' | 'subscribe', topic: string): void {
    this.core.m.aclDenied.inc(1, { action });
    const agent = conn?.identity.agentId ?? clip(client?.id ?? undefined);
    this.core.log('warn', `acl-${action}`, { agent, action, topic: clip(topic, 256) }, 'MQTT ACL refused a topic outside the agent\'s own');
    if (conn !== undefined && !conn.audited.has(action)) {
      conn.audited.add(action);
      this.core.audit({ actor: conn.identity.agentId, action: `mqtt.acl_denied`, target: clip(topic, 256)!, details: { action, tenant: conn.identity.tenant } });
    }
  }

  private authorizePublish(client: Client | null, packet: PublishPacket, cb: (error?: Error | null) => void): void {
    // client null or closed: a will (dropped in preConnect anyway) or an internal publish.
    if (client === null || client.closed) return cb(new Error('publish refused'));
    const conn = this.conns.get(client);
    if (conn === undefined) return cb(new Error('not authenticated'));
    const kind = ownKind(conn.topics, packet.topic);
    if (kind === undefined) {
      this.denied(conn, client, 'publish', packet.topic);
      this.core.m.disconnects.inc(1, { reason: 'acl' });
      return cb(new Error(`${conn.identity.agentId} may not publish to ${clip(packet.topic, 256)}`));
    }
    // Data is never kept as a retained message.
    packet.retain = false;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    if (payload.length > this.core.config.max_payload) {
      this.core.oversized(conn.identity, kind, payload.length);
      this.core.m.disconnects.inc(1, { reason: 'oversized' });
      return cb(new Error(`payload of ${payload.length} bytes exceeds mqtt.max_payload`));
    }
    if (this.stopping) return cb(new Error('central is shutting down'));
    if (conn.inFlight >= this.core.config.max_in_flight_per_agent) {
      this.core.m.messages.inc(1, { kind, result: 'busy' });
      this.core.m.disconnects.inc(1, { reason: 'retry' });
      this.core.log('warn', 'busy', { agent: conn.identity.agentId, inFlight: conn.inFlight }, 'more messages in flight than mqtt.max_in_flight_per_agent: connection closed, the agent resends');
      return cb(new Error('too many messages in flight'));
    }
    conn.inFlight++;
    // Handled in its turn (pipeline/turns.ts): a bounded number of messages per event-loop turn,
    // so the API, CONNECTs and keepalives are served however many frames are waiting.
    // The payload is copied: the parser's buffer may be a slice of a whole socket read, which a
    // waiting message would otherwise keep alive.
    const own = Buffer.from(payload);
    const handled = this.core.turns.run(() => this.handle(conn, kind, own)).catch((err: unknown): Verdict => {
      if (err instanceof TurnsClosedError) return { verdict: 'withhold', result: 'shutdown' };
      this.core.log('error', 'handler-error', { agent: conn.identity.agentId, kind, err: (err as Error).message }, 'message handling failed: not acknowledged');
      return { verdict: 'withhold', result: 'error' };
    });
    void this.core.track(handled).then((v) => {
      conn.inFlight--;
      if (v.verdict === 'ack') return cb(null);
      this.core.m.disconnects.inc(1, { reason: v.result });
      cb(new Error(`not acknowledged (${v.result}): resend`));
    });
  }

  private handle(conn: Conn, kind: AgentKind, payload: Buffer): Promise<Verdict> {
    switch (kind) {
      case 'features':
        return this.core.features(conn.session, payload, false);
      case 'heartbeat':
        return this.core.heartbeat(conn.identity, payload);
      case 'alerts':
        return this.core.alerts(conn.identity, payload);
      case 'logs':
        return Promise.resolve(this.core.unhandled(conn.identity, 'logs'));
    }
  }

  private authorizeSubscribe(client: Client, sub: Subscription, cb: (error: Error | null, subscription?: Subscription | null) => void): void {
    const conn = this.conns.get(client);
    if (conn !== undefined && sub.topic === conn.topics.config) return cb(null, { ...sub, qos: sub.qos > 1 ? 1 : sub.qos });
    this.denied(conn, client, 'subscribe', sub.topic);
    // Negated: SUBACK 0x80 for this filter, the connection stays.
    cb(null, null);
  }

  private authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const conn = this.conns.get(client);
    return conn !== undefined && packet.topic === conn.topics.config ? packet : null;
  }
}
