// The tolerant request decoding of the AgentIngest server (service.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ingestServiceDefinition, isInvalid, peekVarintField } from './service.js';
import { envelope, rawFrame } from './testdata/rig.js';

describe('grpc ingest service definition', () => {
  it('reads the sequence of a message that does not decode', () => {
    assert.equal(peekVarintField(envelope(300, rawFrame('a', 300, 0)), 1), 300);
    assert.equal(peekVarintField(Uint8Array.from([0x08, 0x05, 0x12, 0xff]), 1), 5);
    assert.equal(peekVarintField(Uint8Array.from([0x12, 0x01, 0x00, 0x08, 0x07]), 1), 7);
    assert.equal(peekVarintField(Uint8Array.from([0xff, 0xff]), 1), 0);
    assert.equal(peekVarintField(new Uint8Array(0), 1), 0);
  });

  it('turns undecodable and oversized requests into values instead of throwing', () => {
    const def = ingestServiceDefinition(4096);
    const ok = def.StreamFeatures.requestDeserialize(Buffer.from(envelope(7, rawFrame('a', 7, 0))));
    assert.ok(!isInvalid(ok) && ok.sequence === 7);
    const bad = def.StreamFeatures.requestDeserialize(Buffer.from([0x08, 0x05, 0x12, 0xff]));
    assert.ok(isInvalid(bad) && bad.invalid === 'malformed' && bad.sequence === 5, JSON.stringify(bad));
    const big = def.StreamFeatures.requestDeserialize(Buffer.from(envelope(9, new Uint8Array(5000).fill(1))));
    assert.ok(isInvalid(big) && big.invalid === 'oversized' && big.sequence === 9 && /exceeds max_message 4096/.test(big.message), JSON.stringify(big));
    const hb = def.Heartbeat.requestDeserialize(Buffer.from([0xff]));
    assert.ok(isInvalid(hb) && hb.invalid === 'malformed');
    const alerts = def.PushAlerts.requestDeserialize(Buffer.from([0x0a, 0x01, 0x61, 0x18, 0x2a, 0x22, 0x09]));
    assert.ok(isInvalid(alerts) && alerts.sequence === 42, JSON.stringify(alerts));
  });
});
