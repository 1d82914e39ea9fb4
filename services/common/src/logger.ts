// Structured JSON logs, one line per event, written by pino: `time` (ISO 8601), `level` (its
// name), `service`, `msg`, then the event's own fields.
import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: string | undefined;
  service: string;
  /** Where lines go instead of stdout (tests): called with one or more whole lines. */
  write?: (chunk: string) => void;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info').toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`LOG_LEVEL "${value}" is not one of ${LOG_LEVELS.join(', ')}`);
}

export function createLogger(options: LoggerOptions): Logger {
  const level = parseLogLevel(options.level);
  // Asynchronous writes to stdout: a synchronous write per request would put a syscall on the
  // request path; lines logged while a write is in flight go out together in the next one.
  // pino flushes what is left synchronously when the process exits.
  const destination: DestinationStream = options.write
    ? { write: options.write }
    : pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level,
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
