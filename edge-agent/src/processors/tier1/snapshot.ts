// Detector state on disk: every live series' key and its 512-byte state, written atomically
// (temp file, fsync, rename) so a crash leaves either the old or the new snapshot.
//   "AIT1" | u32 version=1 | u32 count | count x (u32 keyBytes | key utf-8 | state bytes)
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { STATE_BYTES } from '../../../../wasm-detectors/src/index.js';

const MAGIC = 0x41495431; // "AIT1"

export function encodeSnapshot(entries: Iterable<[string, Uint8Array]>): Buffer {
  const parts: Buffer[] = [];
  let count = 0;
  for (const [key, state] of entries) {
    const k = Buffer.from(key, 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32LE(k.length, 0);
    parts.push(head, k, Buffer.from(state.buffer, state.byteOffset, state.byteLength));
    count++;
  }
  const header = Buffer.alloc(12);
  header.writeUInt32BE(MAGIC, 0);
  header.writeUInt32LE(1, 4);
  header.writeUInt32LE(count, 8);
  return Buffer.concat([header, ...parts]);
}

export class SnapshotError extends Error {
  override readonly name = 'SnapshotError';
  readonly code = 'BAD_SNAPSHOT';
}

/** Decodes a snapshot; throws SnapshotError naming what is wrong. */
export function decodeSnapshot(buf: Buffer, maxEntries: number): Array<[string, Uint8Array]> {
  if (buf.length < 12 || buf.readUInt32BE(0) !== MAGIC) throw new SnapshotError('not a Tier-1 snapshot (bad magic)');
  if (buf.readUInt32LE(4) !== 1) throw new SnapshotError(`unsupported snapshot version ${buf.readUInt32LE(4)}`);
  const count = buf.readUInt32LE(8);
  if (count > maxEntries) throw new SnapshotError(`snapshot holds ${count} series, more than max_series ${maxEntries}`);
  const out: Array<[string, Uint8Array]> = [];
  let at = 12;
  for (let i = 0; i < count; i++) {
    if (at + 4 > buf.length) throw new SnapshotError(`truncated at entry ${i}`);
    const len = buf.readUInt32LE(at);
    at += 4;
    if (len > 1 << 20 || at + len + STATE_BYTES > buf.length) throw new SnapshotError(`truncated or corrupt at entry ${i}`);
    const key = buf.toString('utf8', at, at + len);
    at += len;
    out.push([key, new Uint8Array(buf.subarray(at, at + STATE_BYTES))]);
    at += STATE_BYTES;
  }
  if (at !== buf.length) throw new SnapshotError(`${buf.length - at} trailing bytes`);
  return out;
}

export function writeFileAtomic(path: string, data: Buffer): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

export function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
