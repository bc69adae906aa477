// What a frame exporter needs from a wire protocol (mqtt, grpc): connect, send a frame, be told
// of acknowledgements by sequence, send a heartbeat, close. Transports report outcomes as
// values (CONVENTIONS 8); nothing is thrown across this boundary.
import type { Heartbeat } from '../../../../shared-schemas/src/index.js';
import type { SendResult } from '../../errors.js';

export type FrameAckStatus = 'ok' | 'retry' | 'rejected' | 'resync_dictionary';

export interface FrameAck {
  sequence: number;
  status: FrameAckStatus;
  message?: string;
  /** For 'retry': the receiver's minimum delay before resending. */
  retryAfterMs?: number;
}

/** Events of one connection. None is delivered after `closed` or after close(). */
export interface ConnectionEvents {
  ack(ack: FrameAck): void;
  /** An incoming message that could not be understood (counted; the connection goes on). */
  malformed(reason: string): void;
  /** The receiver lost this connection's series dictionary (e.g. HeartbeatAck.resync_dictionary). */
  resync(): void;
  /** Start a new dictionary epoch on this connection without reconnecting (the next frame is a 'reset' frame). */
  resetDictionary(): void;
  /** The connection ended; `error` says why when it failed. */
  closed(error?: Error): void;
}

export interface TransportConnection {
  /** Sends one frame (wire bytes); its outcome arrives as an ack, or the connection closes. */
  send(sequence: number, frame: Uint8Array): void;
  /** Sends a heartbeat; never rejects. */
  heartbeat(hb: Heartbeat): Promise<SendResult>;
  /** Closes the connection; idempotent. */
  close(): Promise<void>;
}

export type ConnectResult =
  | { kind: 'success'; connection: TransportConnection }
  | { kind: 'retryable'; error: Error }
  | { kind: 'failure'; error: Error };

export interface Transport {
  /** Where frames go, for logs (never with credentials). */
  readonly target: string;
  /** Opens a connection; resolves within about `timeoutMs`; never rejects. */
  connect(events: ConnectionEvents, timeoutMs: number): Promise<ConnectResult>;
}
