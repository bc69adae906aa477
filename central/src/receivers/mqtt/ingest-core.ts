// What both MQTT modes share: the handling of one message by kind, the self-metrics, throttled
// logs, the audit trail and the bookkeeping of messages still being stored (for shutdown).
//
// A message handler answers a verdict, never throws:
//   ack       acknowledge (PUBACK): the message is durable downstream, or it can never be
//             accepted and a resend cannot help (counted and dropped)
//   withhold  no acknowledgement; the caller drops the connection so the sender (the agent's
//             buffer, or the external broker's session) delivers it again later
import { decodeAlertBatch, decodeEnvelope, decodeHeartbeat, PayloadKind } from '../../../../shared-schemas/src/index.js';
import type { Alert, AlertBatch, Heartbeat } from '../../../../shared-schemas/src/index.js';
import { CodedError } from '../../../../shared-schemas/src/runtime/index.js';
import type { BoundCounter, BoundGauge } from '../../../../shared-schemas/src/runtime/index.js';
import type { AlertConsumer, CentralSettings } from '../../component.js';
import { Turns } from '../../pipeline/index.js';
import type { FrameIngest, FrameSession, SessionIdentity } from '../../pipeline/index.js';
import type { AgentStore, AuditEntry, AuditLog } from '../../storage/index.js';
import type { MqttIngestConfig } from './config.js';

export type MqttIngestErrorCode =
  /** The component is not running (not started, shut down, or mode off). Retry once it runs. */
  | 'NOT_RUNNING'
  /** An argument can never be accepted (bad tenant or agent id, payload above max_payload). */
  | 'INVALID_ARGUMENT'
  /** A TLS file could not be read at start. */
  | 'TLS_FILES'
  /** The embedded broker could not listen (address in use, permission). */
  | 'LISTEN'
  /** External mode: central is not connected to the broker right now. Retryable. */
  | 'NOT_CONNECTED'
  /** The broker did not take a publish. Retryable. */
  | 'PUBLISH_FAILED';

export class MqttIngestError extends CodedError<MqttIngestErrorCode> {
  override name = 'MqttIngestError';
}

export interface MqttIngestDeps {
  /** Agent credentials (embedded mode authenticates against it) and last-seen times. */
  agents: AgentStore;
  /** Decodes feature frames per session and hands them to the FeatureSink. */
  ingest: FrameIngest;
  /** Security-relevant events (ACL denials, revocation disconnects). Never receives a secret. */
  audit?: AuditLog;
  /** Alert batches agents publish on `.../alerts`. Without it they are counted and dropped. */
  alerts?: AlertConsumer;
}

export interface Verdict {
  verdict: 'ack' | 'withhold';
  /** The label of aiops_central_mqtt_messages_total{result}. */
  result: string;
  /** For withhold: the receiver's hint before the next delivery. */
  retryAfterMs?: number;
}

const ACK_OK: Verdict = { verdict: 'ack', result: 'ok' };

/** A logger guard: the first event of a key is logged, then at most one line per interval with the count suppressed meanwhile. */
export class LogThrottle {
  private readonly keys = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly now: () => number,
    private readonly intervalMs = 10_000,
    private readonly maxKeys = 256,
  ) {}

  /** Undefined: do not log. Otherwise: log, with the number of events not logged since the last line. */
  take(key: string): number | undefined {
    const t = this.now();
    const e = this.keys.get(key);
    if (e === undefined) {
      if (this.keys.size >= this.maxKeys) this.keys.clear();
      this.keys.set(key, { at: t, suppressed: 0 });
      return 0;
    }
    if (t - e.at < this.intervalMs) {
      e.suppressed++;
      return undefined;
    }
    const n = e.suppressed;
    e.at = t;
    e.suppressed = 0;
    return n;
  }
}

export interface CoreMetrics {
  authFailures: BoundCounter;
  aclDenied: BoundCounter;
  messages: BoundCounter;
  disconnects: BoundCounter;
  connections: BoundGauge;
  configPushes: BoundCounter;
  externalConnected: BoundGauge;
  externalConnects: BoundCounter;
  queueDepth: BoundGauge;
}

export class IngestCore {
  readonly m: CoreMetrics;
  readonly throttle: LogThrottle;
  private readonly pending = new Set<Promise<unknown>>();
  /** Messages are handled a bounded number per event-loop turn (pipeline/turns.ts). */
  readonly turns: Turns;

