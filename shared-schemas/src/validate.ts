// Runtime validators shared by the binary decoders, the JSON decoders and the encoders.
// They throw SchemaDecodeError naming the field path (`FeatureFrame.rows[3].seriesId: ...`);
// encoders convert it to SchemaEncodeError (errors.ts toEncodeError).
import type { DecodeLimits } from './config.js';
import { SchemaDecodeError } from './errors.js';
import type { SchemaErrorCode } from './errors.js';
import { setLabel } from './labels.js';
import type { Labels } from './types.js';

export function fail(field: string, detail: string, code: SchemaErrorCode = 'INVALID_FIELD'): never {
  throw new SchemaDecodeError(code, `${field}: ${detail}`, { field });
}

export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}...` : value);
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || value === undefined || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `array(${value.length})`;
  if (value instanceof Uint8Array) return `bytes(${value.length})`;
  return typeof value;
}

type WellFormed = { isWellFormed?: () => boolean };
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when the string has no lone surrogate, i.e. it can be encoded as UTF-8 losslessly. */
export function isWellFormed(s: string): boolean {
  const fn = (s as unknown as WellFormed).isWellFormed;
  return typeof fn === 'function' ? fn.call(s) : !LONE_SURROGATE.test(s);
}

export interface StringRule {
  nonEmpty?: boolean;
  max?: number;
}

export function checkString(value: unknown, field: string, limits: DecodeLimits, rule: StringRule = {}): string {
  if (typeof value !== 'string') fail(field, `must be a string (got ${show(value)})`);
  const max = rule.max ?? limits.maxStringLength;
  if (value.length > max) fail(field, `length ${value.length} exceeds the limit ${max}`, 'TOO_LARGE');
  if (rule.nonEmpty === true && value.length === 0) fail(field, 'must not be empty');
  if (!isWellFormed(value)) fail(field, 'contains a lone UTF-16 surrogate (not encodable as UTF-8)');
  return value;
}

export function checkBool(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') fail(field, `must be a boolean (got ${show(value)})`);
  return value;
}

/** Any IEEE-754 double, NaN and infinities included. */
export function checkNumber(value: unknown, field: string): number {
  if (typeof value !== 'number') fail(field, `must be a number (got ${show(value)})`);
  return value;
}

export function checkFinite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, `must be a finite number (got ${show(value)})`);
  return value;
}

export function checkUint32(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    fail(field, `must be an integer in 0..4294967295 (got ${show(value)})`);
  }
  return value;
}

/** uint64 fields are limited to the safe-integer range of a JS number. */
export function checkUint64(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(field, `must be an integer in 0..${Number.MAX_SAFE_INTEGER} (got ${show(value)})`);
  }
  return value;
}

export interface TimestampRule {
  /** 0 allowed, meaning "not set". */
  optional?: boolean;
}

/**
 * Largest accepted timestamp: 9999-12-31T23:59:59.999Z, the last instant RFC 3339 (and so the
 * JSON forms) can write.
 */
export const MAX_TIMESTAMP_MS = 253_402_300_799_999;

/** Milliseconds since the epoch: an integer in 0..MAX_TIMESTAMP_MS, > 0 unless optional. */
export function checkTimestamp(value: unknown, field: string, rule: TimestampRule = {}): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_TIMESTAMP_MS) {
    fail(field, `must be a timestamp in integer ms since the epoch (got ${show(value)})`);
  }
  if (value === 0 && rule.optional !== true) fail(field, 'is required (got 0)');
  return value;
}

export function checkOneOf<T extends string | number>(value: unknown, allowed: readonly T[], field: string): T {
  if (!(allowed as readonly unknown[]).includes(value)) {
    fail(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${show(value)})`);
  }
  return value as T;
}

export function checkArray(value: unknown, field: string, max: number): unknown[] {
  if (!Array.isArray(value)) fail(field, `must be an array (got ${show(value)})`);
  if (value.length > max) fail(field, `${value.length} items exceed the limit ${max}`, 'TOO_LARGE');
  return value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if (value instanceof Uint8Array) return false;
  return true;
}

function checkLabelPair(name: unknown, value: unknown, field: string, limits: DecodeLimits): void {
  if (typeof name !== 'string' || name.length === 0) fail(field, `label name must be a non-empty string (got ${show(name)})`);
  if (name.length > limits.maxLabelNameLength) {
    fail(field, `label name length ${name.length} exceeds the limit ${limits.maxLabelNameLength}`, 'TOO_LARGE');
  }
  if (!isWellFormed(name)) fail(field, 'label name contains a lone UTF-16 surrogate');
  if (typeof value !== 'string') fail(`${field}.${name}`, `label value must be a string (got ${show(value)})`);
  if (value.length > limits.maxLabelValueLength) {
    fail(`${field}.${name}`, `label value length ${value.length} exceeds the limit ${limits.maxLabelValueLength}`, 'TOO_LARGE');
  }
  if (!isWellFormed(value)) fail(`${field}.${name}`, 'label value contains a lone UTF-16 surrogate');
}

/** Validates a label set given as an object (TS and JSON forms). Returns it unchanged. */
export function checkLabels(value: unknown, field: string, limits: DecodeLimits): Labels {
  if (!isPlainObject(value)) fail(field, `must be an object of string labels (got ${show(value)})`);
  const names = Object.keys(value);
  if (names.length > limits.maxLabelsPerSet) {
    fail(field, `${names.length} labels exceed the limit ${limits.maxLabelsPerSet}`, 'TOO_LARGE');
  }
  for (const name of names) checkLabelPair(name, value[name], field, limits);
  return value as Labels;
}

/** Label pair as protobufjs decodes it. */
export interface ProtoLabel {
  name: string;
  value: string;
}

/** Builds a label set from its wire form: rejects duplicate names, enforces the limits. */
export function labelsFromPairs(pairs: readonly ProtoLabel[] | undefined, field: string, limits: DecodeLimits): Labels {
  const out: Labels = {};
  if (pairs === undefined) return out;
  if (pairs.length > limits.maxLabelsPerSet) {
    fail(field, `${pairs.length} labels exceed the limit ${limits.maxLabelsPerSet}`, 'TOO_LARGE');
  }
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i] as ProtoLabel;
    checkLabelPair(pair.name, pair.value, field, limits);
    if (Object.hasOwn(out, pair.name)) fail(`${field}.${pair.name}`, 'duplicate label name');
    setLabel(out, pair.name, pair.value);
  }
  return out;
}
