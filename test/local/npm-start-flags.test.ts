// What `npm start` (scripts/local.ts) makes of its command line, in this process: the ports
// (--port, then API_PORT, then 8080; --alb-port; --console-port or --no-console), each checked
// and told apart from the others, --health-check-scale, --log-level, --parameter and --jwt,
// every one checked before anything starts, the options it hands to scripts/local/launch.ts,
// the failures worded "npm start: <why>" with the exit code `npm start` leaves with, the
// compile cache it turns on, and what it does when npm goes away. The script runs its command
// line when loaded, so each test loads it afresh with its own argv. launch (launch-rules.test.ts)
// and the watch on npm (launcher-watch.test.ts) are stand-ins; process.exit is stubbed and no
// signal is sent.
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { watchLauncher as WatchLauncher } from '../../scripts/local/ecs/launcher-watch.ts';
import type { LocalStack } from '../../scripts/local/handle.ts';
import type { launch as Launch, LaunchOptions } from '../../scripts/local/launch.ts';
import { captureOutput } from '../helpers/output.ts';

const stand = vi.hoisted(() => ({
  launch: vi.fn<typeof Launch>(),
  watchLauncher: vi.fn<typeof WatchLauncher>(),
}));
vi.mock('../../scripts/local/launch.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  launch: stand.launch,
}));
vi.mock('../../scripts/local/ecs/launcher-watch.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  watchLauncher: stand.watchLauncher,
}));

// Test files share their worker's modules (isolate: false): each run loads the script afresh
// (vi.resetModules) with the stand-ins; the next file gets the real modules back.
afterAll(() => {
  vi.doUnmock('../../scripts/local/launch.ts');
  vi.doUnmock('../../scripts/local/ecs/launcher-watch.ts');
  vi.resetModules();
});

afterEach(() => {
  stand.launch.mockReset();
  stand.watchLauncher.mockReset();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface Run {
  /** What process.exit was called with, in order (none: the process ends on its own, code 0). */
  exits: (number | string | null | undefined)[];
  stdout: string;
  stderr: string;
  /** stderr so far, the run's and what came after it. */
  stderrNow: () => string;
  /** The options launch was called with; undefined when it was not. */
  launched: LaunchOptions | undefined;
  /** What watchLauncher was given to call when npm goes away; undefined when not watched. */
  onGone: ((what: string) => void) | undefined;
}

/** The compile cache folder the tests name (nothing is written there: see npmStart). */
const CACHE = path.join(os.tmpdir(), 'npm-start-flags-cache');

interface Env {
  /** Unset unless given. */
  API_PORT?: string | undefined;
  /** CACHE unless given (undefined: unset). */
  NODE_COMPILE_CACHE?: string | undefined;
}

/**
 * `npm start -- ...args`, in this process, in the environment `env`: launch resolves unless
 * the test says otherwise; this process's compile cache is never turned on.
 */
async function npmStart(args: string[], env: Env = {}): Promise<Run> {
  const { argv, exitCode } = process;
  vi.stubEnv('API_PORT', env.API_PORT);
  vi.stubEnv('NODE_COMPILE_CACHE', 'NODE_COMPILE_CACHE' in env ? env.NODE_COMPILE_CACHE : CACHE);
  if (typeof module.enableCompileCache === 'function') {
    vi.spyOn(module, 'enableCompileCache').mockImplementation(() => ({
      status: module.constants.compileCacheStatus.ENABLED,
    }));
  }
  stand.launch.mockClear();
  stand.watchLauncher.mockClear();
  const exits: Run['exits'] = [];
  vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    exits.push(code);
  }) as typeof process.exit);
  if (stand.launch.getMockImplementation() === undefined) stand.launch.mockResolvedValue();
  const captured = captureOutput();
  process.argv = [argv[0] ?? 'node', 'scripts/local.ts', ...args];
  try {
    vi.resetModules();
    await import('../../scripts/local.ts');
    return {
      exits,
      stdout: captured.stdout(),
      stderr: captured.stderr(),
      stderrNow: captured.stderr,
      launched: stand.launch.mock.calls[0]?.[0],
      onGone: stand.watchLauncher.mock.calls[0]?.[0],
    };
  } finally {
    process.argv = argv;
    process.exitCode = exitCode;
  }
}

