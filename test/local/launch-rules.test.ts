// What `npm start` does once its flags are checked (scripts/local/launch.ts), in this process:
// the local issuer for --jwt and the parameters it sets, the stack and the console started in
// turn, the banner a user reads, the failures worded "npm start: <why>", and Ctrl-C, SIGTERM or
// SIGHUP stopping it all. The stack, the console and the issuer are stand-ins (their own tests:
// stack.test.ts, console/server.test.ts, jwt-issuer.test.ts); signal handlers are caught as
// they are registered and called here, never sent to this process, and process.exit is stubbed.
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  LocalConsole,
  startConsole as StartConsole,
} from '../../scripts/local/console/index.ts';
import type {
  LocalIssuer,
  startLocalIssuer as StartLocalIssuer,
} from '../../scripts/local/gateway/jwt-issuer.ts';
import type { LocalStack } from '../../scripts/local/handle.ts';
import type { startLocalStack as StartLocalStack } from '../../scripts/local/stack.ts';
import { captureOutput } from '../helpers/output.ts';

const stand = vi.hoisted(() => ({
  startLocalStack: vi.fn<typeof StartLocalStack>(),
  startConsole: vi.fn<typeof StartConsole>(),
  startLocalIssuer: vi.fn<typeof StartLocalIssuer>(),
}));
vi.mock('../../scripts/local/stack.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  startLocalStack: stand.startLocalStack,
}));
vi.mock('../../scripts/local/console/index.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  startConsole: stand.startConsole,
}));
vi.mock('../../scripts/local/gateway/jwt-issuer.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  startLocalIssuer: stand.startLocalIssuer,
}));

// Test files share their worker's modules (isolate: false): one run before this file may have
// loaded the modules with the real stack, so they are loaded afresh, with the stand-ins (and
// the error classes launch.ts tells apart are the ones it sees); the next file gets the real
// modules back. Afresh for each test: what launch.ts defines as it loads is then the test's.
type Loaded = {
  launch: typeof import('../../scripts/local/launch.ts').launch;
  cliErrorOf: typeof import('../helpers/cli-error.ts').cliErrorOf;
  LocalStackError: typeof import('../../scripts/local/context.ts').LocalStackError;
  ManifestError: typeof import('../../scripts/workspace/manifests.ts').ManifestError;
  TemplateSettingsError: typeof import('../../scripts/workspace/http-api-settings.ts').TemplateSettingsError;
};
let launch: Loaded['launch'];
let cliErrorOf: Loaded['cliErrorOf'];
let LocalStackError: Loaded['LocalStackError'];
let ManifestError: Loaded['ManifestError'];
let TemplateSettingsError: Loaded['TemplateSettingsError'];
beforeEach(async () => {
  vi.resetModules();
  ({ launch } = await import('../../scripts/local/launch.ts'));
  ({ cliErrorOf } = await import('../helpers/cli-error.ts'));
  ({ LocalStackError } = await import('../../scripts/local/context.ts'));
  ({ ManifestError } = await import('../../scripts/workspace/manifests.ts'));
  ({ TemplateSettingsError } = await import('../../scripts/workspace/http-api-settings.ts'));
});
afterAll(() => {
  vi.doUnmock('../../scripts/local/stack.ts');
  vi.doUnmock('../../scripts/local/console/index.ts');
  vi.doUnmock('../../scripts/local/gateway/jwt-issuer.ts');
  vi.resetModules();
});

afterEach(() => {
  stand.startLocalStack.mockReset();
  stand.startConsole.mockReset();
  stand.startLocalIssuer.mockReset();
  vi.restoreAllMocks();
});

type LaunchOptions = Parameters<Loaded['launch']>[0];
type Handler = () => void;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** What happened, in order: each stand-in's start and stop, as a user's stack would see it. */
function journal() {
  const events: string[] = [];
  return { events, note: (event: string) => events.push(event) };
}

