// Argument checks shared by the Bus implementations: a clear BusError naming what is wrong.
import { BusError } from './types.js';
import type { BusMessage, SubscribeOptions, TopicSpec } from './types.js';

/** Kafka's rule for topic names (legal characters, at most 249). */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;
const MAX_KEY = 4096;

function posInt(v: unknown, path: string, max = 1_000_000): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) throw new BusError('INVALID_ARGUMENT', `${path} must be an integer in 1..${max} (got ${String(v)})`);
  return v;
}

export function checkTopicName(name: unknown, path: string): string {
  if (typeof name !== 'string' || !TOPIC_NAME.test(name)) throw new BusError('INVALID_ARGUMENT', `${path} must be a topic name of 1-249 characters [a-zA-Z0-9._-] (got ${JSON.stringify(name)?.slice(0, 80)})`);
  return name;
}

export function checkTopics(topics: readonly TopicSpec[]): void {
  if (!Array.isArray(topics)) throw new BusError('INVALID_ARGUMENT', 'topics must be an array of {name, partitions}');
  topics.forEach((t, i) => {
    checkTopicName(t?.name, `topics[${i}].name`);
    posInt(t.partitions, `topics[${i}].partitions`, 10_000);
  });
}

export function checkMessages(messages: readonly BusMessage[]): void {
  if (!Array.isArray(messages)) throw new BusError('INVALID_ARGUMENT', 'messages must be an array');
  messages.forEach((m, i) => {
    if (typeof m?.key !== 'string' || m.key === '' || m.key.length > MAX_KEY) throw new BusError('INVALID_ARGUMENT', `messages[${i}].key must be a non-empty string of at most ${MAX_KEY} characters`);
    if (!(m.value instanceof Uint8Array)) throw new BusError('INVALID_ARGUMENT', `messages[${i}].value must be bytes (Uint8Array)`);
    if (m.headers !== undefined) {
      if (typeof m.headers !== 'object' || m.headers === null) throw new BusError('INVALID_ARGUMENT', `messages[${i}].headers must be an object of strings`);
      for (const [k, v] of Object.entries(m.headers)) if (typeof v !== 'string') throw new BusError('INVALID_ARGUMENT', `messages[${i}].headers.${k} must be a string`);
    }
  });
}

export type CheckedSubscribe = Required<Omit<SubscribeOptions, 'eachBatch'>> & Pick<SubscribeOptions, 'eachBatch'>;

export function checkSubscribe(o: SubscribeOptions): CheckedSubscribe {
  if (typeof o !== 'object' || o === null) throw new BusError('INVALID_ARGUMENT', 'subscribe options must be an object');
  if (typeof o.group !== 'string' || !TOPIC_NAME.test(o.group)) throw new BusError('INVALID_ARGUMENT', `group must be 1-249 characters [a-zA-Z0-9._-] (got ${JSON.stringify(o.group)?.slice(0, 80)})`);
  if (!Array.isArray(o.topics) || o.topics.length === 0) throw new BusError('INVALID_ARGUMENT', 'topics must be a non-empty array of topic names');
  o.topics.forEach((t, i) => checkTopicName(t, `topics[${i}]`));
  if (typeof o.eachBatch !== 'function') throw new BusError('INVALID_ARGUMENT', 'eachBatch must be a function');
  const retryInitialMs = posInt(o.retryInitialMs ?? 100, 'retryInitialMs', 3_600_000);
  return {
    group: o.group,
    topics: [...new Set(o.topics)],
    eachBatch: o.eachBatch,
    maxBatch: posInt(o.maxBatch ?? 500, 'maxBatch', 100_000),
    maxAttempts: posInt(o.maxAttempts ?? 5, 'maxAttempts', 1000),
    retryInitialMs,
    retryMaxMs: Math.max(retryInitialMs, posInt(o.retryMaxMs ?? 5000, 'retryMaxMs', 3_600_000)),
    fromBeginning: o.fromBeginning ?? true,
  };
}
