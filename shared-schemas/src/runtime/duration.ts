// Durations in config: "250ms", "10s", "1m", "1h30m", or a number of milliseconds.
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/** Milliseconds, or NaN when the text is not a duration. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '') return NaN;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t);
  PART.lastIndex = 0;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = PART.exec(t)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  return at === t.length ? total : NaN;
}

/** A zod schema for a duration; the output is milliseconds. */
export function duration(opts: { min?: number; max?: number } = {}) {
  const min = opts.min ?? 1;
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = typeof v === 'number' ? v : parseDuration(v);
      if (!Number.isFinite(ms)) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration like "500ms", "10s", "5m"', input: v });
        return z.NEVER;
      }
      if (ms < min) {
        ctx.addIssue({ code: 'custom', message: `must be >= ${min} ms`, input: v });
        return z.NEVER;
      }
      if (opts.max !== undefined && ms > opts.max) {
        ctx.addIssue({ code: 'custom', message: `must be <= ${opts.max} ms`, input: v });
        return z.NEVER;
      }
      return ms;
    });
}

/** Byte sizes: "64MiB", "512KiB", "10MB", or a number of bytes. */
export function parseBytes(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(text);
  if (!m) return NaN;
  const mult: Record<string, number> = { B: 1, KB: 1e3, KiB: 1024, MB: 1e6, MiB: 1024 ** 2, GB: 1e9, GiB: 1024 ** 3 };
  return Math.floor(Number(m[1]) * mult[m[2] ?? 'B']!);
}

export function byteSize(opts: { min?: number } = {}) {
  const min = opts.min ?? 1;
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const n = typeof v === 'number' ? v : parseBytes(v);
    if (!Number.isFinite(n) || n < min) {
      ctx.addIssue({ code: 'custom', message: `must be a size >= ${min} bytes like "64MiB"`, input: v });
      return z.NEVER;
    }
    return n;
  });
}
