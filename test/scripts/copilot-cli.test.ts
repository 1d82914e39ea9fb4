// deploy's wrapper around the copilot CLI (scripts/cloud/copilot.ts), the credentials it hands
// `copilot env init` (copilot-credentials.ts) and the environment stack's exports it checks
// before an addon (env-exports.ts), in this process. The process runner (scripts/cli/process.ts
// runProcess) is stood in for, so nothing is run: each reply has the shape Copilot v1.33.2 gives
// (aws/copilot-cli v1.33.2: cmd/copilot/main.go for --version and errors on stderr;
// internal/pkg/cli/app_list.go, env_list.go, list/list.go for the listings; env_init.go and
// aws/profile/profile.go for the credentials; template/templates/environment/cf.yml for the
// outputs and exports). The fake copilot (test/fixtures/copilot/fake/) runs them end to end in
// the slow tests.
import { chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CloudFormationClient, Stack } from '@aws-sdk/client-cloudformation';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { runProcess as RunProcess } from '../../scripts/cli/process.ts';
import { COPILOT_VERSION } from '../../scripts/cloud/copilot-version.ts';
import { type ScratchFolder, scratchFolders } from '../helpers/scratch.ts';

type Reply = Awaited<ReturnType<typeof RunProcess>>;
const runProcess = vi.hoisted(() => vi.fn<typeof RunProcess>());
vi.mock('../../scripts/cli/process.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runProcess,
}));

// Test files share their worker's modules (isolate: false): one run before this file may have
// loaded the modules with the real runner, so they are loaded afresh, with the stand-in (and
// the CliError the helper checks for is the one they throw).
vi.resetModules();
const { CliError, createProgress } = await import('../../scripts/cli/command.ts');
const { cliErrorOf } = await import('../helpers/cli-error.ts');
const { Copilot, checkDocker, copilotEnv, findOnPath, parseVersion, versionWarning } = await import(
  '../../scripts/cloud/copilot.ts'
);
const { envInitCredentials, redact } = await import('../../scripts/cloud/copilot-credentials.ts');
const { EXPORT_OUTPUT, importedEnvExports, requireEnvExports } = await import(
  '../../scripts/cloud/env-exports.ts'
);

const scratch = scratchFolders('copilot-cli');

afterEach(() => {
  runProcess.mockReset();
  vi.restoreAllMocks();
});

const RELEASE = `https://github.com/aws/copilot-cli/releases/tag/v${COPILOT_VERSION}`;

const reply = (code: number, stdout = '', stderr = '', timedOut = false): Reply => ({
  code,
  stdout,
  stderr,
  timedOut,
});

/** A progress log whose lines are kept, as the user would read them on stderr. */
function progress() {
  const lines: string[] = [];
  return { log: createProgress('deploy', (l) => lines.push(l)), lines };
}

/** A folder on PATH holding `names` as executables (never run: the runner is stood in for). */
function binDir(...names: string[]): ScratchFolder {
  const dir = scratch();
  for (const name of names) {
    dir.write(name, '#!/bin/sh\n');
    chmodSync(path.join(dir.root, name), 0o755);
  }
  vi.stubEnv('PATH', dir.root);
  return dir;
}

/** A Copilot over the stand-in runner, as openCopilot makes it. */
function copilotWith(o: { defaultTimeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): {
  copilot: InstanceType<typeof Copilot>;
  lines: string[];
} {
  const { log, lines } = progress();
  const copilot = new Copilot({
    bin: '/opt/bin/copilot',
    cwd: '/repo',
    env: o.env ?? { AWS_REGION: 'eu-west-1' },
    log,
    ...(o.defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs: o.defaultTimeoutMs }),
  });
  return { copilot, lines };
}

/** The runner's calls: what was run, with which options. */
const calls = () => runProcess.mock.calls.map(([bin, args, options]) => ({ bin, args, options }));

// ---------------------------------------------------------------------------------------------
// Finding copilot and checking its version.

