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

export function createLogger(level: LogLevel = 'info', destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'aiops-agent' },
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
