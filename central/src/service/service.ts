// Central as one graph of components (CONVENTIONS 1-4), built from a validated config:
//
//   MQTT ingest ─┐                                                                  AlertStore
//   gRPC ingest ─┼─> frame ingest ──> feature sink ──> chain ──> Dynamic X-Y ──> alert sink ^
//                │   (decode, auth)   (MetricStore)   (Tier-2/3    (anomalies to alerts)     |
//                │                                     confirm; ModelServer, registry)       |
//   REST ────────┴── metrics/logs/alerts/config/models routes ──────────────────────────────┘
//
// Started downstream first (stores, sinks, detectors, then receivers, then the API), shut
// down upstream first, so nothing accepted is lost: receivers stop taking frames, what is in
// flight finishes, then the database closes. Roles (ARCHITECTURE section 4) select parts:
// `ingest` = MQTT, gRPC and the REST write routes; `detect` = anomalies to alerts; `api` = the
// read and admin routes; `all` = everything (the embedded mode). The gateway (health, metrics)
// runs in every role. Split roles need the bus (Kafka, issue #6) between them: until then a
// process must run ingest and detect together (checkRoles says so at start-up).
import { mkdirSync, chmodSync } from 'node:fs';
import type { Logger, SelfMetrics, Clock } from '../../../shared-schemas/src/runtime/index.js';
import { validateTopologyDocument } from '../../../shared-schemas/src/index.js';
import type { TopologyDocument } from '../../../shared-schemas/src/index.js';
import { registerAgentConfigRoutes, registerAlertRoutes, registerConfigRoutes, republishAgentConfigs, registerIncidentRoutes, registerLogRoutes, registerMetricRoutes } from '../api/index.js';
import { registerAgentRoutes } from '../api/agents.js';
import { registerModelRoutes } from '../api/models.js';
import { registerGraphqlRoutes } from '../api/graphql.js';
import { registerSilenceRoutes } from '../api/silences.js';
import { registerChangeRoutes } from '../api/changes.js';
import { registerTraceRoutes } from '../api/traces.js';
import type { GraphQLSchema } from 'graphql/index.js';
import { embeddedTopologySchema, neo4jTopologySchema } from '../topology/graphql.js';
import type { DeclareTopology } from '../topology/graphql.js';
import { ModelRegistry } from '../detect/registry/index.js';
import { EmbeddedTopologyStore, Neo4jTopologyStore, TopologyDiscovery, TopologyExpiry, TraceDiscovery } from '../topology/index.js';
import type { TopologyStore } from '../topology/index.js';
import { artifactStoreFor, ModelServer } from '../detect/serving/index.js';
import { ChainConfirmer } from '../detect/chain/index.js';
import { CorrelationStage } from '../correlate/index.js';
import { RcaStage } from '../rca/index.js';
import { PredictStage } from '../predict/index.js';
import { MuteStage } from '../mute/index.js';
import { WebhookNotifier } from '../notify/index.js';
import type { CentralSettings, Component, FrameConsumer } from '../component.js';
import type { CentralConfig, CentralRole } from '../config/config.js';
import { CentralConfigError } from '../config/config.js';
import { DynamicXyDetector, validateDetectionConfig } from '../detect/dynamic-xy/index.js';
import { createGateway } from '../gateway/index.js';
import type { Gateway } from '../gateway/index.js';
import { KafkaBus, TOPICS } from '../bus/index.js';
import { kafkaBusConfig } from '../bus/config.js';
import type { BusConfig } from '../bus/config.js';
import { AlertStoreSink, FeatureBusConsumer, FeatureBusSink, FeatureSink, FrameIngest, primeFromStore, TenantScope } from '../pipeline/index.js';
import { GrpcIngest } from '../receivers/grpc/index.js';
import { MqttIngest } from '../receivers/mqtt/index.js';
import { openSqliteStores } from '../storage/index.js';
import type { SqliteStores } from '../storage/index.js';
import { exportingMetricStore, tsdbFactory } from '../tsdb/index.js';
import { Compactor } from './compactor.js';
import { centralDatabasePath } from './paths.js';

