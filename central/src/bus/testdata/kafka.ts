// A real Kafka broker for the Kafka bus tests, started by deploy/dev/kafka.sh as a private
// instance (startDevPeer: its own state folder and a free port, tried again on fresh ports), so
// stopping it (the outage test does) never disturbs another suite. The jars are cached outside
// the repository and shared between instances.
import { startDevPeer } from '../../../../edge-agent/src/testing/index.js';
import type { DevPeer } from '../../../../edge-agent/src/testing/index.js';

export interface KafkaBroker extends DevPeer {
  /** `127.0.0.1:<port>`, for KafkaBusConfig.brokers. */
  broker: string;
}

export async function startKafka(): Promise<KafkaBroker> {
  const peer = await startDevPeer({ script: 'kafka.sh', suites: 'the Kafka bus tests', env: (port) => ({ KAFKA_PORT: String(port) }), unset: ['KAFKA_CONTROLLER_PORT'] });
  return { ...peer, broker: `127.0.0.1:${peer.port}` };
}
