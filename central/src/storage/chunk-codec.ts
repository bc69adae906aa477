// The encoding of one chunk of raw samples (`sample_chunks.data`; decision 019).
//
// A chunk holds n >= 1 samples of one series with strictly increasing integer timestamps
// (ms, 0 .. 8.64e15) and float64 values. Layout (little-endian, self-describing):
//
//   kind            1 byte: 1 = float64 values, 2 = decimal values
//   exponent        1 byte, decimal kind only: k in 0..15 (values are m / 10^k)
//   n               unsigned varint
//   t0              unsigned varint
//   t1 - t0         unsigned varint (n >= 2)
//   dod_i           signed varint, i = 2..n-1: (t_i - t_{i-1}) - (t_{i-1} - t_{i-2})
//   values          float64 kind: n x 8 bytes IEEE 754, bit-exact
//                   decimal kind: signed varint m_0, then signed varint m_i - m_{i-1}
//
// Timestamps are delta-of-delta (Gorilla/Prometheus): a regular scrape interval costs one byte
// per sample. Values: exporters write decimals with few digits (counters of seconds with two
// decimals, byte counts, integers), and a decimal m / 10^k whose mantissa delta fits a byte or
// two is much smaller than any float64 encoding; the encoder picks the smallest k for which
// every value of the chunk round-trips EXACTLY (m / 10^k === v, -0 excluded), and falls back
// to raw float64 otherwise, so decoding always returns the bits that were written (NaN's
// payload aside: the store refuses NaN). Measured alternatives are in decision 019.
//
// Signed varints are sign-magnitude (first byte: continuation, 6 magnitude bits, sign bit),
// exact for magnitudes below 2^53 where a zigzag varint would need 54 bits.

export const CHUNK_KIND_F64 = 1;
export const CHUNK_KIND_DECIMAL = 2;

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
const MAX_K = POW10.length - 1;
/** Decimal mantissas stay below 2^52, so their deltas stay below 2^53 (exact doubles). */
const MAX_MANTISSA = 2 ** 52;

export class ChunkCodecError extends Error {
  override readonly name = 'ChunkCodecError';
}

/** The smallest k (0..15) for which `v` is exactly m / 10^k with |m| < 2^52; -1 when none. */
function decimalExponent(v: number, from: number): number {
  if (v === 0) return Object.is(v, -0) ? -1 : from;
  for (let k = from; k <= MAX_K; k++) {
    const p = POW10[k]!;
    const m = Math.round(v * p);
    if (m / p === v) return Math.abs(m) < MAX_MANTISSA ? k : -1;
  }
  return -1;
}

/**
 * Encodes chunks into reusable scratch buffers (no allocation per chunk); `encode` returns how
 * many samples it took and `bytes()` is a view of the result, valid until the next call.
 * One pass per chunk: timestamps and values are written to two scratch regions while the size
 * is tracked, then assembled behind the header (whose count is known only at the end). The
 * decimal exponent starts at 0; a value that needs a larger one restarts the chunk at the
 * exponent it needs (usually once, at the first value), one that no exponent fits switches to
 * float64.
 */
export class ChunkEncoder {
  private out: Uint8Array;
  private tbuf: Uint8Array;
  private vbuf: Uint8Array;
  private vdv: DataView;
  private len = 0;
  private k = 0;

  constructor(initialBytes = 4096) {
    this.out = new Uint8Array(2 * initialBytes + 32);
    this.tbuf = new Uint8Array(initialBytes);
    this.vbuf = new Uint8Array(initialBytes);
    this.vdv = new DataView(this.vbuf.buffer);
  }

  /** The encoded chunk of the last `encode` call (a view into the scratch buffer). */
  bytes(): Uint8Array {
    return this.out.subarray(0, this.len);
  }

  get length(): number {
    return this.len;
  }

