// Structured JSON logs (pino). Secrets never reach the output: known secret-bearing keys are
// redacted wherever they appear in a logged object.

import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'token',
  '*.token',
  '*.*.token',
  'secret',
  '*.secret',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'key',
  '*.key',
  '*.*.key',
  'enrollmentToken',
  '*.enrollmentToken',
];

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** A JSON logger for one process; `service` goes in every line as `svc` (aiops-agent, aiops-central...). */
export function createLogger(level: LogLevel = 'info', destination?: DestinationStream, service = 'aiops-agent'): Logger {
  return pino(
    {
      level,
      base: { svc: service },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that drops everything (tests, --check-config). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
