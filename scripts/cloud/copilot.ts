// The one wrapper around the copilot CLI. It finds the binary without running anything, checks
// the version (the one to install, below; Copilot reached end of support on 2026-06-12), runs
// commands with zx's `$` with stdin closed (a prompt fails instead of waiting forever) under a
// timeout, and parses `--json` outputs with schemas so a changed output format fails loudly.

import { z } from 'zod';
import { which } from 'zx';
import { CliError, nextCommand, type Progress } from '../cli/command.ts';
import { type RunResult, runProcess } from '../cli/process.ts';
import { effectiveProfile, redact } from './copilot-credentials.ts';
import { INSTALL_DIR } from './copilot-install.ts';
import { COPILOT_VERSION } from './copilot-version.ts';
import { formatDuration } from './wait.ts';

export { COPILOT_VERSION };

const RELEASE_URL = `https://github.com/aws/copilot-cli/releases/tag/v${COPILOT_VERSION}`;

/** Looks `bin` up on PATH (zx's `which`), without executing it. */
export function findOnPath(bin: string, envPath?: string): string | undefined {
  return (
    which.sync(bin, { nothrow: true, ...(envPath === undefined ? {} : { path: envPath }) }) ??
    undefined
  );
}

/** `copilot version: v1.33.2` -> `1.33.2`. */
export function parseVersion(output: string): string | undefined {
  return /v?(\d+\.\d+\.\d+)/.exec(output)?.[1];
}

export function versionWarning(version: string): string | undefined {
  if (version === COPILOT_VERSION) return undefined;
  return (
    `copilot v${version} found; these scripts, the fake copilot and the YAML patches were audited ` +
    `against v${COPILOT_VERSION}'s source (another version may render other templates: the deploy ` +
    'preview checks what it renders). Copilot reached end of support on 2026-06-12 (no fixes): ' +
    `install v${COPILOT_VERSION} (${RELEASE_URL}), and see README "Copilot's end of support".`
  );
}

interface RunOptions {
  timeoutMs?: number;
  /** Copy the command's output to our stderr as it arrives (long deploys show progress). */
  stream?: boolean;
  /** Run from this directory instead of the repository (copilot finds its workspace from it). */
  cwd?: string;
}

const environmentList = z.object({
  environments: z
    .array(z.object({ name: z.string(), app: z.string().optional() }).loose())
    .nullable(),
});
const serviceList = z.object({
  services: z
    .array(
      z
        .object({ name: z.string(), type: z.string().optional(), app: z.string().optional() })
        .loose(),
    )
    .nullable(),
});

interface CopilotOptions {
  bin: string;
  cwd: string;
  /** Passed to copilot, e.g. AWS_PROFILE and AWS_REGION from --profile / --region. */
  env: NodeJS.ProcessEnv;
  log: Progress;
  defaultTimeoutMs?: number;
}

export class Copilot {
  readonly bin: string;
  readonly #options: CopilotOptions;
  constructor(options: CopilotOptions) {
    this.bin = options.bin;
    this.#options = options;
  }

  /** Finds copilot and checks its version. Throws CliError when it is missing or broken. */
  static async open(options: Omit<CopilotOptions, 'bin'> & { bin?: string }, cmd: string) {
    const name = options.bin ?? 'copilot';
    const bin = findOnPath(name);
    if (!bin) {
      throw new CliError(
        `${cmd}: the copilot CLI is not on PATH`,
        `no executable "${name}" found; nothing was changed`,
        `${nextCommand('install-copilot')}   (Copilot v${COPILOT_VERSION}, its signature checked), then export PATH="$PWD/${INSTALL_DIR}:$PATH" and re-run`,
      );
    }
    const copilot = new Copilot({ ...options, bin });
    const result = await copilot.run(['--version'], { timeoutMs: 30_000 });
    const version = parseVersion(result.stdout + result.stderr);
    if (result.code !== 0 || !version) {
      throw new CliError(
        `${cmd}: ${bin} --version failed`,
        (result.stderr || result.stdout).trim() || `exit code ${result.code}`,
        `reinstall Copilot v${COPILOT_VERSION} (${RELEASE_URL})`,
      );
    }
    const warning = versionWarning(version);
    if (warning) options.log.warn(warning);
    else options.log.ok(`copilot v${version} (${bin})`);
    return { copilot, version };
  }