/** A running stack as the banner reads it: book-service behind both listeners. */
function fakeStack(
  note: (event: string) => void,
  o: {
    stop?: () => Promise<void>;
    services?: { pathPrefix: string }[];
    /** What the authorizer accepts, as the stack evaluated the template (--jwt's default). */
    audience?: string[];
  } = {},
) {
  const stop = vi.fn(o.stop ?? (async () => note('stack stopped')));
  const stack = {
    apiUrl: 'http://127.0.0.1:8080',
    albUrl: 'http://127.0.0.1:41000',
    albHost: 'internal-bookstore-test-123.eu-west-1.elb.localhost',
    application: 'bookstore',
    environment: 'test',
    settings: {
      routes: [
        {
          throttling: { rateLimit: 200, burstLimit: 100 },
          authorizer: { audience: o.audience ?? ['local'] },
        },
      ],
      integrationTimeoutMs: 30000,
    },
    services: o.services ?? [{ pathPrefix: '/api/books' }, { pathPrefix: '/api/authors' }],
    routeTable: () => 'ROUTE               SERVICE\nANY /api/books/*    book-service',
    stop,
  } as unknown as LocalStack;
  return { stack, stop };
}

function fakeConsole(note: (event: string) => void, close?: () => Promise<void>) {
  const closeFn = vi.fn(close ?? (async () => note('console closed')));
  return {
    console: { url: 'http://127.0.0.1:8090', close: closeFn } as unknown as LocalConsole,
    close: closeFn,
  };
}

function fakeIssuer(note: (event: string) => void) {
  const sign = vi.fn<LocalIssuer['sign']>(async () => 'eyJ.signed.token');
  const close = vi.fn(async () => {
    note('issuer closed');
  });
  const issuer: LocalIssuer = { url: 'http://127.0.0.1:45678', sign, close };
  return { issuer, sign, close };
}

/** process.exit, stubbed: called inside a signal handler it ends the handler, as the real one would. */
class Exited extends Error {}

/**
 * Signal handlers as launch registers them, kept instead of installed, and process.exit's codes
 * (stubbed: the test process goes on). Any other process.on goes through.
 */
function catchSignals() {
  const handlers = new Map<string, Handler[]>();
  const realOn = process.on.bind(process);
  vi.spyOn(process, 'on').mockImplementation(((event: string, listener: Handler) => {
    if (!(SIGNALS as readonly string[]).includes(event)) return realOn(event, listener);
    handlers.set(event, [...(handlers.get(event) ?? []), listener]);
    return process;
  }) as typeof process.on);
  const exits: (number | string | null | undefined)[] = [];
  let inHandler = false;
  vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    exits.push(code);
    if (inHandler) throw new Exited();
  }) as typeof process.exit);
  const send = (signal: (typeof SIGNALS)[number]) => {
    inHandler = true;
    try {
      for (const handler of handlers.get(signal) ?? []) handler();
    } catch (error) {
      if (!(error instanceof Exited)) throw error;
    } finally {
      inHandler = false;
    }
  };
  return { handlers, exits, send };
}

/** Lets the stops' promises settle (they are stand-ins: nothing waits on a timer). */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The start-up clock: 2.4 s from the first reading to the banner. */
function clock() {
  vi.spyOn(performance, 'now').mockReturnValueOnce(1000).mockReturnValueOnce(3400);
}

function options(o: Partial<LaunchOptions> = {}): LaunchOptions {
  return { stack: { apiPort: 8080 }, jwt: false, consolePort: 8090, started: () => {}, ...o };
}

