// Label-set helpers shared by the series dictionary, the codecs and the alert pipeline.
import type { Labels } from './types.js';

/**
 * Orders strings by Unicode code point, which is the order of their UTF-8 bytes: the order
 * Go (Prometheus, Alertmanager) sorts label names in. Differs from `<` only for characters
 * outside the Basic Multilingual Plane.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800-0xDFFF) encodes a code point above 0xFFFF, so it sorts after
    // every BMP unit above it in UTF-16 order (0xE000-0xFFFF).
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Label names in canonical (code point) order. */
export function sortedLabelNames(labels: Labels): string[] {
  return Object.keys(labels).sort(compareCodePoints);
}

/**
 * Canonical, injective string key of a label set: equal for equal sets whatever the
 * insertion order, different for different sets (names and values may contain any character).
 */
export function canonicalLabelKey(labels: Labels): string {
  const names = sortedLabelNames(labels);
  const parts: string[] = new Array<string>(names.length * 2);
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    parts[2 * i] = name;
    parts[2 * i + 1] = labels[name] as string;
  }
  return JSON.stringify(parts);
}

/** True when both sets hold the same names with the same values. */
export function labelsEqual(a: Labels, b: Labels): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.hasOwn(b, k) || a[k] !== b[k]) return false;
  }
  return true;
}

/** Sets an own property even for names such as `__proto__`. */
export function setLabel(target: Labels, name: string, value: string): void {
  if (name === '__proto__') {
    Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[name] = value;
  }
}

/** Frozen copy with names in canonical order. */
export function freezeLabels(labels: Labels): Readonly<Labels> {
  const out: Labels = {};
  for (const name of sortedLabelNames(labels)) setLabel(out, name, labels[name] as string);
  return Object.freeze(out);
}

const FNV_OFFSET_64 = 0xcbf29ce484222325n;
const FNV_PRIME_64 = 0x100000001b3n;
const SEPARATOR = 0xff;
const utf8 = new TextEncoder();

function fnvAdd(hash: bigint, bytes: Uint8Array): bigint {
  let h = hash;
  for (let i = 0; i < bytes.length; i++) {
    h = BigInt.asUintN(64, (h ^ BigInt(bytes[i] as number)) * FNV_PRIME_64);
  }
  return h;
}

function fnvAddByte(hash: bigint, byte: number): bigint {
  return BigInt.asUintN(64, (hash ^ BigInt(byte)) * FNV_PRIME_64);
}

/**
 * Alertmanager / Prometheus label-set fingerprint (prometheus/common `model.LabelSet.
 * Fingerprint`): FNV-1a 64 over name, 0xff, value, 0xff for each label in sorted order,
 * formatted as 16 lowercase hex digits. Used to deduplicate alerts.
 */
export function alertFingerprint(labels: Labels): string {
  let h = FNV_OFFSET_64;
  for (const name of sortedLabelNames(labels)) {
    h = fnvAdd(h, utf8.encode(name));
    h = fnvAddByte(h, SEPARATOR);
    h = fnvAdd(h, utf8.encode(labels[name] as string));
    h = fnvAddByte(h, SEPARATOR);
  }
  return h.toString(16).padStart(16, '0');
}
