// The `mqtt:` config section, and the small pure pieces of the ingest (topics, packet guard,
// log throttle).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqttPacket from 'mqtt-packet';
import { configIssues } from '../../../../shared-schemas/src/runtime/index.js';
import { DEFAULT_MAX_PAYLOAD, mqttIngestConfigSchema } from './index.js';
import { LogThrottle } from './ingest-core.js';
import { PacketSizeGuard } from './packet-guard.js';
import { agentTopics, externalSubscriptions, ownKind, parseAgentTopic } from './topics.js';

function issues(v: unknown): Array<{ path: string; message: string }> {
  const r = mqttIngestConfigSchema.safeParse(v, { reportInput: true });
  assert.equal(r.success, false, `expected refusal of ${JSON.stringify(v)}`);
  return configIssues(r.error!, 'mqtt');
}

function refuses(v: unknown, path: string, msg: RegExp): void {
  const got = issues(v);
  assert.ok(got.some((i) => i.path === path && msg.test(i.message)), `${path} ${msg}: ${JSON.stringify(got)}`);
}

describe('mqtt ingest config', () => {
  it('applies defaults: embedded on 127.0.0.1:1883, 4 MiB, aiops/v1, 64 in flight', () => {
    const c = mqttIngestConfigSchema.parse({});
    assert.deepEqual(c, { mode: 'embedded', topic_prefix: 'aiops/v1', max_payload: DEFAULT_MAX_PAYLOAD, max_in_flight_per_agent: 64, listen: '127.0.0.1:1883', shutdown_timeout: 5000 });
    assert.equal(DEFAULT_MAX_PAYLOAD, 4 * 1024 * 1024);
    const x = mqttIngestConfigSchema.parse({ mode: 'external', external: { url: 'mqtts://broker:8883', username: 'central', password: 'pw', tls: { ca_file: '/ca.pem' } } });
    assert.equal(x.external!.client_id, 'aiops-central');
    assert.deepEqual(x.external!.reconnect, { initial_interval: 1000, max_interval: 30_000 });
    assert.equal(x.external!.tls.insecure_skip_verify, false);
    const t = mqttIngestConfigSchema.parse({ listen: '[::1]:8883', max_payload: '1MiB', tls: { cert_file: '/s.crt', key_file: '/s.key', ca_file: '/ca.crt', require_client_cert: true } });
    assert.equal(t.max_payload, 1024 * 1024);
    assert.equal(t.tls!.require_client_cert, true);
  });

  it('names the path and the bad value of every problem', () => {
    refuses({ mode: 'bridge' }, 'mqtt.mode', /embedded/);
    refuses({ listen: 'localhost' }, 'mqtt.listen', /host:port.*got "localhost"/);
    refuses({ listen: '127.0.0.1:70000' }, 'mqtt.listen', /65535/);
    refuses({ max_payload: '10B' }, 'mqtt.max_payload', /1024.*got "10B"/);
    refuses({ max_payload: '1GiB' }, 'mqtt.max_payload', /<=/);
    refuses({ topic_prefix: 'aiops/#' }, 'mqtt.topic_prefix', /wildcards/);
    refuses({ topic_prefix: '/aiops' }, 'mqtt.topic_prefix', /leading/);
    refuses({ max_in_flight_per_agent: 0 }, 'mqtt.max_in_flight_per_agent', /0/);
    refuses({ lisen: '127.0.0.1:1' }, 'mqtt', /unknown key.*lisen/);
    refuses({ tls: { cert_file: '/s.crt', key_file: '/s.key', require_client_cert: true } }, 'mqtt.tls.ca_file', /require_client_cert needs ca_file/);
    refuses({ tls: { cert_file: '/s.crt' } }, 'mqtt.tls.key_file', /string/);
    refuses({ mode: 'external' }, 'mqtt.external', /required with mode: external/);
    refuses({ external: { url: 'mqtt://b:1883' } }, 'mqtt.external', /only used with mode: external/);
    refuses({ mode: 'external', external: { url: 'mqtt://b:1883' }, tls: { cert_file: '/a', key_file: '/b' } }, 'mqtt.tls', /external\.tls/);
    refuses({ mode: 'external', external: { url: 'http://b' } }, 'mqtt.external.url', /mqtt:\/\//);
    refuses({ mode: 'external', external: { url: 'mqtt://b:1883', password: 'x' } }, 'mqtt.external.username', /password needs username/);
    refuses({ mode: 'external', external: { url: 'mqtt://b:1883', tls: { ca_file: '/ca' } } }, 'mqtt.external.tls', /mqtts/);
    refuses({ mode: 'external', external: { url: 'mqtts://b:8883', tls: { cert_file: '/c' } } }, 'mqtt.external.tls.key_file', /together/);
    refuses({ mode: 'external', external: { url: 'mqtt://b:1883', client_id: 'a/b' } }, 'mqtt.external.client_id', /1-128/);
    refuses({ mode: 'external', external: { url: 'mqtt://b:1883', reconnect: { initial_interval: '1m', max_interval: '1s' } } }, 'mqtt.external.reconnect.initial_interval', /<= max_interval/);
  });

  it('never echoes a secret: not the password, not credentials in the URL', () => {
    const got = JSON.stringify([
      ...issues({ mode: 'external', external: { url: 'mqtt://central:hunter2@b:1883' } }),
      ...issues({ mode: 'external', external: { url: 'mqtt://b:1883', username: 'c', password: 12345678 } }),
    ]);
    assert.ok(/credentials/.test(got) && /value hidden: secret/.test(got), got);
    assert.ok(!got.includes('hunter2') && !got.includes('12345678'), got);
  });
});

describe('mqtt ingest topics', () => {
  it('an agent owns exactly its four kinds under its tenant and id', () => {
    const t = agentTopics('aiops/v1', 'acme', 'web-1');
    assert.equal(t.config, 'aiops/v1/acme/agents/web-1/config');
    for (const k of ['features', 'alerts', 'logs', 'heartbeat']) assert.equal(ownKind(t, `aiops/v1/acme/agents/web-1/${k}`), k);
    for (const bad of ['aiops/v1/acme/agents/web-1/config', 'aiops/v1/acme/agents/web-10/features', 'aiops/v1/acme/agents/web-1/features/x', 'aiops/v1/globex/agents/web-1/features', 'aiops/v1/acme/agents/web-1/', 'aiops/v1/acme/agents/web-1']) {
      assert.equal(ownKind(t, bad), undefined, bad);
    }
  });

  it('parses topics from an external broker, refusing anything else', () => {
    assert.deepEqual(parseAgentTopic('aiops/v1', 'aiops/v1/acme/agents/web-1/features'), { tenant: 'acme', agentId: 'web-1', kind: 'features' });
    for (const bad of ['aiops/v1/acme/agents/web-1/config', 'aiops/v2/acme/agents/web-1/features', 'aiops/v1/acme/hosts/web-1/features', 'aiops/v1/-acme/agents/web-1/features', 'aiops/v1/acme/agents/a b/features', 'aiops/v1/acme/agents/web-1/features/x']) {
      assert.equal(parseAgentTopic('aiops/v1', bad), undefined, bad);
    }
    assert.deepEqual(externalSubscriptions('p', ['features', 'heartbeat']), ['p/+/agents/+/features', 'p/+/agents/+/heartbeat']);
  });
});

describe('mqtt packet size guard', () => {
  const publish = (bytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(bytes), qos: 1, messageId: 1, retain: false, dup: false });

  it('lets packets up to the limit through, byte by byte or in one chunk', () => {
    const stream = Buffer.concat([publish(10), publish(200), mqttPacket.generate({ cmd: 'pingreq' }), publish(1000)]);
    const whole = new PacketSizeGuard(1000 + 7);
    assert.equal(whole.feed(stream), true);
    const bytewise = new PacketSizeGuard(1000 + 7);
    for (const b of stream) assert.equal(bytewise.feed(Buffer.from([b])), true);
  });

  it('trips on the header of a packet above the limit, before its body arrives', () => {
    const g = new PacketSizeGuard(1000);
    assert.equal(g.feed(publish(10)), true);
    const big = publish(200_000);
    assert.equal(g.feed(big.subarray(0, 4)), false);
    assert.ok(g.declared > 1000 && g.declared <= 200_000 + 7, String(g.declared));
  });

  it('trips on a malformed (5-byte) remaining length', () => {
    const g = new PacketSizeGuard(Number.MAX_SAFE_INTEGER);
    assert.equal(g.feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01])), false);
    assert.equal(g.declared, -1);
  });
});

describe('log throttle', () => {
  it('logs the first event of a key, then one line per interval with the count skipped', () => {
    let now = 0;
    const t = new LogThrottle(() => now, 1000);
    assert.equal(t.take('a'), 0);
    assert.equal(t.take('a'), undefined);
    assert.equal(t.take('a'), undefined);
    assert.equal(t.take('b'), 0);
    now = 1000;
    assert.equal(t.take('a'), 2);
    assert.equal(t.take('a'), undefined);
  });
});