describe('the banner', () => {
  it('gives the start-up time, the URLs, the limits, the route table and a request to try', async () => {
    const { note } = journal();
    const { stack } = fakeStack(note);
    stand.startLocalStack.mockResolvedValue(stack);
    stand.startConsole.mockResolvedValue(fakeConsole(note).console);
    const out = captureOutput();
    catchSignals();
    clock();
    await launch(options());
    expect(out.stdout()).toBe(
      [
        '',
        `Local stack ready in 2.4 s (pid ${process.pid}): bookstore, environment test`,
        '',
        '  HTTP API  http://127.0.0.1:8080   ($default stage; throttling 200 req/s, burst 100; integration timeout 30000 ms)',
        '  Console   http://127.0.0.1:8090   (topology, access log, actions)',
        '  ALB       http://127.0.0.1:41000   (Host: internal-bookstore-test-123.eu-west-1.elb.localhost or <service>.test.bookstore.internal)',
        '',
        '  ROUTE               SERVICE',
        '  ANY /api/books/*    book-service',
        '',
        '  Try: curl http://127.0.0.1:8080/api/books',
        '  Ctrl-C stops everything.',
        '',
        '',
      ].join('\n'),
    );
    expect(out.stderr()).toBe('');
  });

  it('says the console is off with --no-console, and none is started', async () => {
    const { note } = journal();
    stand.startLocalStack.mockResolvedValue(fakeStack(note).stack);
    const out = captureOutput();
    catchSignals();
    await launch(options({ consolePort: undefined }));
    expect(stand.startConsole).not.toHaveBeenCalled();
    expect(out.stdout()).toContain('\n  Console   off (--no-console)\n');
  });

  it('with --jwt: the issuer, the audience, a 12-hour token, and the curl that sends it', async () => {
    const { note } = journal();
    stand.startLocalStack.mockResolvedValue(fakeStack(note).stack);
    stand.startConsole.mockResolvedValue(fakeConsole(note).console);
    const { issuer, sign } = fakeIssuer(note);
    stand.startLocalIssuer.mockResolvedValue(issuer);
    const out = captureOutput();
    catchSignals();
    await launch(options({ jwt: true }));
    expect(sign).toHaveBeenCalledWith({ aud: 'local', sub: 'local-user', ttlSeconds: 43200 });
    expect(out.stdout()).toContain(
      [
        '  ANY /api/books/*    book-service',
        '',
        '  JWT authorizer on every service route: issuer http://127.0.0.1:45678, audience local',
        '  A token it accepts (valid 12 h):',
        '  TOKEN=eyJ.signed.token',
        '',
        '  Try: curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/books',
        '  Ctrl-C stops everything.',
      ].join('\n'),
    );
  });

  it('without --jwt has no token and no Authorization header in the curl', async () => {
    const { note } = journal();
    stand.startLocalStack.mockResolvedValue(fakeStack(note).stack);
    stand.startConsole.mockResolvedValue(fakeConsole(note).console);
    const out = captureOutput();
    catchSignals();
    await launch(options());
    expect(stand.startLocalIssuer).not.toHaveBeenCalled();
    expect(out.stdout()).not.toContain('TOKEN');
    expect(out.stdout()).not.toContain('JWT');
    expect(out.stdout()).toContain('  Try: curl http://127.0.0.1:8080/api/books\n');
  });
});

describe('--jwt', () => {
  it('starts the issuer before the stack, which reads JwtIssuer and JwtAudience ("local") from it', async () => {
    const { events, note } = journal();
    const { stack } = fakeStack(note);
    const { issuer } = fakeIssuer(note);
    stand.startLocalIssuer.mockImplementation(async () => {
      note('issuer started');
      return issuer;
    });
    let parametersSeen: unknown;
    stand.startLocalStack.mockImplementation(async (o) => {
      note('stack started');
      parametersSeen = { ...o?.parameters };
      return stack;
    });
    captureOutput();
    catchSignals();
    const stackOptions = {
      apiPort: 8080,
      parameters: { CorsAllowOrigins: 'http://localhost:3000' },
    };
    await launch(options({ jwt: true, consolePort: undefined, stack: stackOptions }));
    expect(events).toEqual(['issuer started', 'stack started']);
    expect(parametersSeen).toEqual({
      CorsAllowOrigins: 'http://localhost:3000',
      JwtAudience: 'local',
      JwtIssuer: 'http://127.0.0.1:45678',
    });
  });

  it('keeps the audience given with --parameter, and the token is for its first one', async () => {
    const { note } = journal();
    stand.startLocalStack.mockResolvedValue(
      fakeStack(note, { audience: ['web-app', 'mobile-app'] }).stack,
    );
    const { issuer, sign } = fakeIssuer(note);
    stand.startLocalIssuer.mockResolvedValue(issuer);
    const out = captureOutput();
    catchSignals();
    const stackOptions = { parameters: { JwtAudience: 'web-app,mobile-app' } };
    await launch(options({ jwt: true, consolePort: undefined, stack: stackOptions }));
    expect(stand.startLocalStack.mock.calls[0]?.[0]?.parameters).toEqual({
      JwtAudience: 'web-app,mobile-app',
      JwtIssuer: 'http://127.0.0.1:45678',
    });
    expect(sign).toHaveBeenCalledWith({ aud: 'web-app', sub: 'local-user', ttlSeconds: 43200 });
    expect(out.stdout()).toContain('issuer http://127.0.0.1:45678, audience web-app\n');
  });

  it('signs for the audience the authorizer accepts: CloudFormation trims each list member', async () => {
    // JwtAudience is a CommaDelimitedList: " web-app , mobile-app" is [web-app, mobile-app] to
    // CloudFormation and to the local authorizer, as the stack evaluates the template
    // (http-api-settings.ts commaList); a token for " web-app " would be refused with 401.
    const { note } = journal();
    stand.startLocalStack.mockResolvedValue(
      fakeStack(note, { audience: ['web-app', 'mobile-app'] }).stack,
    );
    const { issuer, sign } = fakeIssuer(note);
    stand.startLocalIssuer.mockResolvedValue(issuer);
    const out = captureOutput();
    catchSignals();
    const stackOptions = { parameters: { JwtAudience: ' web-app , mobile-app' } };
    await launch(options({ jwt: true, consolePort: undefined, stack: stackOptions }));
    expect(sign).toHaveBeenCalledWith({ aud: 'web-app', sub: 'local-user', ttlSeconds: 43200 });
    expect(out.stdout()).toContain(', audience web-app\n');
  });
});

