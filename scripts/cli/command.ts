// What every script shares: typed flags with defaults and --help, progress on stderr (stdout is
// kept for data a caller may pipe), and one top-level error handler that turns any failure into
// "<what happened>: <why>" plus the next command to try, with a non-zero exit.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

interface BaseFlag {
  description: string;
  /** Placeholder shown in --help, e.g. <name>. */
  valueName?: string;
}
interface StringFlag extends BaseFlag {
  type: 'string';
  default?: string;
}
interface NumberFlag extends BaseFlag {
  type: 'number';
  default: number;
  min?: number;
}
interface BooleanFlag extends BaseFlag {
  type: 'boolean';
}
/** A string flag that may be given more than once: `--parameter A=1 --parameter B=2`. */
interface ListFlag extends BaseFlag {
  type: 'list';
}
type FlagSpec = StringFlag | NumberFlag | BooleanFlag | ListFlag;
export type FlagSpecs = Record<string, FlagSpec>;

export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends BooleanFlag
    ? boolean
    : S[K] extends ListFlag
      ? string[]
      : S[K] extends NumberFlag
        ? number
        : S[K] extends { default: string }
          ? string
          : string | undefined;
};

/** A failure the user can act on: what happened, why, and what to run next. */
export class CliError extends Error {
  override name = 'CliError';
  readonly what: string;
  readonly why: string;
  readonly next: string | undefined;
  readonly exitCode: number;
  constructor(what: string, why: string, next?: string, exitCode = 1) {
    super(`${what}: ${why}`);
    this.what = what;
    this.why = why;
    this.next = next;
    this.exitCode = exitCode;
  }
}

/** `dryRun` -> `dry-run`: flags are typed in camelCase and spelt in kebab-case. */
function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** `file:///r/scripts/deploy.ts` -> `deploy`: an entry point's command name is its file name. */
export function commandName(moduleUrl: string): string {
  return path.basename(fileURLToPath(moduleUrl)).replace(/\.[cm]?[jt]s$/, '');
}

const repoRoot = path.resolve(import.meta.dirname, '..', '..');
let npmScripts: Record<string, string> | undefined;

function readNpmScripts(): Record<string, string> {
  npmScripts ??= (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')).scripts ??
    {}) as Record<string, string>;
  return npmScripts;
}

/**
 * The npm lifecycle script that is exactly `node scripts/<name>.ts`, as users know it: `npm start`
 * runs scripts/local.ts (the README's command), so its hints say `npm start`, not the file.
 */
function lifecycleCommand(name: string): string | undefined {
  const file = `scripts/${name}.ts`;
  return readNpmScripts().start === `node ${file}` ? 'npm start' : undefined;
}

/** How messages name a command: `deploy`, or `npm start` for the script npm start runs. */
export function commandLabel(name: string): string {
  return lifecycleCommand(name) ?? name;
}

/**
 * How a user runs `scripts/<name>.ts` from the repository's root, read from package.json's npm
 * scripts (`zx scripts/deploy.ts` -> `npx zx scripts/deploy.ts`, `node scripts/check-policy.ts`
 * -> `npx node scripts/check-policy.ts`, `npm start` -> `npm start --`); zx when none names it.
 * Through npm or npx: both put node_modules/.bin first on PATH, so the pinned Node runs the
 * TypeScript whatever `node` the machine has (a bare `node scripts/x.ts` fails on Node 20,
 * which cannot strip types).
 */
export function invocation(name: string): string {
  const lifecycle = lifecycleCommand(name);
  if (lifecycle !== undefined) return `${lifecycle} --`;
  const file = `scripts/${name}.ts`;
  const runner = Object.values(readNpmScripts())
    .map((line) => new RegExp(`(?:^|&& )(zx|node) ${file.replace('.', '\\.')}\\b`).exec(line)?.[1])
    .find(Boolean);
  return runner === 'node' ? `npx node ${file}` : `npx zx ${file}`;
}

/** The next command to suggest: `nextCommand('deploy', '--env test')` -> `npx zx scripts/deploy.ts --env test`. */
export function nextCommand(name: string, args = ''): string {
  return args ? `${invocation(name)} ${args}` : invocation(name);
}

