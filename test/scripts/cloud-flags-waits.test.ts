// The flags deploy, destroy, init, smoke and diagnose share (scripts/cloud/flags.ts): --app and
// --env defaulted from the Copilot workspace, --region and --profile left to the AWS SDK's chain,
// --timeout in minutes, the Deployment they name and the refusal of an environment the workspace
// has no manifest for; and the bounded waits every AWS step makes (scripts/cloud/wait.ts): zx's
// expBackoff between polls (doubling from the initial delay, capped), one last poll at the
// deadline, then a timeout that names what was awaited, its last state and the bound as the user
// gave it. Waits run on vitest's fake clock or on a clock of the test's own: nothing sleeps.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type * as Manifests from '../../scripts/workspace/manifests.ts';

// workspaceOrExit loads the repository's own manifests: a broken manifest is stood in for by
// making loadWorkspace throw, as it does (ManifestError) for an invalid file.
const manifests = vi.hoisted(() => ({ failure: undefined as Error | undefined }));
vi.mock('../../scripts/workspace/manifests.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof Manifests>();
  return {
    ...actual,
    loadWorkspace: (root?: string) => {
      if (manifests.failure) throw manifests.failure;
      return actual.loadWorkspace(root);
    },
  };
});

// Test files share their worker's modules (isolate: false): one run before this file may have
// loaded flags.ts with the real loader, so the modules are loaded afresh, with the stand-in (and
// the CliError the helper checks for is the one they throw).
vi.resetModules();
const { CliError, helpText, parseFlags } = await import('../../scripts/cli/command.ts');
const { commonFlags, deployment, requireEnvironment, timeoutFlag, workspaceOrExit } = await import(
  '../../scripts/cloud/flags.ts'
);
const { formatDuration, sleep, WaitTimeoutError, waitUntil } = await import(
  '../../scripts/cloud/wait.ts'
);
const { loadWorkspace, ManifestError } = await import('../../scripts/workspace/manifests.ts');
const { cliErrorOf } = await import('../helpers/cli-error.ts');
const { captureOutput } = await import('../helpers/output.ts');

type Workspace = Manifests.Workspace;

