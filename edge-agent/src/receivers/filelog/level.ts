// Severity of a log line and the part of it worth mining for a template.
//
// Recognised, in this order: JSON lines (`level`, `severity`, `lvl`, `loglevel`, `levelname`,
// `severity_text`, `log.level`; pino/bunyan numeric levels 10..60; a Docker `{"log": "..."}`
// wrapper is looked into once), syslog `<PRI>` prefixes (RFC 3164/5424 severity = PRI % 8), logfmt
// `level=warn`, klog `E0102 15:04:05`, `[error]`-style brackets, and upper-case words (`ERROR`,
// `WARN`, `WARNING:`) near the start of the line. Lower-case bare words are ignored on purpose:
// "no error" in a message is not an error line. Syslog headers (RFC 3164 timestamp, host and
// tag; RFC 5424 header fields) are cut from the text that is mined for a template.

export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'unknown'] as const;
export type Level = (typeof LEVELS)[number];

const WORDS: Record<string, Level> = {
  trace: 'trace',
  trc: 'trace',
  finest: 'trace',
  debug: 'debug',
  dbg: 'debug',
  fine: 'debug',
  finer: 'debug',
  verbose: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  wrn: 'warn',
  error: 'error',
  err: 'error',
  eror: 'error',
  severe: 'error',
  fatal: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
};

/** Syslog severities 0..7. */
const SYSLOG: readonly Level[] = ['fatal', 'fatal', 'fatal', 'error', 'warn', 'info', 'info', 'debug'];

/** How far into a line textual markers are looked for. */
const HEAD_CHARS = 200;
const JSON_MAX_CHARS = 256 * 1024;

const PRI = /^<(\d{1,3})>/;
/** RFC 3164 header: `Oct 11 22:14:15 host tag[pid]: ` (the message follows). */
const BSD_HEADER = /^[A-Z][a-z]{2} [ \d]?\d \d{2}:\d{2}:\d{2} \S+ [^\s[\]:]{1,64}(?:\[[^\]\s]{1,32}\])?: ?/;
/** RFC 5424 header after the PRI: `1 2026-01-02T03:04:05Z host app procid msgid [sd] ` or `- `. */
const IETF_HEADER = /^1 \S+ \S+ \S+ \S+ \S+ (?:-|(?:\[(?:[^\]\\]|\\.){0,2048}\])+) ?/;
const LOGFMT = /(?:^|[\s,{])"?(?:level|lvl|severity|loglevel|log_level|levelname)"?\s*[=:]\s*"?([A-Za-z]+)\b/i;
const KLOG = /^([IWEF])\d{4} \d{2}:\d{2}:\d{2}/;
const BRACKET = /[[<(]([A-Za-z]{3,13})[\]>)]/g;
const UPPER = /(?<![A-Za-z0-9_])(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERR|FATAL|CRITICAL|CRIT|ALERT|EMERG|PANIC|SEVERE)(?![A-Za-z0-9_])/;
const KLOG_LEVELS: Record<string, Level> = { I: 'info', W: 'warn', E: 'error', F: 'fatal' };

const JSON_LEVEL_KEYS = ['level', 'severity', 'lvl', 'loglevel', 'log_level', 'levelname', 'severity_text', 'severityText', '@level'];
const JSON_MSG_KEYS = ['msg', 'message', 'MESSAGE', 'Message', 'body'];

export interface Classified {
  level: Level;
  /** Text to mine for a template: the message field of a JSON line, or the line without a syslog PRI and header. */
  text: string;
}

export function levelFromWord(word: string): Level | undefined {
  return WORDS[word.toLowerCase()];
}

/** Pino/bunyan numeric levels; other numbers are not levels. */
export function levelFromNumber(n: number): Level | undefined {
  if (!Number.isFinite(n) || n < 10) return undefined;
  if (n >= 60) return 'fatal';
  if (n >= 50) return 'error';
  if (n >= 40) return 'warn';
  if (n >= 30) return 'info';
  if (n >= 20) return 'debug';
  return 'trace';
}

function levelFromValue(v: unknown): Level | undefined {
  if (typeof v === 'number') return levelFromNumber(v);
  if (typeof v === 'string') {
    if (/^\d+$/.test(v)) return levelFromNumber(Number(v));
    return levelFromWord(v.trim());
  }
  return undefined;
}

function classifyJson(line: string, depth: number): Classified | undefined {
  if (line.length > JSON_MAX_CHARS || line.charCodeAt(0) !== 123 /* { */ || !line.trimEnd().endsWith('}')) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
  const rec = obj as Record<string, unknown>;
  let level: Level | undefined;
  for (const k of JSON_LEVEL_KEYS) {
    if (k in rec) {
      level = levelFromValue(rec[k]);
      if (level) break;
    }
  }
  if (!level) {
    const log = rec['log'];
    if (log && typeof log === 'object' && !Array.isArray(log)) level = levelFromValue((log as Record<string, unknown>)['level']);
  }
  let text: string | undefined;
  for (const k of JSON_MSG_KEYS) {
    const v = rec[k];
    if (typeof v === 'string') {
      text = v;
      break;
    }
  }
  // Docker json-file: {"log":"<the app's own line>\n","stream":"stdout","time":"..."}
  const inner = rec['log'];
  if (text === undefined && typeof inner === 'string' && depth === 0) {
    const c = classify(inner.replace(/\r?\n$/, ''), 1);
    return { level: level ?? c.level, text: c.text };
  }
  return { level: level ?? 'unknown', text: text ?? line };
}

function textualLevel(line: string): Level | undefined {
  const head = line.length > HEAD_CHARS ? line.slice(0, HEAD_CHARS) : line;
  const kv = LOGFMT.exec(head);
  if (kv) {
    const l = levelFromWord(kv[1]!);
    if (l) return l;
  }
  const k = KLOG.exec(head);
  if (k) return KLOG_LEVELS[k[1]!];
  BRACKET.lastIndex = 0;
  let b: RegExpExecArray | null;
  while ((b = BRACKET.exec(head)) !== null) {
    const l = levelFromWord(b[1]!);
    if (l) return l;
  }
  const u = UPPER.exec(head);
  if (u) return levelFromWord(u[1]!);
  return undefined;
}

/** The message of a syslog line (timestamp, host and tag carry no template). */
function stripSyslogHeader(line: string): string {
  const m = BSD_HEADER.exec(line) ?? IETF_HEADER.exec(line);
  return m ? line.slice(m[0].length) : line;
}

/** The level of a line and the text to mine. Never throws. */
export function classify(line: string, depth = 0): Classified {
  const json = classifyJson(line, depth);
  if (json) return json;
  const pri = PRI.exec(line);
  if (pri) {
    const p = Number(pri[1]);
    if (p <= 191) {
      const rest = line.slice(pri[0].length);
      return { level: SYSLOG[p % 8]!, text: stripSyslogHeader(rest) };
    }
  }
  const text = stripSyslogHeader(line);
  return { level: textualLevel(text) ?? 'unknown', text };
}
