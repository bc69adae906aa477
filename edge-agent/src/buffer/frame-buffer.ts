// The store-and-forward buffer interface (CONVENTIONS 6): frames are written here before they
// are sent and deleted only when the receiver acknowledges them. Every implementation passes
// runBufferContract (contract.ts). Calls other than start/flush/shutdown are synchronous: the
// send loop reads the buffer on every acknowledgement, and an in-memory store answers at once.

export interface BufferedFrame {
  /** Frame sequence number: unique, increasing in put order. */
  seq: number;
  /** When the frame was created (clock ms). */
  createdMs: number;
  /** The stored frame bytes (self-contained, compressed). */
  bytes: Uint8Array;
}

export interface PutResult {
  /** False when the frame alone exceeds the buffer's bound (dropped, counted "too_large"). */
  stored: boolean;
  /** Oldest frames dropped to make room (counted "full"). */
  evicted: number;
}

export interface FrameBuffer {
  /** Loads what an earlier run persisted; a corrupt file is set aside and counted. */
  start(): Promise<void>;
  /**
   * Stores a frame; drops the oldest frames when the byte bound would be exceeded. `seq`
   * must be greater than every sequence put before (AgentError BUFFER_SEQUENCE otherwise).
   */
  put(seq: number, createdMs: number, bytes: Uint8Array): PutResult;
  /** Up to `n` frames with seq > `afterSeq` (default: all), in seq order. */
  peek(n: number, afterSeq?: number): BufferedFrame[];
  /** Deletes an acknowledged frame; false when it is not held (already acked or dropped). */
  ack(seq: number): boolean;
  /** Frames held. */
  readonly size: number;
  /** Sum of the frame bytes held. */
  readonly bytes: number;
  /** Highest sequence ever put or loaded (0 when none), so sequences never repeat. */
  readonly maxSeq: number;
  /** Writes the current state to disk now (no-op when nothing changed). */
  flush(): Promise<void>;
  /** Stops the flush timer, flushes, releases memory. Idempotent, safe without start. */
  shutdown(): Promise<void>;
}
