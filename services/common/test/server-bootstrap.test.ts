// The services' bootstrap (server.ts) in this process. startService() listens, keeps idle
// keep-alive sockets open longer than the internal ALB does, and drains on shutdown: in-flight
// requests finish, idle sockets close at once or as they go idle, whatever is left closes at
// the drain timeout. runService() takes its configuration from the environment, turns SIGTERM
// and SIGINT into a drain and exit 0, a crash into one logged line and exit 1, and a start-up
// failure into one line on stderr and exit 1. It is handed a process of the test's own, so no
// signal reaches the test's process; the drain's timers run on vitest's fake clock where a
// test needs them to.
import { EventEmitter } from 'node:events';
import { Agent, createServer, type IncomingHttpHeaders, request, type Server } from 'node:http';
import { connect } from 'node:net';
import v8 from 'node:v8';
import { type Logger, pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { INTERNAL_ALB_IDLE_TIMEOUT_SECONDS } from '../../../scripts/workspace/manifests.ts';
import { DEFAULT_DRAIN_TIMEOUT_SECONDS } from '../src/lifecycle.ts';
import { KEEP_MAPS_WHEN_IDLE } from '../src/memory-reducer.ts';
import {
  type AppFactory,
  type RunningService,
  runService,
  type ServiceProcess,
  startService,
} from '../src/server.ts';
import { tryConnect } from './connect.ts';

type LogRecord = Record<string, unknown>;

interface BatchedLog {
  logger: Logger;
  /** Every line logged so far, flushed or not. */
  records(): LogRecord[];
  /** The lines written out: those before the last flush. */
  flushed(): LogRecord[];
}

/** A logger whose lines wait until flushed, as the services' batched stdout does (logger.ts). */
function batchedLog(): BatchedLog {
  const pending: string[] = [];
  const written: string[] = [];
  const destination = {
    write: (line: string) => {
      pending.push(line);
    },
    flush: (done: () => void) => {
      written.push(...pending.splice(0));
      done();
    },
  };
  const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as LogRecord);
  return {
    logger: pino({ base: null }, destination),
    records: () => parse([...written, ...pending]),
    flushed: () => parse(written),
  };
}

const messages = (records: LogRecord[]) => records.map((record) => record.msg);
const DRAIN_TIMEOUT_WARNING = 'drain timeout reached: closing remaining connections';

/** An app that answers with what it saw: the request's URL, and whether it was draining. */
const echoApp: AppFactory = ({ lifecycle }) => ({
  fetch: (req) =>
    new Response(JSON.stringify({ url: req.url, draining: lifecycle.draining }), {
      headers: { 'content-type': 'application/json' },
    }),
});

/** An app that holds each request until released; `inside` resolves once one is in it. */
function heldApp() {
  const inside = Promise.withResolvers<void>();
  const release = Promise.withResolvers<void>();
  const createApp: AppFactory = ({ lifecycle }) => ({
    fetch: async () => {
      inside.resolve();
      await release.promise;
      return new Response(JSON.stringify({ draining: lifecycle.draining }));
    },
  });
  return { createApp, inside: inside.promise, release: () => release.resolve() };
}

/** Whether the promise has settled, without waiting for it. */
async function settledYet(promise: Promise<unknown>): Promise<boolean> {
  const pending = Symbol('pending');
  const first = await Promise.race([promise.then(() => true), Promise.resolve(pending)]);
  return first !== pending;
}

// Clients of this file's own: a test under services/ may not import test/helpers (the import
// rule, test/architecture.test.ts).
interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET on a connection of its own, or on the agent's (keep-alive). */
function get(url: string, agent: Agent | false = false): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A GET with no Host header, as HTTP/1.0 allows: the answer's status line and body. */
function getWithoutHost(port: number, target: string): Promise<{ status: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    // HTTP/1.0 without keep-alive: the server closes the connection after its answer.
    socket.on('end', () => {
      const [head = '', body = ''] = answer.split('\r\n\r\n');
      resolve({ status: head.split('\r\n')[0] ?? '', body });
    });
    socket.on('error', reject);
    socket.write(`GET ${target} HTTP/1.0\r\n\r\n`);
  });
}