export interface CentralRuntime {
  logger: Logger;
  metrics: SelfMetrics;
  clock: Clock;
}

const NOT_YET: Partial<Record<CentralRole, string>> = {
  correlate: 'correlation runs inside the processes that take alerts in (all, ingest, detect, api) until alerts travel on the bus',
  rca: 'root-cause analysis runs inside the processes that correlate (all, ingest, detect, api) until alerts travel on the bus',
  act: 'remediation arrives with a later issue',
};

export class CentralService {
  readonly stores: SqliteStores;
  readonly gateway: Gateway;
  readonly mqtt: MqttIngest | undefined;
  readonly grpc: GrpcIngest | undefined;
  readonly detector: DynamicXyDetector | undefined;
  /** The Kafka bus between the roles (bus.kind: kafka), else undefined. */
  readonly bus: KafkaBus | undefined;
  /** The detect role's consumer of aiops.features (with the Kafka bus). */
  readonly featureConsumer: FeatureBusConsumer | undefined;
  /** Tier-2/3 models (issue #7): versions and stages. */
  readonly models: ModelRegistry;
  /** Topology discovery from OTLP traces (POST /v1/traces), with the ingest role. */
  readonly traces: TraceDiscovery | undefined;
  /** Silences and inhibition, between the alert store and correlation. */
  readonly mute: MuteStage;
  /** Alerts into incidents (time-topology correlation), after the alert store. */
  readonly correlation: CorrelationStage;
  /** Root causes of new and grown incidents, after correlation. */
  readonly rca: RcaStage;
  /** Forecasts of resources running out, as predictive alerts (processes with the detect role). */
  readonly predict: PredictStage | undefined;
  /** The service topology (embedded graph or Neo4j, topology.store). */
  readonly topology: TopologyStore;
  /** Whether a role here uses the topology (api, ingest): only then is the store started. */
  private readonly topologyInUse: boolean;
  /** The detect role's Tier-2/3 serving (models.enabled), following the registry. */
  readonly modelServer: ModelServer | undefined;
  /** The chain in front of the X-Y detector: Tier-1 flags count only once Tier-2/3 confirm them. */
  readonly confirmer: ChainConfirmer | undefined;
  private readonly components: Array<{ id: string; c: Component }> = [];
  private started = false;
  private stopped: Promise<void> | undefined;

  /** Refuses role sets this version cannot run (CentralConfigError naming `role`). */
  static checkRoles(roles: readonly CentralRole[], bus: BusConfig['kind'] = 'in-process'): void {
    for (const r of roles) {
      if (NOT_YET[r]) throw new CentralConfigError([{ path: 'role', message: `role "${r}" is not available in this version (${NOT_YET[r]})` }]);
    }
    const has = (r: CentralRole) => roles.includes('all') || roles.includes(r);
    if (has('detect') !== has('ingest') && bus !== 'kafka') {
      throw new CentralConfigError([{ path: 'role', message: 'ingest and detect in separate processes need the Kafka bus between them (bus.kind: kafka with bus.kafka.brokers); with the in-process bus run "all", or both in one process' }]);
    }
  }

