// What `npm run lint` makes of the CloudFormation templates, in this process: which files it
// validates, how cfn-lint's JSON report is read and each finding worded, what happens when
// cfn-lint is absent or says something else than a report, which cfn-guard exceptions apply to
// a template, and how both tools' findings become the run's problems. cfn-lint and cfn-guard
// themselves are stand-ins here (their real runs: validate.slow.test.ts and
// deploy-role-tools.slow.test.ts); the cfn-lint reports below are what cfn-lint 1.51.0 printed
// for such templates.
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { GuardInstall } from '../../scripts/checks/cfn-guard.ts';
import type { RunResult } from '../../scripts/cli/process.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { loadTemplate } from '../../scripts/workspace/template.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { errorOf } from '../helpers/thrown.ts';

const runProcessSync = vi.hoisted(() => vi.fn<(bin: string, args: string[]) => RunResult>());
vi.mock('../../scripts/cli/process.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runProcessSync,
}));
// cfn-guard's own install and verdicts are cfn-guard-rules.test.ts's; here they are given.
const guard = vi.hoisted(() => ({
  ensureCfnGuard: vi.fn<() => GuardInstall>(),
  guardTemplate: vi.fn(),
}));
vi.mock('../../scripts/checks/cfn-guard.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  ...guard,
}));

// Test files share their worker's modules (isolate: false): one run before this file may have
// loaded the module with the real runner, so it is loaded afresh, with the stand-ins; and the
// next file gets the real modules back.
vi.resetModules();
const {
  CfnLintMissingError,
  cfnLintVersion,
  guardExceptionsFor,
  lintTemplate,
  repositoryTemplates,
  validateTemplates,
} = await import('../../scripts/checks/templates.ts');
afterAll(() => {
  vi.doUnmock('../../scripts/cli/process.ts');
  vi.doUnmock('../../scripts/checks/cfn-guard.ts');
  vi.resetModules();
});

const scratch = scratchFolders('templates-rules');

afterEach(() => {
  runProcessSync.mockReset();
  guard.ensureCfnGuard.mockReset();
  guard.guardTemplate.mockReset();
  vi.restoreAllMocks();
});

const result = (code: number, stdout: string, stderr = ''): RunResult => ({
  code,
  stdout,
  stderr,
});

/** A cfn-lint JSON match as cfn-lint 1.51.0 prints it (fields the module does not read too). */
function match(level: string, id: string, message: string, line: number) {
  return {
    Filename: 'template.yml',
    Id: '963aa5e0-22c5-2fa0-7ad0-1bb7ead9fdb3',
    Level: level,
    Location: {
      End: { ColumnNumber: 11, LineNumber: line },
      Path: ['Resources', 'Bucket'],
      Start: { ColumnNumber: 7, LineNumber: line },
    },
    Message: message,
    ParentId: null,
    Rule: {
      Description: 'a rule',
      Id: id,
      ShortDescription: 'a rule',
      Source: 'https://github.com/aws-cloudformation/cfn-lint',
    },
  };
}

const UNUSED = match('Warning', 'W2001', 'Parameter Unused not used.', 3);
const UNEXPECTED = match(
  'Error',
  'E3002',
  "Additional properties are not allowed ('Nope' was unexpected)",
  9,
);
/** cfn-lint's exit code is a bitmask: 2 errors, 4 warnings. */
const ERRORS_AND_WARNINGS = 6;

/** cfn-lint reporting `matches` for every file it is given. */
function cfnLintSays(matches: object[], code = matches.length > 0 ? 2 : 0): void {
  runProcessSync.mockImplementation((bin) => {
    if (bin !== 'cfn-lint') throw new Error(`unexpected process ${bin}`);
    return result(code, JSON.stringify(matches, null, 4));
  });
}

function cfnLintMissing(): void {
  runProcessSync.mockReturnValue(result(127, '', 'sh: 1: cfn-lint: not found'));
}

