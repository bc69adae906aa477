// The external mode: central is one more client of a broker it does not run (Mosquitto, EMQX).
// That broker authenticates the agents and enforces the topic ACL (an agent publishes only
// under its own id, e.g. Mosquitto `pattern write aiops/v1/+/agents/%c/features`): central takes
// the tenant and the agent id from the topic and trusts them because the broker checked them.
// Central only drops messages of agents it knows are revoked (revokeAgent, and the AgentStore's
// list, re-read every minute); cutting their connection is the broker's job (remove their
// credentials there).
//
// Delivery: one MQTT client with a persistent session (clean: false, stable client_id) and QoS 1
// subscriptions, so the broker queues messages while central is away. mqtt.js sends the PUBACK
// of an incoming QoS 1 message only when `handleMessage`'s callback runs (MQTT 3.1.1 and 5; the
// customHandleAcks option works for MQTT 5 only), so the callback runs once the message is
// durable: a PUBACK means stored. mqtt.js hands messages over one at a time, in order, which
// is also the order the per-agent dictionaries need. A message that must be delivered again
// (downstream busy or failing) gets no PUBACK: central drops the connection and reconnects after
// a backoff, and the broker redelivers every unacknowledged message of the session.
//
// Dictionaries: one FrameSession per agent for as long as central runs (an agent's connection to
// the broker is invisible from here). After a central restart, frames of agents in
// wire_dictionary 'stream' mode cannot be decoded until their next dictionary epoch; they are
// counted (result undecodable) and acknowledged. Agents behind an external broker should use
// wire_dictionary: standalone.
import { readFile } from 'node:fs/promises';
import mqtt from 'mqtt';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { FrameSession, SessionIdentity } from '../../pipeline/index.js';
import { IngestCore, MqttIngestError } from './ingest-core.js';
import type { Verdict } from './ingest-core.js';
import { externalSubscriptions, parseAgentTopic } from './topics.js';
import type { AgentKind } from './topics.js';

/** Agents whose dictionaries are kept; the least recently heard one is forgotten beyond it. */
const MAX_SESSIONS = 100_000;
/** How often the revoked agents are read again from the AgentStore. */
const REVOKED_REFRESH_MS = 60_000;

function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return 'mqtt://(invalid url)';
  }
}

export class ExternalSubscriber {
  private client: MqttClient | undefined;
  private subscribed = false;
  private stopping = false;
  private reconnectTimer: unknown;
  private refreshTimer: unknown;
  private attempt = 0;
  /** Delay the receiver asked for before the next delivery (a withheld message's retryAfterMs). */
  private delayHint = 0;
  /** A message was withheld and none stored since: reconnects keep backing off. */
  private withheldSinceOk = false;
  private lastError: string | undefined;
  private files: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {};
  private readonly sessions = new Map<string, FrameSession>();
  private revoked = new Set<string>();
  private readonly target: string;

  constructor(private readonly core: IngestCore) {
    this.target = safeUrl(core.config.external!.url);
  }

  /** True while connected to the broker with the subscriptions granted. */
  get connected(): boolean {
    return this.subscribed;
  }

  async start(): Promise<void> {
    const t = this.core.config.external!.tls;
    try {
      const [ca, cert, key] = await Promise.all([t.ca_file, t.cert_file, t.key_file].map((f) => (f === undefined ? Promise.resolve(undefined) : readFile(f))));
      this.files = { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
    } catch (err) {
      throw new MqttIngestError('TLS_FILES', `mqtt.external.tls: cannot read a TLS file: ${(err as Error).message}`, false, { cause: err });
    }
    await this.refreshRevoked();
    const t2 = this.core.settings.clock.setInterval(() => void this.refreshRevoked(), REVOKED_REFRESH_MS);
    t2.unref?.();
    this.refreshTimer = t2;
    this.connect();
  }

  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    const clock = this.core.settings.clock;
    if (this.reconnectTimer !== undefined) clock.clearTimeout(this.reconnectTimer);
    if (this.refreshTimer !== undefined) clock.clearInterval(this.refreshTimer);
    this.reconnectTimer = undefined;
    this.refreshTimer = undefined;
    const drained = await this.core.drain(timeoutMs);
    if (!drained) this.core.logger.warn({ pending: this.core.pendingCount }, 'shutdown: messages still being stored after shutdown_timeout; the broker will redeliver them');
    const client = this.client;
    this.client = undefined;
    this.subscribed = false;
    this.core.m.externalConnected.set(0);
    if (client !== undefined) {
      // Graceful end flushes the PUBACKs already written; forced after a short wait.
      await new Promise<void>((resolve) => {
        const t = clock.setTimeout(() => {
          client.end(true);
          resolve();
        }, 2000);
        client.end(false, {}, () => {
          clock.clearTimeout(t);
          resolve();
        });
      });
    }
  }

