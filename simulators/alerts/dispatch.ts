// What Alertmanager does with the alerts Prometheus sends it, for one root route and one webhook
// receiver with send_resolved: aggregation groups by `group_by` (dispatch/dispatch.go), the first
// flush `group_wait` after a group is created, then one every `group_interval` while the group
// holds alerts, and the notification log's decision whether a flush notifies
// (notify/notify.go DedupStage.needsUpdate):
//   - no earlier notification for the group key: notify if any alert fires;
//   - an alert fires that did not fire in the last notification: notify;
//   - nothing fires any more: notify if the last notification had firing alerts;
//   - an alert resolved since the last notification: notify;
//   - else notify only when repeat_interval has passed since the last notification.
// Resolved alerts leave the group after each flush; an empty group is dropped (Alertmanager
// drops it at its next maintenance, 30 s later at most: an alert arriving in that gap joins the
// old group instead of waiting group_wait - not modelled). The notification log is kept per
// group key for the whole run, as Alertmanager's. Prometheus is taken to deliver an alert at its
// startsAt and its resolution at its endsAt. At one instant, due flushes run before arriving
// alerts (the timer was set first).
import { buildWebhookPayload, groupKeyOf, groupLabelsOf } from './webhook.js';
import type { NotifiedAlert, WebhookV4 } from './webhook.js';

export interface RouteOptions {
  receiver: string;
  /** Label names, or ['...'] for every label. */
  groupBy: readonly string[];
  groupWaitMs: number;
  groupIntervalMs: number;
  repeatIntervalMs: number;
  /** Alertmanager's --web.external-url, copied into every notification. */
  externalURL: string;
}

export interface DispatchAlert extends NotifiedAlert {
  fingerprint: string;
}

export interface SentNotification {
  /** When Alertmanager sends it. */
  sentAtMs: number;
  payload: WebhookV4;
}

interface Group {
  key: string;
  labels: Record<string, string>;
  seq: number;
  nextFlushMs: number;
  /** fingerprint -> the alert as Alertmanager currently holds it. */
  alerts: Map<string, DispatchAlert>;
}

interface LogEntry {
  firing: Set<string>;
  resolved: Set<string>;
  atMs: number;
}

function subset(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/**
 * Runs the alerts through the route and returns the notifications in send order. Flushes stop at
 * `horizonMs` (alerts still firing then get no more repeats).
 */
export function dispatchAlerts(alerts: readonly DispatchAlert[], route: RouteOptions, horizonMs: number): SentNotification[] {
  type Ev = { t: number; resolve: boolean; idx: number };
  const events: Ev[] = [];
  alerts.forEach((a, idx) => {
    events.push({ t: a.startsAtMs, resolve: false, idx });
    if (a.endsAtMs !== undefined) events.push({ t: a.endsAtMs, resolve: true, idx });
  });
  events.sort((x, y) => x.t - y.t || Number(y.resolve) - Number(x.resolve) || x.idx - y.idx);

  const groups = new Map<string, Group>();
  const nflog = new Map<string, LogEntry>();
  const out: SentNotification[] = [];
  let seq = 0;
  let ei = 0;

  const flush = (g: Group, now: number): void => {
    const held = [...g.alerts.values()];
    const firing = new Set<string>();
    const resolved = new Set<string>();
    for (const a of held) (a.endsAtMs === undefined || a.endsAtMs > now ? firing : resolved).add(a.fingerprint);
    const entry = nflog.get(g.key);
    let notify: boolean;
    if (!entry) notify = firing.size > 0;
    else if (!subset(firing, entry.firing)) notify = true;
    else if (firing.size === 0) notify = entry.firing.size > 0;
    else if (!subset(resolved, entry.resolved)) notify = true;
    else notify = entry.atMs < now - route.repeatIntervalMs;
    if (notify) {
      out.push({ sentAtMs: now, payload: buildWebhookPayload({ receiver: route.receiver, groupLabels: g.labels, externalURL: route.externalURL }, held, now) });
      nflog.set(g.key, { firing, resolved, atMs: now });
    }
    for (const fp of resolved) g.alerts.delete(fp);
    if (g.alerts.size === 0) groups.delete(g.key);
    else g.nextFlushMs = now + route.groupIntervalMs;
  };

  for (;;) {
    let due: Group | undefined;
    for (const g of groups.values()) {
      if (!due || g.nextFlushMs < due.nextFlushMs || (g.nextFlushMs === due.nextFlushMs && g.seq < due.seq)) due = g;
    }
    const ev = events[ei];
    if (due && due.nextFlushMs <= horizonMs && (ev === undefined || due.nextFlushMs <= ev.t)) {
      flush(due, due.nextFlushMs);
      continue;
    }
    if (ev === undefined) break;
    ei++;
    const a = alerts[ev.idx] as DispatchAlert;
    const labels = groupLabelsOf(a.labels, route.groupBy);
    const key = groupKeyOf(labels);
    let g = groups.get(key);
    if (ev.resolve) {
      // The resolution reaches Alertmanager: the held alert now ends (if this episode is held).
      const held = g?.alerts.get(a.fingerprint);
      if (g && held && held.startsAtMs === a.startsAtMs) g.alerts.set(a.fingerprint, { ...held, endsAtMs: a.endsAtMs });
      continue;
    }
    if (!g) {
      g = { key, labels, seq: seq++, nextFlushMs: ev.t + route.groupWaitMs, alerts: new Map() };
      groups.set(key, g);
    }
    // A new firing replaces whatever the group held under this fingerprint; until its own
    // resolution arrives Alertmanager only knows that it fires.
    g.alerts.set(a.fingerprint, { ...a, endsAtMs: undefined });
  }
  return out;
}
