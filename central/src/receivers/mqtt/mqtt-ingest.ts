// Central's MQTT ingest: feature frames, heartbeats and alerts from agents over MQTT, through
// the shared FrameIngest (per-agent dictionaries, identity checks) into the FeatureSink. In the
// embedded mode central runs the broker (aedes) and is the authority on who may connect and
// publish (embedded-broker.ts); in the external mode it subscribes to a broker that enforces
// authentication and ACL itself (external-subscriber.ts). In both a PUBACK is sent only once a
// message is durable downstream or refused for good, so what an agent's exporter deletes from
// its buffer is stored.
//
// Acknowledgement of feature frames (FrameIngest's Ack -> what the agent sees):
//   ok                 PUBACK
//   rejected           PUBACK, counted, dropped, routed nowhere (a resend cannot help)
//   retry              no PUBACK, connection closed: the agent's buffer resends after backoff
//   resync_dictionary  embedded: as retry (the agent's next connection starts a new epoch);
//                      external: PUBACK, counted as undecodable (see external-subscriber.ts)
import type { CentralSettings, Component } from '../../component.js';
import { mqttIngestConfigSchema } from './config.js';
import type { MqttIngestConfig } from './config.js';
import { EmbeddedBroker } from './embedded-broker.js';
import { ExternalSubscriber } from './external-subscriber.js';
import { IngestCore, MqttIngestError } from './ingest-core.js';
import type { MqttIngestDeps } from './ingest-core.js';
import { agentTopics, isAgentId, isTenant } from './topics.js';

export class MqttIngest implements Component {
  private readonly core: IngestCore;
  private embedded: EmbeddedBroker | undefined;
  private external: ExternalSubscriber | undefined;
  private state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  private starting: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly settings: CentralSettings,
    private readonly config: MqttIngestConfig,
    deps: MqttIngestDeps,
  ) {
    this.core = new IngestCore(settings, config, deps);
  }

  get mode(): MqttIngestConfig['mode'] {
    return this.config.mode;
  }

  /** Embedded mode: the port the broker listens on (useful with port 0), once started. */
  get port(): number | undefined {
    return this.embedded?.port;
  }

  /** Embedded mode: agents with an authenticated connection. */
  get connectedAgents(): number {
    return this.embedded?.connectedAgents ?? 0;
  }

  /** External mode: connected to the broker with the subscriptions granted. */
  get externalConnected(): boolean {
    return this.external?.connected ?? false;
  }

  async start(): Promise<void> {
    if (this.state !== 'new') return this.starting;
    this.state = 'starting';
    this.starting = this.doStart();
    try {
      await this.starting;
    } catch (err) {
      this.state = 'stopped';
      this.embedded = undefined;
      this.external = undefined;
      throw err;
    }
  }

  private async doStart(): Promise<void> {
    const c = this.config;
    if (c.mode === 'embedded') {
      const b = new EmbeddedBroker(this.core);
      await b.start();
      this.embedded = b;
    } else if (c.mode === 'external') {
      const x = new ExternalSubscriber(this.core);
      await x.start();
      this.external = x;
    } else {
      this.settings.logger.info({}, 'MQTT ingest is off (mqtt.mode: off)');
    }
    if (this.state === 'starting') this.state = 'running';
  }

  async shutdown(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = (async () => {
      const was = this.state;
      this.state = 'stopped';
      if (was === 'new') return;
      try {
        await this.starting;
      } catch {
        return;
      }
      const timeout = this.config.shutdown_timeout;
      await this.embedded?.stop(timeout);
      await this.external?.stop(timeout);
    })();
    return this.stopping;
  }

  /**
   * Cuts the agent's live connection at once; called by the service after AgentStore.revoke,
   * whose answer then refuses every reconnect. External mode: central drops the agent's messages
   * from now on (the broker must drop its credentials). True when a connection was closed.
   */
  revokeAgent(agentId: string): boolean {
    if (typeof agentId !== 'string' || agentId === '') throw new MqttIngestError('INVALID_ARGUMENT', 'agentId must be a non-empty string');
    if (this.state !== 'running') return false;
    return this.embedded?.revokeAgent(agentId) ?? this.external?.revokeAgent(agentId) ?? false;
  }

  /**
   * Publishes `payload` retained at QoS 1 on `<prefix>/<tenant>/agents/<agentId>/config`: the
   * agent's exporter hands the bytes as they are to its config listeners, now if it is connected,
   * else when it next subscribes. An empty payload clears the retained message (MQTT). Resolves
   * once the broker has it.
   */
  async pushConfig(tenant: string, agentId: string, payload: Uint8Array): Promise<void> {
    if (typeof tenant !== 'string' || !isTenant(tenant)) throw new MqttIngestError('INVALID_ARGUMENT', `tenant must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$ (got ${JSON.stringify(String(tenant).slice(0, 80))})`);
    if (typeof agentId !== 'string' || !isAgentId(agentId)) throw new MqttIngestError('INVALID_ARGUMENT', `agentId must match ^[A-Za-z0-9._:-]{1,128}$ (got ${JSON.stringify(String(agentId).slice(0, 80))})`);
    if (!(payload instanceof Uint8Array)) throw new MqttIngestError('INVALID_ARGUMENT', 'payload must be bytes');
    if (payload.length > this.config.max_payload) throw new MqttIngestError('INVALID_ARGUMENT', `config payload of ${payload.length} bytes exceeds mqtt.max_payload (${this.config.max_payload})`);
    if (this.state !== 'running' || this.config.mode === 'off') throw new MqttIngestError('NOT_RUNNING', `the MQTT ingest is not running (mode ${this.config.mode}, state ${this.state})`, true);
    const topic = agentTopics(this.config.topic_prefix, tenant, agentId).config;
    const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    try {
      if (this.embedded !== undefined) await this.embedded.pushConfig(topic, bytes);
      else await this.external!.pushConfig(topic, bytes);
    } catch (err) {
      this.core.m.configPushes.inc(1, { result: 'failed' });
      throw err;
    }
    this.core.m.configPushes.inc(1, { result: 'ok' });
    this.settings.logger.info({ tenant, agent: agentId, bytes: bytes.length }, 'config pushed (retained)');
  }
}

export interface MqttIngestFactory {
  readonly kind: 'receiver';
  readonly type: 'mqtt';
  readonly description: string;
  readonly configSchema: typeof mqttIngestConfigSchema;
  create(settings: CentralSettings, config: MqttIngestConfig, deps: MqttIngestDeps): MqttIngest;
}

export const mqttIngestFactory: MqttIngestFactory = {
  kind: 'receiver',
  type: 'mqtt',
  description: 'Feature frames, heartbeats and alerts from agents over MQTT: an embedded aedes broker with agent authentication and topic ACL, or a persistent-session subscription to an external broker; acknowledged once durable.',
  configSchema: mqttIngestConfigSchema,
  create: (settings, config, deps) => new MqttIngest(settings, config, deps),
};
