// Masking of variable tokens before template mining (the Drain paper's "preprocessing by domain
// knowledge"): timestamps, UUIDs, IP addresses, hex values, paths with digits, durations and
// numbers become typed placeholders, so `Connection from 10.0.0.1 port 5555` and
// `Connection from 10.0.0.2 port 6000` are the same token sequence before the tree search.
//
// One regular expression with ordered alternatives, one pass per line. Every alternative is
// anchored by a left boundary (not preceded by a letter, digit or `_`, nor by an alphanumeric
// and a dot, so `v1.2.3` and `app.log.1` stay whole) and a right boundary (not followed by a
// letter, digit or `_`), so identifiers that merely contain digits (`user42`, `sha256`) are left
// to the miner, which routes them to the `<*>` branch of its tree.

const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
const HEXG = '[0-9a-fA-F]{1,4}';

const ALTERNATIVES: Array<[string, string]> = [
  // 2026-01-02T03:04:05.678Z, 2026-01-02 03:04:05,678, 2026/01/02 03:04:05 +0100, 2026-01-02
  ['TS', String.raw`\d{4}[-/]\d{2}[-/]\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|\s?[+-]\d{2}:?\d{2})?)?`],
  // 10/Oct/2000:13:55:36 -0700 (common log format)
  ['TS', String.raw`\d{1,2}/${MONTH}/\d{4}:\d{2}:\d{2}:\d{2}(?:\s[+-]\d{4})?`],
  // Oct 11 22:14:15 (syslog), Mon Jan  2 15:04:05 2006 (ctime) without the weekday
  ['TS', String.raw`${MONTH}\s+\d{1,2}\s+\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s\d{4})?`],
  // 22:14:15, 22:14:15.123456
  ['TS', String.raw`\d{2}:\d{2}:\d{2}(?:[.,]\d+)?`],
  ['UUID', String.raw`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`],
  // IPv4 with an optional port
  ['IP', String.raw`(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?::\d{1,5})?`],
  // IPv6: eight groups, or a `::` form with at least one group
  ['IP', `(?:${HEXG}:){7}${HEXG}`],
  ['IP', `(?:${HEXG}(?::${HEXG})*)?::(?:${HEXG}(?::${HEXG})*)?(?<=[0-9a-fA-F])`],
  ['HEX', String.raw`0[xX][0-9a-fA-F]+`],
  // bare hex of 8+ characters with at least one digit and one letter a-f (hashes, ids)
  ['HEX', String.raw`(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}`],
  // an absolute path; masked only when it contains a digit (see the replacer)
  ['PATH', String.raw`(?<![^\s=:"'(\[])(?:/[\w.~%@+-]+)+/?`],
  // 250ms, 1.5s, 1h30m, 10us
  ['DUR', String.raw`\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*`],
  // 42, -3, 3.14, 1e-9, 1.2.3, 10MB, 99%
  ['NUM', String.raw`\d+(?:\.\d+)*(?:[eE][-+]?\d+)?(?:[KMGTP]i?B|B|%)?`],
];

const KINDS = ALTERNATIVES.map(([k]) => k);
const SOURCE = `(?<![A-Za-z0-9_]|[A-Za-z0-9]\\.)(?:${ALTERNATIVES.map(([, re]) => `(${re})`).join('|')})(?![A-Za-z0-9_])`;
const PLACEHOLDERS = new Set(['<TS>', '<UUID>', '<IP>', '<HEX>', '<PATH>', '<DUR>', '<NUM>']);

/** A fresh matcher per call site: a global RegExp carries `lastIndex` state. */
export function createMasker(): (text: string) => string {
  const re = new RegExp(SOURCE, 'g');
  const replacer = (match: string, ...groups: unknown[]): string => {
    for (let i = 0; i < KINDS.length; i++) {
      if (groups[i] !== undefined) {
        const kind = KINDS[i]!;
        if (kind === 'PATH' && !/\d/.test(match)) return match;
        return `<${kind}>`;
      }
    }
    return match;
  };
  return (text: string) => text.replace(re, replacer);
}

/** Whether a token is one of the typed placeholders `createMasker` produces. */
export function isPlaceholder(token: string): boolean {
  return PLACEHOLDERS.has(token);
}
