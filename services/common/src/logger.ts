// Structured JSON logs, one line per event, batched by the shared line buffer.
import { createLineBuffer } from './line-buffer.ts';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

type LogFields = Record<string, unknown>;

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

interface LoggerOptions {
  level?: string | undefined;
  service: string;
  write?: (chunk: string) => void;
}

function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? 'info').toLowerCase();
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level as LogLevel;
  throw new Error(`LOG_LEVEL "${value}" is not one of ${LOG_LEVELS.join(', ')}`);
}

export function createLogger(options: LoggerOptions): Logger {
  const level = parseLogLevel(options.level);
  const threshold = LOG_LEVELS.indexOf(level);
  const lines = createLineBuffer(options.write ?? ((chunk: string) => process.stdout.write(chunk)));

  // One line per request made this the largest cost left on a static GET's path (profile in
  // bench/README.md): the timestamp is formatted once per millisecond and the fixed members
  // once per level; the line is byte for byte what JSON.stringify of the whole record gives.
  let lastMs = Number.NaN;
  let lastIso = '';
  const service = JSON.stringify(options.service);
  const fixed = new Map<string, string>();
  const general = (lvl: string, msg: string, fields: LogFields | undefined): string =>
    JSON.stringify({ time: lastIso, level: lvl, service: options.service, msg, ...fields });
  const format = (lvl: string, msg: string, fields: LogFields | undefined): string => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      lastIso = new Date(now).toISOString();
    }
    if (typeof msg !== 'string') return general(lvl, msg, fields);
    let rest = '{}';
    if (fields !== undefined) {
      // A member that would replace a fixed one in place, a toJSON, or an integer-like key
      // (JSON.stringify puts those first) changes the layout: take the general path.
      if (
        'time' in fields ||
        'level' in fields ||
        'service' in fields ||
        'msg' in fields ||
        'toJSON' in fields ||
        Array.isArray(fields)
      ) {
        return general(lvl, msg, fields);
      }
      rest = JSON.stringify(fields);
      const second = rest.charCodeAt(2);
      if (second >= 48 && second <= 57) return general(lvl, msg, fields);
    }
    let head = fixed.get(lvl);
    if (head === undefined) {
      head = `","level":${JSON.stringify(lvl)},"service":${service},"msg":`;
      fixed.set(lvl, head);
    }
    const tail = rest === '{}' ? '}' : `,${rest.slice(1)}`;
    return `{"time":"${lastIso}${head}${JSON.stringify(msg)}${tail}`;
  };

  const log = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void => {
    if (LOG_LEVELS.indexOf(lvl) < threshold) return;
    lines.write(format(lvl, msg, fields));
  };

  return {
    level,
    enabled: (lvl) => LOG_LEVELS.indexOf(lvl) >= threshold,
    debug: (msg, fields) => log('debug', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    error: (msg, fields) => log('error', msg, fields),
    flush: lines.flush,
  };
}
