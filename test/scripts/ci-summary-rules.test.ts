// What the deploy workflow's steps get from scripts/ci-summary.ts, run in this process (the
// script runs its command line when loaded, so each test loads it afresh with its own argv):
// `outputs` prints the step outputs for $GITHUB_OUTPUT as `name=value` lines ("Setting an output
// parameter", GitHub Actions' workflow commands: a multiline value needs a delimiter, so such a
// value is left out), `section` prints Markdown for $GITHUB_STEP_SUMMARY; usage errors exit 2.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { captureOutput } from '../helpers/output.ts';
import { scratchFolders } from '../helpers/scratch.ts';

const scratch = scratchFolders('ci-summary');

afterEach(() => {
  vi.restoreAllMocks();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `node scripts/ci-summary.ts ...args`, in this process. */
async function ciSummary(...args: string[]): Promise<Run> {
  const { argv, exitCode } = process;
  const captured = captureOutput();
  process.argv = [argv[0] ?? 'node', 'scripts/ci-summary.ts', ...args];
  try {
    vi.resetModules();
    await import('../../scripts/ci-summary.ts');
    return {
      code: Number(process.exitCode ?? 0),
      stdout: captured.stdout(),
      stderr: captured.stderr(),
    };
  } finally {
    process.argv = argv;
    process.exitCode = exitCode;
    vi.restoreAllMocks();
  }
}

/** A file holding `text`, in a scratch folder. */
function file(text: string): string {
  const folder = scratch();
  folder.write('report', text);
  return `${folder.root}/report`;
}

const HELP = 'next: npx zx scripts/ci-summary.ts --help\n';

describe('outputs', () => {
  it("prints the report's app, env and API URL as name=value lines, in that order", async () => {
    const report = file(
      JSON.stringify({
        apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        env: 'test',
        app: 'demo',
        stacks: { 'demo-test': 'deployed' },
      }),
    );
    expect(await ciSummary('outputs', report)).toEqual({
      code: 0,
      stdout: 'app=demo\nenv=test\nurl=https://abc123.execute-api.eu-west-1.amazonaws.com\n',
      stderr: '',
    });
  });

  it('leaves out a value that is missing, empty, not a string or on several lines', async () => {
    const report = file(JSON.stringify({ app: 'demo', env: '', apiUrl: 'https://a\nb=c' }));
    expect((await ciSummary('outputs', report)).stdout).toBe('app=demo\n');
    const other = file(JSON.stringify({ app: 7, env: 'test' }));
    expect((await ciSummary('outputs', other)).stdout).toBe('env=test\n');
  });

  it('refuses a file that is not a JSON object, with exit code 2', async () => {
    for (const text of ['deployed', '[{"app":"demo"}]', 'null', '3', '"demo"', '']) {
      const report = file(text);
      expect(await ciSummary('outputs', report)).toEqual({
        code: 2,
        stdout: '',
        stderr: `ci-summary: ${report} is not a JSON report: expected the output of a script run with --json\n`,
      });
    }
  });

  it('without a file names what is missing, with exit code 2', async () => {
    expect(await ciSummary('outputs')).toEqual({
      code: 2,
      stdout: '',
      stderr: `ci-summary: missing file: name the report to read\n${HELP}`,
    });
  });
});

describe('section', () => {
  it("lists a deploy plan's steps under its title, numbered", async () => {
    const plan = file(
      JSON.stringify({
        app: 'demo',
        env: 'test',
        plan: [
          { step: 'preview', description: 'Render what Copilot would deploy' },
          { step: 'env', description: 'Deploy the environment' },
        ],
      }),
    );
    expect(await ciSummary('section', 'Deploy plan', plan)).toEqual({
      code: 0,
      stdout: [
        '### Deploy plan',
        '',
        'demo/test:',
        '',
        '1. `[preview]` Render what Copilot would deploy',
        '2. `[env]` Deploy the environment',
        '',
      ].join('\n'),
      stderr: '',
    });
  });

  it("shows a deploy result's API URL, then its stacks as a table", async () => {
    const result = file(
      JSON.stringify({
        app: 'demo',
        env: 'test',
        apiUrl: 'https://abc123.execute-api.eu-west-1.amazonaws.com',
        stacks: { 'demo-test': 'deployed', 'demo-test-api': 'no changes' },
      }),
    );
    expect((await ciSummary('section', 'Deployed', result)).stdout).toBe(
      [
        '### Deployed',
        '',
        'API: https://abc123.execute-api.eu-west-1.amazonaws.com',
        '',
        '| stack | result |',
        '| --- | --- |',
        '| demo-test | deployed |',
        '| demo-test-api | no changes |',
        '',
      ].join('\n'),
    );
  });

  it('shows the stacks alone when the result has no API URL', async () => {
    const result = file(JSON.stringify({ app: 'demo', env: 'test', stacks: {} }));
    expect((await ciSummary('section', 'Deployed', result)).stdout).toBe(
      '### Deployed\n\n| stack | result |\n| --- | --- |\n',
    );
  });

  it('shows any other text as a code block, trailing blank lines dropped', async () => {
    const smoke = file('  ok GET /orders 200\nok GET /users 200\n\n\n');
    expect((await ciSummary('section', 'Smoke test', smoke)).stdout).toBe(
      '### Smoke test\n\n```\n  ok GET /orders 200\nok GET /users 200\n```\n',
    );
    const json = file('{"checks":[]}\n');
    expect((await ciSummary('section', 'Smoke test', json)).stdout).toBe(
      '### Smoke test\n\n```\n{"checks":[]}\n```\n',
    );
  });

  it('fences text that holds a code fence with tildes, so the fence does not close early', async () => {
    const diagnosis = file('see:\n```\nnpm start\n```\n');
    expect((await ciSummary('section', 'Diagnosis', diagnosis)).stdout).toBe(
      '### Diagnosis\n\n~~~~\nsee:\n```\nnpm start\n```\n~~~~\n',
    );
  });

  it('says so when the file is empty', async () => {
    const empty = file(' \n\n');
    expect((await ciSummary('section', 'Smoke test', empty)).stdout).toBe(
      '### Smoke test\n\n```\n(no output)\n```\n',
    );
  });

  it('without a file names what is missing, with exit code 2', async () => {
    expect(await ciSummary('section', 'Smoke test')).toEqual({
      code: 2,
      stdout: '',
      stderr: `ci-summary: missing file: name the report to read\n${HELP}`,
    });
  });

  it('without a title says the title is missing, not that the mode is unknown', async () => {
    expect(await ciSummary('section')).toEqual({
      code: 2,
      stdout: '',
      stderr: `ci-summary: missing title: name the section, then its file\n${HELP}`,
    });
  });

  it('fails with the reason when the file cannot be read', async () => {
    const folder = scratch();
    const run = await ciSummary('section', 'Smoke test', `${folder.root}/absent.txt`);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('ENOENT');
  });
});

describe('the command line', () => {
  it('refuses an unknown mode, or none, with exit code 2', async () => {
    expect(await ciSummary('summary', 'x')).toEqual({
      code: 2,
      stdout: '',
      stderr: `ci-summary: unknown mode summary: expected outputs or section\n${HELP}`,
    });
    expect((await ciSummary()).stderr).toBe(
      `ci-summary: unknown mode (none): expected outputs or section\n${HELP}`,
    );
  });

  it('documents both modes in --help', async () => {
    expect(await ciSummary('--help')).toEqual({
      code: 0,
      stdout: [
        'usage: npx zx scripts/ci-summary.ts [flags] [outputs|section ... ...]',
        '',
        'Format a script report for a GitHub Actions step: outputs or summary Markdown.',
        '',
        'usage: npx zx scripts/ci-summary.ts outputs <report.json>',
        '       npx zx scripts/ci-summary.ts section <title> <report.json|text file>',
        '',
        'flags:',
        '  [outputs|section ... ...]  What to print, then its file(s)',
        '  -h, --help                 Show this help and exit',
        '',
      ].join('\n'),
      stderr: '',
    });
  });
});