  constructor(
    readonly config: CentralConfig,
    private readonly rt: CentralRuntime,
  ) {
    CentralService.checkRoles(config.role, config.bus.kind);
    const has = (r: CentralRole) => config.role.includes('all') || config.role.includes(r);
    const settings = (id: string): CentralSettings => ({ id, logger: rt.logger.child({ component: id }), metrics: rt.metrics.forComponent(id), clock: rt.clock, dataDir: config.data_dir });

    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
    chmodSync(config.data_dir, 0o700);
    const now = () => rt.clock.now();
    this.stores = openSqliteStores(centralDatabasePath(config.data_dir), {
      now,
      metrics: { retention: { rawMs: config.storage.raw_retention, oneMinuteMs: config.storage.one_minute_retention, fiveMinuteMs: config.storage.five_minute_retention } },
    });
    try {
      const s = this.stores;
      this.add('storage/compactor', new Compactor(settings('storage/compactor'), { intervalMs: config.storage.compact_interval, logRetentionMs: config.storage.log_retention, incidentRetentionMs: config.storage.five_minute_retention }, s));

      // Optional copy to an external TSDB: started before the routes that feed it, stopped after.
      const tsdb = tsdbFactory.create(settings, config.tsdb);
      if (tsdb.exporter) this.add('tsdb/remote_write', tsdb.exporter);
      const metricStore = tsdb.exporter ? exportingMetricStore(s.metrics, tsdb.exporter) : s.metrics;

      // Kafka between the roles: started (and its topics created) before anything uses it.
      const bus = config.bus.kind === 'kafka' && (has('ingest') || has('detect')) ? new KafkaBus(settings('bus/kafka'), kafkaBusConfig(config.bus.kafka!)) : undefined;
      if (bus) {
        const partitions = config.bus.partitions;
        this.add('bus/kafka', {
          start: async () => {
            await bus.start();
            await bus.ensureTopics(Object.values(TOPICS).map((name) => ({ name, partitions })));
          },
          shutdown: () => bus.shutdown(),
        });
      }
      this.bus = bus;

      const tc = config.topology;
      this.topology =
        tc.store === 'neo4j'
          ? new Neo4jTopologyStore({ url: tc.neo4j.url, username: tc.neo4j.username, ...(tc.neo4j.password !== undefined ? { password: tc.neo4j.password } : {}), ...(tc.neo4j.database ? { database: tc.neo4j.database } : {}) })
          : new EmbeddedTopologyStore(s.db);
      // Only the roles that write or read the topology open it (a detect pod never dials Neo4j).
      this.topologyInUse = has('api') || has('ingest');
      if (this.topologyInUse) this.add('topology/store', this.topology);
      const traceDiscovery = has('ingest') ? new TraceDiscovery({ store: this.topology, ...(({ logger, metrics, clock }) => ({ logger, metrics, clock }))(settings('topology/traces')) }) : undefined;
      if (traceDiscovery) this.add('topology/traces', traceDiscovery);
      this.traces = traceDiscovery;
      if (this.topologyInUse) this.add('topology/expiry', new TopologyExpiry(settings('topology/expiry'), { store: this.topology, tenant: config.tenant, ttlMs: tc.discovered_ttl, intervalMs: tc.expire_interval }));

      const as = settings('alerts/store');
      const alertSink = new AlertStoreSink({ store: s.alerts, clock: rt.clock, logger: as.logger, metrics: as.metrics });
      // receive -> deduplicate (the alert store) -> inhibit and silence -> correlate into
      // incidents -> notify (one notification per incident change).
      const notifiers = config.notify.webhooks.map((w) => {
        const n = new WebhookNotifier(settings(`notify/${w.name}`), w);
        this.add(`notify/${w.name}`, n);
        return n;
      });
      this.correlation = new CorrelationStage(settings('alerts/correlation'), config.correlation, { alerts: s.alerts, incidents: s.incidents, topology: this.topology, next: notifiers }, [config.tenant]);
      this.add('alerts/correlation', this.correlation);
      this.rca = new RcaStage(settings('incidents/rca'), config.rca, { metrics: s.metrics, topology: this.topology, incidents: s.incidents, changes: s.changes, sink: this.correlation });
      this.add('incidents/rca', this.rca);
      this.correlation.addNext(this.rca);
      this.mute = new MuteStage(settings('alerts/mute'), config.inhibit_rules, { silences: s.silences, next: this.correlation });
      this.add('alerts/mute', this.mute);
      alertSink.addDownstream(this.mute);
      // Predictive alerts enter the chain at the alert store, like the detector's.
      if (has('detect') && config.predict.enabled) {
        this.predict = new PredictStage(settings('alerts/predict'), config.predict, { metrics: s.metrics, next: alertSink, tenant: config.tenant });
        this.add('alerts/predict', this.predict);
      }
      this.models = new ModelRegistry(artifactStoreFor(config.models.registry, config.data_dir), () => rt.clock.now());
      this.modelServer = has('detect') && config.models.enabled ? new ModelServer(settings('detect/models'), config.models, this.models) : undefined;
      if (this.modelServer) this.add('detect/models', this.modelServer);
      let detector: DynamicXyDetector | undefined;
      if (has('detect')) {
        detector = new DynamicXyDetector(settings('detect/dynamic-xy'), config.detection, alertSink);
        this.add('detect/dynamic-xy', detector);
        if (this.modelServer) {
          const cs = settings('detect/chain');
          const chain = config.models.chain;
          this.confirmer = new ChainConfirmer({ server: this.modelServer, next: detector, logger: cs.logger, metrics: cs.metrics, threshold: chain.threshold, multivariateThreshold: chain.multivariate_threshold, episodeHold: chain.episode_hold });
        }
        if (bus) {
          const cs = settings('detect/features');
          this.featureConsumer = new FeatureBusConsumer({ bus, store: s.metrics, readers: [this.confirmer ?? detector], scope: new TenantScope(config.tenant), logger: cs.logger, metrics: cs.metrics, clock: rt.clock });
          this.add('detect/features', this.featureConsumer);
        }
      }
      this.detector = detector;

      if (has('ingest')) {
        const sinkSettings = settings('ingest/features');
        const featureSink: FrameConsumer = bus
          ? new FeatureBusSink({ bus, logger: sinkSettings.logger, metrics: sinkSettings.metrics })
          : new FeatureSink({ store: s.metrics, readers: this.confirmer ? [this.confirmer] : detector ? [detector] : [], logger: sinkSettings.logger, metrics: sinkSettings.metrics, scope: new TenantScope(config.tenant) });
        const ingestSettings = settings('ingest/frames');
        const ds = settings('topology/discovery');
        const discovery = new TopologyDiscovery({ store: this.topology, next: featureSink, logger: ds.logger, metrics: ds.metrics, clock: rt.clock });
        const frames = new FrameIngest({ next: discovery, logger: ingestSettings.logger, metrics: ingestSettings.metrics });
        this.mqtt = config.mqtt.mode === 'off' ? undefined : new MqttIngest(settings('ingest/mqtt'), config.mqtt, { agents: s.agents, ingest: frames, audit: s.audit });
        if (this.mqtt) this.add('ingest/mqtt', this.mqtt);
        this.grpc = config.grpc.enabled ? new GrpcIngest(settings('ingest/grpc'), config.grpc, { agents: s.agents, ingest: frames, alerts: alertSink }) : undefined;
        if (this.grpc) this.add('ingest/grpc', this.grpc);
      } else {
        this.mqtt = undefined;
        this.grpc = undefined;
      }

      const gwSettings = settings('api');
      const [host, port] = splitListen(config.api.listen);
      this.gateway = createGateway({
        config: { listen: { host, port }, limits: { bodyBytes: config.api.max_body }, rateLimit: { ratePerSecond: config.api.rate_per_second, burst: config.api.burst }, ...(config.api.protect_metrics ? { metricsScope: 'read' as const } : {}) },
        keys: s.apiKeys,
        audit: s.audit,
        logger: gwSettings.logger,
        registry: rt.metrics.registry,
        clock: rt.clock,
      });
      this.gateway.addReadinessCheck('database', () => (s.db.closed ? { ok: false, reason: 'database closed' } : true));
      const tenant = config.tenant;
      if (has('ingest')) {
        registerMetricRoutes(this.gateway, { metrics: metricStore, maxRemoteWriteBytes: config.api.max_remote_write_body, defaultTenant: tenant });
        registerLogRoutes(this.gateway, { logs: s.logs });
        if (traceDiscovery) registerTraceRoutes(this.gateway, { discovery: traceDiscovery, maxBodyBytes: config.api.max_remote_write_body });
        registerAlertRoutes(this.gateway, { alerts: s.alerts, ingest: alertSink });
      }
      if (has('api')) {
        if (!has('ingest')) registerAlertRoutes(this.gateway, { alerts: s.alerts, ingest: alertSink });
        registerIncidentRoutes(this.gateway, { incidents: s.incidents, alerts: s.alerts, actions: this.correlation, ...(config.rca.enabled ? { analysis: this.rca } : {}) });
        const mute = this.mute;
        registerSilenceRoutes(this.gateway, { silences: s.silences, changed: (t) => mute.silencesChanged(t) });
        const rca = this.rca;
        registerChangeRoutes(this.gateway, { changes: s.changes, recorded: (t, entity) => rca.changeRecorded(t, entity) });
        const server = this.modelServer;
        registerModelRoutes(this.gateway, { registry: this.models, ...(server ? { serving: () => server.status() } : {}) });
        const topology = this.topology;
        registerConfigRoutes(this.gateway, {
          configs: s.configs,
          topology: {
            validate: (body) => validateTopologyDocument(body),
            apply: async (t, doc) => {
              await topology.putDeclared(t, doc as TopologyDocument, rt.clock.now());
              this.correlation.topologyChanged(t);
            },
            defaults: () => ({ version: 1, name: '', nodes: [], edges: [] }),
          },
          detection: {
            validate: (body) => validateDetectionConfig(body, 'body'),
            apply: (t, doc) => {
              if (t === tenant) detector?.update(doc as CentralConfig['detection']);
            },
            defaults: () => config.detection,
          },
        });
      }
      if (has('api')) {
        // GraphQL over the topology: the declared document goes the way of PUT /api/v1/config/topology.
        const topology = this.topology;
        const declare: DeclareTopology = async (t, doc, actor) => {
          const valid = validateTopologyDocument(doc);
          const now = rt.clock.now();
          await s.configs.put({ tenant: t, name: 'topology', body: valid, updatedBy: actor }, now);
          const r = await topology.putDeclared(t, valid, now);
          this.correlation.topologyChanged(t);
          await s.audit.append({ atMs: now, actor, action: 'config.topology.put', target: 'topology', details: { via: 'graphql', nodes: r.nodes, edges: r.edges } });
          return r;
        };
        let schema: Promise<GraphQLSchema> | undefined;
        registerGraphqlRoutes(this.gateway, {
          schema: () => {
            schema ??= (topology instanceof Neo4jTopologyStore ? neo4jTopologySchema(topology.connection!, declare) : embeddedTopologySchema(topology, declare)).catch((err: unknown) => {
              schema = undefined;
              throw err;
            });
            return schema;
          },
        });
      }
      if (has('api')) {
        const mqtt = this.mqtt;
        registerAgentConfigRoutes(this.gateway, { agents: s.agents, configs: s.configs, ...(mqtt ? { push: (t: string, id: string, b: Uint8Array) => mqtt.pushConfig(t, id, b) } : {}) });
      }
      if (has('api') || has('ingest')) {
        registerAgentRoutes(this.gateway, {
          agents: s.agents,
          clock: rt.clock,
          defaultTenant: tenant,
          onRevoke: async (agentId) => {
            await this.mqtt?.revokeAgent(agentId);
            await this.grpc?.revokeAgent(agentId);
          },
        });
      }
    } catch (err) {
      void this.stores.close();
      throw err;
    }
  }

