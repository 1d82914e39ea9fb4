// The services' JSON logger (src/logger.ts) as a log reader sees it: one JSON line per event
// with `time` (ISO 8601), `level` by name, `service` and `msg`; LOG_LEVEL read case-blind and
// refused, naming the accepted values, when it is none of them; lines below the level dropped;
// stdout in batches when no writer is given. Time is a fake clock, never the wall clock.
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, LOG_LEVELS, parseLogLevel } from '../src/logger.ts';

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A logger whose lines are kept, and the lines read back as a log reader parses them. */
function capture(level?: string) {
  const chunks: string[] = [];
  const logger = createLogger({ service: 'book-service', level, write: (c) => chunks.push(c) });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { logger, chunks, lines };
}

describe('LOG_LEVEL', () => {
  it('is info when unset', () => {
    expect(parseLogLevel(undefined)).toBe('info');
  });

  it('takes each accepted name, in any case', () => {
    for (const name of LOG_LEVELS) {
      expect(parseLogLevel(name)).toBe(name);
      expect(parseLogLevel(name.toUpperCase())).toBe(name);
    }
    expect(parseLogLevel('Warn')).toBe('warn');
  });

  it('refuses any other value, naming it and the accepted ones', () => {
    expect(() => parseLogLevel('verbose')).toThrow(
      new Error('LOG_LEVEL "verbose" is not one of debug, info, warn, error, silent'),
    );
    // pino's own names the services do not take: a typo'd manifest fails at start, not silently.
    expect(() => parseLogLevel('trace')).toThrow('LOG_LEVEL "trace" is not one of');
    expect(() => parseLogLevel('FATAL')).toThrow('LOG_LEVEL "FATAL" is not one of');
  });

  it('is checked when the logger is made', () => {
    expect(() => createLogger({ service: 'book-service', level: 'loud' })).toThrow(
      'LOG_LEVEL "loud" is not one of debug, info, warn, error, silent',
    );
  });
});

describe('a line', () => {
  it('is one JSON object with the time, the level by name, the service, the message and the fields', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-04T05:06:07.089Z'));
    const { logger, chunks, lines } = capture();
    logger.info({ bookId: 7, path: '/api/books/7' }, 'book read');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.endsWith('}\n')).toBe(true);
    expect(lines()).toEqual([
      {
        level: 'info',
        time: '2026-03-04T05:06:07.089Z',
        service: 'book-service',
        bookId: 7,
        path: '/api/books/7',
        msg: 'book read',
      },
    ]);
  });

  it('names each level', () => {
    const { logger, lines } = capture('debug');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines().map((l) => [l.level, l.msg])).toEqual([
      ['debug', 'd'],
      ['info', 'i'],
      ['warn', 'w'],
      ['error', 'e'],
    ]);
  });

  it('carries a child logger’s fields and an error’s message and stack', () => {
    const { logger, lines } = capture();
    logger.child({ requestId: 'r-1' }).error(new Error('disk full'), 'write failed');
    const line = lines()[0] ?? {};
    expect(line).toMatchObject({
      level: 'error',
      service: 'book-service',
      requestId: 'r-1',
      msg: 'write failed',
      err: { type: 'Error', message: 'disk full' },
    });
    expect(String((line.err as { stack?: unknown }).stack)).toContain('Error: disk full');
  });

  it('has the time of its own millisecond, as the clock moves', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-04T05:06:07.089Z'));
    const { logger, lines } = capture();
    logger.info('first');
    logger.info('same millisecond');
    vi.setSystemTime(new Date('2026-03-04T05:06:07.090Z'));
    logger.info('next millisecond');
    vi.setSystemTime(new Date('2026-03-04T05:06:08.000Z'));
    logger.info('a second later');
    expect(lines().map((l) => l.time)).toEqual([
      '2026-03-04T05:06:07.089Z',
      '2026-03-04T05:06:07.089Z',
      '2026-03-04T05:06:07.090Z',
      '2026-03-04T05:06:08.000Z',
    ]);
  });
});

describe('the level', () => {
  it('is info by default: debug lines are dropped', () => {
    const { logger, lines } = capture();
    logger.debug('hidden');
    logger.info('shown');
    expect(logger.level).toBe('info');
    expect(lines().map((l) => l.msg)).toEqual(['shown']);
  });

  it('drops the lines below it', () => {
    const { logger, lines } = capture('WARN');
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(lines().map((l) => l.msg)).toEqual(['w', 'e']);
  });

  it('silent writes nothing, not even errors', () => {
    const { logger, chunks } = capture('silent');
    logger.error('e');
    logger.warn('w');
    expect(chunks).toEqual([]);
  });
});

describe('with no writer', () => {
  it('writes to stdout (fd 1) in synchronous batches of 4 KiB or 100 ms', () => {
    const written: string[] = [];
    // A stand-in for pino's SonicBoom on fd 1: what would be written there, kept.
    const stdout = { write: (c: string) => written.push(c) } as unknown as ReturnType<
      typeof pino.destination
    >;
    const destination = vi.spyOn(pino, 'destination').mockReturnValue(stdout);
    const logger = createLogger({ service: 'author-service' });
    logger.info('to stdout');
    expect(destination).toHaveBeenCalledWith({
      dest: 1,
      sync: true,
      minLength: 4096,
      periodicFlush: 100,
    });
    expect(written).toHaveLength(1);
    expect(JSON.parse(written[0] ?? '')).toMatchObject({
      level: 'info',
      service: 'author-service',
      msg: 'to stdout',
    });
  });
});