interface CommandSpec<S extends FlagSpecs> {
  /** The script name, e.g. `deploy` (commandName(import.meta.url)): used in messages and hints. */
  name: string;
  summary: string;
  /** Extra help text: the steps, examples. */
  details?: string;
  flags: S;
  /** Arguments after the flags, e.g. files; without this, any is a usage error. */
  positionals?: { valueName: string; description: string };
}

export function helpText<S extends FlagSpecs>(spec: CommandSpec<S>): string {
  const rows = Object.entries(spec.flags).map(([key, flag]) => {
    const value = flag.type === 'boolean' ? '' : ` <${flag.valueName ?? 'value'}>`;
    const def =
      'default' in flag && flag.default !== undefined ? ` (default: ${flag.default})` : '';
    const repeat = flag.type === 'list' ? ' (repeatable)' : '';
    return [`  --${kebab(key)}${value}`, `${flag.description}${def}${repeat}`] as [string, string];
  });
  rows.push(['  -h, --help', 'Show this help and exit']);
  const args = spec.positionals;
  if (args) rows.unshift([`  [${args.valueName} ...]`, args.description]);
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  const lines = [
    `usage: ${invocation(spec.name)} [flags]${args ? ` [${args.valueName} ...]` : ''}`,
    '',
    spec.summary,
    ...(spec.details ? ['', spec.details.trimEnd()] : []),
    '',
    'flags:',
    ...rows.map(([left, right]) => `${left.padEnd(width)}${right}`),
  ];
  return `${lines.join('\n')}\n`;
}

type ParseResult<S extends FlagSpecs> =
  | { help: true }
  | { help: false; flags: FlagValues<S>; args?: string[] };

export function parseFlags<S extends FlagSpecs>(
  spec: CommandSpec<S>,
  argv: string[],
): ParseResult<S> {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; multiple?: boolean; short?: string }
  > = { help: { type: 'boolean', short: 'h' } };
  for (const [key, flag] of Object.entries(spec.flags)) {
    options[kebab(key)] = {
      type: flag.type === 'boolean' ? 'boolean' : 'string',
      ...(flag.type === 'list' ? { multiple: true } : {}),
    };
  }
  let values: Record<string, string | boolean | (string | boolean)[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options,
      strict: true,
      allowPositionals: spec.positionals !== undefined,
    }));
  } catch (error) {
    throw new CliError(
      `${commandLabel(spec.name)}: invalid command line`,
      (error as Error).message,
      nextCommand(spec.name, '--help'),
      2,
    );
  }
  if (values.help) return { help: true };
  const flags: Record<string, unknown> = {};
  for (const [key, flag] of Object.entries(spec.flags)) {
    const raw = values[kebab(key)];
    if (flag.type === 'boolean') {
      flags[key] = raw === true;
    } else if (flag.type === 'list') {
      flags[key] = (raw as string[] | undefined) ?? [];
    } else if (flag.type === 'number') {
      const n = raw === undefined ? flag.default : Number(raw);
      if (!Number.isFinite(n) || (flag.min !== undefined && n < flag.min)) {
        throw new CliError(
          `${commandLabel(spec.name)}: invalid --${kebab(key)}`,
          `"${String(raw)}" is not a number${flag.min !== undefined ? ` >= ${flag.min}` : ''}`,
          nextCommand(spec.name, '--help'),
          2,
        );
      }
      flags[key] = n;
    } else {
      flags[key] = raw === undefined || raw === '' ? flag.default : raw;
    }
  }
  const parsed = { help: false as const, flags: flags as FlagValues<S> };
  return spec.positionals ? { ...parsed, args: positionals } : parsed;
}

/** Progress and diagnostics: always stderr, so stdout stays parseable. */
export interface Progress {
  step(message: string): void;
  info(message: string): void;
  ok(message: string): void;
  warn(message: string): void;
  fail(message: string): void;
}

export function createProgress(
  prefix: string,
  write: (line: string) => void = (l) => process.stderr.write(l),
): Progress {
  const line = (mark: string, message: string) => write(`[${prefix}] ${mark}${message}\n`);
  return {
    step: (m) => line('==> ', m),
    info: (m) => line('    ', m),
    ok: (m) => line(' ok ', m),
    warn: (m) => line('WARN ', m),
    fail: (m) => line('FAIL ', m),
  };
}

