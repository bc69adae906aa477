// An in-memory Transport for the send-loop tests: connections can be refused, dropped, and
// acknowledged automatically (through an IngestRecorder, as central would) or by hand.
import type { Heartbeat } from '../../../../../shared-schemas/src/index.js';
import type { SendResult } from '../../../errors.js';
import type { ConnectResult, ConnectionEvents, FrameAck, Transport, TransportConnection } from '../transport.js';
import { IngestRecorder } from './ingest-recorder.js';

export class FakeConnection implements TransportConnection {
  readonly sent: number[] = [];
  readonly heartbeats: Heartbeat[] = [];
  closed = false;
  private readonly stream;

  constructor(
    readonly events: ConnectionEvents,
    private readonly owner: FakeTransport,
  ) {
    this.stream = owner.recorder.stream();
  }

  send(sequence: number, frame: Uint8Array): void {
    if (this.closed) return;
    this.sent.push(sequence);
    this.owner.onSend?.(this, sequence);
    if (this.closed) return;
    const ack = this.stream.accept(frame, sequence);
    if (this.owner.autoAck) {
      const a = this.owner.ackOverride?.(sequence) ?? ack;
      queueMicrotask(() => {
        if (!this.closed && a !== null) this.events.ack(a);
      });
    }
  }

  ack(a: FrameAck): void {
    if (!this.closed) this.events.ack(a);
  }

  async heartbeat(hb: Heartbeat): Promise<SendResult> {
    this.heartbeats.push(hb);
    return { kind: 'success' };
  }

  /** The peer drops the connection. */
  drop(error = new Error('connection reset by peer')): void {
    if (this.closed) return;
    this.closed = true;
    this.events.closed(error);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

export class FakeTransport implements Transport {
  readonly target = 'fake://central';
  readonly recorder = new IngestRecorder();
  readonly connections: FakeConnection[] = [];
  connectAttempts = 0;
  /** When set, connect answers with it instead of connecting. */
  refuse: ConnectResult | undefined;
  autoAck = true;
  /** Replaces the recorder's answer for a sequence; null = no ack at all. */
  ackOverride: ((seq: number) => FrameAck | null | undefined) | undefined;
  onSend: ((c: FakeConnection, seq: number) => void) | undefined;

  get current(): FakeConnection | undefined {
    const c = this.connections[this.connections.length - 1];
    return c && !c.closed ? c : undefined;
  }

  async connect(events: ConnectionEvents): Promise<ConnectResult> {
    this.connectAttempts++;
    if (this.refuse) return this.refuse;
    const c = new FakeConnection(events, this);
    this.connections.push(c);
    return { kind: 'success', connection: c };
  }
}
