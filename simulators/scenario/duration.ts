// Durations in scenario files: "500ms", "10s", "5m", "2h", "1d", or combinations like "1h30m".
// Plain numbers are refused: a scenario says its unit.

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds, or NaN when the text is not a duration. */
export function parseDuration(text: string): number {
  const t = text.trim();
  if (t === '') return NaN;
  if (t === '0') return 0;
  PART.lastIndex = 0;
  let total = 0;
  let at = 0;
  let m: RegExpExecArray | null;
  while ((m = PART.exec(t)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    at = PART.lastIndex;
  }
  return at === t.length ? Math.round(total) : NaN;
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
