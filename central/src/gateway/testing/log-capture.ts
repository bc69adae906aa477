// A real pino logger whose lines are kept in memory, so tests read exactly what production
// would write.
import { pino } from 'pino';
import type { Logger } from 'pino';

export interface CapturedLogs {
  logger: Logger;
  /** Raw JSON lines as written. */
  lines: string[];
  /** The lines parsed. */
  records(): Array<Record<string, unknown>>;
}

export function captureLogs(level: pino.LevelWithSilent = 'debug'): CapturedLogs {
  const lines: string[] = [];
  const logger = pino({ level, base: { svc: 'aiops-central' } }, { write: (s: string) => void lines.push(s.trimEnd()) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
