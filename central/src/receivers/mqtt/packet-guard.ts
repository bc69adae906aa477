// A bound on the MQTT packets the embedded broker buffers. aedes (through mqtt-packet) collects a
// whole packet in memory before handing it over, whatever its declared size (up to 256 MiB in
// MQTT 3.1.1), so a size check in authorizePublish would come after the memory is spent. The
// guard reads each packet's fixed header as the bytes go past (type byte, then the Remaining
// Length varint of MQTT 3.1.1 section 2.2.3) and reports a packet that declares more than the
// limit, before its body is read.
import type { Socket } from 'node:net';

const HEADER = 0;
const LENGTH = 1;
const BODY = 2;

export class PacketSizeGuard {
  private state = HEADER;
  private remaining = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  /** A lower bound of the Remaining Length that broke the limit (or -1 for a malformed length). */
  declared = 0;

  constructor(private readonly maxRemainingLength: number) {}

  /** Follows the byte stream; false once a packet declares more than the limit. */
  feed(buf: Uint8Array): boolean {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      if (this.state === BODY) {
        const take = Math.min(this.remaining, n - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = HEADER;
        continue;
      }
      if (this.state === HEADER) {
        i++;
        this.state = LENGTH;
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      const b = buf[i++]!;
      this.length += (b & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (this.length > this.maxRemainingLength) {
        this.declared = this.length;
        return false;
      }
      if ((b & 0x80) !== 0) {
        if (this.lengthBytes === 4) {
          this.declared = -1;
          return false;
        }
        continue;
      }
      this.remaining = this.length;
      this.state = this.remaining === 0 ? HEADER : BODY;
    }
    return true;
  }
}

/**
 * Puts a PacketSizeGuard on everything read from `socket` (aedes consumes its connection with
 * `read()` in paused mode, so every byte passes the wrapped `read`). A violation destroys the
 * socket before the oversized body is buffered and calls `onViolation` once.
 */
export function guardPacketSize(socket: Socket, maxRemainingLength: number, onViolation: (declared: number) => void): void {
  const guard = new PacketSizeGuard(maxRemainingLength);
  const read = socket.read;
  let tripped = false;
  socket.read = function guardedRead(this: Socket, size?: number) {
    if (tripped) return null;
    const chunk: unknown = read.call(this, size);
    if (chunk instanceof Uint8Array && !guard.feed(chunk)) {
      tripped = true;
      onViolation(guard.declared);
      socket.destroy();
      return null;
    }
    return chunk;
  } as Socket['read'];
}
