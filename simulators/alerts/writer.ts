// Writes a storm to a folder as JSON lines, byte-for-byte the same for the same storm:
//   notifications.jsonl  one delivery per line, in delivery order:
//                        {"deliverAtMs","sentAtMs","duplicate","late","payload"}
//   alerts.jsonl         one alert per line with its truth (see StormAlert), by startsAt
//   stats.json           the counts (see AlertStormStats), indented
// Object keys are written in a fixed order (the order the simulator builds them in).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AlertStorm } from './storm.js';

export interface AlertStormFiles {
  notifications: string;
  alerts: string;
  stats: string;
}

function lines(items: readonly unknown[]): string {
  let out = '';
  for (const item of items) out += `${JSON.stringify(item)}\n`;
  return out;
}

/** Serialises a storm (the exact text writeAlertStorm writes). */
export function serializeAlertStorm(storm: AlertStorm): { notifications: string; alerts: string; stats: string } {
  return {
    notifications: lines(
      storm.notifications.map((n) => ({ deliverAtMs: n.deliverAtMs, sentAtMs: n.sentAtMs, duplicate: n.duplicate, late: n.late, payload: n.payload })),
    ),
    alerts: lines(storm.alerts),
    stats: `${JSON.stringify(storm.stats, null, 2)}\n`,
  };
}

/** Writes the storm into `dir` (created if missing); returns the file paths. */
export async function writeAlertStorm(storm: AlertStorm, dir: string): Promise<AlertStormFiles> {
  await mkdir(dir, { recursive: true });
  const text = serializeAlertStorm(storm);
  const files: AlertStormFiles = {
    notifications: join(dir, 'notifications.jsonl'),
    alerts: join(dir, 'alerts.jsonl'),
    stats: join(dir, 'stats.json'),
  };
  await writeFile(files.notifications, text.notifications);
  await writeFile(files.alerts, text.alerts);
  await writeFile(files.stats, text.stats);
  return files;
}
