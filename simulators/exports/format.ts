// Fixed text formats shared by the writers.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExportError } from './errors.js';

/** Significant digits of every exported value. */
export const VALUE_DIGITS = 7;

/** A value as CSV text: 7 significant digits, shortest form; NaN (no sample) as an empty cell. */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return '';
  if (v === 0) return '0';
  return String(Number(v.toPrecision(VALUE_DIGITS)));
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** NAB data timestamp `YYYY-MM-DD HH:MM:SS` (UTC; whole seconds). */
export function formatNabTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/** NAB label timestamp, as in NAB's combined_windows.json: `YYYY-MM-DD HH:MM:SS.000000`. */
export function formatNabLabelTimestamp(ms: number): string {
  return `${formatNabTimestamp(ms)}.${String((((ms % 1000) + 1000) % 1000) * 1000).padStart(6, '0')}`;
}

/** Unix seconds as text (no decimals when the time is on a whole second). */
export function formatUnixSeconds(ms: number): string {
  return String(ms / 1000);
}

/** A name usable as a file or column name: anything outside [A-Za-z0-9._-] becomes "-". */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '-');
}

/** JSON with two-space indentation and a final newline. */
export function jsonText(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Writes a file, creating its folder; I/O failures become ExportError IO. */
export async function writeText(path: string, text: string): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, text);
  } catch (cause) {
    throw new ExportError('IO', `cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}
