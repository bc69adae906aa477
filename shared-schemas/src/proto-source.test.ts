import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { agentIngestServiceDefinition } from './grpc.js';
import { encodeAck } from './messages.js';
import { AIOPS_PROTO_SOURCE } from './proto-source.js';
import { aiopsRoot, messageType, serviceType } from './schema.js';
import { expectDecodeError } from './testing/arbitraries.js';

describe('embedded schema', () => {
  it('proto-source.ts is identical to proto/aiops/v1/aiops.proto', () => {
    const file = readFileSync(new URL('../proto/aiops/v1/aiops.proto', import.meta.url), 'utf8');
    assert.ok(
      AIOPS_PROTO_SOURCE === file,
      'shared-schemas/src/proto-source.ts is out of date: run npx tsx shared-schemas/scripts/embed-proto.ts',
    );
  });

  it('parses into package aiops.v1 with every contract message', () => {
    for (const name of ['MetricPoint', 'FeatureFrame', 'Anomaly', 'Alert', 'Incident', 'RootCause', 'RunbookExecution', 'Heartbeat'] as const) {
      assert.equal(messageType(name).fullName, `.aiops.v1.${name}`);
    }
    const alert = messageType('Alert');
    for (const f of ['status', 'labels', 'annotations', 'startsAtMs', 'endsAtMs', 'generatorUrl', 'fingerprint']) {
      assert.ok(alert.fields[f], `Alert.${f}`);
    }
    assert.equal(aiopsRoot(), aiopsRoot(), 'parsed once');
  });

  it('uses packed columns for the frame rows', () => {
    const columns = messageType('FeatureColumns');
    for (const field of columns.fieldsArray) {
      assert.ok(field.repeated && field.packed, `FeatureColumns.${field.name} is packed`);
    }
  });

  it('declares the AgentIngest service with streaming acknowledgements, matched by the gRPC definition', () => {
    const service = serviceType('AgentIngest');
    const def = agentIngestServiceDefinition();
    const expected: Record<string, [string, string, boolean, boolean]> = {
      StreamFeatures: ['FeatureFrameEnvelope', 'Ack', true, true],
      PushAlerts: ['AlertBatch', 'Ack', true, true],
      Heartbeat: ['Heartbeat', 'HeartbeatAck', false, false],
    };
    for (const [name, [req, res, reqStream, resStream]] of Object.entries(expected)) {
      const m = service.methods[name];
      assert.ok(m, name);
      assert.equal(m.resolvedRequestType?.name, req);
      assert.equal(m.resolvedResponseType?.name, res);
      assert.equal(Boolean(m.requestStream), reqStream);
      assert.equal(Boolean(m.responseStream), resStream);
      const d = def[name as keyof typeof def];
      assert.equal(d.path, `/aiops.v1.AgentIngest/${name}`);
      assert.equal(d.requestStream, reqStream);
      assert.equal(d.responseStream, resStream);
    }
    const ack = { sequence: 9, status: 'resync_dictionary' as const, message: 'lost dictionary', retryAfterMs: 0 };
    const buf = def.StreamFeatures.responseSerialize(ack);
    assert.ok(Buffer.isBuffer(buf));
    assert.deepEqual([...buf], [...encodeAck(ack)]);
    assert.deepEqual(def.StreamFeatures.responseDeserialize(buf), ack);
    expectDecodeError(() => def.StreamFeatures.requestDeserialize(Buffer.from([0x12, 0x7f])), 'MALFORMED_PROTOBUF');
  });
});