/** Data for the caller: stdout only. */
export function output(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

/**
 * What an AWS SDK or system error says went wrong: no route to the endpoint (refused, no such
 * host, timed out), the credentials (missing, expired, unknown), the region, or something else.
 * SDK and system errors carry a name or code that says more than their message.
 */
export function awsFailureKind(error: unknown): 'network' | 'credentials' | 'region' | 'other' {
  const e = error as { name?: string; code?: string; message?: string; cause?: { code?: string } };
  const message = e?.message ?? String(error);
  const code = [e?.code, e?.cause?.code, e?.name].filter(Boolean).join(' ');
  if (/CredentialsProviderError|ExpiredToken|InvalidClientTokenId|UnrecognizedClient/.test(code)) {
    return 'credentials';
  }
  if (
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET|TimeoutError/.test(
      code,
    ) ||
    /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|EAI_AGAIN/.test(message)
  ) {
    return 'network';
  }
  if (/Region is missing/i.test(message)) return 'region';
  return 'other';
}

function explain(error: unknown, name: string): CliError {
  if (error instanceof CliError) return error;
  const cmd = commandLabel(name);
  const message = (error as { message?: string })?.message ?? String(error);
  const kind = awsFailureKind(error);
  if (kind === 'credentials') {
    return new CliError(
      `${cmd}: AWS credentials are missing or invalid`,
      message,
      'aws sts get-caller-identity   (then aws configure, aws sso login, or --profile <name>)',
    );
  }
  if (kind === 'network') {
    return new CliError(
      `${cmd}: cannot reach the AWS endpoint`,
      message,
      'check your network, AWS_ENDPOINT_URL and --region',
    );
  }
  if (kind === 'region') {
    return new CliError(
      `${cmd}: no AWS region`,
      message,
      `${nextCommand(name, '--region <region>')}   (or export AWS_REGION)`,
      2,
    );
  }
  return new CliError(`${cmd} failed`, message, nextCommand(name, '--help'));
}

function format(e: CliError): string {
  return `${e.what}: ${e.why}\n${e.next ? `next: ${e.next}\n` : ''}`;
}

export function formatError(error: unknown, cmd: string): string {
  return format(explain(error, cmd));
}

/** The arguments after the script: `node scripts/x.ts a` and `zx scripts/x.ts a` both give [a]. */
export function scriptArgs(name: string, argv: string[] = process.argv): string[] {
  const at = argv.findIndex(
    (a, i) => i > 0 && new RegExp(`(^|[\\/])${name}\\.[cm]?[jt]s$`).test(a),
  );
  return argv.slice(at === -1 ? 2 : at + 1);
}

/**
 * Parses the command line, prints --help, runs `main`, and is the single place a failure is
 * reported. Returns the exit code (the caller sets process.exitCode, so pending output flushes).
 */
export async function runCommand<S extends FlagSpecs>(
  spec: CommandSpec<S>,
  main: (flags: FlagValues<S>, args: string[]) => Promise<number | undefined> | number | undefined,
  argv: string[] = scriptArgs(spec.name),
): Promise<number> {
  try {
    const parsed = parseFlags(spec, argv);
    if (parsed.help) {
      output(helpText(spec));
      return 0;
    }
    return (await main(parsed.flags, parsed.args ?? [])) ?? 0;
  } catch (error) {
    // The explained failure's exit code: a missing region is a usage error (2) however the SDK
    // threw it.
    const failure = explain(error, spec.name);
    process.stderr.write(format(failure));
    return failure.exitCode;
  }
}

/**
 * `--parameter Name=Value` entries as a record; `fail` makes the error for a malformed one
 * (each command reports it in its own words).
 */
export function nameValues(
  flag: string,
  entries: readonly string[],
  fail: (why: string) => Error,
): Record<string, string> {
  const values: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw fail(`--${flag} "${entry}" must look like Name=Value`);
    values[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return values;
}

/** `a, b,,c` -> ['a', 'b', 'c']: list flags tolerate spaces and stray commas. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