  /**
   * Encodes samples `from` .. at most `from + maxCount - 1` (timestamps strictly increasing,
   * integers in 0..2^53) into at most `maxBytes` bytes (at least one sample is always taken).
   * Returns the number of samples encoded.
   */
  encode(ts: ArrayLike<number>, vs: ArrayLike<number>, from: number, maxCount: number, maxBytes: number): number {
    const end = Math.min(ts.length, from + maxCount);
    if (end <= from) throw new ChunkCodecError('a chunk holds at least one sample');
    const worst = (end - from) * 10 + 16;
    if (this.tbuf.length < worst) {
      let size = this.tbuf.length;
      while (size < worst) size *= 2;
      this.out = new Uint8Array(2 * size + 32);
      this.tbuf = new Uint8Array(size);
      this.vbuf = new Uint8Array(size);
      this.vdv = new DataView(this.vbuf.buffer);
    }
    this.k = 0;
    for (;;) {
      const r = this.encodeDecimal(ts, vs, from, end, maxBytes);
      if (r > 0) return r;
      if (r === -1) return this.encodeF64(ts, vs, from, end, maxBytes);
      // r === 0: this.k was raised; retry.
    }
  }

  /**
   * Decimal kind at exponent this.k. Returns the count, 0 after raising this.k (retry), or -1
   * when no exponent fits a value (float64).
   */
  private encodeDecimal(ts: ArrayLike<number>, vs: ArrayLike<number>, from: number, end: number, maxBytes: number): number {
    const k = this.k;
    const p = POW10[k]!;
    const tb = this.tbuf;
    const vb = this.vbuf;
    let tp = 0;
    let vp = 0;
    // 2 (kind, exponent) + 3 (count varint, < 2^21 samples)
    const head = 5;
    let prevT = 0;
    let prevDelta = 0;
    let prevM = 0;
    let i = from;
    for (; i < end; i++) {
      const v = vs[i]!;
      const m = Math.round(v * p);
      if (m / p !== v || (m === 0 && 1 / v < 0) || m >= MAX_MANTISSA || m <= -MAX_MANTISSA) {
        const need = decimalExponent(v, k + 1);
        if (need < 0) return -1;
        this.k = need;
        return 0;
      }
      const t = ts[i]!;
      const tp0 = tp;
      const vp0 = vp;
      const delta = t - prevT;
      tp = writeTimestamp(tb, tp, i - from, t, delta, prevDelta);
      prevDelta = delta;
      vp = writeSigned(vb, vp, m - prevM);
      if (i > from && head + tp + vp > maxBytes) {
        tp = tp0;
        vp = vp0;
        break;
      }
      prevT = t;
      prevM = m;
    }
    this.out[0] = CHUNK_KIND_DECIMAL;
    this.out[1] = k;
    return this.assemble(2, i - from, tp, vp);
  }

  private encodeF64(ts: ArrayLike<number>, vs: ArrayLike<number>, from: number, end: number, maxBytes: number): number {
    const tb = this.tbuf;
    const dv = this.vdv;
    let tp = 0;
    let vp = 0;
    const head = 4;
    let prevT = 0;
    let prevDelta = 0;
    let i = from;
    for (; i < end; i++) {
      const t = ts[i]!;
      const tp0 = tp;
      const delta = t - prevT;
      tp = writeTimestamp(tb, tp, i - from, t, delta, prevDelta);
      prevDelta = delta;
      if (i > from && head + tp + vp + 8 > maxBytes) {
        tp = tp0;
        break;
      }
      dv.setFloat64(vp, vs[i]!, true);
      vp += 8;
      prevT = t;
    }
    this.out[0] = CHUNK_KIND_F64;
    return this.assemble(1, i - from, tp, vp);
  }

  /**
   * Writes the sample count at `headerEnd` (after the kind byte(s) the caller wrote), then the
   * first `tp` bytes of the timestamp scratch and the first `vp` of the value scratch behind it.
   */
  private assemble(headerEnd: number, count: number, tp: number, vp: number): number {
    const out = this.out;
    let pos = writeUnsigned(out, headerEnd, count);
    out.set(this.tbuf.subarray(0, tp), pos);
    pos += tp;
    out.set(this.vbuf.subarray(0, vp), pos);
    this.len = pos + vp;
    return count;
  }
}

/**
 * The `j`-th timestamp of a chunk (`delta` = t - the previous one, `prevDelta` the one before):
 * t0 and t1 - t0 unsigned, then the delta-of-delta signed; returns the position after it.
 */
function writeTimestamp(buf: Uint8Array, pos: number, j: number, t: number, delta: number, prevDelta: number): number {
  if (j === 0) return writeUnsigned(buf, pos, t);
  if (j === 1) return writeUnsigned(buf, pos, delta);
  return writeSigned(buf, pos, delta - prevDelta);
}

