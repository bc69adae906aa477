// Label-set validation and the canonical series key of the metric store. A label set is
// accepted when it is an object of strings with a non-empty `__name__`, within the count and
// length limits, and encodable as UTF-8. A label whose value is empty is dropped: as in
// Prometheus, `{a=""}` and a missing `a` are the same series.
import { compareCodePoints } from '../../../shared-schemas/src/index.js';
import type { Labels } from '../../../shared-schemas/src/index.js';

export interface LabelLimits {
  /** Labels per series, `__name__` included. */
  maxLabels: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
}

export interface NormalizedSeries {
  /** canonicalLabelKey of the normalized labels: the series identity. */
  key: string;
  labels: Labels;
  name: string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SURROGATE = /[\uD800-\uDFFF]/;

export function isWellFormed(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** A short, safe rendering of an offending value for an error message. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 48 ? `${value.slice(0, 48)}...` : value);
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** Sets an own property even for `__proto__`. */
export function setLabel(target: Labels, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** Validates and normalizes a series' labels; returns the reason as a string when refused. */
export function normalizeSeriesLabels(value: unknown, limits: LabelLimits): NormalizedSeries | string {
  if (!isPlainObject(value)) return `labels must be an object of strings (got ${show(value)})`;
  const names = Object.keys(value);
  if (names.length > limits.maxLabels) return `labels: more than ${limits.maxLabels} labels (got ${names.length})`;
  const out: Labels = {};
  const kept: string[] = [];
  let astral = false;
  for (const name of names) {
    const v = value[name];
    if (name === '') return 'labels: a label name is empty';
    if (name.length > limits.maxLabelNameLength) return `labels: name ${show(name)} is longer than ${limits.maxLabelNameLength} characters`;
    if (!isWellFormed(name)) return `labels: name ${show(name)} is not valid Unicode (lone surrogate)`;
    if (typeof v !== 'string') return `labels.${name}: value must be a string (got ${show(v)})`;
    if (v.length > limits.maxLabelValueLength) return `labels.${name}: value is ${v.length} characters, more than ${limits.maxLabelValueLength}`;
    if (!isWellFormed(v)) return `labels.${name}: value is not valid Unicode (lone surrogate)`;
    if (v !== '') {
      setLabel(out, name, v);
      kept.push(name);
      if (!astral && SURROGATE.test(name)) astral = true;
    }
  }
  const metric = Object.hasOwn(out, '__name__') ? out['__name__'] : undefined;
  if (metric === undefined) return 'labels: __name__ (the metric name) is missing or empty';
  return { key: seriesKey(out, kept, astral), labels: out, name: metric };
}

/**
 * shared-schemas' canonicalLabelKey (a JSON array of name, value pairs sorted by code point),
 * computed on the hot path without a comparator call per comparison: UTF-16 order equals code
 * point order unless a name holds a surrogate pair, then the exact comparator is used.
 */
function seriesKey(labels: Labels, names: string[], astral: boolean): string {
  if (astral) names.sort(compareCodePoints);
  else names.sort();
  const parts = new Array<string>(names.length * 2);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    parts[2 * i] = name;
    parts[2 * i + 1] = labels[name] as string;
  }
  return JSON.stringify(parts);
}

/** Rebuilds a label set from its canonical key (a JSON array name, value, name, value...). */
export function labelsFromKey(key: string): Labels {
  const parts = JSON.parse(key) as string[];
  const out: Labels = {};
  for (let i = 0; i + 1 < parts.length; i += 2) setLabel(out, parts[i] as string, parts[i + 1] as string);
  return out;
}