/** The drain's own timers on vitest's clock; Node's sockets keep their real ones. */
function fakeDrainClock(): void {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
}

/** A port of 127.0.0.1 held by another server, as another process would hold it. */
async function busyPort(port = 0): Promise<number> {
  const server = createServer();
  blockers.push(server);
  await new Promise<void>((resolve) => {
    server.once('error', () => resolve());
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

const services: RunningService[] = [];
const processes: FakeProcess[] = [];
const blockers: Server[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  // What a test left running, closed at once whatever it holds.
  for (const running of services.splice(0)) {
    const stopped = running.shutdown('test over');
    running.server.closeAllConnections();
    await stopped;
  }
  for (const fake of processes.splice(0)) {
    if (fake.events.listenerCount('SIGTERM') === 0) continue;
    fake.events.emit('SIGTERM');
    await fake.exitedWith(0);
  }
  for (const blocker of blockers.splice(0)) blocker.close();
  for (const agent of agents.splice(0)) agent.destroy();
});

function keepAliveAgent(): Agent {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  agents.push(agent);
  return agent;
}

async function start(
  createApp: AppFactory,
  options: { drainTimeoutMs?: number } = {},
): Promise<{ running: RunningService; log: BatchedLog; url: string }> {
  const log = batchedLog();
  const running = await startService({
    service: 'probe-service',
    port: 0,
    hostname: '127.0.0.1',
    logger: log.logger,
    createApp,
    ...options,
  });
  services.push(running);
  return { running, log, url: `http://127.0.0.1:${running.port}` };
}

describe('startService: listening', () => {
  it('listens on a free port of the given host, says which, and serves the app there', async () => {
    const { running, log, url } = await start(echoApp);
    expect(running.port).toBeGreaterThan(0);
    expect(log.records()).toEqual([
      expect.objectContaining({ msg: 'listening', port: running.port }),
    ]);
    const reply = await get(`${url}/api/things?x=1`);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      url: `${url}/api/things?x=1`,
      draining: false,
    });
  });

  it('tells V8 to keep the request path’s maps, once listening (memory-reducer.ts)', async () => {
    const setFlags = vi.spyOn(v8, 'setFlagsFromString');
    await start(echoApp);
    expect(setFlags).toHaveBeenCalledWith(KEEP_MAPS_WHEN_IDLE);
  });

  it('keeps idle sockets longer than the internal ALB, and waits as long for headers', async () => {
    const { running, url } = await start(echoApp);
    const reply = await get(`${url}/`, keepAliveAgent());
    expect(reply.headers.connection).toBe('keep-alive');
    // How long the server keeps the socket open after an answer, as it announces it.
    const seconds = Number(/^timeout=(\d+)$/.exec(String(reply.headers['keep-alive']))?.[1]);
    expect(seconds).toBeGreaterThan(INTERNAL_ALB_IDLE_TIMEOUT_SECONDS);
    // A reused socket's next request may take its whole idle time to start: its headers must
    // not time out first.
    expect(running.server.headersTimeout).toBeGreaterThan(running.server.keepAliveTimeout);
  });

  it('gives a request that names no Host (HTTP/1.0) the configured hostname', async () => {
    const { running } = await start(echoApp);
    const reply = await getWithoutHost(running.port, '/api/where?x=1');
    expect(reply.status).toBe('HTTP/1.1 200 OK');
    expect(JSON.parse(reply.body)).toMatchObject({
      url: 'http://127.0.0.1/api/where?x=1',
    });
  });

  it('hands the app the lifecycle and logger it returns', async () => {
    let seen: Parameters<AppFactory>[0] | undefined;
    const { running } = await start((deps) => {
      seen = deps;
      return echoApp(deps);
    });
    expect(seen?.lifecycle).toBe(running.lifecycle);
    expect(seen?.logger).toBe(running.logger);
    expect(running.lifecycle.draining).toBe(false);
  });

  it('rejects with the listen error when the port is taken', async () => {
    const busy = await busyPort();
    const log = batchedLog();
    await expect(
      startService({
        service: 'probe-service',
        port: busy,
        hostname: '127.0.0.1',
        logger: log.logger,
        createApp: echoApp,
      }),
    ).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(log.records()).toEqual([]);
  });

  it('leaves a server error after start-up to crash the process (no longer caught)', async () => {
    const { running } = await start(echoApp);
    expect(() => running.server.emit('error', new Error('accept failed'))).toThrow('accept failed');
  });
});