  constructor(
    readonly settings: CentralSettings,
    readonly config: MqttIngestConfig,
    readonly deps: MqttIngestDeps,
  ) {
    const mm = settings.metrics;
    this.m = {
      authFailures: mm.counter('aiops_central_mqtt_auth_failures_total', 'MQTT connections refused (CONNACK not authorized), by reason.', ['reason']),
      aclDenied: mm.counter('aiops_central_mqtt_acl_denied_total', 'Publishes and subscriptions refused by the topic ACL, by action.', ['action']),
      messages: mm.counter('aiops_central_mqtt_messages_total', 'Messages received from agents, by kind and result (ok, rejected, retry, resync, oversized, malformed, wrong_agent, unhandled, ...).', ['kind', 'result']),
      disconnects: mm.counter('aiops_central_mqtt_disconnects_total', 'Agent connections central closed, by reason (retry, resync, acl, oversized, revoked, shutdown).', ['reason']),
      connections: mm.gauge('aiops_central_mqtt_connections', 'Agent connections open on the embedded broker.'),
      configPushes: mm.counter('aiops_central_mqtt_config_pushes_total', 'Retained config messages published to agents, by result.', ['result']),
      externalConnected: mm.gauge('aiops_central_mqtt_external_connected', '1 while central is connected and subscribed to the external broker.'),
      externalConnects: mm.counter('aiops_central_mqtt_external_connects_total', 'Connection attempts to the external broker, by result.', ['result']),
      queueDepth: mm.gauge('aiops_central_mqtt_queue_depth', 'Messages received and waiting for their turn to be handled (stored, detected, then acknowledged).'),
    };
    this.turns = new Turns({ depth: this.m.queueDepth });
    this.m.connections.set(0);
    this.m.externalConnected.set(0);
    this.throttle = new LogThrottle(() => settings.clock.now());
  }

  get logger() {
    return this.settings.logger;
  }

  /** Remembers `p` until it settles (shutdown waits for it). */
  track<T>(p: Promise<T>): Promise<T> {
    this.pending.add(p);
    const done = () => this.pending.delete(p);
    p.then(done, done);
    return p;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Waits for the tracked messages, at most `timeoutMs`; true when all settled. */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return true;
    let timer: unknown;
    const timeout = new Promise<false>((resolve) => {
      timer = this.settings.clock.setTimeout(() => resolve(false), timeoutMs);
    });
    const all = Promise.allSettled([...this.pending]).then(() => true as const);
    const r = await Promise.race([all, timeout]);
    this.settings.clock.clearTimeout(timer);
    return r;
  }

  /** Logs at `level` unless throttled under `key`; adds `suppressed` when lines were skipped. */
  log(level: 'info' | 'warn' | 'error' | 'debug', key: string, fields: Record<string, unknown>, msg: string): void {
    const suppressed = this.throttle.take(key);
    if (suppressed === undefined) return;
    this.logger[level](suppressed > 0 ? { ...fields, suppressed } : fields, msg);
  }

  audit(entry: Omit<AuditEntry, 'atMs'>): void {
    const a = this.deps.audit;
    if (a === undefined) return;
    void a.append({ ...entry, atMs: this.settings.clock.now() }).catch((err: unknown) => {
      this.log('error', 'audit', { err: (err as Error).message, action: entry.action }, 'cannot append to the audit log');
    });
  }

  /**
   * A feature frame through the connection's (or the agent's) FrameSession. `accept` is the
   * first thing called, synchronously, so frames of one session are decoded in arrival order
   * (the stream dictionary depends on it).
   */
  async features(session: FrameSession, payload: Uint8Array, external: boolean): Promise<Verdict> {
    const ack = await session.accept(payload);
    const id = session.identity;
    switch (ack.status) {
      case 'ok':
        this.m.messages.inc(1, { kind: 'features', result: 'ok' });
        return ACK_OK;
      case 'rejected':
        // Counted and logged by FrameIngest with its reason; a resend cannot help.
        this.m.messages.inc(1, { kind: 'features', result: 'rejected' });
        return { verdict: 'ack', result: 'rejected' };
      case 'retry':
        this.m.messages.inc(1, { kind: 'features', result: 'retry' });
        return { verdict: 'withhold', result: 'retry', retryAfterMs: ack.retryAfterMs };
      case 'resync_dictionary':
        if (!external) {
          // The agent's exporter starts a new dictionary epoch on every new connection: closing
          // this one (without PUBACK) is how MQTT asks it to resync; it resends from its buffer.
          this.m.messages.inc(1, { kind: 'features', result: 'resync' });
          return { verdict: 'withhold', result: 'resync' };
        }
        // Behind an external broker central cannot reach the agent's connection: the frame
        // names series of a dictionary central lost (it restarted while the agent stayed
        // connected). Redelivery cannot help either; the agent's next epoch (reset frame,
        // dictionary_reset_interval or reconnect) recovers. wire_dictionary: standalone avoids it.
        this.m.messages.inc(1, { kind: 'features', result: 'undecodable' });
        this.log('warn', 'undecodable', { agent: id.agentId, tenant: id.tenant, sequence: ack.sequence, problem: ack.message }, 'feature frame refers to a series dictionary central does not have (central restarted behind the external broker): dropped; use wire_dictionary: standalone on agents behind an external broker');
        return { verdict: 'ack', result: 'undecodable' };
    }
  }

