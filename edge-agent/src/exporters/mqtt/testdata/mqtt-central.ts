// Central's side on an external broker: an mqtt.js subscriber with a persistent session
// (clean: false, QoS 1) decoding every agent's feature frames with a per-agent dictionary.
import mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { IngestRecorder } from '../../internal/testdata/ingest-recorder.js';

export class MqttCentral {
  readonly recorder = new IngestRecorder();
  client: MqttClient | undefined;
  private readonly streams = new Map<string, ReturnType<IngestRecorder['stream']>>();

  async connect(url: string, username: string, password: string, clientId = 'central-test'): Promise<void> {
    const client = mqtt.connect(url, { clientId, clean: false, username, password, reconnectPeriod: 500, connectTimeout: 5000 });
    this.client = client;
    client.on('error', () => undefined);
    client.on('message', (topic, payload) => {
      const agent = topic.split('/')[4] ?? '';
      let s = this.streams.get(agent);
      if (!s) this.streams.set(agent, (s = this.recorder.stream()));
      s.accept(payload);
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('aiops/v1/+/agents/+/features', { qos: 1 });
  }

  async publishRetained(topic: string, payload: Buffer): Promise<void> {
    await this.client!.publishAsync(topic, payload, { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}