describe('Copilot.open', () => {
  it('stops before running anything when copilot is not on PATH, saying what to install', async () => {
    binDir('docker');
    const { log, lines } = progress();
    const error = await cliErrorOf(Copilot.open({ cwd: '/repo', env: {}, log }, 'deploy'));
    expect(error.what).toBe('deploy: the copilot CLI is not on PATH');
    expect(error.why).toBe('no executable "copilot" found; nothing was changed');
    // The repository's own installer, and where it puts the binary.
    expect(error.next).toBe(
      `npx zx scripts/install-copilot.ts   (Copilot v${COPILOT_VERSION}, its signature checked), then export PATH="$PWD/.cache/bin:$PATH" and re-run`,
    );
    expect(error.exitCode).toBe(1);
    expect(runProcess).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it('looks for the binary it is given by name', async () => {
    binDir('copilot');
    const { log } = progress();
    const open = () => Copilot.open({ cwd: '/repo', env: {}, log, bin: 'copilot-v1.33.2' }, 'init');
    const missing = await cliErrorOf(open());
    expect(missing.what).toBe('init: the copilot CLI is not on PATH');
    expect(missing.why).toBe('no executable "copilot-v1.33.2" found; nothing was changed');
    const named = binDir('copilot-v1.33.2');
    runProcess.mockResolvedValue(reply(0, `copilot version: v${COPILOT_VERSION}\n`));
    const { copilot } = await open();
    expect(copilot.bin).toBe(path.join(named.root, 'copilot-v1.33.2'));
    expect(calls()[0]?.bin).toBe(copilot.bin);
  });

  it('runs `copilot --version` where and with what copilot will run, and accepts the pinned version quietly', async () => {
    const dir = binDir('copilot');
    const bin = path.join(dir.root, 'copilot');
    // cmd/copilot/main.go: SetVersionTemplate("copilot version: {{.Version}}\n"), on stdout.
    runProcess.mockResolvedValue(reply(0, `copilot version: v${COPILOT_VERSION}\n`));
    const { log, lines } = progress();
    const env = { AWS_REGION: 'eu-west-1', NO_COLOR: '1' };
    const opened = await Copilot.open(
      { cwd: '/repo', env, log, defaultTimeoutMs: 5_000 },
      'deploy',
    );
    expect(opened.version).toBe(COPILOT_VERSION);
    expect(opened.copilot.bin).toBe(bin);
    expect(calls()).toStrictEqual([
      { bin, args: ['--version'], options: { timeoutMs: 30_000, cwd: '/repo', env } },
    ]);
    expect(lines).toEqual([`[deploy]  ok copilot v${COPILOT_VERSION} (${bin})\n`]);
  });

  it('warns, and goes on, with any other version', async () => {
    binDir('copilot');
    runProcess.mockResolvedValue(reply(0, 'copilot version: v1.34.1\n'));
    const { log, lines } = progress();
    const opened = await Copilot.open({ cwd: '/repo', env: {}, log }, 'deploy');
    expect(opened.version).toBe('1.34.1');
    expect(lines).toEqual([`[deploy] WARN ${versionWarning('1.34.1')}\n`]);
  });

  it('reads the version from stderr too', async () => {
    binDir('copilot');
    runProcess.mockResolvedValue(reply(0, '', `copilot version: v${COPILOT_VERSION}\n`));
    const { log } = progress();
    expect((await Copilot.open({ cwd: '/repo', env: {}, log }, 'deploy')).version).toBe(
      COPILOT_VERSION,
    );
  });

  it('stops when `copilot --version` fails, quoting its error, else its output, else its exit code', async () => {
    const bin = path.join(binDir('copilot').root, 'copilot');
    const { log, lines } = progress();
    const open = () => Copilot.open({ cwd: '/repo', env: {}, log }, 'deploy');

    runProcess.mockResolvedValue(reply(1, 'ignored\n', '  exec format error\n'));
    const broken = await cliErrorOf(open());
    expect(broken.what).toBe(`deploy: ${bin} --version failed`);
    expect(broken.why).toBe('exec format error');
    expect(broken.next).toBe(`reinstall Copilot v${COPILOT_VERSION} (${RELEASE})`);

    // A version printed by a failing binary is not taken.
    runProcess.mockResolvedValue(reply(2, `copilot version: v${COPILOT_VERSION}\n`));
    expect((await cliErrorOf(open())).why).toBe(`copilot version: v${COPILOT_VERSION}`);

    // Exit 0 without a version: not copilot.
    runProcess.mockResolvedValue(reply(0, ' something else \n'));
    expect((await cliErrorOf(open())).why).toBe('something else');

    runProcess.mockResolvedValue(reply(126, '', ' \n'));
    expect((await cliErrorOf(open())).why).toBe('exit code 126');
    expect(lines).toEqual([]);
  });
});

describe('versions and PATH', () => {
  it('reads the version Copilot prints, with or without its v', () => {
    expect(parseVersion(`copilot version: v${COPILOT_VERSION}\n`)).toBe(COPILOT_VERSION);
    expect(parseVersion('1.30.0')).toBe('1.30.0');
    expect(parseVersion('copilot version: v10.2.34\n')).toBe('10.2.34');
    expect(parseVersion('copilot version: dev')).toBeUndefined();
  });

  it('warns about another version, naming both and where to get the pinned one', () => {
    expect(versionWarning(COPILOT_VERSION)).toBeUndefined();
    const warning = versionWarning('1.32.0') ?? '';
    expect(warning).toContain('copilot v1.32.0 found;');
    expect(warning).toContain(`against v${COPILOT_VERSION}'s source`);
    expect(warning).toContain(`install v${COPILOT_VERSION} (${RELEASE})`);
    expect(warning).toContain('README "Copilot\'s end of support"');
  });

  it('finds a binary on the PATH it is given, else on PATH', () => {
    const here = binDir('copilot');
    const other = scratch();
    expect(findOnPath('copilot')).toBe(path.join(here.root, 'copilot'));
    expect(findOnPath('copilot', other.root)).toBeUndefined();
    expect(findOnPath('docker')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Running commands.

describe('Copilot.run', () => {
  it('runs from the repository with the environment given, under a timeout of 10 minutes by default', async () => {
    runProcess.mockResolvedValue(reply(3, 'out', 'err'));
    const env = { AWS_PROFILE: 'dev' };
    const { copilot } = copilotWith({ env });
    expect(await copilot.run(['svc', 'status'])).toStrictEqual({
      code: 3,
      stdout: 'out',
      stderr: 'err',
    });
    expect(calls()).toStrictEqual([
      {
        bin: '/opt/bin/copilot',
        args: ['svc', 'status'],
        options: { timeoutMs: 600_000, cwd: '/repo', env },
      },
    ]);
  });

  it("takes the call's timeout, else the session's, its folder, and streams only when asked", async () => {
    runProcess.mockResolvedValue(reply(0));
    const { copilot } = copilotWith({ defaultTimeoutMs: 90_000 });
    await copilot.run(['env', 'show']);
    await copilot.run(['env', 'show'], { timeoutMs: 5_000, cwd: '/elsewhere', stream: true });
    await copilot.run(['env', 'show'], { stream: false });
    expect(calls().map((c) => c.options)).toStrictEqual([
      { timeoutMs: 90_000, cwd: '/repo', env: { AWS_REGION: 'eu-west-1' } },
      { timeoutMs: 5_000, cwd: '/elsewhere', env: { AWS_REGION: 'eu-west-1' }, stream: true },
      { timeoutMs: 90_000, cwd: '/repo', env: { AWS_REGION: 'eu-west-1' } },
    ]);
  });

  it('says which command timed out (secrets masked), after how long, and where to look', async () => {
    runProcess.mockResolvedValue(reply(143, 'partial', '', true));
    const { copilot } = copilotWith();
    const args = ['env', 'init', '--aws-secret-access-key', 'SECRET', '--region', 'eu-west-1'];
    const error = await cliErrorOf(copilot.run(args, { timeoutMs: 1_800_000 }));
    expect(error.what).toBe(
      'copilot env init --aws-secret-access-key **** --region eu-west-1 timed out',
    );
    expect(error.why).toBe('no result after 30 min (stopped it)');
    expect(error.next).toBe(
      'check the CloudFormation console for the stack it was working on, then re-run',
    );
    expect(JSON.stringify(error)).not.toContain('SECRET');
  });
});

describe('Copilot.must', () => {
  it('prints the command (secrets masked) and returns its output when it succeeds', async () => {
    runProcess.mockResolvedValue(reply(0, 'done\n', 'progress\n'));
    const { copilot, lines } = copilotWith();
    const args = ['env', 'init', '--aws-session-token', 'TOKEN', '--name', 'test'];
    const result = await copilot.must(args, { stream: true, timeoutMs: 60_000, cwd: '/w' });
    expect(result).toStrictEqual({ code: 0, stdout: 'done\n', stderr: 'progress\n' });
    expect(lines).toEqual([
      '[deploy]     $ copilot env init --aws-session-token **** --name test\n',
    ]);
    expect(calls()[0]?.args).toEqual(args);
    expect(calls()[0]?.options).toStrictEqual({
      timeoutMs: 60_000,
      cwd: '/w',
      env: { AWS_REGION: 'eu-west-1' },
      stream: true,
    });
  });

  it("fails naming the command, quoting the last lines of copilot's error, with the next step given", async () => {
    // cmd/copilot/main.go: the error goes to stderr (log.Errorln), after the progress lines.
    const stderr = [
      '- Creating the infrastructure',
      'line 1',
      '  line 2',
      ...Array.from({ length: 4 }, (_, i) => `line ${i + 3}`),
      '✘ execute svc deploy: deploy service book-service to environment test: boom',
      '',
    ].join('\n');
    runProcess.mockResolvedValue(reply(1, 'stdout ignored', stderr));
    const { copilot } = copilotWith();
    const error = await cliErrorOf(
      copilot.must(['svc', 'deploy', '--name', 'book-service'], { next: 'diagnose --env test' }),
    );
    expect(error.what).toBe('copilot svc deploy failed');
    expect(error.why).toBe(
      'line 2\nline 3\nline 4\nline 5\nline 6\n✘ execute svc deploy: deploy service book-service to environment test: boom',
    );
    expect(error.next).toBe('diagnose --env test');
  });

  it('quotes stdout when stderr is empty, and the exit code when both are', async () => {
    const { copilot } = copilotWith();
    runProcess.mockResolvedValue(reply(1, '\n  only on stdout  \n'));
    const onStdout = await cliErrorOf(copilot.must(['app', 'show']));
    expect(onStdout.why).toBe('only on stdout');
    expect(onStdout.next).toBeUndefined();
    runProcess.mockResolvedValue(reply(4, ' \n', ''));
    expect((await cliErrorOf(copilot.must(['app', 'show']))).why).toBe('exit code 4');
  });
});

// ---------------------------------------------------------------------------------------------
// The listings: app ls (no --json), env ls --json, svc ls --json.

describe('listings', () => {
  it('reads `app ls` one name a line (app_list.go prints no JSON)', async () => {
    runProcess.mockResolvedValue(reply(0, 'bookstore\n  other  \n\n'));
    const { copilot, lines } = copilotWith({ defaultTimeoutMs: 1_000 });
    expect(await copilot.appNames()).toEqual(['bookstore', 'other']);
    expect(calls()).toStrictEqual([
      {
        bin: '/opt/bin/copilot',
        args: ['app', 'ls'],
        options: { timeoutMs: 120_000, cwd: '/repo', env: { AWS_REGION: 'eu-west-1' } },
      },
    ]);
    expect(lines).toEqual(['[deploy]     $ copilot app ls\n']);
    runProcess.mockResolvedValue(reply(0, ''));
    expect(await copilot.appNames()).toEqual([]);
  });

  it("reads the environments' names from `env ls --json` (env_list.go jsonOutput)", async () => {
    const listed = {
      environments: [
        {
          app: 'bookstore',
          name: 'test',
          region: 'eu-west-1',
          accountID: '123456789012',
          registryURL: '',
          executionRoleARN: 'arn:aws:iam::123456789012:role/bookstore-test-CFNExecutionRole',
          managerRoleARN: 'arn:aws:iam::123456789012:role/bookstore-test-EnvManagerRole',
        },
        { app: 'bookstore', name: 'prod' },
      ],
    };
    runProcess.mockResolvedValue(reply(0, `${JSON.stringify(listed)}\n`));
    const { copilot } = copilotWith();
    expect(await copilot.envNames('bookstore')).toEqual(['test', 'prod']);
    expect(calls()[0]?.args).toEqual(['env', 'ls', '--app', 'bookstore', '--json']);
    expect(calls()[0]?.options.timeoutMs).toBe(120_000);
    // A nil slice marshals to null: an application without environments.
    runProcess.mockResolvedValue(reply(0, '{"environments":null}\n'));
    expect(await copilot.envNames('bookstore')).toEqual([]);
  });

  it("reads the services' names from `svc ls --json` (list/list.go ServiceJSONOutput)", async () => {
    const listed = {
      services: [
        { app: 'bookstore', name: 'book-service', type: 'Backend Service' },
        { app: 'bookstore', name: 'author-service', type: 'Backend Service' },
      ],
    };
    runProcess.mockResolvedValue(reply(0, `${JSON.stringify(listed)}\n`));
    const { copilot } = copilotWith();
    expect(await copilot.serviceNames('bookstore')).toEqual(['book-service', 'author-service']);
    expect(calls()[0]?.args).toEqual(['svc', 'ls', '--app', 'bookstore', '--json']);
    expect(calls()[0]?.options.timeoutMs).toBe(120_000);
    runProcess.mockResolvedValue(reply(0, '{"services":null}\n'));
    expect(await copilot.serviceNames('bookstore')).toEqual([]);
  });

  it('fails loudly on an output of another shape, naming the command to compare', async () => {
    const { copilot } = copilotWith();
    runProcess.mockResolvedValue(reply(0, '{"envs":[]}\n'));
    const renamed = await cliErrorOf(copilot.envNames('bookstore'));
    expect(renamed.what).toBe('copilot env ls: unexpected output');
    expect(renamed.why).toMatch(/environments/);
    expect(renamed.next).toBe(
      `copilot env ls --app bookstore --json   (compare with Copilot v${COPILOT_VERSION}'s format)`,
    );

    runProcess.mockResolvedValue(reply(0, 'NAME  TYPE\nbook-service  Backend Service\n'));
    const table = await cliErrorOf(copilot.serviceNames('bookstore'));
    expect(table.what).toBe('copilot svc ls: unexpected output');
    expect(table.why).toMatch(/JSON/);

    runProcess.mockResolvedValue(reply(0, '{"services":[{"type":"Backend Service"}]}'));
    expect((await cliErrorOf(copilot.serviceNames('bookstore'))).why).toMatch(/name/);

    // However many entries are wrong, the reason stays short.
    const many = { services: Array.from({ length: 40 }, () => ({ type: 'Backend Service' })) };
    runProcess.mockResolvedValue(reply(0, JSON.stringify(many)));
    const long = await cliErrorOf(copilot.serviceNames('bookstore'));
    expect(long.why).toHaveLength(300);
  });

  it('fails like any command when the listing itself fails', async () => {
    runProcess.mockResolvedValue(
      reply(1, '', "✘ couldn't find an application named bookstore in account 123\n"),
    );
    const { copilot } = copilotWith();
    const error = await cliErrorOf(copilot.envNames('bookstore'));
    expect(error.what).toBe('copilot env ls failed');
    expect(error.why).toBe("✘ couldn't find an application named bookstore in account 123");
  });
});

// ---------------------------------------------------------------------------------------------
// The environment copilot runs with.

describe('copilotEnv', () => {
  it('passes our --profile and --region on, without colour codes, over the environment', () => {
    vi.stubEnv('AWS_PROFILE', 'shell');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_DEFAULT_REGION', 'us-east-1');
    vi.stubEnv('SOME_SETTING', 'kept');
    const env = copilotEnv({ profile: 'dev', region: 'eu-west-1' });
    expect(env).toMatchObject({
      AWS_PROFILE: 'dev',
      AWS_REGION: 'eu-west-1',
      AWS_DEFAULT_REGION: 'eu-west-1',
      SOME_SETTING: 'kept',
      NO_COLOR: '1',
    });
  });

  it("keeps the environment's own profile and region when none is given", () => {
    vi.stubEnv('AWS_PROFILE', 'shell');
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_DEFAULT_REGION', 'us-west-2');
    const env = copilotEnv({ profile: undefined, region: undefined });
    expect(env.AWS_PROFILE).toBe('shell');
    expect(env.AWS_REGION).toBe('us-east-1');
    expect(env.AWS_DEFAULT_REGION).toBe('us-west-2');
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_DEFAULT_REGION', undefined);
    const bare = copilotEnv({ profile: '', region: '' });
    expect(bare.AWS_PROFILE).toBeUndefined();
    expect(bare.AWS_REGION).toBeUndefined();
    expect(bare.AWS_DEFAULT_REGION).toBeUndefined();
  });

  it('turns colour off even where COLOR=true would turn it back on (term/color/color.go)', () => {
    vi.stubEnv('COLOR', 'true');
    expect(copilotEnv({}).COLOR).toBe('false');
  });

  it('hands copilot the profile, not static keys of the shell, when a profile is chosen', () => {
    // Copilot's sessions (aws-sdk-go v1 session/credentials.go resolveCredentials) take
    // AWS_ACCESS_KEY_ID before AWS_PROFILE; the scripts' SDK v3 calls and env init's --profile
    // take the profile: with both set, copilot would act in another account than they do.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIASHELL');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'shell-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'shell-token');
    // aws-sdk-go v1's older names for the same keys (env_config.go).
    vi.stubEnv('AWS_ACCESS_KEY', 'AKIAOLD');
    vi.stubEnv('AWS_SECRET_KEY', 'old-secret');
    vi.stubEnv('AWS_PROFILE', undefined);
    const flagged = copilotEnv({ profile: 'prod' });
    expect(flagged.AWS_PROFILE).toBe('prod');
    for (const name of [
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_ACCESS_KEY',
      'AWS_SECRET_KEY',
    ]) {
      expect(flagged).not.toHaveProperty(name);
    }

    vi.stubEnv('AWS_PROFILE', 'shell');
    const fromShell = copilotEnv({});
    expect(fromShell.AWS_PROFILE).toBe('shell');
    expect(fromShell).not.toHaveProperty('AWS_ACCESS_KEY_ID');

    // No profile: the keys are what everyone uses.
    vi.stubEnv('AWS_PROFILE', '');
    const keys = copilotEnv({ profile: '' });
    expect(keys.AWS_ACCESS_KEY_ID).toBe('AKIASHELL');
    expect(keys.AWS_SECRET_ACCESS_KEY).toBe('shell-secret');
    expect(keys.AWS_SESSION_TOKEN).toBe('shell-token');
  });
});

// ---------------------------------------------------------------------------------------------
// Docker, which `copilot svc deploy` builds with.

describe('checkDocker', () => {
  it('stops before any change when docker is not on PATH', async () => {
    binDir('copilot');
    const { log, lines } = progress();
    const error = await cliErrorOf(checkDocker(log, 'deploy'));
    expect(error.what).toBe('deploy: docker is not on PATH');
    expect(error.why).toBe('Copilot builds the service images with Docker; nothing was changed');
    expect(error.next).toBe(
      'install Docker (or Finch/Podman with a docker shim), start it, then re-run',
    );
    expect(runProcess).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it("asks the daemon its version, and stops quoting docker's error when it does not answer", async () => {
    const bin = path.join(binDir('docker').root, 'docker');
    const { log, lines } = progress();
    runProcess.mockResolvedValue(reply(0, 'WARNING: something\n27.3.1\n'));
    await checkDocker(log, 'deploy');
    expect(calls()).toStrictEqual([
      { bin, args: ['info', '--format', '{{.ServerVersion}}'], options: { timeoutMs: 30_000 } },
    ]);
    expect(lines).toEqual(['[deploy]  ok docker 27.3.1\n']);

    runProcess.mockResolvedValue(
      reply(1, '', 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n'),
    );
    const down = await cliErrorOf(checkDocker(log, 'init'));
    expect(down.what).toBe('init: the Docker daemon is not reachable');
    expect(down.why).toBe('Cannot connect to the Docker daemon at unix:///var/run/docker.sock.');
    expect(down.next).toBe('start Docker (docker info must succeed), then re-run');

    runProcess.mockResolvedValue(reply(1, 'on stdout\n', ''));
    expect((await cliErrorOf(checkDocker(log, 'init'))).why).toBe('on stdout');
    runProcess.mockResolvedValue(reply(125));
    expect((await cliErrorOf(checkDocker(log, 'init'))).why).toBe('docker info exited 125');
  });
});

// ---------------------------------------------------------------------------------------------
// The credentials `copilot env init` is given (env_init.go askEnvSession).

describe('envInitCredentials', () => {
  const HOME = '/home/u';
  const CONFIG = '/home/u/.aws/config';
  const CREDENTIALS = '/home/u/.aws/credentials';

  /** The CliError `run` throws. */
  function refusal(run: () => unknown): InstanceType<typeof CliError> {
    try {
      run();
    } catch (error) {
      expect(error).toBeInstanceOf(CliError);
      return error as InstanceType<typeof CliError>;
    }
    throw new Error('expected a CliError, got none');
  }

  function resolve(
    env: NodeJS.ProcessEnv,
    files: Record<string, string>,
    profile?: string,
  ): ReturnType<typeof envInitCredentials> {
    const readFile = (file: string) => files[file];
    return envInitCredentials({ profile, env, home: HOME, readFile }, 'init');
  }

  it('passes --profile: the flag, else AWS_PROFILE, whatever else is set', () => {
    const keys = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' };
    expect(resolve({ ...keys, AWS_PROFILE: 'env' }, {}, 'flag')).toEqual({
      args: ['--profile', 'flag'],
      source: 'profile flag',
    });
    expect(resolve({ ...keys, AWS_PROFILE: 'env' }, { [CONFIG]: '[default]\n' })).toEqual({
      args: ['--profile', 'env'],
      source: 'profile env',
    });
  });

  it("takes an empty --profile as none, as the scripts' own AWS calls do", () => {
    // `--profile "$NAME"` with NAME unset: createClients and copilotEnv fall back on AWS_PROFILE.
    expect(resolve({ AWS_PROFILE: 'env' }, {}, '').args).toEqual(['--profile', 'env']);
  });

  it('passes nothing when copilot cannot read the config file: it then uses the default chain', () => {
    const keys = { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' };
    expect(resolve(keys, {})).toEqual({
      args: [],
      source: `default credentials (no ${CONFIG}, so copilot uses them)`,
    });
    // profile.go cfgPath: $AWS_CONFIG_FILE when set, else ~/.aws/config.
    expect(resolve({ AWS_CONFIG_FILE: '/etc/aws.conf' }, { [CONFIG]: '[profile x]\n' })).toEqual({
      args: [],
      source: 'default credentials (no /etc/aws.conf, so copilot uses them)',
    });
    expect(resolve({ AWS_CONFIG_FILE: '' }, { [CONFIG]: '[default]\n' }).args).toEqual([
      '--profile',
      'default',
    ]);
  });

  it('passes the temporary-credential flags from the environment when a config file exists', () => {
    const files = { '/etc/aws.conf': '[default]\n' };
    const env = { AWS_CONFIG_FILE: '/etc/aws.conf', AWS_ACCESS_KEY_ID: 'AKIA' };
    expect(resolve({ ...env, AWS_SECRET_ACCESS_KEY: 's', AWS_SESSION_TOKEN: 't' }, files)).toEqual({
      args: [
        '--aws-access-key-id',
        'AKIA',
        '--aws-secret-access-key',
        's',
        '--aws-session-token',
        't',
      ],
      source: 'the AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY environment variables',
    });
    expect(resolve({ ...env, AWS_SECRET_ACCESS_KEY: 's' }, files).args).toEqual([
      '--aws-access-key-id',
      'AKIA',
      '--aws-secret-access-key',
      's',
    ]);
    // A key id alone is no credential (env_init.go tempCredsVars.isSet needs both).
    expect(resolve(env, files)).toEqual({
      args: ['--profile', 'default'],
      source: 'profile default',
    });
    expect(
      resolve({ ...env, AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 's' }, files).args,
    ).toEqual(['--profile', 'default']);
  });

  it('finds a default profile in the config file or the credentials file', () => {
    expect(resolve({}, { [CONFIG]: '  [ default ]  \nregion = eu-west-1\n' }).args).toEqual([
      '--profile',
      'default',
    ]);
    expect(resolve({}, { [CONFIG]: '[profile default]\n' }).args).toEqual(['--profile', 'default']);
    expect(
      resolve(
        {},
        { [CONFIG]: '[profile dev]\n', [CREDENTIALS]: '[default]\naws_access_key_id=x\n' },
      ).args,
    ).toEqual(['--profile', 'default']);
    expect(
      resolve(
        { AWS_SHARED_CREDENTIALS_FILE: '/etc/creds' },
        { [CONFIG]: '[profile dev]\n', '/etc/creds': '[default]\n', [CREDENTIALS]: '[x]\n' },
      ).args,
    ).toEqual(['--profile', 'default']);
  });

  it('stops before any change when it cannot name them, listing the profiles to choose from', () => {
    const files = {
      [CONFIG]: '# [default]\n[profile dev]\n[sso-session corp]\n[ profile  ops ]\n',
      [CREDENTIALS]: '[ci]\n',
    };
    const refused = refusal(() => resolve({}, files));
    expect(refused.what).toBe('init: cannot tell copilot env init which credentials to use');
    expect(refused.why).toBe(
      `no --profile, no AWS_PROFILE, no AWS_ACCESS_KEY_ID and no [default] profile, and ${CONFIG} exists, so copilot would ask (env_init.go askEnvSession) and fail without a terminal; nothing was changed`,
    );
    expect(refused.next).toBe(
      `npx zx scripts/init.ts --profile dev   (profiles in ${CONFIG}: dev, ops, ci)`,
    );
    expect(refused.exitCode).toBe(2);
    // The credentials file named by AWS_SHARED_CREDENTIALS_FILE, not ~/.aws/credentials.
    const none = refusal(() =>
      resolve(
        { AWS_SHARED_CREDENTIALS_FILE: '/nowhere' },
        { [CONFIG]: '\n', [CREDENTIALS]: '[default]\n' },
      ),
    );
    expect(none.next).toBe(
      `npx zx scripts/init.ts --profile <name>   (profiles in ${CONFIG}: none)`,
    );
  });

  it('reads the files under the home directory and the environment it is given', () => {
    const home = scratch();
    expect(envInitCredentials({ env: {}, home: home.root }, 'init').args).toEqual([]);
    home.write('.aws/config', '[profile dev]\n');
    home.write('.aws/credentials', '[default]\n');
    expect(envInitCredentials({ env: {}, home: home.root }, 'init').source).toBe('profile default');
  });

  it('defaults to the process environment and home directory', () => {
    vi.stubEnv('AWS_PROFILE', 'from-process');
    expect(envInitCredentials({}, 'init').args).toEqual(['--profile', 'from-process']);
    const home = scratch();
    home.write('.aws/credentials', '[default]\n');
    vi.spyOn(os, 'homedir').mockReturnValue(home.root);
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', undefined);
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', undefined);
    const config = path.join(home.root, '.aws', 'config');
    expect(envInitCredentials({}, 'init').source).toBe(
      `default credentials (no ${config}, so copilot uses them)`,
    );
    home.write('.aws/config', '[profile dev]\n');
    expect(envInitCredentials({}, 'init').source).toBe('profile default');
  });

  it('masks the secret flags in what is logged, and only their values', () => {
    expect(
      redact([
        'env',
        'init',
        '--aws-access-key-id',
        'AKIA',
        '--aws-secret-access-key',
        's',
        '--aws-session-token',
        't',
        '--name',
        'test',
      ]),
    ).toEqual([
      'env',
      'init',
      '--aws-access-key-id',
      'AKIA',
      '--aws-secret-access-key',
      '****',
      '--aws-session-token',
      '****',
      '--name',
      'test',
    ]);
    expect(redact(['--aws-session-token'])).toEqual(['--aws-session-token']);
  });
});

// ---------------------------------------------------------------------------------------------
// The environment stack's exports, checked before an addon that imports them.

/** A CloudFormation double answering DescribeStacks for `bookstore-test` with `stack`. */
function cloudFormation(stack: Partial<Stack> | 'missing') {
  const asked: string[] = [];
  const cfn = {
    send: async (command: { input: { StackName?: string } }) => {
      asked.push(command.input.StackName ?? '');
      if (stack === 'missing') {
        throw Object.assign(new Error('Stack with id bookstore-test does not exist'), {
          name: 'ValidationError',
        });
      }
      return { Stacks: [{ StackName: 'bookstore-test', ...stack }] };
    },
  };
  return { cfn: cfn as unknown as CloudFormationClient, asked };
}

/** cf.yml's outputs of a deployed environment: every key, or all but `without`. */
function envOutputs(...without: string[]) {
  return Object.values(EXPORT_OUTPUT)
    .filter((key) => !without.includes(key))
    .map((key) => ({ OutputKey: key, OutputValue: `value-of-${key}` }));
}

const importing = (...names: string[]) => ({
  Resources: Object.fromEntries(
    names.map((name, i) => [
      `R${i}`,
      { Properties: { Value: { 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-${name}` } } } },
    ]),
  ),
});

describe('requireEnvExports', () => {
  const target = (template: unknown, step = 'api') => ({
    app: 'bookstore',
    env: 'test',
    template,
    step,
  });

  it('passes when the environment stack has every output behind what the addon imports', async () => {
    const { cfn, asked } = cloudFormation({
      StackStatus: 'UPDATE_COMPLETE',
      Outputs: envOutputs(),
    });
    await expect(
      requireEnvExports(cfn, target(importing('VpcId', 'PrivateSubnets')), 'deploy'),
    ).resolves.toBeUndefined();
    expect(asked).toEqual(['bookstore-test']);
  });

  it('stops, saying to run init, when there is no environment stack', async () => {
    for (const stack of ['missing', { StackStatus: 'DELETE_COMPLETE' }] as const) {
      const { cfn } = cloudFormation(stack);
      const error = await cliErrorOf(requireEnvExports(cfn, target(importing()), 'deploy'));
      expect(error.what).toBe('deploy: no environment stack bookstore-test');
      expect(error.why).toBe('the HTTP API imports its exports; nothing was changed');
      expect(error.next).toBe('npx zx scripts/init.ts --env test');
    }
  });

  it("stops before the addon while the internal ALB's exports are missing, saying to deploy the services", async () => {
    // cf.yml: the internal ALB's outputs exist only under CreateInternalALB.
    const { cfn } = cloudFormation({
      StackStatus: 'UPDATE_COMPLETE',
      Outputs: envOutputs(
        'InternalHTTPListenerArn',
        'InternalLoadBalancerDNSName',
        'InternalLoadBalancerSecurityGroup',
      ),
    });
    const error = await cliErrorOf(
      requireEnvExports(cfn, target(importing('VpcId'), 'bastion'), 'deploy'),
    );
    expect(error.what).toBe(
      'deploy: stack bookstore-test does not export bookstore-test-InternalHTTPListenerArn, bookstore-test-InternalLoadBalancerDNS, bookstore-test-InternalLoadBalancerSecurityGroup',
    );
    expect(error.why).toBe(
      'Copilot creates the internal ALB and its exports only once a Backend Service with http is deployed (environment/cf.yml, CreateInternalALB); nothing was changed',
    );
    expect(error.next).toBe('npx zx scripts/deploy.ts --env test --only services,bastion');
  });

  it('checks each export by its output key, which differs from the export name', async () => {
    // Export `<app>-<env>-InternalLoadBalancerDNS` is the output InternalLoadBalancerDNSName.
    const outputs = [
      ...envOutputs('InternalLoadBalancerDNSName'),
      { OutputKey: 'InternalLoadBalancerDNS', OutputValue: 'wrong key' },
    ];
    const { cfn } = cloudFormation({ StackStatus: 'UPDATE_COMPLETE', Outputs: outputs });
    const error = await cliErrorOf(requireEnvExports(cfn, target(importing()), 'deploy'));
    expect(error.what).toBe(
      'deploy: stack bookstore-test does not export bookstore-test-InternalLoadBalancerDNS',
    );
  });

  it('names any other missing export, once, and says to redeploy the environment', async () => {
    const { cfn } = cloudFormation({
      StackStatus: 'UPDATE_COMPLETE',
      Outputs: [...envOutputs('PrivateSubnets'), { OutputKey: 'Extra', OutputValue: 'x' }],
    });
    const template = importing('PrivateSubnets', 'PrivateSubnets', 'Extra', 'NotAnOutput');
    const error = await cliErrorOf(requireEnvExports(cfn, target(template), 'deploy'));
    expect(error.what).toBe(
      'deploy: stack bookstore-test does not export bookstore-test-PrivateSubnets, bookstore-test-NotAnOutput',
    );
    expect(error.why).toBe(
      'the HTTP API template imports them and the environment stack has no such output; nothing was changed',
    );
    expect(error.next).toBe('npx zx scripts/deploy.ts --env test --only env,api');
  });

  it("says to deploy the services while the ALB's exports are among the missing ones", async () => {
    const { cfn } = cloudFormation({
      StackStatus: 'UPDATE_COMPLETE',
      Outputs: envOutputs('InternalLoadBalancerDNSName', 'PrivateSubnets'),
    });
    const error = await cliErrorOf(
      requireEnvExports(cfn, target(importing('PrivateSubnets')), 'deploy'),
    );
    expect(error.what).toBe(
      'deploy: stack bookstore-test does not export bookstore-test-InternalLoadBalancerDNS, bookstore-test-PrivateSubnets',
    );
    expect(error.next).toBe('npx zx scripts/deploy.ts --env test --only services,api');
  });

  it('counts an output without a value as missing', async () => {
    const outputs = [...envOutputs('VpcId'), { OutputKey: 'VpcId' }];
    const { cfn } = cloudFormation({ StackStatus: 'UPDATE_COMPLETE', Outputs: outputs });
    const error = await cliErrorOf(requireEnvExports(cfn, target(importing('VpcId')), 'deploy'));
    expect(error.what).toBe('deploy: stack bookstore-test does not export bookstore-test-VpcId');
  });
});

describe('importedEnvExports', () => {
  it("finds every import of the environment's exports, however deep, once each", () => {
    const template = {
      Resources: {
        A: {
          Properties: { List: [{ 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-VpcId` } }] },
        },
        B: {
          Properties: {
            Nested: {
              Deeper: [[{ 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-ClusterId` } }]],
            },
            Again: { 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-VpcId` } },
            Nothing: null,
          },
        },
      },
    };
    expect(importedEnvExports(template)).toEqual(['VpcId', 'ClusterId']);
  });

  it('leaves out imports of other stacks and other shapes', () => {
    const template = {
      Resources: {
        A: { 'Fn::ImportValue': { 'Fn::Sub': `\${AWS::StackName}-VpcId` } },
        B: { 'Fn::ImportValue': { 'Fn::Sub': `x\${App}-\${Env}-VpcId` } },
        C: { 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-VpcId-x` } },
        D: { 'Fn::ImportValue': 'bookstore-test-VpcId' },
        E: { 'Fn::Sub': `\${App}-\${Env}-ClusterId` },
        F: { Other: { 'Fn::Sub': `\${App}-\${Env}-ClusterId` } },
      },
    };
    expect(importedEnvExports(template)).toEqual([]);
  });

  it('looks inside an import it cannot read for the imports within', () => {
    const template = {
      'Fn::ImportValue': {
        'Fn::Join': ['-', [{ 'Fn::ImportValue': { 'Fn::Sub': `\${App}-\${Env}-ClusterId` } }]],
      },
    };
    expect(importedEnvExports(template)).toEqual(['ClusterId']);
    expect(importedEnvExports(undefined)).toEqual([]);
    expect(importedEnvExports('text')).toEqual([]);
  });
});
