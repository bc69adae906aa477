// Snappy block format decompression (github.com/google/snappy format_description.txt), written
// here because the pure-JS `snappyjs` 0.7 loops forever on some corrupt blocks: a literal whose
// 4-byte length has the high bit set becomes negative after `& 0xffffffff`, and its read
// position walks backwards (found by the fast-check tests; 9 bytes hang the event loop).
// Every step here consumes at least one input byte and writes inside the declared output, so
// the work is bounded by input + declared length, and the declared length is checked against
// the caller's limit before the output is allocated.
import { BadInputError } from '../../errors.js';

function corrupt(why: string): BadInputError {
  return new BadInputError('MALFORMED', `invalid snappy block: ${why}`, 400);
}

/** The uncompressed length a snappy block declares (its varint preamble) and the preamble size; undefined when unreadable. */
export function snappyPreamble(src: Uint8Array): { length: number; size: number } | undefined {
  let length = 0;
  for (let i = 0; i < src.length && i < 5; i++) {
    const b = src[i] as number;
    length += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return length <= 0xffffffff ? { length, size: i + 1 } : undefined;
  }
  return undefined;
}

/**
 * Decompresses one snappy block. Throws BadInputError: 413 when the declared length exceeds
 * `max` (nothing allocated), 400 when the block is corrupt or does not produce exactly the
 * declared length.
 */
export function snappyUncompress(src: Uint8Array, max: number): Uint8Array {
  const pre = snappyPreamble(src);
  if (pre === undefined) throw corrupt('unreadable length preamble (remote-write uses the block format, not the framed one)');
  if (pre.length > max) throw new BadInputError('TOO_LARGE', `snappy block declares ${pre.length} bytes, over max_request_bytes (${max})`, 413);
  const declared = pre.length;
  const out = new Uint8Array(declared);
  const end = src.length;
  let pos = pre.size;
  let op = 0;
  while (pos < end) {
    const tag = src[pos++] as number;
    const kind = tag & 3;
    if (kind === 0) {
      // Literal: length-1 in the upper 6 bits, or in the next 1-4 bytes (little endian) for 60-63.
      let len = tag >>> 2;
      if (len >= 60) {
        const n = len - 59;
        if (pos + n > end) throw corrupt('truncated literal length');
        len = 0;
        for (let i = 0; i < n; i++) len += (src[pos + i] as number) * 2 ** (8 * i);
        pos += n;
      }
      len += 1;
      if (len > end - pos) throw corrupt('literal runs past the end of the block');
      if (len > declared - op) throw corrupt('output exceeds the declared length');
      out.set(src.subarray(pos, pos + len), op);
      pos += len;
      op += len;
      continue;
    }
    let len: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > end) throw corrupt('truncated copy');
      len = 4 + ((tag >>> 2) & 7);
      offset = ((tag >>> 5) << 8) | (src[pos] as number);
      pos += 1;
    } else if (kind === 2) {
      if (pos + 2 > end) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[pos] as number) | ((src[pos + 1] as number) << 8);
      pos += 2;
    } else {
      if (pos + 4 > end) throw corrupt('truncated copy');
      len = (tag >>> 2) + 1;
      offset = (src[pos] as number) + (src[pos + 1] as number) * 0x100 + (src[pos + 2] as number) * 0x10000 + (src[pos + 3] as number) * 0x1000000;
      pos += 4;
    }
    if (offset === 0 || offset > op) throw corrupt(`copy offset ${offset} outside the ${op} bytes written`);
    if (len > declared - op) throw corrupt('output exceeds the declared length');
    if (offset >= len) out.copyWithin(op, op - offset, op - offset + len);
    else for (let i = 0; i < len; i++) out[op + i] = out[op - offset + i] as number; // overlapping run
    op += len;
  }
  if (op !== declared) throw corrupt(`produced ${op} bytes, ${declared} declared (truncated block)`);
  return out;
}