/** The stack options launch gets, for `args`: the run must have launched. */
async function stackOf(args: string[], env: Env = {}) {
  const run = await npmStart(args, env);
  expect(run.stderr).toBe('');
  return run.launched?.stack;
}

/** A refused command line: "npm start: <why>" on stderr, exit 1, and nothing started or watched. */
/** What npm start said of a refused flag, its line to read the help and exit code 2 checked. */
async function refused(args: string[], env: Env = {}): Promise<string> {
  const run = await npmStart(args, env);
  expect(run.exits).toEqual([2]);
  expect(run.stdout).toBe('');
  expect(run.launched).toBeUndefined();
  expect(run.onGone).toBeUndefined();
  const help = 'next: npm start -- --help\n';
  expect(run.stderr.endsWith(help)).toBe(true);
  return run.stderr.slice(0, -help.length);
}

describe('a start with no flags', () => {
  it('launches the stack on 8080, a free ALB port, the console on 8081, and leaves with code 0', async () => {
    const run = await npmStart([]);
    expect(run).toMatchObject({ exits: [], stdout: '', stderr: '' });
    expect(run.launched).toEqual({
      stack: {
        apiPort: 8080,
        albPort: 0,
        replicaOutput: 'forward',
        accessLog: true,
        reservedPorts: [8081],
      },
      jwt: false,
      consolePort: 8081,
      started: expect.any(Function),
    });
    expect(stand.launch).toHaveBeenCalledTimes(1);
    expect(stand.watchLauncher).toHaveBeenCalledTimes(1);
  });

  it('turns the compile cache on for this process and, through the environment, every replica', async () => {
    await npmStart([]);
    expect(module.enableCompileCache).toHaveBeenCalledWith(CACHE);
    expect(process.env.NODE_COMPILE_CACHE).toBe(CACHE);
  });

  it('sets NODE_COMPILE_CACHE to the shared folder when the environment had none', async () => {
    await npmStart([], { NODE_COMPILE_CACHE: undefined });
    const shared = path.join(os.tmpdir(), 'copilot-http-api-compile-cache');
    expect(process.env.NODE_COMPILE_CACHE).toBe(shared);
    expect(module.enableCompileCache).toHaveBeenCalledWith(shared);
  });

  it('starts on a Node without module.enableCompileCache (before 22.1), only slower', async () => {
    const own = Object.getOwnPropertyDescriptor(module, 'enableCompileCache');
    if (own === undefined) throw new Error('this Node has no module.enableCompileCache to remove');
    Object.defineProperty(module, 'enableCompileCache', { ...own, value: undefined });
    try {
      const run = await npmStart([]);
      expect(run).toMatchObject({ exits: [], stderr: '' });
      expect(stand.launch).toHaveBeenCalledTimes(1);
    } finally {
      Object.defineProperty(module, 'enableCompileCache', own);
    }
  });
});

