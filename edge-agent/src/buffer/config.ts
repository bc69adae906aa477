// Config of a store-and-forward buffer (the `buffer` block of the mqtt and grpc exporters).
import { z } from 'zod';
import { byteSize, duration } from '../../../shared-schemas/src/runtime/index.js';

export const DEFAULT_BUFFER_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_BUFFER_FLUSH_INTERVAL_MS = 1000;

export const bufferConfigSchema = z
  .object({
    /**
     * Bound on the frame bytes held (the whole sql.js database lives in memory): when a new
     * frame does not fit, the oldest frames are dropped and counted (reason="full").
     */
    max_bytes: byteSize({ min: 64 * 1024 }).default(DEFAULT_BUFFER_MAX_BYTES),
    /**
     * How often the buffer is written to disk (atomic replace); also at shutdown. A `kill -9`
     * loses at most the frames accepted during the last interval.
     */
    flush_interval: duration({ min: 50, max: 3_600_000 }).default(DEFAULT_BUFFER_FLUSH_INTERVAL_MS),
  })
  .strict();

export type BufferConfig = z.output<typeof bufferConfigSchema>;

export const BUFFER_CONFIG_DEFAULTS: z.input<typeof bufferConfigSchema> = {
  max_bytes: DEFAULT_BUFFER_MAX_BYTES,
  flush_interval: DEFAULT_BUFFER_FLUSH_INTERVAL_MS,
};
