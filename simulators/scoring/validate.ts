/**
 * Run-time checks of scorer input. The scorers take plain values (often straight from a JSON
 * file), so every field is checked before any counting starts; the error names the path of the
 * bad value and shows it.
 */
import { EvalScoringError, type EvalErrorCode } from './eval-errors.js';

export function show(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch {
    return String(value);
  }
}

export function fail(field: string, rule: string, got: unknown, code: EvalErrorCode = 'BAD_INPUT'): never {
  throw new EvalScoringError(code, `${field} ${rule} (got ${show(got)})`, { field });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireArray(value: unknown, field: string): readonly unknown[] {
  if (!Array.isArray(value)) fail(field, 'must be an array', value);
  return value;
}

export function requireRecord(value: unknown, field: string): Record<string, unknown> {
  if (!isRecord(value)) fail(field, 'must be an object', value);
  return value;
}

export function requireFinite(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, 'must be a finite number', value);
  return value;
}

export function optionalFinite(value: unknown, field: string): number | undefined {
  return value === undefined ? undefined : requireFinite(value, field);
}

export function requireString(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(field, 'must be a non-empty string', value);
  return value;
}

export function optionalString(value: unknown, field: string): string | undefined {
  return value === undefined ? undefined : requireString(value, field);
}

/** An option that must be a finite number >= 0; `fallback` when absent. */
export function nonNegativeOption(value: unknown, field: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(field, 'must be a finite number >= 0', value, 'BAD_OPTIONS');
  }
  return value;
}

export function booleanOption(value: unknown, field: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') fail(field, 'must be true or false', value, 'BAD_OPTIONS');
  return value;
}

/** 0/0 and x/0 are NaN (undefined) rather than Infinity, so "n/a" is one value. */
export function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? Number.NaN : numerator / denominator;
}
