// Stored frame -> wire frame for one connection. Frames are stored self-contained
// ('standalone'); on a connection they are re-encoded against that connection's stream
// dictionary so each label set crosses the connection once per epoch. reset() on every
// (re)connect and on an Ack 'resync_dictionary' (shared-schemas README).
import {
  decodeFrame,
  encodeFrame,
  SchemaDecodeError,
  SchemaEncodeError,
  SeriesDictionaryEncoder,
} from '../../../../shared-schemas/src/index.js';
import type { CodecOptions, DecodeLimits, FeatureRow, Labels } from '../../../../shared-schemas/src/index.js';

export interface ReencoderOptions {
  maxSeries: number;
  codec: Readonly<CodecOptions>;
  limits: Readonly<DecodeLimits>;
  epochSource?: () => number;
  /**
   * 'stream' (default): re-encode against the connection's dictionary. 'standalone': send the
   * stored self-contained frames as they are (larger; for receivers that cannot ask for a
   * resync, e.g. MQTT through an external broker while central restarts on its own).
   */
  mode?: 'stream' | 'standalone';
}

export class StreamReencoder {
  private readonly dict: SeriesDictionaryEncoder;

  constructor(private readonly opts: ReencoderOptions) {
    this.dict = new SeriesDictionaryEncoder({
      mode: 'stream',
      maxSeries: opts.maxSeries,
      limits: opts.limits,
      ...(opts.epochSource ? { epochSource: opts.epochSource } : {}),
    });
  }

  /** Starts a new dictionary epoch: the next frame is a 'reset' frame. */
  reset(): void {
    this.dict.reset();
  }

  /**
   * The wire bytes of a stored frame. Throws SchemaDecodeError when the stored bytes are not a
   * valid standalone frame (a corrupt buffer row): the caller drops that frame.
   */
  encode(stored: Uint8Array): Uint8Array {
    const f = decodeFrame(stored, { limits: this.opts.limits });
    if (f.dictionaryScope !== 'standalone') {
      throw new SchemaDecodeError('INVALID_FIELD', `stored frame ${f.sequence} has dictionary scope '${f.dictionaryScope}', expected 'standalone'`);
    }
    if (this.opts.mode === 'standalone') return stored;
    const defs = new Map<number, Labels>();
    for (const d of f.seriesDefs) defs.set(d.id, d.labels);
    for (let attempt = 0; ; attempt++) {
      let rows: FeatureRow[];
      try {
        rows = f.rows.map((r) => ({ ...r, seriesId: this.dict.intern(defs.get(r.seriesId) as Labels) }));
      } catch (err) {
        if (err instanceof SchemaEncodeError && err.code === 'DICTIONARY_FULL' && attempt === 0) {
          this.dict.reset();
          continue;
        }
        this.dict.reset();
        throw err;
      }
      const update = this.dict.takeUpdate();
      try {
        return encodeFrame({ ...f, ...update, rows }, { codec: this.opts.codec, limits: this.opts.limits });
      } catch (err) {
        // Its defs were marked sent but never went out.
        this.dict.reset();
        throw err;
      }
    }
  }
}
