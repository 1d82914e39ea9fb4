// What `npm start` does once its flags are checked (scripts/local.ts): a local issuer for
// --jwt, the stack, the console, the banner with the URLs, and Ctrl-C, SIGTERM or SIGHUP to stop
// it all. The death of npm itself is watched by the entry point (ecs/launcher-watch.ts).
import { CliError } from '../cli/command.ts';
import { TemplateSettingsError } from '../workspace/http-api-settings.ts';
import { internalHost, ManifestError } from '../workspace/manifests.ts';
import { type LocalConsole, startConsole } from './console/index.ts';
import { LocalStackError, type LocalStackOptions } from './context.ts';
import { type LocalIssuer, startLocalIssuer } from './gateway/jwt-issuer.ts';
import type { LocalStack } from './handle.ts';
import { startLocalStack } from './stack.ts';

/** A failure the user can fix, reported the way `npm start` always has: "npm start: <why>". */
const fail = (why: string) => new CliError('npm start', why);

export interface LaunchOptions {
  stack: LocalStackOptions;
  /** `--jwt`: the authorizer against a local issuer. */
  jwt: boolean;
  /** The console's port; undefined for none (`--no-console`). */
  consolePort: number | undefined;
  /** Told of the stack once it runs (the entry point stops it if npm goes away). */
  started(stack: LocalStack): void;
}

/** Starts the stack; a stack that cannot start is the user's to fix, so it is reported as such. */
async function start(options: LocalStackOptions): Promise<LocalStack> {
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

/** `--jwt`: a local issuer, started before the stack reads the template, which points at it. */
async function startIssuer(options: LocalStackOptions): Promise<LocalIssuer> {
  const issuer = await startLocalIssuer();
  const parameters: Record<string, string | number> = { ...options.parameters };
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

/** The console on its own port, never under the API's; a port in use stops the stack (and issuer). */
async function startConsoleFor(
  stack: LocalStack,
  port: number,
  issuer: LocalIssuer | undefined,
): Promise<LocalConsole> {
  try {
    return await startConsole(stack, { port });
  } catch (error) {
    await stack.stop();
    await issuer?.close();
    throw fail(`${(error as Error).message} (or pass --no-console)`);
  }
}

function banner(
  running: LocalStack,
  seconds: string,
  extra: { jwt: string[]; console: LocalConsole | undefined },
): string {
  const { settings } = running;
  const throttle = settings.routes[0]?.throttling;
  return [
    '',
    `Local stack ready in ${seconds} s (pid ${process.pid}): ${running.application}, environment ${running.environment}`,
    '',
    `  HTTP API  ${running.apiUrl}   ($default stage; throttling ${throttle?.rateLimit} req/s, burst ${throttle?.burstLimit}; integration timeout ${settings.integrationTimeoutMs} ms)`,
    extra.console
      ? `  Console   ${extra.console.url}   (topology, access log, actions)`
      : '  Console   off (--no-console)',
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

export async function launch(o: LaunchOptions): Promise<void> {
  const started = performance.now();
  const issuer = o.jwt ? await startIssuer(o.stack) : undefined;
  let stack: LocalStack;
  try {
    stack = await start(o.stack);
  } catch (error) {
    await issuer?.close();
    throw error;
  }
  o.started(stack);
  const localConsole =
    o.consolePort === undefined ? undefined : await startConsoleFor(stack, o.consolePort, issuer);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  // The first audience the stack's authorizer accepts, as its template was evaluated
  // (http-api-settings.ts: JwtAudience a CommaDelimitedList, each member trimmed).
  const audience = stack.settings.routes.find((r) => r.authorizer)?.authorizer?.audience[0] ?? '';
  const jwt = issuer ? await jwtLines(issuer, audience) : [];
  process.stdout.write(banner(stack, seconds, { jwt, console: localConsole }));
  stopOnSignals(stack, issuer, localConsole);
}
