// Shape of the batches durability-writer.ts writes (shared with durability.test.ts).
export const SERIES = 20;
export const PER_SERIES = 10;
/** Batch n has timestamps in [base + n * BATCH_SPAN_MS, base + (n + 1) * BATCH_SPAN_MS). */
export const BATCH_SPAN_MS = 10_000;