describe('cfnLintVersion', () => {
  it('is what cfn-lint --version prints, without its newline', () => {
    runProcessSync.mockReturnValue(result(0, 'cfn-lint 1.51.0\n'));
    expect(cfnLintVersion()).toBe('cfn-lint 1.51.0');
    expect(runProcessSync).toHaveBeenCalledWith('cfn-lint', ['--version']);
  });

  it('is undefined when cfn-lint is not installed (the shell cannot find it)', () => {
    cfnLintMissing();
    expect(cfnLintVersion()).toBeUndefined();
  });

  it('lets any other failure to run it through', () => {
    runProcessSync.mockImplementation(() => {
      throw new Error('spawnSync /bin/sh ENOMEM');
    });
    expect(() => cfnLintVersion()).toThrow('spawnSync /bin/sh ENOMEM');
  });
});

describe('lintTemplate', () => {
  it("reads each of cfn-lint's matches: level, rule, message, first line", () => {
    cfnLintSays([UNUSED, UNEXPECTED], ERRORS_AND_WARNINGS);
    expect(lintTemplate('/repo/addons/bucket.yml')).toEqual([
      { level: 'Warning', rule: 'W2001', message: 'Parameter Unused not used.', line: 3 },
      {
        level: 'Error',
        rule: 'E3002',
        message: "Additional properties are not allowed ('Nope' was unexpected)",
        line: 9,
      },
    ]);
  });

  it('asks for the JSON report, the file after -- so no file name reads as an option', () => {
    cfnLintSays([]);
    expect(lintTemplate('-odd.yml')).toEqual([]);
    expect(runProcessSync).toHaveBeenCalledWith('cfn-lint', ['--format', 'json', '--', '-odd.yml']);
    expect(runProcessSync).toHaveBeenCalledTimes(1);
  });

  it('reads a template cfn-lint cannot parse as its E0000 finding, not as a failure to run', () => {
    cfnLintSays([match('Error', 'E0000', 'did not find expected node content', 2)]);
    expect(lintTemplate('broken.yml')).toEqual([
      { level: 'Error', rule: 'E0000', message: 'did not find expected node content', line: 2 },
    ]);
  });

  it('says how to install cfn-lint when it is not installed', () => {
    cfnLintMissing();
    const error = errorOf(() => lintTemplate('addons/http-api.yml'));
    expect(error).toBeInstanceOf(CfnLintMissingError);
    expect(error.name).toBe('CfnLintMissingError');
    expect(error.message).toBe(
      'cannot run cfn-lint: it is not installed (a Python tool: pip install cfn-lint)',
    );
    expect((error as InstanceType<typeof CfnLintMissingError>).nextCommand).toBe(
      'pip install cfn-lint && npx node scripts/validate-templates.ts',
    );
  });

  it('quotes what cfn-lint said on stderr when it printed no report', () => {
    runProcessSync.mockReturnValue(
      result(2, '', '  cfn-lint: error: unrecognized arguments: --bogus\n'),
    );
    expect(() => lintTemplate('addons/http-api.yml')).toThrow(
      new Error(
        'cfn-lint could not lint addons/http-api.yml: cfn-lint: error: unrecognized arguments: --bogus',
      ),
    );
  });

  it('quotes its stdout when stderr is empty', () => {
    runProcessSync.mockReturnValue(result(1, 'Traceback: something broke', '  \n'));
    expect(() => lintTemplate('iam/role.yml')).toThrow(
      new Error('cfn-lint could not lint iam/role.yml: Traceback: something broke'),
    );
  });
});

describe('repositoryTemplates', () => {
  it("is every .yml and .yaml file of addons/ then iam/, each folder's sorted by name", () => {
    const repo = scratch();
    for (const name of ['zeta.yml', 'alpha.yaml', 'mid.yml', 'beta.yml', 'README.md']) {
      repo.write(`addons/${name}`, 'Resources: {}\n');
    }
    repo.write('addons/params.json', '{}');
    repo.write('addons/notes.yml.bak', '');
    repo.write('iam/role.yml', 'Resources: {}\n');
    repo.write('iam/a-policy.yaml', 'Resources: {}\n');
    repo.write('copilot/api/manifest.yml', 'name: api\n');
    const at = (relative: string) => path.join(repo.root, relative);
    expect(repositoryTemplates(repo.root)).toEqual([
      at('addons/alpha.yaml'),
      at('addons/beta.yml'),
      at('addons/mid.yml'),
      at('addons/zeta.yml'),
      at('iam/a-policy.yaml'),
      at('iam/role.yml'),
    ]);
  });

  it("is, by default, the repository's own addons and deploy role", () => {
    const templates = repositoryTemplates();
    expect(templates).toContain(path.join(repoRoot, 'addons', 'http-api.yml'));
    expect(templates).toContain(path.join(repoRoot, 'iam', 'github-deploy-role.yml'));
    for (const file of templates) {
      expect(['addons', 'iam']).toContain(path.basename(path.dirname(file)));
    }
  });
});

