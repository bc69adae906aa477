// Durations in scenario files: "500ms", "10s", "5m", "2h", "1d", or combinations like "1h30m".
// Plain numbers are refused: a scenario says its unit.

import { parseDuration as parseConfigDuration } from '../../shared-schemas/src/runtime/index.js';

/** Milliseconds, or NaN when the text is not a duration (the config syntax, minus bare numbers). */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t !== '0' && /^\d+(\.\d+)?$/.test(t)) return NaN;
  return Math.round(parseConfigDuration(t));
}

/** The shortest exact text for a duration: "1h30m", "10s", "0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
