// `npm start`: the whole request path on this machine (HTTP API -> internal ALB -> replicas),
// built from copilot/ and addons/http-api.yml. Ctrl-C, SIGTERM or SIGHUP stops everything; so
// does the death of `npm start`'s npm (launcher-watch.ts), and no replica outlives this
// process however it ends (scripts/local/exit-with-parent.ts).
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

// Replicas and this process start faster from V8's code cache.
process.env.NODE_COMPILE_CACHE = COMPILE_CACHE_DIR;
module.enableCompileCache?.(COMPILE_CACHE_DIR);

const flags = {
  port: {
    type: 'string',
    valueName: 'n',
    description: 'HTTP API port (default 8080, or API_PORT; 0 picks a free one)',
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
    description: "the console's port (default 8081; 0 picks a free one)",
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

/** A failure the user can fix, reported the way `npm start` always has: "npm start: <why>". */
const fail = (why: string) => new CliError('npm start', why);

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
  return {
    ...(f.root !== undefined ? { root: path.resolve(f.root) } : {}),
    apiPort: parsePort(f.port, '--port') ?? parsePort(process.env.API_PORT, 'API_PORT') ?? 8080,
    albPort: parsePort(f.albPort, '--alb-port') ?? 0,
    ...(scale !== undefined ? { healthCheckScale: Number(scale) } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    ...(level !== undefined ? { logLevel: level } : {}),
    replicaOutput: f.quiet ? ('ignore' as const) : ('forward' as const),
    accessLog: !f.noAccessLog,
  };
}

type LocalStack = Awaited<ReturnType<typeof import('./local/index.ts').startLocalStack>>;

/** Starts the stack; a stack that cannot start is the user's to fix, so it is reported as such. */
async function start(options: ReturnType<typeof stackOptions>): Promise<LocalStack> {
  // Imported after the compile cache is on, so the stack's own modules use it too.
  const { LocalStackError, startLocalStack } = await import('./local/index.ts');
  const { ManifestError } = await import('./workspace/manifests.ts');
  const { TemplateSettingsError } = await import('./workspace/http-api-settings.ts');
  try {
    return await startLocalStack(options);
  } catch (error) {
    if (
      error instanceof LocalStackError ||
      error instanceof ManifestError ||
      error instanceof TemplateSettingsError
    ) {
      throw fail((error as Error).message);
    }
    throw error;
  }
}

type LocalIssuer = Awaited<
  ReturnType<typeof import('./local/gateway/jwt-issuer.ts').startLocalIssuer>
>;

/** `--jwt`: a local issuer, started before the stack reads the template, which points at it. */
async function startIssuer(options: ReturnType<typeof stackOptions>): Promise<LocalIssuer> {
  const { startLocalIssuer } = await import('./local/gateway/jwt-issuer.ts');
  const issuer = await startLocalIssuer();
  const parameters: Record<string, string> = { ...options.parameters };
  parameters.JwtAudience ??= 'local';
  parameters.JwtIssuer = issuer.url;
  options.parameters = parameters;
  return issuer;
}

/** The banner's lines for `--jwt`: the issuer, the audience and a token they accept. */
async function jwtLines(issuer: LocalIssuer, audience: string): Promise<string[]> {
  const ttlSeconds = 12 * 3600;
  const token = await issuer.sign({ aud: audience, sub: 'local-user', ttlSeconds });
  return [
    `  JWT authorizer on every service route: issuer ${issuer.url}, audience ${audience}`,
    `  A token it accepts (valid ${ttlSeconds / 3600} h):`,
    `  TOKEN=${token}`,
    '',
  ];
}

const DEFAULT_CONSOLE_PORT = 8081;
type LocalConsole = Awaited<ReturnType<typeof import('./local/console/index.ts').startConsole>>;

/** The console on its own port, never under the API's; a port in use stops the stack. */
async function startConsoleFor(stack: LocalStack, port: number): Promise<LocalConsole> {
  const { startConsole } = await import('./local/console/index.ts');
  try {
    return await startConsole(stack, { port });
  } catch (error) {
    await stack.stop();
    throw fail(`${(error as Error).message} (or pass --no-console)`);
  }
}

function banner(
  running: LocalStack,
  seconds: string,
  internalHost: (svc: string, env: string, app: string) => string,
  extra: { jwt: string[]; console: LocalConsole | undefined },
): string {
  const { settings } = running;
  const throttle = settings.routes[0]?.throttling;
  return [
    '',
    `Local stack ready in ${seconds} s (pid ${process.pid}): ${running.application}, environment ${running.environment}`,
    '',
    `  HTTP API  ${running.apiUrl}   ($default stage; throttling ${throttle?.rateLimit} req/s, burst ${throttle?.burstLimit}; integration timeout ${settings.integrationTimeoutMs} ms)`,
    `  Console   ${extra.console?.url ?? '(off: --no-console)'}   (topology, access log, actions)`,
    `  ALB       ${running.albUrl}   (Host: ${running.albHost} or ${internalHost('<service>', running.environment, running.application)})`,
    '',
    running
      .routeTable()
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
    '',
    ...extra.jwt,
    `  Try: curl ${extra.jwt.length > 0 ? '-H "Authorization: Bearer $TOKEN" ' : ''}${running.apiUrl}${running.services[0]?.pathPrefix ?? '/'}`,
    '  Ctrl-C stops everything.',
    '',
    '',
  ].join('\n');
}

function stopOnSignals(
  running: LocalStack,
  issuer: LocalIssuer | undefined,
  localConsole: LocalConsole | undefined,
): void {
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      if (stopping) {
        process.stderr.write('npm start: second signal, exiting without waiting for replicas\n');
        process.exit(130);
      }
      stopping = true;
      process.stdout.write(`\n${signal}: stopping the local stack...\n`);
      Promise.all([localConsole?.close(), running.stop(), issuer?.close()]).then(
        () => process.exit(0),
        (error: Error) => {
          process.stderr.write(`npm start: could not stop cleanly: ${error.message}\n`);
          process.exit(1);
        },
      );
    });
  }
}

const code = await runCommand(spec, async (f) => {
  const options = stackOptions(f);
  let stack: LocalStack | undefined;
  // npm is gone (SIGKILLed, say, by a terminal or a test runner): nobody is left to use the
  // stack or to stop it. Stop it now, briefly; replicas still alive leave with us anyway.
  watchLauncher((what) => {
    process.stderr.write(`npm start: ${what}: stopping the local stack\n`);
    const brief = new Promise((resolve) => setTimeout(resolve, 1_000));
    void Promise.race([stack?.stop(), brief]).finally(() => process.exit(1));
  });
  const started = performance.now();
  const issuer = f.jwt ? await startIssuer(options) : undefined;
  try {
    stack = await start(options);
  } catch (error) {
    await issuer?.close();
    throw error;
  }
  const consolePort = parsePort(f.consolePort, '--console-port') ?? DEFAULT_CONSOLE_PORT;
  const localConsole = f.noConsole ? undefined : await startConsoleFor(stack, consolePort);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const { internalHost } = await import('./workspace/manifests.ts');
  const audience = String(options.parameters?.JwtAudience ?? '').split(',')[0] ?? '';
  const jwt = issuer ? await jwtLines(issuer, audience) : [];
  process.stdout.write(banner(stack, seconds, internalHost, { jwt, console: localConsole }));
  stopOnSignals(stack, issuer, localConsole);
  return 0;
});
// A stack that failed to start may hold timers and sockets: leave now, as a failed start always has.
if (code !== 0) process.exit(code);