  private add(id: string, c: Component): void {
    this.components.push({ id, c });
  }

  /** Downstream first; the gateway last (ready only once everything behind it runs). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    // The stored detection settings win over the file's (they were set at runtime, later).
    const stored = await this.stores.configs.get(this.config.tenant, 'detection');
    if (stored && this.detector) {
      try {
        this.detector.update(validateDetectionConfig(stored.body));
      } catch (err) {
        this.rt.logger.error({ err: (err as Error).message, version: stored.version }, 'stored detection config is invalid; keeping the file settings');
      }
    }
    // From the bus, each partition's series are primed when the partition is taken over.
    if (this.detector && !this.bus) await this.primeDetector(this.detector);
    for (const { id, c } of this.components) {
      this.rt.logger.debug({ component: id }, 'starting');
      await c.start();
    }
    // The declared topology stored by PUT /api/v1/config/topology is what the topology store
    // holds (re-applied at start: a failed apply or a store swapped for another is healed).
    const declared = this.topologyInUse ? await this.stores.configs.get(this.config.tenant, 'topology').catch(() => undefined) : undefined;
    if (declared) {
      try {
        await this.topology.putDeclared(this.config.tenant, validateTopologyDocument(declared.body), this.rt.clock.now());
        this.correlation.topologyChanged(this.config.tenant);
      } catch (err) {
        this.rt.logger.error({ err: (err as Error).message, version: declared.version }, 'stored topology not loaded into the topology store');
      }
    }
    await this.gateway.start();
    const mqtt = this.mqtt;
    if (mqtt) {
      const n = await republishAgentConfigs({ agents: this.stores.agents, configs: this.stores.configs, push: (t, id, b) => mqtt.pushConfig(t, id, b) }).catch((err: unknown) => {
        this.rt.logger.error({ err: (err as Error).message }, 'agent configs not re-published');
        return 0;
      });
      if (n > 0) this.rt.logger.info({ agents: n }, 'agent configs re-published (retained)');
    }
  }

  /**
   * Rebuilds the detector's per-series state (flag history, learnt X/Y, firing episodes) from
   * the last hour of stored feature rows, so a restart neither re-fires nor forgets an alert.
   */
  private async primeDetector(detector: DynamicXyDetector): Promise<void> {
    const now = this.rt.clock.now();
    try {
      const { series, windows } = await primeFromStore({ store: this.stores.metrics, scope: new TenantScope(this.config.tenant), readers: [this.confirmer ?? detector], startMs: now - 3_600_000, endMs: now + 60_000 });
      this.rt.logger.info({ series, restored: windows }, 'detector state rebuilt from stored feature rows');
    } catch (err) {
      this.rt.logger.warn({ err: (err as Error).message }, 'detector state not (fully) rebuilt from storage (the rest starts cold)');
    }
  }

