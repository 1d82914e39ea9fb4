// `npm start`: the whole request path on this machine (HTTP API -> internal ALB -> replicas),
// built from copilot/ and addons/http-api.yml. Ctrl-C, SIGTERM or SIGHUP stops everything; so
// does the death of `npm start`'s npm (launcher-watch.ts), and no replica outlives this
// process however it ends (scripts/local/ecs/exit-with-parent.ts).
import module from 'node:module';
import path from 'node:path';
import { LOG_LEVELS } from '../services/common/src/logger.ts';
import {
  CliError,
  commandName,
  type FlagSpecs,
  type FlagValues,
  nameValues,
  runCommand,
} from './cli/command.ts';
import { COMPILE_CACHE_DIR } from './local/ecs/compile-cache.ts';
import { watchLauncher } from './local/ecs/launcher-watch.ts';
import { placeParameterProblem } from './workspace/http-api-settings.ts';

// Replicas and this process start faster from V8's code cache.
process.env.NODE_COMPILE_CACHE = COMPILE_CACHE_DIR;
module.enableCompileCache?.(COMPILE_CACHE_DIR);

const DEFAULT_API_PORT = 8080;
const DEFAULT_CONSOLE_PORT = 8081;

const flags = {
  port: {
    type: 'string',
    valueName: 'n',
    description: `HTTP API port (default ${DEFAULT_API_PORT}, or API_PORT; 0 picks a free one)`,
  },
  albPort: { type: 'string', valueName: 'n', description: 'local ALB port (default: a free one)' },
  healthCheckScale: {
    type: 'string',
    valueName: 'x',
    description: "multiply the manifests' health-check timing, e.g. 0.1",
  },
  parameter: {
    type: 'list',
    valueName: 'Name=Value',
    description: 'override a template parameter, e.g. --parameter ThrottlingRateLimit=10000',
  },
  logLevel: {
    type: 'string',
    valueName: 'level',
    description: `LOG_LEVEL for every replica (default: the manifest's): ${LOG_LEVELS.join(', ')}`,
  },
  root: {
    type: 'string',
    valueName: 'dir',
    description: 'the workspace: <dir>/copilot and <dir>/addons (default: this repository)',
  },
  jwt: {
    type: 'boolean',
    description:
      'turn on the JWT authorizer against a local issuer (JwtIssuer set to it, JwtAudience to "local" unless given with --parameter) and print a token it accepts',
  },
  consolePort: {
    type: 'string',
    valueName: 'n',
    description: `the console's port (default ${DEFAULT_CONSOLE_PORT}; 0 picks a free one)`,
  },
  noConsole: { type: 'boolean', description: 'do not serve the console' },
  quiet: { type: 'boolean', description: 'do not print replica stdout' },
  noAccessLog: { type: 'boolean', description: "do not print the HTTP API's access log" },
} as const satisfies FlagSpecs;

const spec = {
  name: commandName(import.meta.url),
  summary:
    'The local stack: API Gateway HTTP API -> internal ALB -> replicas (npm start -- <flags>).',
  flags,
};

/**
 * A flag or variable npm start refuses: "npm start: <why>", then the help to read, exit code 2
 * (a usage error, as every other script's).
 */
const fail = (why: string) => new CliError('npm start', why, 'npm start -- --help', 2);

function parsePort(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw fail(`${what} "${value}" is not a TCP port: use a number from 0 to 65535`);
  }
  return port;
}

/** The stack's options from the flags, every one checked before anything starts. */
function stackOptions(f: FlagValues<typeof flags>) {
  const scale = f.healthCheckScale;
  if (scale !== undefined && !(Number(scale) > 0)) {
    throw fail(`--health-check-scale "${scale}" must be a number above 0, e.g. 0.1`);
  }
  // A replica given a level its logger refuses would exit at once.
  const level = f.logLevel;
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level.toLowerCase())) {
    throw fail(`--log-level "${level}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const parameters = nameValues('parameter', f.parameter, fail);
  const place = placeParameterProblem(
    parameters,
    "the workspace: copilot/.workspace's application and the first environment under copilot/environments",
  );
  if (place !== undefined) throw fail(place);
  // --jwt points JwtIssuer at its own issuer: a second issuer given too would be dropped unseen.
  if (f.jwt && parameters.JwtIssuer !== undefined) {
    throw fail(
      `--jwt starts a local issuer and sets JwtIssuer to it, and --parameter JwtIssuer=${parameters.JwtIssuer} names another: pass one of them`,
    );
  }
  return {
    ...(f.root !== undefined ? { root: path.resolve(f.root) } : {}),
    apiPort:
      parsePort(f.port, '--port') ??
      parsePort(process.env.API_PORT, 'API_PORT') ??
      DEFAULT_API_PORT,
    albPort: parsePort(f.albPort, '--alb-port') ?? 0,
    ...(scale !== undefined ? { healthCheckScale: Number(scale) } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    ...(level !== undefined ? { logLevel: level } : {}),
    replicaOutput: f.quiet ? ('ignore' as const) : ('forward' as const),
    accessLog: !f.noAccessLog,
  };
}

/**
 * The ports `npm start` listens on, each named as the user set it: two the same (0 aside, which
 * picks a free one) would leave the second listener failing as if another process held its port.
 */
function checkDistinct(ports: readonly { name: string; port: number | undefined }[]): void {
  const seen = new Map<number, string>();
  for (const { name, port } of ports) {
    if (port === undefined || port === 0) continue;
    const first = seen.get(port);
    if (first !== undefined) {
      throw fail(`${first} and ${name} are both port ${port}: change one (0 picks a free port)`);
    }
    seen.set(port, name);
  }
}

const code = await runCommand(spec, async (f) => {
  const options = stackOptions(f);
  const consolePort = parsePort(f.consolePort, '--console-port') ?? DEFAULT_CONSOLE_PORT;
  const apiPortName =
    f.port !== undefined
      ? '--port'
      : process.env.API_PORT
        ? 'API_PORT'
        : `--port (default ${DEFAULT_API_PORT})`;
  const consoleOn = !f.noConsole;
  checkDistinct([
    { name: apiPortName, port: options.apiPort },
    { name: '--alb-port', port: options.albPort },
    {
      name:
        f.consolePort === undefined
          ? `--console-port (default ${DEFAULT_CONSOLE_PORT})`
          : '--console-port',
      port: consoleOn ? consolePort : undefined,
    },
  ]);
  let stack: { stop(): Promise<void> } | undefined;
  // npm is gone (SIGKILLed, say, by a terminal or a test runner): nobody is left to use the
  // stack or to stop it. Stop it now, briefly; replicas still alive leave with us anyway.
  watchLauncher((what) => {
    process.stderr.write(`npm start: ${what}: stopping the local stack\n`);
    const brief = new Promise((resolve) => setTimeout(resolve, 1_000));
    void Promise.race([stack?.stop(), brief]).finally(() => process.exit(1));
  });
  // Imported after the compile cache is on, so the stack's own modules use it too.
  const { launch } = await import('./local/launch.ts');
  await launch({
    stack: consoleOn ? { ...options, reservedPorts: [consolePort] } : options,
    jwt: f.jwt,
    consolePort: consoleOn ? consolePort : undefined,
    started: (running) => {
      stack = running;
    },
  });
  return 0;
});
// A stack that failed to start may hold timers and sockets: leave now, as a failed start always has.
if (code !== 0) process.exit(code);