  async run(args: string[], options: RunOptions = {}): Promise<RunResult> {
    const timeoutMs = options.timeoutMs ?? this.#options.defaultTimeoutMs ?? 10 * 60_000;
    const { timedOut, ...result } = await runProcess(this.bin, args, {
      timeoutMs,
      cwd: options.cwd ?? this.#options.cwd,
      env: this.#options.env,
      ...(options.stream ? { stream: true } : {}),
    });
    if (timedOut) {
      throw new CliError(
        `copilot ${redact(args).join(' ')} timed out`,
        `no result after ${formatDuration(timeoutMs)} (stopped it)`,
        'check the CloudFormation console for the stack it was working on, then re-run',
      );
    }
    return result;
  }

  /** Runs a command that must succeed; a failure names the command and quotes its error. */
  async must(args: string[], options: RunOptions & { next?: string } = {}): Promise<RunResult> {
    this.#options.log.info(`$ copilot ${redact(args).join(' ')}`);
    const result = await this.run(args, options);
    if (result.code !== 0) {
      const why = lastLines(result.stderr || result.stdout) || `exit code ${result.code}`;
      throw new CliError(`copilot ${args.slice(0, 2).join(' ')} failed`, why, options.next);
    }
    return result;
  }

  async #json<T>(args: string[], schema: z.ZodType<T>): Promise<T> {
    const result = await this.must(args, { timeoutMs: 2 * 60_000 });
    try {
      return schema.parse(JSON.parse(result.stdout));
    } catch (error) {
      throw new CliError(
        `copilot ${args.slice(0, 2).join(' ')}: unexpected output`,
        `${(error as Error).message.slice(0, 300)}`,
        `copilot ${args.join(' ')}   (compare with Copilot v${COPILOT_VERSION}'s format)`,
      );
    }
  }

  /** `app ls` has no --json: one application name a line. */
  async appNames(): Promise<string[]> {
    const result = await this.must(['app', 'ls'], { timeoutMs: 2 * 60_000 });
    return result.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  async envNames(app: string): Promise<string[]> {
    const out = await this.#json(['env', 'ls', '--app', app, '--json'], environmentList);
    return (out.environments ?? []).map((e) => e.name);
  }

  async serviceNames(app: string): Promise<string[]> {
    const out = await this.#json(['svc', 'ls', '--app', app, '--json'], serviceList);
    return (out.services ?? []).map((s) => s.name);
  }
}

function lastLines(text: string, count = 6): string {
  return text.trim().split('\n').slice(-count).join('\n').trim();
}

/**
 * Static keys copilot's sessions take before AWS_PROFILE (aws-sdk-go v1 session/credentials.go
 * resolveCredentials; env_config.go credAccessEnvKey, credSecretEnvKey, credSessionEnvKey),
 * where the scripts' SDK v3 calls and env init's --profile take the profile.
 */
const STATIC_KEY_VARS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_ACCESS_KEY',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SECRET_KEY',
  'AWS_SESSION_TOKEN',
];

/**
 * The environment copilot runs with: our --profile/--region, never prompts, no colour codes
 * (COLOR=false, as COLOR=true would override NO_COLOR: term/color/color.go). With a profile,
 * without the shell's static keys, so copilot acts as the same identity as the scripts' calls.
 */
export function copilotEnv(options: { region?: string | undefined; profile?: string | undefined }) {
  const profile = effectiveProfile(options.profile);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...(options.profile ? { AWS_PROFILE: options.profile } : {}),
    ...(options.region ? { AWS_REGION: options.region, AWS_DEFAULT_REGION: options.region } : {}),
    NO_COLOR: '1',
    COLOR: 'false',
  };
  if (profile) for (const name of STATIC_KEY_VARS) delete env[name];
  return env;
}

/** `copilot svc deploy` builds the images locally: a running Docker daemon is a prerequisite. */
export async function checkDocker(log: Progress, cmd: string): Promise<void> {
  const bin = findOnPath('docker');
  if (!bin) {
    throw new CliError(
      `${cmd}: docker is not on PATH`,
      'Copilot builds the service images with Docker; nothing was changed',
      'install Docker (or Finch/Podman with a docker shim), start it, then re-run',
    );
  }
  const result = await runProcess(bin, ['info', '--format', '{{.ServerVersion}}'], {
    timeoutMs: 30_000,
  });
  if (result.code !== 0) {
    throw new CliError(
      `${cmd}: the Docker daemon is not reachable`,
      lastLines(result.stderr || result.stdout) || `docker info exited ${result.code}`,
      'start Docker (docker info must succeed), then re-run',
    );
  }
  log.ok(`docker ${result.stdout.trim().split('\n').pop()}`);
}