describe('startService: shutdown', () => {
  it('with only idle keep-alive clients, stops at once, not at the drain timeout', async () => {
    const { running, log, url } = await start(echoApp, { drainTimeoutMs: 600_000 });
    const agent = keepAliveAgent();
    expect((await get(`${url}/`, agent)).headers.connection).toBe('keep-alive');
    fakeDrainClock();

    const stopped = running.shutdown('SIGTERM');
    expect(running.lifecycle.draining).toBe(true);
    await stopped;
    expect(await tryConnect(running.port)).toBe('ECONNREFUSED');
    // Every line is written out before shutdown resolves (and the process exits).
    expect(messages(log.flushed())).toEqual(['listening', 'draining', 'stopped']);
    expect(log.flushed()[1]).toMatchObject({ reason: 'SIGTERM', drainTimeoutMs: 600_000 });
    // Nothing of the drain is left behind to fire later.
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(600_000);
    expect(messages(log.records())).not.toContain(DRAIN_TIMEOUT_WARNING);
  });

  it('drains for 25 s by default', async () => {
    const { running, log } = await start(echoApp);
    await running.shutdown('SIGTERM');
    expect(log.records()[1]).toMatchObject({
      msg: 'draining',
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000,
    });
  });

  it('refuses new connections, lets a request in flight end, closes its idle socket', async () => {
    const held = heldApp();
    const { running, log, url } = await start(held.createApp, { drainTimeoutMs: 600_000 });
    const reply = get(`${url}/api/things/1`, keepAliveAgent());
    await held.inside;
    fakeDrainClock();

    const stopped = running.shutdown('SIGTERM');
    expect(await tryConnect(running.port)).toBe('ECONNREFUSED');
    expect(await settledYet(stopped)).toBe(false);
    held.release();
    const answer = await reply;
    expect(answer.status).toBe(200);
    // The app saw the drain (a service's health check answers 503 by it).
    expect(JSON.parse(answer.body)).toEqual({ draining: true });
    // This app does not answer `Connection: close`, so its socket is now idle, kept alive...
    expect(answer.headers.connection).toBe('keep-alive');
    expect(await settledYet(stopped)).toBe(false);
    // ...until the next look for idle sockets closes it, not at the drain timeout.
    vi.advanceTimersByTime(100);
    await stopped;
    expect(messages(log.flushed())).toEqual(['listening', 'draining', 'stopped']);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('at the drain timeout closes what is left, and stops', async () => {
    const held = heldApp();
    const { running, log, url } = await start(held.createApp, { drainTimeoutMs: 5_000 });
    const reply = get(`${url}/api/things/1`).then(
      () => 'answered',
      (error: Error) => error.message,
    );
    await held.inside;
    fakeDrainClock();

    const stopped = running.shutdown('SIGTERM');
    vi.advanceTimersByTime(4_999);
    expect(messages(log.records())).not.toContain(DRAIN_TIMEOUT_WARNING);
    expect(await settledYet(stopped)).toBe(false);
    vi.advanceTimersByTime(1);
    expect(log.records().at(-1)).toMatchObject({ level: 40, msg: DRAIN_TIMEOUT_WARNING });
    expect(await reply).toBe('socket hang up');
    await stopped;
    expect(messages(log.flushed())).toEqual([
      'listening',
      'draining',
      DRAIN_TIMEOUT_WARNING,
      'stopped',
    ]);
    held.release();
  });

  it('drains once, however often it is asked', async () => {
    const { running, log } = await start(echoApp);
    const first = running.shutdown('SIGTERM');
    expect(running.shutdown('SIGINT')).toBe(first);
    await first;
    expect(messages(log.records())).toEqual(['listening', 'draining', 'stopped']);
    expect(log.records()[1]).toMatchObject({ reason: 'SIGTERM' });
  });
});

interface FakeProcess {
  host: ServiceProcess;
  events: EventEmitter;
  exits: number[];
  exitedWith(code: number): Promise<void>;
  stderr(): string;
}

/** The process runService() is given: its environment, and events only the test emits. */
function fakeProcess(env: NodeJS.ProcessEnv): FakeProcess {
  const events = new EventEmitter();
  const exits: number[] = [];
  const waiting: { code: number; resolve: () => void }[] = [];
  let stderr = '';
  const host: ServiceProcess = {
    env,
    on: (event, listener) => events.on(event, listener),
    exit: (code) => {
      exits.push(code);
      for (const waiter of waiting) if (waiter.code === code) waiter.resolve();
    },
    stderr: {
      write: (text) => {
        stderr += text;
        return true;
      },
    },
  };
  const exitedWith = (code: number) =>
    exits.includes(code)
      ? Promise.resolve()
      : new Promise<void>((resolve) => waiting.push({ code, resolve }));
  const fake = { host, events, exits, exitedWith, stderr: () => stderr };
  processes.push(fake);
  return fake;
}

const SERVICE = 'probe-service';
const LOCAL = { PORT: '0', HOST: '127.0.0.1' };

async function run(
  env: NodeJS.ProcessEnv,
  options: { createApp?: AppFactory; defaultPort?: number; logger?: 'stdout' } = {},
): Promise<FakeProcess & { log: BatchedLog; port: number | undefined }> {
  const log = batchedLog();
  const fake = fakeProcess(env);
  await runService(
    {
      service: SERVICE,
      defaultPort: options.defaultPort ?? 0,
      createApp: options.createApp ?? echoApp,
      ...(options.logger === 'stdout' ? {} : { logger: log.logger }),
    },
    fake.host,
  );
  const listening = log.records().find((record) => record.msg === 'listening');
  return { ...fake, log, port: listening?.port as number | undefined };
}

/**
 * Sends `signal` to a service that started; the drain begins at once (so a service that never
 * heard it fails here, not by hanging), and the promise is its exit 0.
 */
function signal(service: FakeProcess & { log: BatchedLog }, name: string): Promise<void> {
  expect(service.stderr()).toBe('');
  service.events.emit(name);
  expect(messages(service.log.records())).toContain('draining');
  return service.exitedWith(0);
}

const refused = (why: string) => `${SERVICE} failed to start: ${why}\n`;
const PORT_IN_USE = refused('the port is in use by another process; set PORT to a free port');

describe('runService: configuration from the environment', () => {
  it('listens on HOST and PORT, and drains for DRAIN_TIMEOUT_SECONDS', async () => {
    const service = await run({ ...LOCAL, DRAIN_TIMEOUT_SECONDS: '1.5' });
    expect(service.port).toBeGreaterThan(0);
    const reply = await getWithoutHost(service.port ?? 0, '/api/where');
    expect(JSON.parse(reply.body)).toMatchObject({ url: 'http://127.0.0.1/api/where' });
    await signal(service, 'SIGTERM');
    expect(service.log.flushed()[1]).toMatchObject({ msg: 'draining', drainTimeoutMs: 1_500 });
  });

  it.each([
    ['unset', undefined],
    ['empty', ''],
    ['blank', ' '],
  ])('with DRAIN_TIMEOUT_SECONDS %s, drains for the default 25 s', async (_name, value) => {
    const service = await run({ ...LOCAL, DRAIN_TIMEOUT_SECONDS: value });
    await signal(service, 'SIGTERM');
    expect(service.log.flushed()[1]).toMatchObject({
      msg: 'draining',
      drainTimeoutMs: DEFAULT_DRAIN_TIMEOUT_SECONDS * 1000,
    });
  });

  it('takes DRAIN_TIMEOUT_SECONDS=0: no wait for anything in flight', async () => {
    const service = await run({ ...LOCAL, DRAIN_TIMEOUT_SECONDS: '0' });
    await signal(service, 'SIGTERM');
    expect(service.log.flushed()[1]).toMatchObject({ msg: 'draining', drainTimeoutMs: 0 });
  });

  it.each([
    ['unset', undefined],
    ['empty', ''],
    ['blank', ' '],
  ])('with PORT %s, listens on the default port', async (_name, value) => {
    const busy = await busyPort();
    const service = await run({ HOST: '127.0.0.1', PORT: value }, { defaultPort: busy });
    // The default port is taken here, which shows it was the one tried.
    expect(service.stderr()).toBe(PORT_IN_USE);
    expect(service.exits).toEqual([1]);
  });

  it('takes PORT=65535 as a port', async () => {
    // Held here (or already by another process), so the service finds it in use, not invalid.
    await busyPort(65535);
    const service = await run({ HOST: '127.0.0.1', PORT: '65535' });
    expect(service.stderr()).toBe(PORT_IN_USE);
  });

  it.each([
    [{ PORT: 'http' }, 'PORT "http" is not a TCP port (0-65535)'],
    [{ PORT: '80.5' }, 'PORT "80.5" is not a TCP port (0-65535)'],
    [{ PORT: '-1' }, 'PORT "-1" is not a TCP port (0-65535)'],
    [{ PORT: '65536' }, 'PORT "65536" is not a TCP port (0-65535)'],
    [{ DRAIN_TIMEOUT_SECONDS: 'soon' }, 'DRAIN_TIMEOUT_SECONDS "soon" is not a number of seconds'],
    [{ DRAIN_TIMEOUT_SECONDS: '-1' }, 'DRAIN_TIMEOUT_SECONDS "-1" is not a number of seconds'],
    [
      { DRAIN_TIMEOUT_SECONDS: 'Infinity' },
      'DRAIN_TIMEOUT_SECONDS "Infinity" is not a number of seconds',
    ],
  ])('refuses to start with %o: one line on stderr, exit 1', async (env, why) => {
    const service = await run({ ...LOCAL, ...env });
    expect(service.stderr()).toBe(refused(why));
    expect(service.exits).toEqual([1]);
    expect(service.log.records()).toEqual([]);
  });

  it('refuses to start with an unknown LOG_LEVEL', async () => {
    const service = await run({ ...LOCAL, LOG_LEVEL: 'loud' }, { logger: 'stdout' });
    expect(service.stderr()).toBe(
      refused('LOG_LEVEL "loud" is not one of debug, info, warn, error, silent'),
    );
    expect(service.exits).toEqual([1]);
  });
});

describe('runService: signals and crashes', () => {
  it.each(['SIGTERM', 'SIGINT'])(
    'on %s drains, writes every line out, and exits 0',
    async (name) => {
      const service = await run(LOCAL);
      await signal(service, name);
      expect(service.exits).toEqual([0]);
      expect(await tryConnect(service.port ?? 0)).toBe('ECONNREFUSED');
      expect(messages(service.log.flushed())).toEqual(['listening', 'draining', 'stopped']);
      expect(service.log.flushed()[1]).toMatchObject({ reason: name });
    },
  );

  it('a second SIGTERM mid-drain neither exits early nor drains again', async () => {
    const held = heldApp();
    const service = await run(LOCAL, { createApp: held.createApp });
    const reply = get(`http://127.0.0.1:${service.port}/api/things/1`);
    await held.inside;
    const exited = signal(service, 'SIGTERM');
    service.events.emit('SIGTERM');
    expect(await settledYet(exited)).toBe(false);
    held.release();
    expect((await reply).status).toBe(200);
    await service.exitedWith(0);
    expect(service.exits.every((code) => code === 0)).toBe(true);
    expect(messages(service.log.records()).filter((msg) => msg === 'draining')).toHaveLength(1);
  });

  it.each([
    ['uncaughtException', new Error('boom'), 'uncaught exception', 'Error: boom'],
    ['unhandledRejection', 'no reason', 'unhandled rejection', 'no reason'],
  ])('on %s writes one error line out at once and exits 1', async (event, cause, msg, error) => {
    const service = await run(LOCAL);
    service.events.emit(event, cause);
    expect(service.exits).toEqual([1]);
    expect(service.log.flushed().at(-1)).toEqual({
      level: 50,
      time: expect.any(Number),
      msg,
      error,
    });
  });
});