  revokeAgent(agentId: string): boolean {
    this.revoked.add(agentId);
    for (const key of this.sessions.keys()) if (key.endsWith(`/${agentId}`)) this.sessions.delete(key);
    this.core.logger.warn({ agent: agentId, broker: this.target }, 'agent revoked: central drops its messages from now on; remove its credentials from the external broker to cut its connection');
    this.core.audit({ actor: 'system', action: 'agent.disconnect', target: agentId, details: { transport: 'mqtt', mode: 'external', reason: 'revoked' } });
    return false;
  }

  async pushConfig(topic: string, payload: Buffer): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected || this.stopping) {
      throw new MqttIngestError('NOT_CONNECTED', `central is not connected to the external MQTT broker ${this.target}`, true);
    }
    try {
      await client.publishAsync(topic, payload, { qos: 1, retain: true });
    } catch (err) {
      throw new MqttIngestError('PUBLISH_FAILED', `config not published on ${topic}: ${(err as Error).message}`, true, { cause: err });
    }
  }

  // --- connection -----------------------------------------------------------------------------

  private kinds(): AgentKind[] {
    return this.core.deps.alerts !== undefined ? ['features', 'heartbeat', 'alerts'] : ['features', 'heartbeat'];
  }

  private connect(): void {
    this.reconnectTimer = undefined;
    if (this.stopping) return;
    const x = this.core.config.external!;
    const options: IClientOptions = {
      clientId: x.client_id,
      clean: false,
      // Reconnects are this class's (backoff); every attempt is a new client.
      reconnectPeriod: 0,
      connectTimeout: x.connect_timeout,
      keepalive: Math.max(1, Math.round(x.keepalive / 1000)),
      protocolVersion: 4,
      resubscribe: false,
      ...(x.username !== undefined ? { username: x.username } : {}),
      ...(x.password !== undefined ? { password: x.password } : {}),
      ...this.files,
      ...(x.url.startsWith('mqtts:') ? { rejectUnauthorized: !x.tls.insecure_skip_verify } : {}),
      ...(x.tls.server_name !== undefined ? { servername: x.tls.server_name } : {}),
    };
    let client: MqttClient;
    try {
      client = mqtt.connect(x.url, options);
    } catch (err) {
      this.failed(`${(err as Error).message}`);
      this.scheduleReconnect();
      return;
    }
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void) => this.onMessage(client, packet, done);
    let connacked = false;
    let ended = false;
    const onConnect = (connack: { sessionPresent: boolean }) => {
      connacked = true;
      const topics = externalSubscriptions(this.core.config.topic_prefix, this.kinds());
      client.subscribe(topics, { qos: 1 }, (err, granted) => {
        if (client !== this.client) return;
        const refused = err !== null && err !== undefined ? [err.message] : (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) {
          this.core.m.externalConnects.inc(1, { result: 'subscribe_refused' });
          this.failed(`the broker refused central's subscription to ${refused.join(', ')} (check its ACL for user ${x.username ?? '(none)'})`);
          this.attempt = Math.max(this.attempt, 30);
          client.end(true);
          return;
        }
        this.subscribed = true;
        this.lastError = undefined;
        this.core.m.externalConnects.inc(1, { result: 'success' });
        this.core.m.externalConnected.set(1);
        if (!this.withheldSinceOk) this.attempt = 0;
        this.core.logger.info({ broker: this.target, clientId: x.client_id, sessionPresent: connack.sessionPresent, topics }, 'subscribed to the external MQTT broker');
      });
    };
    const onError = (err: Error) => {
      const code = (err as { code?: unknown }).code;
      this.failed(`${err.message}${typeof code === 'number' ? ` (CONNACK ${code})` : ''}`);
    };
    client.on('connect', onConnect);
    client.on('error', onError);
    const onEnd = () => {
      if (ended) return;
      ended = true;
      if (!connacked) this.core.m.externalConnects.inc(1, { result: 'failure' });
      // Only this class' listeners: mqtt.js' own 'close' listener clears its CONNACK timer.
      client.off('connect', onConnect);
      client.off('error', onError);
      client.on('error', () => undefined);
      client.end(true);
      if (client !== this.client) return;
      this.client = undefined;
      this.subscribed = false;
      this.core.m.externalConnected.set(0);
      this.scheduleReconnect();
    };
    client.once('close', onEnd);
    client.once('end', onEnd);
  }

  private failed(message: string): void {
    if (message === this.lastError) return;
    this.lastError = message;
    this.core.logger.warn({ broker: this.target, err: message }, 'external MQTT broker: connection failed (retrying with backoff; logged again when the reason changes)');
  }

  private scheduleReconnect(): void {
    if (this.stopping || this.reconnectTimer !== undefined) return;
    const r = this.core.config.external!.reconnect;
    const base = Math.min(r.max_interval, r.initial_interval * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    const jittered = Math.min(r.max_interval, base * (0.5 + Math.random()));
    const delay = Math.max(this.delayHint, jittered);
    this.delayHint = 0;
    const t = this.core.settings.clock.setTimeout(() => this.connect(), delay);
    t.unref?.();
    this.reconnectTimer = t;
  }

  private async refreshRevoked(): Promise<void> {
    try {
      const all = await this.core.deps.agents.list();
      const next = new Set<string>();
      for (const r of all) if (r.revokedAtMs !== 0) next.add(r.agentId);
      this.revoked = next;
    } catch (err) {
      this.core.log('warn', 'revoked-refresh', { err: (err as Error).message }, 'cannot read revoked agents from the agent store (keeping the previous list)');
    }
  }

  // --- messages -------------------------------------------------------------------------------

  private sessionFor(id: SessionIdentity): FrameSession {
    const key = `${id.tenant}/${id.agentId}`;
    let s = this.sessions.get(key);
    if (s !== undefined) {
      this.sessions.delete(key);
      this.sessions.set(key, s);
      return s;
    }
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = this.sessions.keys().next();
      if (!oldest.done) this.sessions.delete(oldest.value);
    }
    s = this.core.deps.ingest.session(id);
    this.sessions.set(key, s);
    return s;
  }

  private onMessage(client: MqttClient, packet: IPublishPacket, done: (err?: Error) => void): void {
    // A superseded connection: never acknowledge, the broker redelivers on the next one.
    if (client !== this.client || this.stopping) return;
    const topic = packet.topic;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    const parsed = parseAgentTopic(this.core.config.topic_prefix, topic);
    if (parsed === undefined) {
      this.core.m.messages.inc(1, { kind: 'unknown', result: 'invalid_topic' });
      this.core.log('warn', 'invalid-topic', { topic: topic.slice(0, 256) }, 'message on a topic that is not <prefix>/<tenant>/agents/<agent>/<kind>: dropped');
      return done();
    }
    const id: SessionIdentity = { agentId: parsed.agentId, tenant: parsed.tenant, transport: 'mqtt' };
    if (payload.length > this.core.config.max_payload) {
      this.core.oversized(id, parsed.kind, payload.length);
      return done();
    }
    if (this.revoked.has(id.agentId)) {
      this.core.m.messages.inc(1, { kind: parsed.kind, result: 'revoked' });
      this.core.log('warn', 'revoked-message', { agent: id.agentId }, 'message from a revoked agent: dropped');
      return done();
    }
    const handled = this.handle(id, parsed.kind, payload).catch((err: unknown): Verdict => {
      this.core.log('error', 'handler-error', { agent: id.agentId, kind: parsed.kind, err: (err as Error).message }, 'message handling failed: not acknowledged');
      return { verdict: 'withhold', result: 'error' };
    });
    void this.core.track(handled).then((v) => {
      if (client !== this.client) return;
      if (v.verdict === 'ack') {
        if (v.result === 'ok') {
          this.attempt = 0;
          this.withheldSinceOk = false;
        }
        return done();
      }
      this.core.m.disconnects.inc(1, { reason: v.result });
      this.core.log('warn', 'withheld', { agent: id.agentId, result: v.result }, 'message not acknowledged: reconnecting so the broker delivers it again');
      this.delayHint = v.retryAfterMs ?? 0;
      this.withheldSinceOk = true;
      this.subscribed = false;
      client.end(true);
    });
  }

  private handle(id: SessionIdentity, kind: AgentKind, payload: Buffer): Promise<Verdict> {
    switch (kind) {
      case 'features':
        return this.core.features(this.sessionFor(id), payload, true);
      case 'heartbeat':
        return this.core.heartbeat(id, payload);
      case 'alerts':
        return this.core.alerts(id, payload);
      case 'logs':
        return Promise.resolve(this.core.unhandled(id, 'logs'));
    }
  }
}
