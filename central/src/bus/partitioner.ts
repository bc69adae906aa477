// The partition of a keyed record: Kafka's default partitioner (murmur2 of the key's UTF-8
// bytes, made positive, mod the partition count), so that the in-process bus, the Kafka bus and
// Kafka's own Java clients put a key on the same partition.
//
// kafkajs's DefaultPartitioner computes the same hash with its 64-bit Long type, about 8.5 us
// for a 100-byte key, which the ingest role paid twice per series-window (bench/RESULTS.md,
// scale benchmark). Java's murmur2 works on 32-bit ints with wrapping multiplication, which is
// Math.imul: every operation below keeps the low 32 bits exactly as kafkajs's does. KafkaBus
// hands this function to kafkajs as its partitioner; partitioner.test.ts checks it against
// kafkajs's DefaultPartitioner on arbitrary keys and partition counts.
const encoder = new TextEncoder();
const M = 0x5bd1e995;
const SEED = 0x9747b28c;

/** Kafka's murmur2 (Java client Utils.murmur2) as a signed 32-bit int. */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (SEED ^ length) | 0;
  const length4 = length >>> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i << 2;
    let k = data[i4]! | (data[i4 + 1]! << 8) | (data[i4 + 2]! << 16) | (data[i4 + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  const tail = length & ~3;
  const rest = length & 3;
  if (rest === 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

export function partitionFor(key: string | Uint8Array, partitions: number): number {
  const bytes = typeof key === 'string' ? encoder.encode(key) : key;
  return (murmur2(bytes) & 0x7fffffff) % partitions;
}