describe('--help', () => {
  it('prints every flag with its default, and starts nothing', async () => {
    const run = await npmStart(['--help']);
    expect(run.stdout).toBe(
      [
        'usage: npm start -- [flags]',
        '',
        'The local stack: API Gateway HTTP API -> internal ALB -> replicas (npm start -- <flags>).',
        '',
        'flags:',
        '  --port <n>                HTTP API port (default 8080, or API_PORT; 0 picks a free one)',
        '  --alb-port <n>            local ALB port (default: a free one)',
        "  --health-check-scale <x>  multiply the manifests' health-check timing, e.g. 0.1",
        '  --parameter <Name=Value>  override a template parameter, e.g. --parameter ThrottlingRateLimit=10000 (repeatable)',
        "  --log-level <level>       LOG_LEVEL for every replica (default: the manifest's): debug, info, warn, error, silent",
        '  --root <dir>              the workspace: <dir>/copilot and <dir>/addons (default: this repository)',
        '  --jwt                     turn on the JWT authorizer against a local issuer (JwtIssuer set to it, JwtAudience to "local" unless given with --parameter) and print a token it accepts',
        "  --console-port <n>        the console's port (default 8081; 0 picks a free one)",
        '  --no-console              do not serve the console',
        '  --quiet                   do not print replica stdout',
        "  --no-access-log           do not print the HTTP API's access log",
        '  -h, --help                Show this help and exit',
        '',
      ].join('\n'),
    );
    expect(run).toMatchObject({ exits: [], stderr: '', launched: undefined, onGone: undefined });
  });

  it('refuses an unknown flag with exit code 2 and the help to read', async () => {
    const run = await npmStart(['--prot', '9000']);
    expect(run.exits).toEqual([2]);
    expect(run.stderr).toBe(
      "npm start: invalid command line: Unknown option '--prot'\nnext: npm start -- --help\n",
    );
    expect(run.launched).toBeUndefined();
  });
});

describe('the HTTP API port', () => {
  it('is --port, else API_PORT, else 8080; 0 and 65535 are ports too', async () => {
    expect((await stackOf(['--port', '9000'], { API_PORT: '9100' }))?.apiPort).toBe(9000);
    expect((await stackOf([], { API_PORT: '9100' }))?.apiPort).toBe(9100);
    expect((await stackOf([]))?.apiPort).toBe(8080);
    expect((await stackOf(['--port', '0']))?.apiPort).toBe(0);
    expect((await stackOf(['--port', '65535']))?.apiPort).toBe(65535);
  });

  it('takes an empty API_PORT (or --port) for none: the default', async () => {
    expect((await stackOf([], { API_PORT: '' }))?.apiPort).toBe(8080);
    expect((await stackOf(['--port', ''], { API_PORT: '9100' }))?.apiPort).toBe(9100);
  });

  it('refuses what is not a TCP port, naming where it came from', async () => {
    const why = (where: string, value: string) =>
      `npm start: ${where} "${value}" is not a TCP port: use a number from 0 to 65535\n`;
    for (const value of ['-1', '65536', '80.5', 'http', '1e9']) {
      expect(await refused([`--port=${value}`])).toBe(why('--port', value));
    }
    expect(await refused([], { API_PORT: 'eighty' })).toBe(why('API_PORT', 'eighty'));
    // --port wins, so a bad API_PORT under it is never read.
    expect((await stackOf(['--port', '9000'], { API_PORT: 'eighty' }))?.apiPort).toBe(9000);
  });
});

describe('the ALB and console ports', () => {
  it('gives the ALB --alb-port, else a free one', async () => {
    expect((await stackOf(['--alb-port', '9200']))?.albPort).toBe(9200);
    expect((await stackOf(['--alb-port', '0']))?.albPort).toBe(0);
    expect(await refused(['--alb-port', '70000'])).toBe(
      'npm start: --alb-port "70000" is not a TCP port: use a number from 0 to 65535\n',
    );
  });

  it('serves the console on --console-port, its port kept from the stack', async () => {
    const run = await npmStart(['--console-port', '9300']);
    expect(run.launched?.consolePort).toBe(9300);
    expect(run.launched?.stack.reservedPorts).toEqual([9300]);
    const free = await npmStart(['--console-port', '0']);
    expect(free.launched?.consolePort).toBe(0);
    expect(await refused(['--console-port', 'x'])).toBe(
      'npm start: --console-port "x" is not a TCP port: use a number from 0 to 65535\n',
    );
  });

  it('serves no console with --no-console: no port for it, none kept from the stack', async () => {
    const run = await npmStart(['--no-console']);
    expect(run.launched?.consolePort).toBeUndefined();
    expect(run.launched?.stack).toEqual({
      apiPort: 8080,
      albPort: 0,
      replicaOutput: 'forward',
      accessLog: true,
    });
  });
});