  /** Upstream first: the API and receivers stop taking data, then detectors, then storage. Idempotent. */
  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      await this.gateway.shutdown().catch((err: unknown) => this.rt.logger.error({ err: (err as Error).message }, 'gateway shutdown failed'));
      for (const { id, c } of [...this.components].reverse()) {
        await c.shutdown().catch((err: unknown) => this.rt.logger.error({ component: id, err: (err as Error).message }, 'shutdown failed'));
      }
      await this.stores.close();
    })();
    return this.stopped;
  }

  /** Where central listens (for logs and the quickstart). */
  endpoints(): { api?: string; mqtt?: string; grpc?: string } {
    const a = this.gateway.address;
    return {
      ...(a ? { api: `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}` } : {}),
      ...(this.mqtt?.mode === 'embedded' && this.mqtt.port !== undefined ? { mqtt: `${this.config.mqtt.listen.replace(/:\d+$/, '')}:${this.mqtt.port}` } : {}),
      ...(this.grpc ? { grpc: `${this.config.grpc.listen.replace(/:\d+$/, '')}:${this.grpc.port}` } : {}),
    };
  }
}

function splitListen(listen: string): [string, number] {
  const i = listen.lastIndexOf(':');
  return [listen.slice(0, i).replace(/^\[|\]$/g, ''), Number(listen.slice(i + 1))];
}
