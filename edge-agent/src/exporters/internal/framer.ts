// Window -> self-contained frames for the buffer. A closed FeatureWindow becomes one or more
// FeatureFrames ('standalone' dictionary scope: each frame carries the label sets of its rows,
// so a stored frame can be replayed on any later connection or after a restart), split by
// max_rows_per_frame and by max_frame_bytes (compressed), each with the next frame sequence.
// A row that cannot be encoded (hostile labels, non-numeric fields, duplicate series, a
// single row above max_frame_bytes) is dropped and reported; the rest of the window goes on.
import {
  canonicalLabelKey,
  encodeFrame,
  SchemaEncodeError,
  SeriesDictionaryEncoder,
} from '../../../../shared-schemas/src/index.js';
import type { CodecOptions, DecodeLimits, FeatureFrame, FeatureRow, Labels } from '../../../../shared-schemas/src/index.js';
import type { FeatureWindow } from '../../pdata.js';

export type RowDropReason = 'invalid_labels' | 'invalid_row' | 'duplicate_series' | 'too_large' | 'encode_error';

export interface FramerOptions {
  agentId: string;
  tenant: string;
  maxRowsPerFrame: number;
  maxFrameBytes: number;
  maxSeries: number;
  codec: Readonly<CodecOptions>;
  limits: Readonly<DecodeLimits>;
}

export interface BuiltFrame {
  seq: number;
  bytes: Uint8Array;
  rows: number;
}

/** Where sequence numbers come from (SequenceLease, after ensure()). */
export interface SequenceSource {
  peek(): number;
  take(): number;
}

type Row = Omit<FeatureRow, 'seriesId'>;
interface Pending {
  labels: Labels;
  row: Row;
}

const VALUE_FIELDS = ['min', 'max', 'mean', 'std', 'last', 'p50', 'p95', 'tier1MaxScore', 'bandLower', 'bandUpper'] as const;

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

function rowProblem(row: Row | undefined): string | undefined {
  if (row === null || typeof row !== 'object') return 'row is not an object';
  if (!isUint32(row.count)) return `count ${String(row.count)} is not a uint32`;
  if (!isUint32(row.flags)) return `flags ${String(row.flags)} is not a uint32`;
  for (const f of VALUE_FIELDS) if (typeof row[f] !== 'number') return `${f} is not a number`;
  return undefined;
}

export class WindowFramer {
  private readonly dict: SeriesDictionaryEncoder;

  constructor(
    private readonly opts: FramerOptions,
    private readonly onRowsDropped: (reason: RowDropReason, n: number, detail: string) => void,
  ) {
    this.dict = new SeriesDictionaryEncoder({ mode: 'standalone', maxSeries: opts.maxSeries, limits: opts.limits });
  }

  /** Frames for one window (none for an empty window). `seqs` must have room for one per row. */
  build(w: FeatureWindow, seqs: SequenceSource): BuiltFrame[] {
    const valid: Pending[] = [];
    const seen = new Set<string>();
    for (const s of w.series) {
      const problem = rowProblem(s.row);
      if (problem !== undefined) {
        this.onRowsDropped('invalid_row', 1, problem);
        continue;
      }
      let key: string;
      try {
        key = canonicalLabelKey(s.labels);
      } catch (err) {
        this.onRowsDropped('invalid_labels', 1, (err as Error).message);
        continue;
      }
      if (seen.has(key)) {
        this.onRowsDropped('duplicate_series', 1, `series ${s.key} twice in one window`);
        continue;
      }
      seen.add(key);
      valid.push({ labels: s.labels, row: s.row });
    }
    const out: BuiltFrame[] = [];
    for (let i = 0; i < valid.length; i += this.opts.maxRowsPerFrame) {
      this.encodeChunk(w, valid.slice(i, i + this.opts.maxRowsPerFrame), seqs, out);
    }
    return out;
  }

  private encodeChunk(w: FeatureWindow, chunk: Pending[], seqs: SequenceSource, out: BuiltFrame[]): void {
    if (chunk.length === 0) return;
    const rows = this.internRows(chunk);
    if (rows.length === 0) return;
    const seq = seqs.peek();
    const frame: FeatureFrame = {
      agentId: this.opts.agentId,
      tenant: this.opts.tenant,
      sequence: seq,
      windowStartMs: w.windowStartMs,
      windowEndMs: w.windowEndMs,
      ...this.dict.takeUpdate(),
      rows: rows.map((r) => r.row),
    };
    let bytes: Uint8Array | undefined;
    try {
      bytes = encodeFrame(frame, { codec: this.opts.codec, limits: this.opts.limits });
    } catch (err) {
      if (!(err instanceof SchemaEncodeError && err.code === 'TOO_LARGE')) {
        this.onRowsDropped('encode_error', rows.length, (err as Error).message);
        return;
      }
    }
    if (bytes === undefined || bytes.length > this.opts.maxFrameBytes) {
      if (rows.length === 1) {
        this.onRowsDropped('too_large', 1, `one row encodes above max_frame_bytes ${this.opts.maxFrameBytes}`);
        return;
      }
      const half = Math.ceil(rows.length / 2);
      const pending = rows.map((r) => r.src);
      this.encodeChunk(w, pending.slice(0, half), seqs, out);
      this.encodeChunk(w, pending.slice(half), seqs, out);
      return;
    }
    seqs.take();
    out.push({ seq, bytes, rows: rows.length });
  }

  /** Interns a chunk's label sets; drops rows whose labels are refused. */
  private internRows(chunk: Pending[]): Array<{ src: Pending; row: FeatureRow }> {
    for (let attempt = 0; ; attempt++) {
      const rows: Array<{ src: Pending; row: FeatureRow }> = [];
      let full = false;
      for (const p of chunk) {
        try {
          rows.push({ src: p, row: { ...p.row, seriesId: this.dict.intern(p.labels) } });
        } catch (err) {
          if (err instanceof SchemaEncodeError && err.code === 'DICTIONARY_FULL' && attempt === 0) {
            full = true;
            break;
          }
          this.onRowsDropped('invalid_labels', 1, (err as Error).message);
        }
      }
      if (!full) return rows;
      // Standalone ids only need to be unique within a frame: start over with an empty table.
      this.dict.takeUpdate();
      this.dict.reset();
    }
  }
}
