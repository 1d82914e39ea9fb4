// Structured JSON logs, one line per event. Lines are buffered and written once per event-loop
// turn: stdout is synchronous on Linux for files and pipes, and a write per request would put
// a syscall on every response's path.
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Record<string, unknown>;

export interface Logger {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** Writes whatever is buffered, synchronously. Call before the process exits. */
  flush(): void;
}

export interface LoggerOptions {
  level?: string | undefined;
  service: string;
  write?: (chunk: string) => void;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info').toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`LOG_LEVEL "${value}" is not one of ${LOG_LEVELS.join(', ')}`);
}

export function createLogger(options: LoggerOptions): Logger {
  const level = parseLogLevel(options.level);
  const threshold = LOG_LEVELS.indexOf(level);
  const write = options.write ?? ((chunk: string) => process.stdout.write(chunk));
  let buffer = '';
  let scheduled = false;

  const flush = (): void => {
    scheduled = false;
    if (buffer === '') return;
    const chunk = buffer;
    buffer = '';
    write(chunk);
  };

  const log = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    buffer += `${JSON.stringify({ time: new Date().toISOString(), level: lvl, service: options.service, msg, ...fields })}\n`;
    if (buffer.length > 64 * 1024) flush();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };

  return {
    level,
    enabled: (lvl) => LOG_LEVELS.indexOf(lvl) >= threshold,
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    flush,
  };
}