describe('two listeners on one port', () => {
  const both = (first: string, second: string, port: number) =>
    `npm start: ${first} and ${second} are both port ${port}: change one (0 picks a free port)\n`;

  it('is refused before anything starts, each port named as the user set it', async () => {
    expect(await refused(['--port', '8081'])).toBe(
      both('--port', '--console-port (default 8081)', 8081),
    );
    expect(await refused(['--console-port', '8080'])).toBe(
      both('--port (default 8080)', '--console-port', 8080),
    );
    expect(await refused(['--alb-port', '9000'], { API_PORT: '9000' })).toBe(
      both('API_PORT', '--alb-port', 9000),
    );
    expect(await refused(['--alb-port', '8081'])).toBe(
      both('--alb-port', '--console-port (default 8081)', 8081),
    );
    expect(await refused(['--port', '9000', '--alb-port', '9000'], { API_PORT: '9100' })).toBe(
      both('--port', '--alb-port', 9000),
    );
  });

  it('is fine with 0 (each picks a free port) and with no console', async () => {
    const zeros = await npmStart(['--port', '0', '--alb-port', '0', '--console-port', '0']);
    expect(zeros.launched?.stack).toMatchObject({ apiPort: 0, albPort: 0, reservedPorts: [0] });
    const noConsole = await npmStart(['--port', '8081', '--no-console']);
    expect(noConsole.launched?.stack.apiPort).toBe(8081);
    const apart = await npmStart([
      '--port',
      '9000',
      '--alb-port',
      '9001',
      '--console-port',
      '9002',
    ]);
    expect(apart.launched?.stack).toMatchObject({
      apiPort: 9000,
      albPort: 9001,
      reservedPorts: [9002],
    });
  });
});

describe('the stack options', () => {
  it('passes --health-check-scale as a number above 0', async () => {
    expect((await stackOf(['--health-check-scale', '0.1']))?.healthCheckScale).toBe(0.1);
    for (const scale of ['0', '-1', 'fast']) {
      expect(await refused([`--health-check-scale=${scale}`])).toBe(
        `npm start: --health-check-scale "${scale}" must be a number above 0, e.g. 0.1\n`,
      );
    }
    expect(await stackOf([])).not.toHaveProperty('healthCheckScale');
  });

  it('passes --log-level as given when the services accept it, in any case', async () => {
    expect((await stackOf(['--log-level', 'debug']))?.logLevel).toBe('debug');
    expect((await stackOf(['--log-level', 'WARN']))?.logLevel).toBe('WARN');
    expect(await refused(['--log-level', 'verbose'])).toBe(
      'npm start: --log-level "verbose" is not one of debug, info, warn, error, silent\n',
    );
    expect(await stackOf([])).not.toHaveProperty('logLevel');
  });

  it('passes each --parameter Name=Value, the value kept whole', async () => {
    expect(
      (await stackOf(['--parameter', 'ThrottlingRateLimit=10', '--parameter', 'A=b=c']))
        ?.parameters,
    ).toEqual({ ThrottlingRateLimit: '10', A: 'b=c' });
    expect(await stackOf([])).not.toHaveProperty('parameters');
    expect(await refused(['--parameter', 'ThrottlingRateLimit'])).toBe(
      'npm start: --parameter "ThrottlingRateLimit" must look like Name=Value\n',
    );
    expect(await refused(['--parameter', '=10'])).toBe(
      'npm start: --parameter "=10" must look like Name=Value\n',
    );
  });

  it('resolves --root from the current directory', async () => {
    expect((await stackOf(['--root', 'some/where']))?.root).toBe(path.resolve('some/where'));
    expect(await stackOf([])).not.toHaveProperty('root');
  });

  it('hides replica stdout with --quiet and the access log with --no-access-log', async () => {
    expect(await stackOf(['--quiet', '--no-access-log'])).toMatchObject({
      replicaOutput: 'ignore',
      accessLog: false,
    });
  });
});