describe('starting', () => {
  it('tells the caller of the stack once it runs, then starts the console on its port', async () => {
    const { events, note } = journal();
    const { stack } = fakeStack(note);
    const stackOptions = { apiPort: 8080, albPort: 0, reservedPorts: [8090] };
    stand.startLocalStack.mockImplementation(async () => {
      note('stack started');
      return stack;
    });
    stand.startConsole.mockImplementation(async () => {
      note('console started');
      return fakeConsole(note).console;
    });
    const started = vi.fn((running: LocalStack) => {
      note(`told of ${running.application}`);
    });
    captureOutput();
    catchSignals();
    await launch(options({ stack: stackOptions, consolePort: 8090, started }));
    expect(stand.startLocalStack).toHaveBeenCalledWith(stackOptions);
    expect(stand.startConsole).toHaveBeenCalledWith(stack, { port: 8090 });
    expect(started).toHaveBeenCalledWith(stack);
    expect(events).toEqual(['stack started', 'told of bookstore', 'console started']);
  });

  it.each([
    ['a stack error', () => new LocalStackError('port 8080 is in use by another program')],
    [
      'a manifest error',
      () => new ManifestError('copilot/book-service/manifest.yml: http.path is missing'),
    ],
    ['a template error', () => new TemplateSettingsError('the template defines no route')],
  ])('reports %s as "npm start: <why>", and closes the issuer', async (_, error) => {
    const { events, note } = journal();
    const { issuer } = fakeIssuer(note);
    stand.startLocalIssuer.mockResolvedValue(issuer);
    const thrown = error();
    stand.startLocalStack.mockRejectedValue(thrown);
    const started = vi.fn();
    const out = captureOutput();
    const failure = await cliErrorOf(launch(options({ jwt: true, started })));
    expect(failure.message).toBe(`npm start: ${thrown.message}`);
    expect(failure.what).toBe('npm start');
    expect(failure.why).toBe(thrown.message);
    expect(events).toEqual(['issuer closed']);
    expect(started).not.toHaveBeenCalled();
    expect(stand.startConsole).not.toHaveBeenCalled();
    expect(out.stdout()).toBe('');
  });

  it('lets any other failure through as it is (a bug, not the user’s to fix)', async () => {
    const { events, note } = journal();
    const bug = new TypeError('cannot read properties of undefined');
    stand.startLocalStack.mockRejectedValue(bug);
    const { issuer } = fakeIssuer(note);
    stand.startLocalIssuer.mockResolvedValue(issuer);
    await expect(launch(options({ jwt: true }))).rejects.toBe(bug);
    expect(events).toEqual(['issuer closed']);
  });

  it('without --jwt, a failed start has no issuer to close', async () => {
    stand.startLocalStack.mockRejectedValue(new LocalStackError('no Docker'));
    const failure = await cliErrorOf(launch(options()));
    expect(failure.message).toBe('npm start: no Docker');
    expect(stand.startLocalIssuer).not.toHaveBeenCalled();
  });

  it('stops the stack when the console cannot listen, and says --no-console avoids it', async () => {
    const { events, note } = journal();
    stand.startLocalStack.mockResolvedValue(fakeStack(note).stack);
    stand.startConsole.mockRejectedValue(
      new LocalStackError('The local console cannot listen on 127.0.0.1:8090: the port is in use'),
    );
    const out = captureOutput();
    const { handlers } = catchSignals();
    const failure = await cliErrorOf(launch(options()));
    expect(failure.message).toBe(
      'npm start: The local console cannot listen on 127.0.0.1:8090: the port is in use (or pass --no-console)',
    );
    expect(events).toEqual(['stack stopped']);
    expect(out.stdout()).toBe('');
    expect(handlers.size).toBe(0);
  });

  it('with --jwt, closes the issuer too when the console cannot listen', async () => {
    const { events, note } = journal();
    stand.startLocalStack.mockResolvedValue(fakeStack(note).stack);
    stand.startLocalIssuer.mockResolvedValue(fakeIssuer(note).issuer);
    stand.startConsole.mockRejectedValue(new LocalStackError('the port is in use'));
    const failure = await cliErrorOf(launch(options({ jwt: true })));
    expect(failure.message).toBe('npm start: the port is in use (or pass --no-console)');
    expect(events).toEqual(['stack stopped', 'issuer closed']);
  });
});

