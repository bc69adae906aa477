// Per-connection series dictionary. A label set crosses a connection once, as a SeriesDef;
// afterwards rows carry only its numeric id. Both sides are bounded by maxSeries.
//
// Epochs: every encoder state has an epoch that increases on each reset (reconnect, restart,
// resync). The first frame of an epoch is a 'reset' frame that defines every id it uses; the
// receiver then drops the previous epoch. A 'continue' frame whose epoch differs from the
// receiver's is refused (EPOCH_MISMATCH): the receiver asks the sender to resync
// (Ack status RESYNC_DICTIONARY) instead of guessing what the ids mean.
import { limitsOf, resolveMaxSeries } from './config.js';
import type { DecodeLimits } from './config.js';
import { SchemaDecodeError, SchemaEncodeError, toEncodeError } from './errors.js';
import { canonicalLabelKey, freezeLabels, labelsEqual } from './labels.js';
import type { DictionaryScope, FeatureFrame, Labels, SeriesDef } from './types.js';
import { checkLabels, fail } from './validate.js';

/** The dictionary fields of a frame, as produced by SeriesDictionaryEncoder. */
export interface DictionaryUpdate {
  dictionaryScope: DictionaryScope;
  dictionaryEpoch: number;
  seriesDefs: SeriesDef[];
}

export interface SeriesDictionaryEncoderOptions {
  /** Maximum label sets held for one connection (default DEFAULT_MAX_SERIES, 100,000). */
  maxSeries?: number;
  /**
   * 'stream' (default): defs are sent once per epoch. 'standalone': every frame carries the
   * defs of every id it uses (for frames stored for later replay); ids stay stable across
   * frames, defs are repeated.
   */
  mode?: 'stream' | 'standalone';
  /**
   * Source of epochs, called at construction and on every reset; the encoder makes epochs
   * strictly increasing even if it repeats. Default: Date.now, so epochs also increase across
   * agent restarts.
   */
  epochSource?: () => number;
  /** Validation limits for label sets (default DEFAULT_DECODE_LIMITS). */
  limits?: Partial<DecodeLimits>;
}

/**
 * Sender side, one per connection. Usage per frame: `intern()` every row's labels, then
 * spread `takeUpdate()` into the frame. Call `reset()` on every (re)connect and after a
 * RESYNC_DICTIONARY ack; ids handed out before a reset are meaningless after it.
 */
export class SeriesDictionaryEncoder {
  readonly maxSeries: number;
  readonly mode: 'stream' | 'standalone';
  private readonly epochSource: () => number;
  private readonly limits: DecodeLimits;
  private readonly ids = new Map<string, number>();
  private readonly byId = new Map<number, Readonly<Labels>>();
  private pending: SeriesDef[] = [];
  private used = new Set<number>();
  private nextId = 1;
  private currentEpoch: number;
  private resetPending = true;

  constructor(options: SeriesDictionaryEncoderOptions = {}) {
    this.maxSeries = resolveMaxSeries(options.maxSeries, 'SeriesDictionaryEncoder.maxSeries');
    this.mode = options.mode ?? 'stream';
    if (this.mode !== 'stream' && this.mode !== 'standalone') {
      throw new SchemaEncodeError('INVALID_FIELD', `SeriesDictionaryEncoder.mode must be "stream" or "standalone" (got ${String(this.mode)})`);
    }
    this.epochSource = options.epochSource ?? Date.now;
    this.limits = limitsOf(options.limits);
    this.currentEpoch = this.mode === 'standalone' ? 0 : this.nextEpoch(0);
  }

  /** Epoch of the current dictionary (0 in standalone mode). */
  get epoch(): number {
    return this.currentEpoch;
  }

  /** Label sets currently holding an id. */
  get size(): number {
    return this.ids.size;
  }

  private nextEpoch(previous: number): number {
    const candidate = Math.floor(this.epochSource());
    const epoch = Number.isSafeInteger(candidate) && candidate > previous ? candidate : previous + 1;
    if (!Number.isSafeInteger(epoch)) throw new SchemaEncodeError('INVALID_FIELD', 'SeriesDictionaryEncoder: epoch overflow');
    return epoch;
  }

  /**
   * Id of a label set, assigning one (and queueing its def) the first time the set is seen in
   * this epoch. Throws SchemaEncodeError: INVALID_FIELD for a bad label set, DICTIONARY_FULL
   * when maxSeries ids are in use (reset() then starts an empty dictionary).
   */
  intern(labels: Labels): number {
    const key = canonicalLabelKey(labels);
    let id = this.ids.get(key);
    if (id === undefined) {
      try {
        checkLabels(labels, 'SeriesDef.labels', this.limits);
      } catch (err) {
        throw toEncodeError(err);
      }
      if (this.ids.size >= this.maxSeries) {
        throw new SchemaEncodeError('DICTIONARY_FULL', `series dictionary is full (${this.maxSeries} series); reset() starts a new epoch`);
      }
      id = this.nextId++;
      const frozen = freezeLabels(labels);
      this.ids.set(key, id);
      if (this.mode === 'standalone') this.byId.set(id, frozen);
      else this.pending.push({ id, labels: frozen });
    }
    if (this.mode === 'standalone') this.used.add(id);
    return id;
  }

