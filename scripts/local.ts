// `npm start`: the whole request path on this machine (HTTP API -> internal ALB -> replicas),
// built from copilot/ and addons/http-api.yml. Ctrl-C, SIGTERM or SIGHUP stops everything; so
// does the death of `npm start`'s npm (launcher-watch.ts), and no replica outlives this
// process however it ends (scripts/local/exit-with-parent.ts).
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LOG_LEVELS } from '../services/common/src/logger.ts';
import { watchLauncher } from './local/launcher-watch.ts';

// Replicas and this process start faster from V8's code cache (about 30% on this project).
process.env.NODE_COMPILE_CACHE ??= path.join(os.tmpdir(), 'copilot-http-api-compile-cache');
module.enableCompileCache?.(process.env.NODE_COMPILE_CACHE);

const USAGE = `Usage: npm start -- [options]

  --port <n>                 HTTP API port (default 8080, or API_PORT; 0 picks a free one)
  --alb-port <n>             local ALB port (default: a free one)
  --console-port <n>         the console's port (default 8081; 0 picks a free one)
  --no-console               do not serve the console
  --health-check-scale <x>   multiply the manifests' health-check timing, e.g. 0.1
  --parameter <Name=Value>   override a template parameter (repeatable), e.g.
                             --parameter ThrottlingRateLimit=10000
  --log-level <level>        LOG_LEVEL for every replica (default: the manifest's):
                             ${LOG_LEVELS.join(', ')}
  --root <dir>               the workspace: <dir>/copilot and <dir>/addons (default: this
                             repository)
  --quiet                    do not print replica stdout
  --no-access-log            do not print the HTTP API's access log
  -h, --help                 this text`;

function fail(message: string): never {
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
}

function parsePort(value: string | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    fail(`${what} "${value}" is not a TCP port: use a number from 0 to 65535`);
  }
  return port;
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        port: { type: 'string' },
        'alb-port': { type: 'string' },
        'console-port': { type: 'string' },
        'no-console': { type: 'boolean' },
        'health-check-scale': { type: 'string' },
        parameter: { type: 'string', multiple: true },
        'log-level': { type: 'string' },
        root: { type: 'string' },
        quiet: { type: 'boolean' },
        'no-access-log': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    fail(`${(error as Error).message}\n\n${USAGE}`);
  }
})();
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const parameters: Record<string, string> = {};
for (const entry of values.parameter ?? []) {
  const eq = entry.indexOf('=');
  if (eq <= 0) fail(`--parameter "${entry}" must look like Name=Value`);
  parameters[entry.slice(0, eq)] = entry.slice(eq + 1);
}
const scale = values['health-check-scale'];
if (scale !== undefined && !(Number(scale) > 0)) {
  fail(`--health-check-scale "${scale}" must be a number above 0, e.g. 0.1`);
}
// Checked before anything starts: a replica given a level its logger refuses exits at once.
const logLevel = values['log-level'];
if (logLevel !== undefined && !(LOG_LEVELS as readonly string[]).includes(logLevel.toLowerCase())) {
  fail(`--log-level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
}

/** Next to the API's 8080, never under it: there every other path is API Gateway's 404. */
const DEFAULT_CONSOLE_PORT = 8081;
const consolePort = parsePort(values['console-port'], '--console-port') ?? DEFAULT_CONSOLE_PORT;

let stack: Awaited<ReturnType<typeof import('./local/index.ts').startLocalStack>> | undefined;
// npm is gone (SIGKILLed, say, by a terminal or a test runner): nobody is left to use the
// stack or to stop it. Stop it now, briefly; replicas still alive leave with us anyway.
watchLauncher((what) => {
  process.stderr.write(`npm start: ${what}: stopping the local stack\n`);
  const brief = new Promise((resolve) => setTimeout(resolve, 1_000));
  void Promise.race([stack?.stop(), brief]).finally(() => process.exit(1));
});

// Imported after the compile cache is on, so the stack's own modules use it too.
const { LocalStackError, startLocalStack } = await import('./local/index.ts');
const { startConsole } = await import('./local/console/index.ts');
const { ManifestError } = await import('./workspace/manifests.ts');
const { TemplateSettingsError } = await import('./workspace/http-api-settings.ts');

let localConsole: Awaited<ReturnType<typeof startConsole>> | undefined;
const started = performance.now();
try {
  stack = await startLocalStack({
    ...(values.root !== undefined ? { root: path.resolve(values.root) } : {}),
    apiPort:
      parsePort(values.port, '--port') ?? parsePort(process.env.API_PORT, 'API_PORT') ?? 8080,
    albPort: parsePort(values['alb-port'], '--alb-port') ?? 0,
    ...(scale !== undefined ? { healthCheckScale: Number(scale) } : {}),
    ...(Object.keys(parameters).length > 0 ? { parameters } : {}),
    ...(logLevel !== undefined ? { logLevel } : {}),
    replicaOutput: values.quiet ? 'ignore' : 'forward',
    accessLog: !values['no-access-log'],
  });
  localConsole = values['no-console']
    ? undefined
    : await startConsole(stack, {
        port: consolePort,
      });
} catch (error) {
  await stack?.stop();
  if (
    error instanceof LocalStackError ||
    error instanceof ManifestError ||
    error instanceof TemplateSettingsError
  ) {
    fail((error as Error).message);
  }
  throw error;
}

const running = stack;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
const { settings } = running;
const throttle = settings.routes[0]?.throttling;
process.stdout.write(
  [
    '',
    `Local stack ready in ${seconds} s (pid ${process.pid}): ${running.application}, environment ${running.environment}`,
    '',
    `  HTTP API  ${running.apiUrl}   ($default stage; throttling ${throttle?.rateLimit} req/s, burst ${throttle?.burstLimit}; integration timeout ${settings.integrationTimeoutMs} ms)`,
    `  ALB       ${running.albUrl}   (Host: ${running.albHost} or <service>.${running.environment}.${running.application}.internal)`,
    `  Console   ${localConsole?.url ?? '(off: --no-console)'}   (topology, access log, actions)`,
    '',
    running
      .routeTable()
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n'),
    '',
    `  Try: curl ${running.apiUrl}${running.services[0]?.pathPrefix ?? '/'}`,
    '  Ctrl-C stops everything.',
    '',
    '',
  ].join('\n'),
);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) {
      process.stderr.write('npm start: second signal, exiting without waiting for replicas\n');
      process.exit(130);
    }
    stopping = true;
    process.stdout.write(`\n${signal}: stopping the local running...\n`);
    Promise.all([localConsole?.close(), running.stop()]).then(
      () => process.exit(0),
      (error: Error) => fail(`could not stop cleanly: ${error.message}`),
    );
  });
}