describe('guardExceptionsFor', () => {
  it('is each control policy/exceptions.yml excepts for that template, with the reason', () => {
    const repo = scratch();
    repo.write(
      'policy/exceptions.yml',
      [
        'templates:',
        '  - template: addons/a.yml',
        '    control: CT.S3.PR.1',
        '    reason: The bucket is public on purpose for the catalog.',
        '  - template: addons/b.yml',
        '    control: CT.S3.PR.2',
        '    reason: Another template entirely, not the one asked.',
        '  - template: addons/a.yml',
        '    control: CT.LAMBDA.PR.2',
        '    reason: The function is invoked by the API only.',
        '',
      ].join('\n'),
    );
    expect(guardExceptionsFor('addons/a.yml', repo.root)).toEqual(
      new Map([
        ['CT.S3.PR.1', 'The bucket is public on purpose for the catalog.'],
        ['CT.LAMBDA.PR.2', 'The function is invoked by the API only.'],
      ]),
    );
    expect(guardExceptionsFor('addons/c.yml', repo.root)).toEqual(new Map());
  });

  it("reads the repository's own exceptions by default", () => {
    const exceptions = guardExceptionsFor('addons/http-api.yml');
    expect(exceptions.get('CT.APIGATEWAY.PR.5')).toMatch(/Public read-only catalog/);
  });
});

