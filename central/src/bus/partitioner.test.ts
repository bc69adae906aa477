// partitionFor is Kafka's default partitioner: the same partition as kafkajs's
// DefaultPartitioner (itself a port of the Java client's) for any key and partition count, so
// the in-process bus, the Kafka bus and Java producers agree on where a key lives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import kafkajs from 'kafkajs';
import { murmur2, partitionFor } from './partitioner.js';

const kafkajsPick = kafkajs.Partitioners.DefaultPartitioner();
const reference = (key: string | Buffer, partitions: number): number =>
  kafkajsPick({ topic: 't', partitionMetadata: Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 })) as never, message: { key, value: null } });

describe('partitionFor (Kafka default partitioner)', () => {
  it('agrees with kafkajs DefaultPartitioner on arbitrary keys and partition counts (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), fc.integer({ min: 1, max: 1000 }), (key, n) => {
        assert.equal(partitionFor(key, n), reference(key, n));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 1, max: 64 }), (bytes, n) => {
        assert.equal(partitionFor(bytes, n), reference(Buffer.from(bytes), n));
      }),
    );
  });

  it('matches the Java client on known values, every tail length', () => {
    // Known values of the Java client's murmur2 (org.apache.kafka.common.utils.UtilsTest).
    assert.equal(murmur2(new TextEncoder().encode('21')), -973932308);
    assert.equal(murmur2(new TextEncoder().encode('foobar')), -790332482);
    assert.equal(murmur2(new TextEncoder().encode('a-little-bit-long-string')), -985981536);
    assert.equal(murmur2(new TextEncoder().encode('a-little-bit-longer-string')), -1486304829);
    assert.equal(murmur2(new TextEncoder().encode('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8')), -58897971);
    assert.equal(murmur2(new Uint8Array([0x61, 0x62, 0x63])), murmur2(new TextEncoder().encode('abc')));
    for (let len = 0; len < 9; len++) {
      const k = 'x'.repeat(len);
      assert.equal(partitionFor(k, 7), reference(k, 7), `length ${len}`);
    }
  });
});