describe('stopping', () => {
  /** A stack launched with the console and --jwt, its signals caught. */
  async function launched(o: { stop?: () => Promise<void> } = {}) {
    const { events, note } = journal();
    const { stack, stop } = fakeStack(note, o);
    stand.startLocalStack.mockResolvedValue(stack);
    const console = fakeConsole(note);
    stand.startConsole.mockResolvedValue(console.console);
    const { issuer } = fakeIssuer(note);
    stand.startLocalIssuer.mockResolvedValue(issuer);
    const out = captureOutput();
    const signals = catchSignals();
    await launch(options({ jwt: true }));
    return { events, out, stop, ...signals };
  }

  it('waits for a signal: nothing is stopped and nobody exits once started', async () => {
    const { events, exits, handlers } = await launched();
    await settled();
    expect(events).toEqual([]);
    expect(exits).toEqual([]);
    expect([...handlers.keys()].sort()).toEqual(['SIGHUP', 'SIGINT', 'SIGTERM']);
    for (const signal of SIGNALS) expect(handlers.get(signal)).toHaveLength(1);
  });

  it.each(SIGNALS)(
    '%s stops the console, the stack and the issuer, then exits 0',
    async (signal) => {
      const { events, exits, out, send } = await launched();
      const before = out.stdout();
      send(signal);
      expect(out.stdout().slice(before.length)).toBe(`\n${signal}: stopping the local stack...\n`);
      expect(exits).toEqual([]);
      await settled();
      expect(events.sort()).toEqual(['console closed', 'issuer closed', 'stack stopped']);
      expect(exits).toEqual([0]);
      expect(out.stderr()).toBe('');
    },
  );

  it('with --no-console and no --jwt, a signal stops the stack alone', async () => {
    const { events, note } = journal();
    stand.startLocalStack.mockResolvedValue(fakeStack(note).stack);
    const out = captureOutput();
    const { exits, send } = catchSignals();
    await launch(options({ consolePort: undefined }));
    send('SIGINT');
    await settled();
    expect(events).toEqual(['stack stopped']);
    expect(exits).toEqual([0]);
    expect(out.stderr()).toBe('');
  });

  it('exits 1, saying why, when the stack cannot stop cleanly', async () => {
    const { exits, out, send } = await launched({
      stop: async () => {
        throw new Error('book-service replica 1 did not exit');
      },
    });
    send('SIGTERM');
    await settled();
    expect(out.stderr()).toBe(
      'npm start: could not stop cleanly: book-service replica 1 did not exit\n',
    );
    expect(exits).toEqual([1]);
  });

  it('a second signal while stopping exits 130 at once, without waiting for the replicas', async () => {
    const { exits, out, send, stop } = await launched({ stop: () => new Promise<void>(() => {}) });
    send('SIGINT');
    const afterFirst = out.stdout();
    send('SIGTERM');
    expect(out.stderr()).toBe('npm start: second signal, exiting without waiting for replicas\n');
    expect(exits).toEqual([130]);
    expect(stop).toHaveBeenCalledTimes(1);
    await settled();
    expect(exits).toEqual([130]);
    expect(out.stdout()).toBe(afterFirst);
  });
});
