// The partition of a keyed record: Kafka's default partitioner (murmur2 of the key, positive,
// mod the partition count), taken from kafkajs (Java-compatible) so that the in-process bus
// and Kafka put a key on the same partition.
import kafkajs from 'kafkajs';

const pick = kafkajs.Partitioners.DefaultPartitioner();
const metaCache = new Map<number, Array<{ partitionId: number; leader: number }>>();

export function partitionFor(key: string, partitions: number): number {
  let meta = metaCache.get(partitions);
  if (meta === undefined) {
    meta = Array.from({ length: partitions }, (_, partitionId) => ({ partitionId, leader: 0 }));
    metaCache.set(partitions, meta);
  }
  return pick({ topic: '', partitionMetadata: meta as never, message: { key, value: null } });
}
