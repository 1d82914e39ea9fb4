// What every script's user meets through scripts/cli/command.ts, driven in this process (units.test.ts
// has the common cases): runCommand's one exit path (help to stdout, the exit code, every failure
// on stderr as "what: why" and the next command), the whole --help page, list flags, numbers at
// their minimum, positionals, the AWS failures a user can act on, and the small parsers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  awsFailureKind,
  CliError,
  commandLabel,
  commandName,
  formatError,
  helpText,
  nameValues,
  nextCommand,
  output,
  parseFlags,
  runCommand,
  scriptArgs,
} from '../../scripts/cli/command.ts';
import { captureOutput } from '../helpers/output.ts';

const spec = {
  name: 'demo',
  summary: 'A demo.',
  details: 'Steps:\n  1. plan\n  2. apply\n\n',
  flags: {
    app: { type: 'string', default: 'bookstore', description: 'App' },
    dryRun: { type: 'boolean', description: 'Plan only' },
    parameter: { type: 'list', valueName: 'Name=Value', description: 'A parameter' },
    retries: { type: 'number', default: 3, min: 1, description: 'Tries' },
  },
  positionals: { valueName: 'file', description: 'Files to check' },
} as const;

/** What runCommand wrote to stdout and stderr, and its exit code. */
async function run(
  argv: string[],
  main: Parameters<typeof runCommand<typeof spec.flags>>[1] = () => 0,
  command: Parameters<typeof runCommand<typeof spec.flags>>[0] = spec,
) {
  const output = captureOutput();
  const code = await runCommand(command, main, argv);
  vi.restoreAllMocks();
  return { code, stdout: output.stdout(), stderr: output.stderr() };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('runCommand', () => {
  it('prints the help page to stdout and runs nothing', async () => {
    const main = vi.fn(() => 0);
    const result = await run(['--retries', '0', '-h'], main);
    expect(result).toEqual({ code: 0, stdout: helpText(spec), stderr: '' });
    expect(main).not.toHaveBeenCalled();
  });

  it("passes the typed flags and the positionals to main, and returns main's exit code", async () => {
    const main = vi.fn(() => 4);
    const result = await run(['--parameter', 'A=1', 'one.yml', '--parameter=B=2', 'two.yml'], main);
    expect(result).toEqual({ code: 4, stdout: '', stderr: '' });
    expect(main).toHaveBeenCalledWith(
      { app: 'bookstore', dryRun: false, parameter: ['A=1', 'B=2'], retries: 3 },
      ['one.yml', 'two.yml'],
    );
  });

  it('exits 0 when main returns nothing, and gives main no positionals when the command takes none', async () => {
    const { positionals: _, ...noPositionals } = spec;
    const main = vi.fn(async () => undefined);
    expect((await run([], main, noPositionals)).code).toBe(0);
    expect(main).toHaveBeenCalledWith(expect.anything(), []);
    const refused = await run(['stray'], main, noPositionals);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^demo: invalid command line: .*'stray'/);
    expect(refused.stderr).toMatch(/\nnext: npx zx scripts\/demo\.ts --help\n$/);
  });

  it("reports a CliError as what, why and next on stderr, with the error's own exit code", async () => {
    const result = await run([], () => {
      throw new CliError('demo: the stack is busy', 'UPDATE_IN_PROGRESS', 'wait, then retry', 3);
    });
    expect(result).toEqual({
      code: 3,
      stdout: '',
      stderr: 'demo: the stack is busy: UPDATE_IN_PROGRESS\nnext: wait, then retry\n',
    });
  });

  it('reports any other failure as "<command> failed", exit 1, and points at --help', async () => {
    const thrown = await run([], () => {
      throw new Error('disk full');
    });
    expect(thrown).toEqual({
      code: 1,
      stdout: '',
      stderr: 'demo failed: disk full\nnext: npx zx scripts/demo.ts --help\n',
    });
    const rejected = await run([], () => Promise.reject('a string, not an Error'));
    expect(rejected.stderr).toBe(
      'demo failed: a string, not an Error\nnext: npx zx scripts/demo.ts --help\n',
    );
    const nothing = await run([], () => Promise.reject(undefined));
    expect(nothing).toEqual({
      code: 1,
      stdout: '',
      stderr: 'demo failed: undefined\nnext: npx zx scripts/demo.ts --help\n',
    });
    const noNext = await run([], () => {
      throw new CliError('demo: nothing to do', 'the stack is gone');
    });
    expect(noNext.stderr).toBe('demo: nothing to do: the stack is gone\n');
  });

  it('says what to do about an unreachable endpoint and a missing region (exit 2)', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), {
      code: 'ECONNREFUSED',
    });
    expect(await run([], () => Promise.reject(refused))).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'demo: cannot reach the AWS endpoint: connect ECONNREFUSED 127.0.0.1:5000\nnext: check your network, AWS_ENDPOINT_URL and --region\n',
    });
    expect(await run([], () => Promise.reject(new Error('Region is missing')))).toEqual({
      code: 2,
      stdout: '',
      stderr:
        'demo: no AWS region: Region is missing\nnext: npx zx scripts/demo.ts --region <region>   (or export AWS_REGION)\n',
    });
  });
});