/** Unsigned varint of an integer in 0..2^53 at `pos`; returns the position after it. */
function writeUnsigned(buf: Uint8Array, pos: number, x: number): number {
  while (x >= 0x80) {
    buf[pos++] = (x & 0x7f) | 0x80;
    x = x < 0x80000000 ? x >>> 7 : Math.floor(x / 128);
  }
  buf[pos++] = x;
  return pos;
}

/** Sign-magnitude varint (magnitude below 2^53); returns the position after it. */
function writeSigned(buf: Uint8Array, pos: number, x: number): number {
  const sign = x < 0 ? 1 : 0;
  let mag = x < 0 ? -x : x;
  if (mag < 64) {
    buf[pos++] = (mag << 1) | sign;
    return pos;
  }
  buf[pos++] = 0x80 | ((mag & 0x3f) << 1) | sign;
  mag = mag < 0x80000000 ? mag >>> 6 : Math.floor(mag / 64);
  return writeUnsigned(buf, pos, mag);
}

/** Reads chunks; one instance reused over many chunks (no allocation per call but the DataView). */
export class ChunkReader {
  private data: Uint8Array = new Uint8Array(0);
  private pos = 0;

  /** The sample count a chunk declares (header only). */
  count(data: Uint8Array): number {
    this.data = data;
    this.pos = data[0] === CHUNK_KIND_DECIMAL ? 2 : 1;
    return this.readUnsigned();
  }

  /**
   * Decodes `data` into `ts`/`vs` from index `at` (arrays grow; typed arrays must be large
   * enough) and returns the sample count. Throws ChunkCodecError on a malformed chunk.
   */
  decode(data: Uint8Array, ts: number[] | Float64Array, vs: number[] | Float64Array, at: number): number {
    this.data = data;
    const kind = data[0];
    if (kind !== CHUNK_KIND_F64 && kind !== CHUNK_KIND_DECIMAL) throw new ChunkCodecError(`unknown chunk kind ${String(kind)}`);
    let k = 0;
    this.pos = 1;
    if (kind === CHUNK_KIND_DECIMAL) {
      k = data[1]!;
      if (k > MAX_K) throw new ChunkCodecError(`decimal exponent ${k} out of range`);
      this.pos = 2;
    }
    const n = this.readUnsigned();
    if (n < 1) throw new ChunkCodecError('empty chunk');
    let t = this.readUnsigned();
    ts[at] = t;
    let delta = 0;
    for (let i = 1; i < n; i++) {
      delta = i === 1 ? this.readUnsigned() : delta + this.readSigned();
      t += delta;
      ts[at + i] = t;
    }
    if (kind === CHUNK_KIND_F64) {
      if (this.pos + 8 * n !== data.length) throw new ChunkCodecError(`float64 chunk of ${n} samples has ${data.length - this.pos} value bytes`);
      const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
      let pos = this.pos;
      for (let i = 0; i < n; i++) {
        vs[at + i] = dv.getFloat64(pos, true);
        pos += 8;
      }
      this.pos = pos;
    } else {
      const p = POW10[k]!;
      let m = 0;
      for (let i = 0; i < n; i++) {
        m += this.readSigned();
        vs[at + i] = m / p;
      }
      if (this.pos !== data.length) throw new ChunkCodecError(`decimal chunk has ${data.length - this.pos} trailing bytes`);
    }
    return n;
  }

  private readUnsigned(): number {
    const data = this.data;
    let pos = this.pos;
    let b = data[pos++];
    if (b === undefined) throw new ChunkCodecError('truncated chunk');
    let x = b & 0x7f;
    let mul = 128;
    while (b >= 0x80) {
      b = data[pos++];
      if (b === undefined) throw new ChunkCodecError('truncated chunk');
      x += (b & 0x7f) * mul;
      mul *= 128;
      if (mul > 2 ** 63) throw new ChunkCodecError('varint too long');
    }
    this.pos = pos;
    return x;
  }

  private readSigned(): number {
    const b = this.data[this.pos++];
    if (b === undefined) throw new ChunkCodecError('truncated chunk');
    let mag = (b >>> 1) & 0x3f;
    if (b >= 0x80) mag += this.readUnsigned() * 64;
    return b & 1 ? -mag : mag;
  }
}