afterEach(() => {
  manifests.failure = undefined;
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** The repository's workspace with these environments (each with test's manifest). */
function withEnvironments(...names: string[]): Workspace {
  const workspace = loadWorkspace();
  const [test] = workspace.environments;
  if (!test) throw new Error('the manifests lack an environment');
  return { ...workspace, environments: names.map((name) => ({ ...test, name })) };
}

/** A command taking the shared flags and --timeout, as deploy declares them. */
function command(workspace: Workspace) {
  return {
    name: 'deploy',
    summary: 'Deploy.',
    flags: { ...commonFlags(workspace), timeout: timeoutFlag('Bound on each wait') },
  };
}

function flagsOf(workspace: Workspace, argv: string[]) {
  const parsed = parseFlags(command(workspace), argv);
  if (parsed.help) throw new Error('help asked for');
  return parsed.flags;
}

const refusal = (check: () => unknown) => cliErrorOf(Promise.resolve().then(check));

describe('the deployment flags', () => {
  it("default --app to the workspace's application and --env to its only environment", () => {
    expect(flagsOf(withEnvironments('test'), [])).toEqual({
      app: 'bookstore',
      env: 'test',
      region: undefined,
      profile: undefined,
      timeout: 30,
    });
  });

  it('leave --env to the user when the workspace has several environments, or none', () => {
    expect(flagsOf(withEnvironments('test', 'prod'), []).env).toBeUndefined();
    expect(flagsOf(withEnvironments(), []).env).toBeUndefined();
    expect(flagsOf(withEnvironments('test', 'prod'), ['--env', 'prod']).env).toBe('prod');
  });

  it('take --app, --region and --profile as given, the last two with no default of their own', () => {
    const f = flagsOf(withEnvironments('test'), [
      '--app=shop',
      '--region',
      'eu-west-1',
      '--profile',
      'deployer',
    ]);
    expect(f).toMatchObject({ app: 'shop', region: 'eu-west-1', profile: 'deployer' });
  });

  it('take --timeout in minutes, fractions included, and refuse one below 0.01', async () => {
    const ws = withEnvironments('test');
    expect(flagsOf(ws, ['--timeout', '2.5']).timeout).toBe(2.5);
    expect(flagsOf(ws, ['--timeout', '0.01']).timeout).toBe(0.01);
    const error = await refusal(() => flagsOf(ws, ['--timeout', '0']));
    expect(error.message).toBe('deploy: invalid --timeout: "0" is not a number >= 0.01');
    expect(error.exitCode).toBe(2);
  });

  it('are described in --help with their value names and defaults', () => {
    const help = helpText(command(withEnvironments('test')));
    const row = (left: string, right: string) =>
      expect(help).toMatch(new RegExp(`^  ${left} +${right.replace(/[()]/g, '\\$&')}$`, 'm'));
    row('--app <name>', 'Copilot application (default: bookstore)');
    row('--env <name>', 'Copilot environment (default: test)');
    row('--region <region>', 'AWS region (default: AWS_REGION, then the profile)');
    row('--profile <name>', 'AWS named profile (default: AWS_PROFILE, then the default chain)');
    row('--timeout <minutes>', 'Bound on each wait (default: 30)');
    expect(helpText(command(withEnvironments('test', 'prod')))).toMatch(
      /^ {2}--env <name> +Copilot environment$/m,
    );
  });
});

describe('deployment', () => {
  it('names the app, the checked environment, every service in manifest order and the bounds', () => {
    const workspace = withEnvironments('test', 'prod');
    const names = workspace.services.map((s) => s.name);
    expect(names.length).toBeGreaterThan(1);
    const reordered = { ...workspace, services: [...workspace.services].reverse() };
    const f = { app: 'shop', env: 'prod', region: 'eu-west-1', profile: 'p', timeout: 2.5 };
    expect(deployment('destroy', reordered, f)).toEqual({
      cmd: 'destroy',
      app: 'shop',
      env: 'prod',
      services: [...names].reverse(),
      region: 'eu-west-1',
      profile: 'p',
      timeoutMinutes: 2.5,
    });
  });

  it('refuses an environment the workspace has no manifest for', async () => {
    const f = { app: 'bookstore', env: 'prod', region: undefined, profile: undefined, timeout: 30 };
    const error = await refusal(() => deployment('init', withEnvironments('test'), f));
    expect(error.what).toBe('init: unknown environment "prod"');
    expect(error.next).toBe('npx zx scripts/init.ts --env test');
  });
});

describe('requireEnvironment', () => {
  it('returns an environment the workspace has a manifest for', () => {
    expect(requireEnvironment(withEnvironments('test', 'prod'), 'prod', 'deploy')).toBe('prod');
  });

  it('asks for --env, listing the environments, when none is given', async () => {
    for (const env of [undefined, '']) {
      const error = await refusal(() =>
        requireEnvironment(withEnvironments('test', 'prod'), env, 'diagnose'),
      );
      expect(error.what).toBe('diagnose: no environment given');
      expect(error.why).toBe('the workspace has 2 environments (test, prod)');
      expect(error.next).toBe('npx zx scripts/diagnose.ts --env test');
      expect(error.exitCode).toBe(2);
    }
  });

  it('refuses an unknown environment, naming the ones copilot/environments/ has', async () => {
    const error = await refusal(() =>
      requireEnvironment(withEnvironments('test', 'prod'), 'staging', 'smoke'),
    );
    expect(error).toBeInstanceOf(CliError);
    expect(error.what).toBe('smoke: unknown environment "staging"');
    expect(error.why).toBe(
      'copilot/environments/ has test, prod; a new environment needs copilot/environments/staging/manifest.yml first (README: Another environment)',
    );
    expect(error.next).toBe('npx zx scripts/smoke.ts --env test');
    expect(error.exitCode).toBe(2);
  });

  it('says copilot/environments/ has none when the workspace has no environment yet', async () => {
    // Services initialised before `copilot env init` (manifests.ts environmentNames).
    const none = withEnvironments();
    const unknown = await refusal(() => requireEnvironment(none, 'test', 'deploy'));
    expect(unknown.why).toBe(
      'copilot/environments/ has none; a new environment needs copilot/environments/test/manifest.yml first (README: Another environment)',
    );
    expect(unknown.next).toBe('npx zx scripts/deploy.ts --env <name>');
    const missing = await refusal(() => requireEnvironment(none, undefined, 'deploy'));
    expect(missing.what).toBe('deploy: no environment given');
    expect(missing.why).toBe('copilot/environments/ has none');
    expect(missing.next).toBe('npx zx scripts/deploy.ts --env <name>');
  });
});

describe('workspaceOrExit', () => {
  it("returns the repository's workspace when its manifests are valid", () => {
    expect(workspaceOrExit('deploy')).toEqual(loadWorkspace());
  });

  it('says which manifest is invalid and exits 2, naming the command to re-run', () => {
    const output = captureOutput();
    const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${String(code)}`);
    });
    manifests.failure = new ManifestError('copilot/book-service/manifest.yml: field count: bad');
    expect(() => workspaceOrExit('destroy')).toThrow('exit 2');
    expect(exit).toHaveBeenCalledTimes(1);
    expect(output.stderr()).toBe(
      'destroy: the Copilot manifests are invalid: copilot/book-service/manifest.yml: field count: bad\n' +
        'next: fix the file named above, then re-run npx zx scripts/destroy.ts\n',
    );
    expect(output.stdout()).toBe('');
  });
});

describe('waitUntil', () => {
  /** A wait on a clock of the test's own: pauses move it, polls answer from `answers`. */
  function scripted(answers: ({ done: true; value: string } | { done: false; state: string })[]) {
    let clock = 0;
    const pauses: number[] = [];
    const polledAt: number[] = [];
    const states: string[] = [];
    const options = {
      what: 'stack bookstore-test-book-service',
      now: () => clock,
      sleep: async (ms: number) => {
        pauses.push(ms);
        clock += ms;
      },
      onState: (s: string) => states.push(s),
      poll: async () => {
        polledAt.push(clock);
        const answer = answers.shift();
        if (!answer) throw new Error('polled once too often');
        return answer;
      },
    };
    return { options, pauses, polledAt, states };
  }
  const busy = (state: string) => ({ done: false as const, state });

  it('backs off 2 s, doubling up to 15 s, by default, on the real timers', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout'] });
    const start = Date.now();
    const polledAt: number[] = [];
    const waiting = waitUntil({
      what: 'the ECS service',
      timeoutMs: 60 * 60_000,
      poll: async () => {
        polledAt.push(Date.now() - start);
        return polledAt.length === 7 ? { done: true, value: 'steady' } : busy('IN_PROGRESS');
      },
    });
    await vi.runAllTimersAsync();
    expect(await waiting).toBe('steady');
    expect(polledAt).toEqual([0, 2_000, 6_000, 14_000, 29_000, 44_000, 59_000]);
  });

  it('polls once more at the deadline, then ends naming what it awaited and its last state', async () => {
    vi.useFakeTimers({ toFake: ['Date', 'setTimeout'] });
    const start = Date.now();
    const polledAt: number[] = [];
    const waiting = waitUntil({
      what: 'stack bookstore-test-book-service',
      timeoutMs: 10_000,
      poll: async () => {
        polledAt.push(Date.now() - start);
        return busy(polledAt.length < 3 ? 'CREATE_IN_PROGRESS' : 'UPDATE_IN_PROGRESS');
      },
    }).catch((error: unknown) => error);
    await vi.runAllTimersAsync();
    const error = await waiting;
    expect(polledAt).toEqual([0, 2_000, 6_000, 10_000]);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(error).toMatchObject({
      name: 'WaitTimeoutError',
      what: 'stack bookstore-test-book-service',
      lastState: 'UPDATE_IN_PROGRESS',
      timeoutMs: 10_000,
      message:
        'stack bookstore-test-book-service did not finish within 10 s (last state: UPDATE_IN_PROGRESS)',
    });
  });

  it('takes a success at the last poll, and never pauses past the deadline', async () => {
    const w = scripted([busy('A'), busy('A'), { done: true, value: 'ready' }]);
    const value = await waitUntil({ ...w.options, timeoutMs: 5_000 });
    expect(value).toBe('ready');
    expect(w.pauses).toEqual([2_000, 3_000]);
    expect(w.polledAt).toEqual([0, 2_000, 5_000]);
  });

  it('ends without a pause when the poll itself took it to the deadline', async () => {
    let clock = 0;
    const pauses: number[] = [];
    const error = await waitUntil({
      what: 'change set',
      timeoutMs: 1_000,
      now: () => clock,
      sleep: async (ms) => void pauses.push(ms),
      poll: async () => {
        clock += 1_000;
        return busy('CREATE_PENDING');
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WaitTimeoutError);
    expect(pauses).toEqual([]);
  });

  it('returns at once when the first poll is done, with no pause and no state', async () => {
    const w = scripted([{ done: true, value: 'there' }]);
    expect(await waitUntil({ ...w.options, timeoutMs: 1_000 })).toBe('there');
    expect(w.pauses).toEqual([]);
    expect(w.states).toEqual([]);
  });

  it('reports each change of state once, the first whatever it says', async () => {
    const w = scripted([
      busy(''),
      busy('A'),
      busy('A'),
      busy('B'),
      busy('A'),
      { done: true, value: 'x' },
    ]);
    await waitUntil({ ...w.options, timeoutMs: 60_000 });
    expect(w.states).toEqual(['', 'A', 'B', 'A']);
  });

  it('waits without onState, and passes on a failed poll at once', async () => {
    const w = scripted([busy('A')]);
    const { onState: _, ...quiet } = w.options;
    const failure = new Error('AccessDenied');
    let polls = 0;
    const error = await waitUntil({
      ...quiet,
      timeoutMs: 60_000,
      poll: async () => {
        polls += 1;
        if (polls === 2) throw failure;
        return busy('A');
      },
    }).catch((e: unknown) => e);
    expect(error).toBe(failure);
    expect(polls).toBe(2);
  });
});

describe('sleep', () => {
  it('resolves after the given time on the timers', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    let done = false;
    const slept = sleep(1_000).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await slept;
    expect(done).toBe(true);
  });
});

describe('formatDuration', () => {
  it('words a bound in ms below a second, in seconds below two minutes, else in minutes', () => {
    expect(formatDuration(100)).toBe('100 ms');
    expect(formatDuration(999)).toBe('999 ms');
    expect(formatDuration(1_000)).toBe('1 s');
    expect(formatDuration(30_001)).toBe('30 s');
    expect(formatDuration(90_000)).toBe('90 s');
    expect(formatDuration(119_000)).toBe('119 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(30 * 60_000)).toBe('30 min');
  });

  it('keeps a fraction of the bound the user gave (--timeout 2.5 is 2.5 min, not 3)', () => {
    expect(formatDuration(2.5 * 60_000)).toBe('2.5 min');
    expect(formatDuration(1_500)).toBe('1.5 s');
    // --timeout 0.01001: whole milliseconds, not 600.6 ms.
    expect(formatDuration(0.01001 * 60_000)).toBe('601 ms');
  });
});