describe('validateTemplates', () => {
  const INSTALL: GuardInstall = {
    packageDir: '/cache/cfn-guard/package',
    binary: '/cache/cfn-guard/package/bin/ubuntu/x86_64/cfn-guard',
    rulesDir: '/cache/cfn-guard/package/rules/control-tower/cfn-guard',
    metadataDir: '/cache/cfn-guard/package/rules/control-tower/metadata',
    guardVersion: '3.1.1',
  };
  const PASS_ROW = { control: 'CT.S3.PR.1', status: 'PASS', reason: 'S3: Bucket', relevant: true };

  function template(name: string) {
    const repo = scratch();
    repo.write(name, 'Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n');
    const file = path.join(repo.root, name);
    return { file, relative: path.relative(repoRoot, file) };
  }

  function logged(): () => string[] {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    return () => log.mock.calls.map((args) => args.join(' '));
  }

  it('is no problem for a template both tools pass, after saying so per tool', () => {
    const { file, relative } = template('addons/clean.yml');
    const lines = logged();
    cfnLintSays([]);
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    guard.guardTemplate.mockReturnValue({ rows: [PASS_ROW], problems: [] });
    expect(validateTemplates([file])).toEqual([]);
    expect(lines()).toEqual([
      `\n== ${relative}`,
      'cfn-lint: 0 errors, 0 warnings',
      'cfn-guard 3.1.1, AWS Control Tower rules from @cdklabs/cdk-validator-cfnguard@0.0.62:',
      [
        'CONTROL     STATUS     REASON',
        'CT.S3.PR.1  PASS       S3: Bucket',
        '(0 more controls SKIP: the template has none of the resource types they evaluate)',
      ].join('\n'),
    ]);
  });

  it("words each finding with the template's path, cfn-lint's line and rule first", () => {
    const { file, relative } = template('addons/bucket.yml');
    const lines = logged();
    cfnLintSays([UNUSED, UNEXPECTED, match('Error', 'E1001', 'Top level item Nope', 1)]);
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    guard.guardTemplate.mockReturnValue({
      rows: [{ ...PASS_ROW, status: 'FAIL', reason: 'S3: Bucket' }],
      problems: ['CT.S3.PR.1 fails with no recorded exception: S3: Bucket'],
    });
    expect(validateTemplates([file])).toEqual([
      `${relative}:3: cfn-lint W2001 (Warning): Parameter Unused not used.`,
      `${relative}:9: cfn-lint E3002 (Error): Additional properties are not allowed ('Nope' was unexpected)`,
      `${relative}:1: cfn-lint E1001 (Error): Top level item Nope`,
      `${relative}: cfn-guard CT.S3.PR.1 fails with no recorded exception: S3: Bucket`,
    ]);
    expect(lines()).toContain('cfn-lint: 2 errors, 1 warnings');
  });

  it('counts informational findings when a cfn-lint config includes them, as problems too', () => {
    const { file, relative } = template('addons/join.yml');
    const lines = logged();
    cfnLintSays([match('Informational', 'I1022', 'Prefer using Fn::Sub over Fn::Join', 6)]);
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    guard.guardTemplate.mockReturnValue({ rows: [PASS_ROW], problems: [] });
    expect(validateTemplates([file])).toEqual([
      `${relative}:6: cfn-lint I1022 (Informational): Prefer using Fn::Sub over Fn::Join`,
    ]);
    expect(lines()).toContain('cfn-lint: 0 errors, 0 warnings, 1 informational');
  });

  it('runs guard on the template as loaded, with its exceptions, from one install', () => {
    const httpApi = path.join(repoRoot, 'addons', 'http-api.yml');
    const { file } = template('iam/role.yml');
    logged();
    cfnLintSays([]);
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    guard.guardTemplate.mockReturnValue({ rows: [], problems: [] });
    expect(validateTemplates([httpApi, file])).toEqual([]);
    expect(guard.ensureCfnGuard).toHaveBeenCalledTimes(1);
    expect(guard.guardTemplate.mock.calls).toEqual([
      [httpApi, loadTemplate(httpApi), guardExceptionsFor('addons/http-api.yml'), INSTALL],
      [file, loadTemplate(file), new Map(), INSTALL],
    ]);
    expect(guardExceptionsFor('addons/http-api.yml').size).toBeGreaterThan(0);
  });

  it("gives each template's problems in the order the templates were given", () => {
    const first = template('addons/one.yml');
    const second = template('addons/two.yml');
    const lines = logged();
    cfnLintSays([UNUSED], 4);
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    guard.guardTemplate.mockImplementation((file: string) => ({
      rows: [],
      problems: [`CT.X: stale exception in ${path.basename(file)}`],
    }));
    expect(validateTemplates([second.file, first.file])).toEqual([
      `${second.relative}:3: cfn-lint W2001 (Warning): Parameter Unused not used.`,
      `${second.relative}: cfn-guard CT.X: stale exception in two.yml`,
      `${first.relative}:3: cfn-lint W2001 (Warning): Parameter Unused not used.`,
      `${first.relative}: cfn-guard CT.X: stale exception in one.yml`,
    ]);
    expect(lines().filter((line) => line.startsWith('\n== '))).toEqual([
      `\n== ${second.relative}`,
      `\n== ${first.relative}`,
    ]);
    expect(lines()).toContain('cfn-lint: 0 errors, 1 warnings');
  });

  it("validates the repository's templates when given none", () => {
    logged();
    cfnLintSays([]);
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    guard.guardTemplate.mockReturnValue({ rows: [], problems: [] });
    expect(validateTemplates()).toEqual([]);
    const linted = runProcessSync.mock.calls.map(([, args]) => args.at(-1));
    expect(linted).toEqual(repositoryTemplates());
    expect(linted.length).toBeGreaterThan(0);
  });

  it('stops with the install hint when cfn-lint is not installed', () => {
    const { file } = template('addons/any.yml');
    logged();
    cfnLintMissing();
    guard.ensureCfnGuard.mockReturnValue(INSTALL);
    expect(() => validateTemplates([file])).toThrow(CfnLintMissingError);
    expect(guard.guardTemplate).not.toHaveBeenCalled();
  });
});
