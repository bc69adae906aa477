// Typed errors of the wire contracts. Every decode entry point throws only SchemaDecodeError;
// encode entry points throw only SchemaEncodeError; config resolution throws SchemaConfigError.
// None of them is retryable: the same bytes or the same input fail the same way again.

/** Machine-readable reason of a decode or encode failure. */
export type SchemaErrorCode =
  /** Input, declared length or a count exceeds a configured limit. */
  | 'TOO_LARGE'
  /** Input ends before the structure it declares. */
  | 'TRUNCATED'
  /** The envelope does not start with the frame magic. */
  | 'BAD_MAGIC'
  /** Envelope version (or reserved flags) not understood by this reader. */
  | 'UNSUPPORTED_VERSION'
  /** Codec id not known. */
  | 'UNKNOWN_CODEC'
  /** Codec known but its implementation cannot be loaded in this process (e.g. snappy in a single executable). */
  | 'CODEC_UNAVAILABLE'
  /** Envelope carries another payload kind than the decoder expects. */
  | 'WRONG_KIND'
  /** CRC32 of the uncompressed payload does not match the envelope. */
  | 'CHECKSUM_MISMATCH'
  /** Decompressed size differs from the size declared in the envelope. */
  | 'LENGTH_MISMATCH'
  /** The compressed bytes are corrupt. */
  | 'DECOMPRESS_FAILED'
  /** The protobuf bytes cannot be parsed. */
  | 'MALFORMED_PROTOBUF'
  /** A field is missing, out of range or inconsistent with another field. */
  | 'INVALID_FIELD'
  /** A row references a series id the dictionary does not hold. */
  | 'UNKNOWN_SERIES'
  /** A series id is defined again with different labels. */
  | 'SERIES_CONFLICT'
  /** The dictionary would exceed its configured maximum number of series. */
  | 'DICTIONARY_FULL'
  /** A CONTINUE frame belongs to another dictionary epoch than the receiver holds. */
  | 'EPOCH_MISMATCH'
  /** A JSON body is not valid JSON or not an object where one is required. */
  | 'INVALID_JSON';

export interface SchemaErrorOptions {
  /** Path of the offending field, e.g. `FeatureFrame.rows[3].seriesId`. */
  field?: string;
  cause?: unknown;
}

/** Raised by every decoder (binary, envelope, JSON) on malformed, truncated or oversized input. */
export class SchemaDecodeError extends Error {
  override readonly name = 'SchemaDecodeError';
  readonly code: SchemaErrorCode;
  readonly field: string | undefined;
  /** Decoding the same bytes again fails the same way. */
  readonly retryable = false as const;

  constructor(code: SchemaErrorCode, message: string, options: SchemaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

/** Raised by encoders when the input violates the contract the decoders enforce. */
export class SchemaEncodeError extends Error {
  override readonly name = 'SchemaEncodeError';
  readonly code: SchemaErrorCode;
  readonly field: string | undefined;
  readonly retryable = false as const;

  constructor(code: SchemaErrorCode, message: string, options: SchemaErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.field = options.field;
  }
}

/** Raised when codec options or decode limits are invalid. */
export class SchemaConfigError extends Error {
  override readonly name = 'SchemaConfigError';
  readonly code = 'INVALID_CONFIG' as const;
  /** Config path of the offending option. */
  readonly path: string;
  readonly retryable = false as const;

  constructor(path: string, message: string) {
    super(message);
    this.path = path;
  }
}

/**
 * Validation failures are raised as SchemaDecodeError by the shared validators; encoders
 * re-raise them as SchemaEncodeError so both sides enforce exactly the same rules.
 */
export function toEncodeError(err: unknown): SchemaEncodeError {
  if (err instanceof SchemaEncodeError) return err;
  if (err instanceof SchemaDecodeError) {
    return new SchemaEncodeError(err.code, err.message, { field: err.field, cause: err.cause });
  }
  return new SchemaEncodeError('INVALID_FIELD', `cannot encode: ${describe(err)}`, { cause: err });
}

/** Message of an unknown thrown value, for wrapping. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * Runs a decode step and converts anything but a SchemaDecodeError (a defect, or a failure
 * from a library the step did not anticipate) into one, so decoders throw nothing untyped.
 */
export function guardDecode<T>(field: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof SchemaDecodeError) throw err;
    throw new SchemaDecodeError('MALFORMED_PROTOBUF', `${field}: cannot decode: ${describe(err)}`, { field, cause: err });
  }
}