  /** Marks the agent seen. Heartbeats are not data: every outcome is acknowledged. */
  async heartbeat(id: SessionIdentity, payload: Uint8Array): Promise<Verdict> {
    let hb: Heartbeat;
    try {
      hb = decodeHeartbeat(decodeEnvelope(payload, { expectedKind: PayloadKind.Heartbeat }).payload);
    } catch (err) {
      this.m.messages.inc(1, { kind: 'heartbeat', result: 'malformed' });
      this.log('warn', 'heartbeat-malformed', { agent: id.agentId, err: (err as Error).message }, 'malformed heartbeat: dropped');
      return { verdict: 'ack', result: 'malformed' };
    }
    if (hb.agentId !== id.agentId || (hb.tenant !== '' && hb.tenant !== id.tenant)) {
      this.m.messages.inc(1, { kind: 'heartbeat', result: 'wrong_agent' });
      this.log('warn', 'heartbeat-wrong-agent', { agent: id.agentId, claimed: hb.agentId.slice(0, 128) }, 'heartbeat names another agent or tenant: dropped');
      return { verdict: 'ack', result: 'wrong_agent' };
    }
    try {
      await this.deps.agents.touch(id.agentId, this.settings.clock.now());
    } catch (err) {
      this.m.messages.inc(1, { kind: 'heartbeat', result: 'store_error' });
      this.log('warn', 'heartbeat-store', { agent: id.agentId, err: (err as Error).message }, 'cannot record the agent as seen');
      return { verdict: 'ack', result: 'store_error' };
    }
    this.m.messages.inc(1, { kind: 'heartbeat', result: 'ok' });
    return ACK_OK;
  }

  /** An AlertBatch envelope; acknowledged once the alert consumer has it durable. */
  async alerts(id: SessionIdentity, payload: Uint8Array): Promise<Verdict> {
    const consumer = this.deps.alerts;
    if (consumer === undefined) return this.unhandled(id, 'alerts');
    let batch: AlertBatch;
    try {
      batch = decodeAlertBatch(decodeEnvelope(payload, { expectedKind: PayloadKind.AlertBatch }).payload);
    } catch (err) {
      this.m.messages.inc(1, { kind: 'alerts', result: 'rejected' });
      this.log('warn', 'alerts-malformed', { agent: id.agentId, err: (err as Error).message }, 'malformed alert batch: dropped');
      return { verdict: 'ack', result: 'rejected' };
    }
    const foreign = batch.agentId !== id.agentId || (batch.tenant !== '' && batch.tenant !== id.tenant) || batch.alerts.some((a) => a.tenant !== '' && a.tenant !== id.tenant);
    if (foreign) {
      this.m.messages.inc(1, { kind: 'alerts', result: 'wrong_agent' });
      this.log('warn', 'alerts-wrong-agent', { agent: id.agentId, claimed: batch.agentId.slice(0, 128) }, 'alert batch names another agent or tenant: dropped');
      return { verdict: 'ack', result: 'wrong_agent' };
    }
    const alerts: Alert[] = batch.alerts.map((a) => (a.tenant === id.tenant ? a : { ...a, tenant: id.tenant }));
    try {
      await consumer.consumeAlerts(alerts);
    } catch (err) {
      const permanent = (err as { retryable?: unknown })?.retryable === false;
      this.m.messages.inc(1, { kind: 'alerts', result: permanent ? 'rejected' : 'retry' });
      this.log('warn', 'alerts-downstream', { agent: id.agentId, err: (err as Error).message, permanent }, 'alert batch not stored');
      return permanent ? { verdict: 'ack', result: 'rejected' } : { verdict: 'withhold', result: 'retry' };
    }
    this.m.messages.inc(1, { kind: 'alerts', result: 'ok' });
    return ACK_OK;
  }

  /** A kind central has no consumer for (logs, alerts without one): counted, acknowledged, dropped. */
  unhandled(id: SessionIdentity, kind: string): Verdict {
    this.m.messages.inc(1, { kind, result: 'unhandled' });
    this.log('warn', `unhandled-${kind}`, { agent: id.agentId, kind }, 'no consumer for this kind of message in central: dropped');
    return { verdict: 'ack', result: 'unhandled' };
  }

  oversized(id: SessionIdentity | undefined, kind: string, bytes: number): void {
    this.m.messages.inc(1, { kind, result: 'oversized' });
    this.log('warn', 'oversized', { agent: id?.agentId, kind, bytes, max: this.config.max_payload }, 'message larger than mqtt.max_payload refused');
  }
}