  /**
   * Dictionary fields for the frame being built: the defs queued since the last call (in
   * standalone mode: the defs of every id interned since the last call), the scope and the
   * epoch. Marks the defs as sent: if that frame is then lost without a reconnect, call reset().
   */
  takeUpdate(): DictionaryUpdate {
    if (this.mode === 'standalone') {
      const seriesDefs: SeriesDef[] = [];
      for (const id of this.used) seriesDefs.push({ id, labels: this.byId.get(id) as Labels });
      this.used = new Set();
      return { dictionaryScope: 'standalone', dictionaryEpoch: 0, seriesDefs };
    }
    const seriesDefs = this.pending;
    this.pending = [];
    const dictionaryScope: DictionaryScope = this.resetPending ? 'reset' : 'continue';
    this.resetPending = false;
    return { dictionaryScope, dictionaryEpoch: this.currentEpoch, seriesDefs };
  }

  /** Forgets every id and starts a new epoch; the next takeUpdate() is a 'reset'. */
  reset(): void {
    this.ids.clear();
    this.byId.clear();
    this.pending = [];
    this.used = new Set();
    this.nextId = 1;
    this.resetPending = true;
    if (this.mode === 'stream') this.currentEpoch = this.nextEpoch(this.currentEpoch);
  }
}

export interface SeriesDictionaryDecoderOptions {
  /** Maximum label sets held for one stream (default DEFAULT_MAX_SERIES, 100,000). */
  maxSeries?: number;
}

/**
 * Receiver side, one per connection (gRPC stream) or per agent (MQTT). `apply(frame)` checks
 * the frame's ids against the dictionary, updates it atomically (a refused frame changes
 * nothing) and returns the label set of every row.
 */
export class SeriesDictionaryDecoder {
  readonly maxSeries: number;
  private byId = new Map<number, Readonly<Labels>>();
  private currentEpoch: number | undefined;

  constructor(options: SeriesDictionaryDecoderOptions = {}) {
    this.maxSeries = resolveMaxSeries(options.maxSeries, 'SeriesDictionaryDecoder.maxSeries');
  }

  /** Epoch held, undefined before the first 'reset' frame. */
  get epoch(): number | undefined {
    return this.currentEpoch;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Label set of an id in the current epoch. Throws SchemaDecodeError('UNKNOWN_SERIES'). */
  labels(id: number): Readonly<Labels> {
    const labels = this.byId.get(id);
    if (labels === undefined) {
      throw new SchemaDecodeError('UNKNOWN_SERIES', `unknown series id ${id}`, { field: 'seriesId' });
    }
    return labels;
  }

  /** Drops every id (e.g. when the sender is told to resync). */
  reset(): void {
    this.byId = new Map();
    this.currentEpoch = undefined;
  }

  /**
   * Applies a decoded (validated) frame: 'reset' replaces the dictionary, 'continue' extends
   * it (a def repeating an id with the same labels is accepted, e.g. after a resend),
   * 'standalone' leaves it untouched. Returns the labels of each row, parallel to frame.rows.
   * Throws SchemaDecodeError: UNKNOWN_SERIES, SERIES_CONFLICT, EPOCH_MISMATCH, DICTIONARY_FULL.
   */
  apply(frame: FeatureFrame): Readonly<Labels>[] {
    const T = 'FeatureFrame';
    const scope = frame.dictionaryScope;
    // New entries of this frame, committed only when every row resolves.
    const staged = new Map<number, Readonly<Labels>>();
    const base = scope === 'continue' ? this.byId : undefined;
    if (scope === 'continue') {
      if (this.currentEpoch === undefined) {
        fail(`${T}.dictionaryEpoch`, `no dictionary for this stream yet (frame epoch ${frame.dictionaryEpoch}); the sender must start with a reset frame`, 'EPOCH_MISMATCH');
      }
      if (frame.dictionaryEpoch !== this.currentEpoch) {
        fail(`${T}.dictionaryEpoch`, `frame epoch ${frame.dictionaryEpoch} differs from the stream's epoch ${this.currentEpoch}`, 'EPOCH_MISMATCH');
      }
    }
    const defs = frame.seriesDefs;
    for (let i = 0; i < defs.length; i++) {
      const def = defs[i] as SeriesDef;
      const known = base?.get(def.id) ?? staged.get(def.id);
      if (known !== undefined) {
        if (!labelsEqual(known, def.labels)) {
          fail(`${T}.seriesDefs[${i}].id`, `series id ${def.id} is already defined with other labels`, 'SERIES_CONFLICT');
        }
        continue;
      }
      staged.set(def.id, freezeLabels(def.labels));
    }
    const total = staged.size + (base?.size ?? 0);
    if (total > this.maxSeries) {
      fail(`${T}.seriesDefs`, `dictionary would hold ${total} series, limit ${this.maxSeries}`, 'DICTIONARY_FULL');
    }
    const rows = frame.rows;
    const out = new Array<Readonly<Labels>>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const id = (rows[i] as { seriesId: number }).seriesId;
      const labels = staged.get(id) ?? base?.get(id);
      if (labels === undefined) fail(`${T}.rows[${i}].seriesId`, `unknown series id ${id}`, 'UNKNOWN_SERIES');
      out[i] = labels;
    }
    if (scope === 'reset') {
      this.byId = staged;
      this.currentEpoch = frame.dictionaryEpoch;
    } else if (scope === 'continue') {
      for (const [id, labels] of staged) this.byId.set(id, labels);
    }
    return out;
  }
}