describe('awsFailureKind', () => {
  const error = (message: string, fields: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), fields);

  it.each([
    ['a code', error('socket hang up', { code: 'ECONNRESET' }), 'network'],
    ["its cause's code", error('fetch failed', { cause: { code: 'ENOTFOUND' } }), 'network'],
    ["the SDK's timeout by name", error('timed out', { name: 'TimeoutError' }), 'network'],
    ['only its message', error('getaddrinfo EAI_AGAIN sts.amazonaws.com'), 'network'],
    [
      'an expired token',
      error('The security token has expired', { name: 'ExpiredToken' }),
      'credentials',
    ],
    ['an unknown key', error('invalid', { code: 'InvalidClientTokenId' }), 'credentials'],
    ['no region, in any case', error('region is MISSING'), 'region'],
    ['anything else', error('Stack does not exist', { name: 'ValidationError' }), 'other'],
    ['a thrown string', 'ECONNREFUSED', 'network'],
    ['undefined', undefined, 'other'],
  ])('knows a failure by %s', (_, thrown, kind) => {
    expect(awsFailureKind(thrown)).toBe(kind);
  });

  it('does not take a network word in the message of a credentials error for a network failure', () => {
    const expired = error('ECONNREFUSED in the text', { name: 'CredentialsProviderError' });
    expect(formatError(expired, 'demo')).toMatch(/^demo: AWS credentials are missing or invalid: /);
  });
});

describe('the help page', () => {
  it('lists the positionals, every flag with its value, default or repetition, and the details', () => {
    expect(helpText(spec)).toBe(
      [
        'usage: npx zx scripts/demo.ts [flags] [file ...]',
        '',
        'A demo.',
        '',
        'Steps:',
        '  1. plan',
        '  2. apply',
        '',
        'flags:',
        '  [file ...]                Files to check',
        '  --app <value>             App (default: bookstore)',
        '  --dry-run                 Plan only',
        '  --parameter <Name=Value>  A parameter (repeatable)',
        '  --retries <value>         Tries (default: 3)',
        '  -h, --help                Show this help and exit',
        '',
      ].join('\n'),
    );
  });

  it('has no details block, positionals or defaults a command does not have', () => {
    const bare = {
      name: 'demo',
      summary: 'A demo.',
      flags: { region: { type: 'string', description: 'Region' } },
    } as const;
    expect(helpText(bare)).toBe(
      [
        'usage: npx zx scripts/demo.ts [flags]',
        '',
        'A demo.',
        '',
        'flags:',
        '  --region <value>  Region',
        '  -h, --help        Show this help and exit',
        '',
      ].join('\n'),
    );
  });
});