describe('--parameter', () => {
  it('refuses App and Env, which name the workspace the stack runs', async () => {
    for (const [given, named] of [
      [['--parameter', 'App=other'], 'App'],
      [['--parameter', 'Env=prod', '--parameter', 'App=other'], 'App, Env'],
    ] as const) {
      expect(await refused([...given])).toBe(
        `npm start: --parameter ${named}: App and Env are not parameters to set; they come from the workspace: copilot/.workspace's application and the first environment under copilot/environments\n`,
      );
    }
  });
});

describe('--jwt', () => {
  it('is handed to launch, with the parameters given', async () => {
    const run = await npmStart(['--jwt', '--parameter', 'JwtAudience=my-api']);
    expect(run.launched?.jwt).toBe(true);
    expect(run.launched?.stack.parameters).toEqual({ JwtAudience: 'my-api' });
  });

  it('refuses a JwtIssuer of the user as well, which it would replace unseen', async () => {
    expect(await refused(['--jwt', '--parameter', 'JwtIssuer=https://issuer.example.com'])).toBe(
      'npm start: --jwt starts a local issuer and sets JwtIssuer to it, and --parameter JwtIssuer=https://issuer.example.com names another: pass one of them\n',
    );
    const without = await npmStart(['--parameter', 'JwtIssuer=https://issuer.example.com']);
    expect(without.launched?.stack.parameters).toEqual({
      JwtIssuer: 'https://issuer.example.com',
    });
  });
});

describe('a stack that fails to start', () => {
  it('says why in the words launch gives, and leaves at once with code 1', async () => {
    stand.launch.mockImplementation(async () => {
      // The CliError class the script sees: loaded afresh with it.
      const { CliError } = await import('../../scripts/cli/command.ts');
      throw new CliError('npm start', 'port 8080 is in use');
    });
    const run = await npmStart([]);
    expect(run.stderr).toBe('npm start: port 8080 is in use\n');
    expect(run.exits).toEqual([1]);
  });

  it('reports anything else as a failure, with the help to read', async () => {
    stand.launch.mockRejectedValue(new Error('boom'));
    const run = await npmStart([]);
    expect(run.stderr).toBe('npm start failed: boom\nnext: npm start -- --help\n');
    expect(run.exits).toEqual([1]);
  });
});

describe('when npm goes away', () => {
  /** A running stack whose stop resolves when the test says (or never). */
  function stackStopping(stop: () => Promise<void>) {
    const stopFn = vi.fn(stop);
    stand.launch.mockImplementation(async (o) => {
      o.started({ stop: stopFn } as unknown as LocalStack);
    });
    return stopFn;
  }

  it('stops the stack it started, then leaves with code 1', async () => {
    let stopped!: () => void;
    const stop = stackStopping(() => new Promise<void>((resolve) => (stopped = resolve)));
    const run = await npmStart([]);
    expect(run.exits).toEqual([]);
    vi.useFakeTimers();
    run.onGone?.('npm (pid 4242) exited');
    expect(run.stderrNow()).toBe('npm start: npm (pid 4242) exited: stopping the local stack\n');
    expect(stop).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(500);
    expect(run.exits).toEqual([]);
    stopped();
    await vi.advanceTimersByTimeAsync(0);
    expect(run.exits).toEqual([1]);
  });

  it('leaves after a second when the stack does not stop', async () => {
    const stop = stackStopping(() => new Promise<void>(() => {}));
    const run = await npmStart([]);
    vi.useFakeTimers();
    run.onGone?.('its parent process (pid 4241) exited');
    expect(stop).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(999);
    expect(run.exits).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(run.exits).toEqual([1]);
  });

  it('leaves at once when no stack runs yet', async () => {
    const run = await npmStart([]);
    vi.useFakeTimers();
    run.onGone?.('npm (pid 4242) exited');
    await vi.advanceTimersByTimeAsync(0);
    expect(run.exits).toEqual([1]);
  });
});
