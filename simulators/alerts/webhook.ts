// Alertmanager's webhook payload (version 4) and the pieces of Alertmanager it depends on:
// label-set fingerprints, the order of alerts inside a notification, group keys and Go's
// time format. Checked against a real Alertmanager 0.25 by alertmanager.test.ts.
import { alertFingerprint, compareCodePoints } from '../../shared-schemas/src/index.js';
import { AlertStormError } from './errors.js';

/** One alert inside a webhook notification (Alertmanager template.Alert). */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339 as Go writes it (fraction only when non-zero, trailing zeros trimmed). */
  startsAt: string;
  /** `0001-01-01T00:00:00Z` while the alert fires. */
  endsAt: string;
  generatorURL: string;
  /** 16 hex digits: FNV-1a 64 of the sorted label set (prometheus/common LabelSet.Fingerprint). */
  fingerprint: string;
}

/** The JSON Alertmanager POSTs to a webhook receiver; fields in Alertmanager's order. */
export interface WebhookV4 {
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  version: '4';
  groupKey: string;
  truncatedAlerts: number;
}

/** Go's zero time.Time as JSON: an unresolved alert's endsAt in a notification. */
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** Go's time.Time JSON form (RFC 3339 with nanoseconds, trailing zeros trimmed) of a UTC ms time. */
export function goTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < -62135596800000 || ms > 253402300799999) {
    throw new AlertStormError('BAD_INPUT', `time ${ms} ms is outside years 1..9999`);
  }
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac === '' ? '' : `.${frac}`}Z`;
}

/** A copy with keys in Go's map order (UTF-8 byte order), as encoding/json writes maps. */
export function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(labels).sort(compareCodePoints)) {
    Object.defineProperty(out, k, { value: labels[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** Go's strconv.Quote for the characters label values hold. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (c === 7) out += '\\a';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c === 11) out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** prometheus/common LabelSet.String(): `{a="x", b="y"}`, names sorted. */
export function labelSetString(labels: Readonly<Record<string, string>>): string {
  return `{${Object.keys(labels)
    .sort(compareCodePoints)
    .map((k) => `${k}=${goQuote(labels[k] as string)}`)
    .join(', ')}}`;
}

/** The group labels of an alert for a route's group_by (`...` = every label). */
export function groupLabelsOf(labels: Readonly<Record<string, string>>, groupBy: readonly string[]): Record<string, string> {
  if (groupBy.includes('...')) return sortedLabels(labels);
  const out: Record<string, string> = {};
  for (const name of groupBy) {
    const v = labels[name];
    if (v !== undefined) out[name] = v;
  }
  return sortedLabels(out);
}

/** Alertmanager's group key for the root route (no matchers): `{}:{alertname="X"}`. */
export function groupKeyOf(groupLabels: Readonly<Record<string, string>>): string {
  return `{}:${labelSetString(groupLabels)}`;
}

/** prometheus/common LabelSet.Before: fewer labels first, then by the sorted union of names. */
export function labelSetBefore(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return ka.length < kb.length;
  const names = [...ka, ...kb].sort(compareCodePoints);
  for (const n of names) {
    const x = a[n];
    if (x === undefined) return true;
    const y = b[n];
    if (y === undefined) return false;
    const c = compareCodePoints(x, y);
    if (c !== 0) return c < 0;
  }
  return false;
}

/** Alertmanager types.AlertSlice order: by `job`, then `instance` (present first), then LabelSet.Before. */
export function compareAlertsForNotification(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): number {
  for (const key of ['job', 'instance']) {
    const x = a[key];
    const y = b[key];
    if (x === undefined && y === undefined) continue;
    if (x === undefined) return 1;
    if (y === undefined) return -1;
    const c = compareCodePoints(x, y);
    if (c !== 0) return c;
  }
  if (labelSetBefore(a, b)) return -1;
  if (labelSetBefore(b, a)) return 1;
  return 0;
}

/** What a notification needs of one alert. */
export interface NotifiedAlert {
  labels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  startsAtMs: number;
  /** Undefined, or later than the notification time: the alert fires. */
  endsAtMs: number | undefined;
  generatorURL: string;
}

export interface WebhookGroup {
  receiver: string;
  groupLabels: Readonly<Record<string, string>>;
  externalURL: string;
}

function common(maps: ReadonlyArray<Readonly<Record<string, string>>>): Record<string, string> {
  const first = maps[0];
  const out: Record<string, string> = {};
  if (!first) return out;
  for (const k of Object.keys(first)) {
    if (maps.every((m) => Object.hasOwn(m, k) && m[k] === first[k])) out[k] = first[k] as string;
  }
  return sortedLabels(out);
}

/**
 * The webhook payload Alertmanager sends for `alerts` of one aggregation group at `nowMs`:
 * alerts in Alertmanager's order, a firing alert's endsAt zeroed (dispatch.go: alerts do not
 * resolve as time moves on inside a notification), status "firing" when any alert fires,
 * common labels and annotations, and the group key of the root route.
 */
export function buildWebhookPayload(group: WebhookGroup, alerts: readonly NotifiedAlert[], nowMs: number): WebhookV4 {
  const sorted = [...alerts].sort((a, b) => compareAlertsForNotification(a.labels, b.labels));
  const out: WebhookAlert[] = sorted.map((a) => {
    const firing = a.endsAtMs === undefined || a.endsAtMs > nowMs;
    return {
      status: firing ? 'firing' : 'resolved',
      labels: sortedLabels(a.labels),
      annotations: sortedLabels(a.annotations),
      startsAt: goTime(a.startsAtMs),
      endsAt: firing ? GO_ZERO_TIME : goTime(a.endsAtMs as number),
      generatorURL: a.generatorURL,
      fingerprint: alertFingerprint(a.labels),
    };
  });
  return {
    receiver: group.receiver,
    status: out.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    alerts: out,
    groupLabels: sortedLabels(group.groupLabels),
    commonLabels: common(sorted.map((a) => a.labels)),
    commonAnnotations: common(sorted.map((a) => a.annotations)),
    externalURL: group.externalURL,
    version: '4',
    groupKey: groupKeyOf(group.groupLabels),
    truncatedAlerts: 0,
  };
}

/** Go's url.QueryEscape (spaces as "+", everything but [A-Za-z0-9-_.~] percent-encoded). */
export function goQueryEscape(s: string): string {
  return encodeURIComponent(s)
    .replace(/[!'()*]/g, (c) => `%${(c.codePointAt(0) as number).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/** Prometheus' generatorURL for a rule: `<external>/graph?g0.expr=<expr>&g0.tab=1`. */
export function generatorUrlFor(prometheusUrl: string, expr: string): string {
  return `${prometheusUrl.replace(/\/+$/, '')}/graph?g0.expr=${goQueryEscape(expr)}&g0.tab=1`;
}