describe('parseFlags', () => {
  const flagsOf = (argv: string[]) => {
    const parsed = parseFlags(spec, argv);
    if (parsed.help) throw new Error('help');
    return parsed.flags;
  };

  it('gives a list flag every value in order, and none as []', () => {
    expect(flagsOf([]).parameter).toEqual([]);
    expect(flagsOf(['--parameter', 'B=2', '--parameter', 'A=1']).parameter).toEqual(['B=2', 'A=1']);
  });

  it('takes a number at its minimum and refuses one below it, or one that is not a number', () => {
    expect(flagsOf(['--retries', '1']).retries).toBe(1);
    expect(() => flagsOf(['--retries', '0.5'])).toThrow(
      expect.objectContaining({
        what: 'demo: invalid --retries',
        why: '"0.5" is not a number >= 1',
        next: 'npx zx scripts/demo.ts --help',
        exitCode: 2,
      }),
    );
    const unbounded = {
      name: 'demo',
      summary: '',
      flags: { seconds: { type: 'number', default: 5, description: 'Seconds' } },
    } as const;
    expect(() => parseFlags(unbounded, ['--seconds', 'soon'])).toThrow(
      expect.objectContaining({ why: '"soon" is not a number' }),
    );
    expect(parseFlags(unbounded, ['--seconds=-1'])).toEqual({
      help: false,
      flags: { seconds: -1 },
    });
  });

  it('takes an empty string flag as not given: its default', () => {
    expect(flagsOf(['--app', '']).app).toBe('bookstore');
    expect(flagsOf(['--app=shop']).app).toBe('shop');
  });
});

describe('nameValues', () => {
  const fail = (why: string) => new Error(why);

  it('reads Name=Value pairs, the value taking any further = and possibly empty', () => {
    expect(nameValues('parameter', ['A=1', 'Url=https://x/?a=b', 'Empty='], fail)).toEqual({
      A: '1',
      Url: 'https://x/?a=b',
      Empty: '',
    });
    expect(nameValues('parameter', [], fail)).toEqual({});
  });

  it.each(['NoEquals', '=1'])('refuses %s, naming the flag and the entry', (entry) => {
    expect(() => nameValues('parameter', ['A=1', entry], fail)).toThrow(
      `--parameter "${entry}" must look like Name=Value`,
    );
  });
});

describe('names and arguments', () => {
  it('suggests the command itself when there is nothing to add', () => {
    expect(nextCommand('demo')).toBe('npx zx scripts/demo.ts');
  });

  it('names the script `npm start` runs as users know it, in hints and failures', async () => {
    expect(commandLabel('local')).toBe('npm start');
    expect(nextCommand('local', '--help')).toBe('npm start -- --help');
    expect(commandLabel('local-stack')).toBe('local-stack');
    const { stderr } = await run([], () => Promise.reject(new Error('port 8080 is in use')), {
      ...spec,
      name: 'local',
    });
    expect(stderr).toBe('npm start failed: port 8080 is in use\nnext: npm start -- --help\n');
  });

  it("strips only the file's own extension from a command's name", () => {
    expect(commandName('file:///r/scripts/deploy.mts')).toBe('deploy');
    expect(commandName('file:///r/scripts/deploy.cjs')).toBe('deploy');
    expect(commandName('file:///r/scripts/to.json.ts')).toBe('to.json');
  });

  it('finds its own script only, and takes everything after node and the script when it is not there', () => {
    expect(scriptArgs('deploy', ['node', 'zx', 'scripts/predeploy.ts', '--yes'])).toEqual([
      'scripts/predeploy.ts',
      '--yes',
    ]);
    expect(scriptArgs('deploy', ['node', 'scripts/deploy.ts', 'x', 'deploy.ts', 'y'])).toEqual([
      'x',
      'deploy.ts',
      'y',
    ]);
  });

  it('ends what it prints on stdout with exactly one newline', () => {
    const printed = captureOutput();
    output('\nbody');
    output('line\n');
    expect(printed.stdout()).toBe('\nbody\nline\n');
  });
});
