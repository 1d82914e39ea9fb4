// scripts/checks/cfn-guard.ts in this process: fetching and checking the pinned package, the
// binary chosen for the platform, reading the Control Tower controls, and turning cfn-guard's
// structured JSON into one verdict per control. The processes it starts (npm pack, tar,
// cfn-guard) are stood in for, so no test downloads or runs anything: the replies have the shape
// cfn-guard 3.1.1 prints (guard/src/rules/eval_context.rs, FileReport; the real binary is run by
// validate.slow.test.ts). Exit codes: guard/src/commands/mod.rs (19 failure, 5 error).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Control, GuardInstall } from '../../scripts/checks/cfn-guard.ts';
import type { RunResult } from '../../scripts/cli/process.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import type { CfnTemplate } from '../../scripts/workspace/template.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { errorOf } from '../helpers/thrown.ts';

const runProcessSync = vi.hoisted(() => vi.fn<(bin: string, args: string[]) => RunResult>());
vi.mock('../../scripts/cli/process.ts', async (importOriginal) => ({
  ...(await importOriginal<object>()),
  runProcessSync,
}));

// Test files share their worker's modules (isolate: false): one run before this file may have
// loaded the module with the real runner, so it is loaded afresh, with the stand-in.
vi.resetModules();
const { ensureCfnGuard, formatGuardTable, guardTemplate, judge } = await import(
  '../../scripts/checks/cfn-guard.ts'
);

const scratch = scratchFolders('cfn-guard-rules');

afterEach(() => {
  runProcessSync.mockReset();
  vi.restoreAllMocks();
});

function onPlatform(platform: string, arch: string): void {
  vi.spyOn(os, 'platform').mockReturnValue(platform as NodeJS.Platform);
  vi.spyOn(os, 'arch').mockReturnValue(arch as NodeJS.Architecture);
}

const ok = (stdout = ''): RunResult => ({ code: 0, stdout, stderr: '' });

// ---------------------------------------------------------------------------------------------
// The pinned package: npm pack, the integrity check, tar, the cache.

const TARBALL = Buffer.from('the bytes npm pack wrote');
const PINNED = {
  name: '@example/guard-rules',
  version: '1.2.3',
  integrity: `sha512-${createHash('sha512').update(TARBALL).digest('base64')}`,
};

/** What `npm pack --json` prints for the pinned spec, after writing the tarball. */
function npmPack(args: string[]): RunResult {
  const staging = args[args.indexOf('--pack-destination') + 1] ?? '';
  writeFileSync(path.join(staging, 'example-guard-rules-1.2.3.tgz'), TARBALL);
  return ok(JSON.stringify([{ name: PINNED.name, filename: 'example-guard-rules-1.2.3.tgz' }]));
}

/** Writes what the tarball holds (package/...) into `dir`, as tar -xzf -C dir would. */
function unpackInto(dir: string, guardVersion = '3.1.1'): void {
  const pkg = path.join(dir, 'package');
  for (const platform of ['ubuntu', 'macos']) {
    for (const arch of ['x86_64', 'aarch64']) {
      mkdirSync(path.join(pkg, 'bin', platform, arch), { recursive: true });
      writeFileSync(path.join(pkg, 'bin', platform, arch, 'cfn-guard'), '', { mode: 0o644 });
    }
  }
  writeFileSync(
    path.join(pkg, 'guard-version.json'),
    JSON.stringify({ release_id: 1, version: guardVersion }),
  );
}

/** npm pack and tar as they behave on a good download. */
function goodDownload(bin: string, args: string[]): RunResult {
  if (bin === 'npm') return npmPack(args);
  if (bin === 'tar') {
    unpackInto(args[args.indexOf('-C') + 1] ?? '');
    return ok();
  }
  throw new Error(`unexpected process ${bin}`);
}

function expectedInstall(packageDir: string, platformDir: string, guardVersion = '3.1.1') {
  return {
    packageDir,
    binary: path.join(packageDir, 'bin', platformDir, 'cfn-guard'),
    rulesDir: path.join(packageDir, 'rules', 'control-tower', 'cfn-guard'),
    metadataDir: path.join(packageDir, 'rules', 'control-tower', 'metadata'),
    guardVersion,
  };
}

describe('ensureCfnGuard', () => {
  it('serves a cached install without starting any process', () => {
    onPlatform('linux', 'x64');
    const cache = scratch();
    unpackInto(path.join(cache.root, '1.2.3'), '3.1.9');
    const install = ensureCfnGuard(cache.root, PINNED);
    expect(install).toEqual(
      expectedInstall(path.join(cache.root, '1.2.3', 'package'), 'ubuntu/x86_64', '3.1.9'),
    );
    expect(runProcessSync).not.toHaveBeenCalled();
  });

  it('downloads with npm pack into the cache, checks, unpacks and installs the package', () => {
    onPlatform('linux', 'x64');
    runProcessSync.mockImplementation(goodDownload);
    const cache = path.join(scratch().root, 'not', 'yet', 'made');
    const install = ensureCfnGuard(cache, PINNED);

    const [npm, tar] = runProcessSync.mock.calls;
    const staging = npm?.[1][4] ?? '';
    // A folder of the cache itself, so renaming it into place never crosses file systems.
    expect(path.dirname(staging)).toBe(cache);
    expect(npm).toEqual([
      'npm',
      ['pack', '@example/guard-rules@1.2.3', '--json', '--pack-destination', staging],
    ]);
    const tarball = path.join(staging, 'example-guard-rules-1.2.3.tgz');
    expect(tar).toEqual(['tar', ['-xzf', tarball, '-C', staging]]);
    expect(runProcessSync).toHaveBeenCalledTimes(2);

    const packageDir = path.join(cache, '1.2.3', 'package');
    expect(install).toEqual(expectedInstall(packageDir, 'ubuntu/x86_64'));
    // Only the version's folder remains; the tarball is not kept beside the package.
    expect(readdirSync(cache)).toEqual(['1.2.3']);
    expect(readdirSync(path.join(cache, '1.2.3'))).toEqual(['package']);
    expect(statSync(install.binary).mode & 0o777).toBe(0o755);
  });

  it('refuses a tarball whose integrity is not the pinned one, before unpacking it', () => {
    runProcessSync.mockImplementation(goodDownload);
    const cache = scratch().root;
    const tampered = { ...PINNED, integrity: 'sha512-notTheRegistryOne' };
    const error = errorOf(() => ensureCfnGuard(cache, tampered));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(
      `refusing @example/guard-rules@1.2.3: its tarball's integrity ${PINNED.integrity} is not the pinned sha512-notTheRegistryOne`,
    );
    expect(runProcessSync.mock.calls.map(([bin]) => bin)).toEqual(['npm']);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('says the download failed, with npm exit code and its stderr, leaving nothing', () => {
    runProcessSync.mockReturnValue({
      code: 1,
      stdout: '',
      stderr: 'npm error code E404\nnpm error 404 Not Found\n',
    });
    const cache = scratch().root;
    const error = errorOf(() => ensureCfnGuard(cache, PINNED));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(
      'cannot download @example/guard-rules@1.2.3 from the npm registry: npm exited 1: npm error code E404\nnpm error 404 Not Found',
    );
    expect(readdirSync(cache)).toEqual([]);
  });

  it('says the tarball could not be unpacked, with tar exit code and its stderr', () => {
    runProcessSync.mockImplementation((bin, args) =>
      bin === 'npm' ? npmPack(args) : { code: 2, stdout: '', stderr: 'tar: Unexpected EOF\n' },
    );
    const cache = scratch().root;
    const error = errorOf(() => ensureCfnGuard(cache, PINNED));
    const staging = runProcessSync.mock.calls[0]?.[1][4] ?? '';
    const tarball = path.join(staging, 'example-guard-rules-1.2.3.tgz');
    expect(error.message).toBe(`cannot unpack ${tarball}: tar exited 2: tar: Unexpected EOF`);
    expect(readdirSync(cache)).toEqual([]);
  });

  it('downloads again over a package folder without guard-version.json', () => {
    runProcessSync.mockReturnValue({ code: 1, stdout: '', stderr: 'npm error 404 Not Found\n' });
    const cache = scratch();
    cache.write('1.2.3/package/bin/ubuntu/x86_64/cfn-guard', '');
    const error = errorOf(() => ensureCfnGuard(cache.root, PINNED));
    expect(error.message).toBe(
      'cannot download @example/guard-rules@1.2.3 from the npm registry: npm exited 1: npm error 404 Not Found',
    );
  });

  it('uses the copy a concurrent run put in place while this one downloaded', () => {
    onPlatform('linux', 'x64');
    const cache = scratch().root;
    runProcessSync.mockImplementation((bin, args) => {
      // The other run finishes first: its package is in place when this one renames.
      if (bin === 'tar') unpackInto(path.join(cache, '1.2.3'));
      return goodDownload(bin, args);
    });
    const install = ensureCfnGuard(cache, PINNED);
    expect(install).toEqual(expectedInstall(path.join(cache, '1.2.3', 'package'), 'ubuntu/x86_64'));
    expect(readdirSync(cache)).toEqual(['1.2.3']);
  });

  it('uses a concurrent run copy even when its own download was refused', () => {
    onPlatform('linux', 'x64');
    const cache = scratch().root;
    runProcessSync.mockImplementation((bin, args) => {
      unpackInto(path.join(cache, '1.2.3'));
      return goodDownload(bin, args);
    });
    const tampered = { ...PINNED, integrity: 'sha512-notTheRegistryOne' };
    const install = ensureCfnGuard(cache, tampered);
    expect(install.packageDir).toBe(path.join(cache, '1.2.3', 'package'));
    expect(readdirSync(cache)).toEqual(['1.2.3']);
  });
});

describe('the cfn-guard binary for the platform', () => {
  const cases: [string, string, string][] = [
    ['linux', 'x64', 'ubuntu/x86_64'],
    ['linux', 'arm64', 'ubuntu/aarch64'],
    ['darwin', 'x64', 'macos/x86_64'],
    ['darwin', 'arm64', 'macos/aarch64'],
  ];
  for (const [platform, arch, dir] of cases) {
    it(`runs bin/${dir}/cfn-guard on ${platform} ${arch}`, () => {
      onPlatform(platform, arch);
      const cache = scratch();
      unpackInto(path.join(cache.root, '1.2.3'));
      const packageDir = path.join(cache.root, '1.2.3', 'package');
      expect(ensureCfnGuard(cache.root, PINNED).binary).toBe(
        path.join(packageDir, 'bin', dir, 'cfn-guard'),
      );
    });
  }

  for (const [platform, arch] of [
    ['win32', 'x64'],
    ['linux', 'ia32'],
    ['freebsd', 'arm64'],
  ] as const) {
    it(`says the package ships no binary for ${platform} ${arch}`, () => {
      onPlatform(platform, arch);
      const cache = scratch();
      unpackInto(path.join(cache.root, '1.2.3'));
      const error = errorOf(() => ensureCfnGuard(cache.root, PINNED));
      expect(error.name).toBe('CfnGuardError');
      expect(error.message).toBe(
        `cannot run cfn-guard: @cdklabs/cdk-validator-cfnguard ships binaries for linux and macOS on x64 and arm64, not ${platform} ${arch}`,
      );
    });
  }
});

// ---------------------------------------------------------------------------------------------
// The controls and guard's report.

const TITLE_4 = 'Require Amazon API Gateway V2 stages to have access logging enabled';
const TITLE_5 = 'Require Amazon API Gateway V2 routes to specify an authorization type';
const TITLE_LOGS = 'Require a CloudWatch log group to be retained for at least one year';

/** A guard file shaped like the Control Tower ones: top-level rules and helpers. */
function guardFile(...topLevel: string[]): string {
  const rules = topLevel.map(
    (name) => `rule ${name} when is_cfn_template(%INPUT_DOCUMENT)\n    %x not empty {\n}\n`,
  );
  return [
    '# Rule Identifier:\n#    SOME_CHECK\n',
    ...rules,
    'rule check_helper(value) {\n    %value exists\n}\n',
    'rule is_cfn_template(doc) {\n    %doc { Resources exists }\n}\n',
  ].join('\n');
}

function metadata(id: string, title: string, types: string[]): string {
  return JSON.stringify({
    Id: id,
    DisplayName: title,
    EvaluatedResourceTypes: types,
    Severity: 'MEDIUM',
  });
}

/** A package with three controls, one of them declaring its rule twice (template and hook). */
function fakeInstall(): GuardInstall & { root: string } {
  const dir = scratch();
  const packageDir = path.join(dir.root, 'package');
  const base = 'package/rules/control-tower';
  dir.write(`${base}/cfn-guard/apigateway/ct-apigateway-pr-4.guard`, guardFile('api_access_logs'));
  dir.write(
    `${base}/metadata/apigateway/ct-apigateway-pr-4.metadata.json`,
    metadata('CT.APIGATEWAY.PR.4', TITLE_4, ['AWS::ApiGatewayV2::Stage']),
  );
  dir.write(
    `${base}/cfn-guard/apigateway/ct-apigateway-pr-5.guard`,
    `${guardFile('api_route_auth', 'api_route_auth')}\nrule api_route_auth when is_cfn_hook(%INPUT_DOCUMENT, %T) {\n}\n`,
  );
  dir.write(
    `${base}/metadata/apigateway/ct-apigateway-pr-5.metadata.json`,
    metadata('CT.APIGATEWAY.PR.5', TITLE_5, [
      'AWS::ApiGatewayV2::Route',
      'AWS::ApiGatewayV2::ApiGatewayManagedOverrides',
    ]),
  );
  dir.write(`${base}/cfn-guard/cloudwatch/ct-cloudwatch-pr-2.guard`, guardFile('log_retention'));
  dir.write(
    `${base}/metadata/cloudwatch/ct-cloudwatch-pr-2.metadata.json`,
    metadata('CT.CLOUDWATCH.PR.2', TITLE_LOGS, ['AWS::Logs::LogGroup']),
  );
  dir.write(`${base}/cfn-guard/README.md`, '# not a rule file\nrule nothing when x {}\n');
  dir.write('package/template.json', '{}');
  return {
    root: dir.root,
    packageDir,
    binary: path.join(packageDir, 'bin', 'ubuntu', 'x86_64', 'cfn-guard'),
    rulesDir: path.join(packageDir, base.replace('package/', ''), 'cfn-guard'),
    metadataDir: path.join(packageDir, base.replace('package/', ''), 'metadata'),
    guardVersion: '3.1.1',
  };
}

/** One failed clause of guard's report, on a property of `id`, as guard 3.1.1 words it. */
function failedClause(id: string, property: string) {
  return {
    Clause: {
      Binary: {
        context: ` ${property} IN  %ALLOWED_VALUES`,
        messages: {
          custom_message: null,
          error_message: `Check was not compliant as property [/Resources/${id}/Properties/${property}[L:12,C:25]] was not present in [(resolved, Path=[L:0,C:0] Value=["AWS_IAM","JWT"])]`,
        },
        check: {
          InResolved: {
            from: { path: `/Resources/${id}/Properties/${property}`, value: 'NONE' },
            to: [{ path: '', value: ['AWS_IAM', 'JWT'] }],
            comparison: ['In', false],
          },
        },
      },
    },
  };
}

/** A not_compliant entry: the top-level rule, the helper it called, the failed clauses. */
function notCompliant(rule: string, ...ids: string[]) {
  return {
    Rule: {
      name: rule,
      metadata: {},
      messages: { custom_message: null, error_message: null },
      checks: [
        {
          Rule: {
            name: 'check_helper',
            metadata: {},
            messages: { custom_message: '\n [CT.X.PR.1]: a message\n', error_message: null },
            checks: ids.map((id) => failedClause(id, 'AuthorizationType')),
          },
        },
      ],
    },
  };
}

interface Report {
  compliant?: string[];
  not_applicable?: string[];
  not_compliant?: ReturnType<typeof notCompliant>[];
}

/** Guard's stdout for one data file: a list of one FileReport. */
function guardReply(file: string, report: Report, code?: number): RunResult {
  const failing = (report.not_compliant ?? []).length > 0;
  const fileReport = {
    name: file,
    metadata: {},
    status: failing ? 'FAIL' : 'PASS',
    not_compliant: report.not_compliant ?? [],
    not_applicable: report.not_applicable ?? [],
    compliant: report.compliant ?? [],
  };
  return {
    code: code ?? (failing ? 19 : 0),
    stdout: JSON.stringify([fileReport], null, 2),
    stderr: '',
  };
}

const ALL_RULES = ['api_access_logs', 'api_route_auth', 'log_retention'];

const TEMPLATE: CfnTemplate = {
  Resources: {
    HttpApi: { Type: 'AWS::ApiGatewayV2::Api', Properties: {} },
    DefaultStage: { Type: 'AWS::ApiGatewayV2::Stage', Properties: {} },
    BookRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: {} },
    BookProxyRoute: { Type: 'AWS::ApiGatewayV2::Route', Properties: {} },
  },
};

describe('guardTemplate', () => {
  it('runs the binary over the template with every rule, asking for structured JSON', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    runProcessSync.mockReturnValue(guardReply(file, { not_applicable: ALL_RULES }));
    guardTemplate(file, TEMPLATE, new Map(), install);
    expect(runProcessSync.mock.calls).toEqual([
      [
        install.binary,
        [
          'validate',
          '--rules',
          install.rulesDir,
          '--data',
          file,
          '--output-format',
          'json',
          '--show-summary',
          'none',
          '--structured',
        ],
      ],
    ]);
  });

  it('gives each control the verdict of its rules, naming the resources', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    // As guard reports it: a rule declared for templates and for hooks is both evaluated and
    // skipped, so its name is in not_applicable as well.
    runProcessSync.mockReturnValue(
      guardReply(file, {
        compliant: ['api_access_logs'],
        not_applicable: ALL_RULES,
        not_compliant: [notCompliant('api_route_auth', 'BookRoute', 'BookProxyRoute')],
      }),
    );
    const report = guardTemplate(file, TEMPLATE, new Map(), install);
    expect(report.rows).toEqual([
      {
        control: 'CT.APIGATEWAY.PR.4',
        status: 'PASS',
        reason: `${TITLE_4}: DefaultStage`,
        relevant: true,
      },
      {
        control: 'CT.APIGATEWAY.PR.5',
        status: 'FAIL',
        reason: `${TITLE_5}: BookRoute, BookProxyRoute`,
        relevant: true,
      },
      {
        control: 'CT.CLOUDWATCH.PR.2',
        status: 'SKIP',
        reason: 'not applicable: no AWS::Logs::LogGroup',
        relevant: false,
      },
    ]);
    expect(report.problems).toEqual([
      `CT.APIGATEWAY.PR.5 fails with no recorded exception: ${TITLE_5}: BookRoute, BookProxyRoute`,
    ]);
  });

  it('names the resources of every failing declaration of a rule guard reports twice', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    const template = structuredClone(TEMPLATE);
    template.Resources.Overrides = {
      Type: 'AWS::ApiGatewayV2::ApiGatewayManagedOverrides',
      Properties: {},
    };
    // cfn-guard 3.1.1 lists one not_compliant entry per failing declaration of the same name
    // (ct-apigateway-pr-5.guard declares one for routes, one for managed overrides).
    runProcessSync.mockReturnValue(
      guardReply(file, {
        not_applicable: ALL_RULES,
        not_compliant: [
          notCompliant('api_route_auth', 'BookRoute'),
          notCompliant('api_route_auth', 'Overrides'),
        ],
      }),
    );
    const { rows } = guardTemplate(file, template, new Map(), install);
    expect(rows.find((row) => row.control === 'CT.APIGATEWAY.PR.5')?.reason).toBe(
      `${TITLE_5}: BookRoute, Overrides`,
    );
  });

  it('names resources by the paths guard reports, not by values that mention /Resources/', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    // A property value that mentions a path is the template's text, not a resource of guard's.
    const clause = failedClause('BookProxyRoute', 'RouteKey');
    clause.Clause.Binary.check.InResolved.from.value = 'GET /exports/Resources/Archive/{id}';
    const failure = notCompliant('api_route_auth', 'BookRoute');
    failure.Rule.checks[0]?.Rule.checks.push(clause);
    runProcessSync.mockReturnValue(
      guardReply(file, { not_applicable: ALL_RULES, not_compliant: [failure] }),
    );
    const { rows } = guardTemplate(file, TEMPLATE, new Map(), install);
    expect(rows.find((row) => row.control === 'CT.APIGATEWAY.PR.5')?.reason).toBe(
      `${TITLE_5}: BookRoute, BookProxyRoute`,
    );
  });

  it('reads a control declaring the same rule more than once as one rule', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    runProcessSync.mockReturnValue(
      guardReply(file, {
        not_applicable: ALL_RULES,
        not_compliant: [notCompliant('api_route_auth', 'BookRoute')],
      }),
    );
    const { problems } = guardTemplate(file, TEMPLATE, new Map(), install);
    expect(problems).toEqual([
      `CT.APIGATEWAY.PR.5 fails with no recorded exception: ${TITLE_5}: BookRoute`,
    ]);
  });

  it('applies the recorded exceptions', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    runProcessSync.mockReturnValue(
      guardReply(file, {
        compliant: ['api_access_logs'],
        not_applicable: ALL_RULES,
        not_compliant: [notCompliant('api_route_auth', 'BookRoute')],
      }),
    );
    const exceptions = new Map([['CT.APIGATEWAY.PR.5', 'public catalog']]);
    const report = guardTemplate(file, TEMPLATE, exceptions, install);
    expect(report.problems).toEqual([]);
    expect(report.rows[1]).toEqual({
      control: 'CT.APIGATEWAY.PR.5',
      status: 'EXCEPTION',
      reason: 'public catalog',
      relevant: true,
    });
  });

  it('accepts a clean run (exit 0) and one that found failures (exit 19)', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    runProcessSync.mockReturnValue(guardReply(file, { compliant: ALL_RULES }, 0));
    expect(guardTemplate(file, TEMPLATE, new Map(), install).problems).toEqual([]);
    runProcessSync.mockReturnValue(
      guardReply(
        file,
        {
          compliant: ['api_access_logs', 'log_retention'],
          not_compliant: [notCompliant('api_route_auth')],
        },
        19,
      ),
    );
    expect(guardTemplate(file, TEMPLATE, new Map(), install).problems).toEqual([
      `CT.APIGATEWAY.PR.5 fails with no recorded exception: ${TITLE_5}: `,
    ]);
  });

  it('says guard could not evaluate the template, with its exit code and stderr', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    for (const code of [5, 255, 1]) {
      runProcessSync.mockReturnValue({
        code,
        stdout: '',
        stderr: `Error occurred Parser Error when parsing data file ${file}\n`,
      });
      const error = errorOf(() => guardTemplate(file, TEMPLATE, new Map(), install));
      expect(error.name).toBe('CfnGuardError');
      expect(error.message).toBe(
        `cfn-guard could not evaluate ${path.relative(repoRoot, file)}: exit ${code}: Error occurred Parser Error when parsing data file ${file}`,
      );
    }
  });

  it('says guard printed no report when its list is empty', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    runProcessSync.mockReturnValue(ok('[]'));
    const error = errorOf(() => guardTemplate(file, TEMPLATE, new Map(), install));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(
      `cfn-guard could not evaluate ${path.relative(repoRoot, file)}: it printed no report`,
    );
  });

  it('refuses results for rules no control declares', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    runProcessSync.mockReturnValue(
      guardReply(file, {
        compliant: [...ALL_RULES, 'stray_rule'],
        not_applicable: ['stray_rule', 'other_rule'],
        not_compliant: [notCompliant('failing_rule', 'BookRoute')],
      }),
    );
    const error = errorOf(() => guardTemplate(file, TEMPLATE, new Map(), install));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(
      'cannot attribute guard results: rules stray_rule, other_rule, failing_rule belong to no control',
    );
  });

  it('says which rules guard reported nothing for, with what it said on stderr', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    // In structured mode guard reports a rule file it cannot parse on stderr and evaluates the
    // others; a failure among them turns its exit code 5 into 19
    // (guard/src/commands/reporters/validate/structured.rs, 3.1.1).
    const stderr =
      'Parsing error handling rule file = ct-cloudwatch-pr-2.guard, Error = ...\n---\n';
    runProcessSync.mockReturnValue({
      ...guardReply(file, {
        not_applicable: ['api_route_auth'],
        not_compliant: [notCompliant('api_route_auth', 'BookRoute')],
      }),
      stderr,
    });
    const error = errorOf(() => guardTemplate(file, TEMPLATE, new Map(), install));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(
      `cfn-guard could not evaluate ${path.relative(repoRoot, file)}: it reported nothing for rules api_access_logs, log_retention: ${stderr.trim()}`,
    );
  });

  it('refuses a rule file that declares no top-level rule', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    const helpersOnly = path.join(install.rulesDir, 'ec2', 'ct-ec2-pr-1.guard');
    mkdirSync(path.dirname(helpersOnly), { recursive: true });
    writeFileSync(helpersOnly, guardFile());
    mkdirSync(path.join(install.metadataDir, 'ec2'), { recursive: true });
    writeFileSync(
      path.join(install.metadataDir, 'ec2', 'ct-ec2-pr-1.metadata.json'),
      metadata('CT.EC2.PR.1', 'title', ['AWS::EC2::Instance']),
    );
    const error = errorOf(() => guardTemplate(file, TEMPLATE, new Map(), install));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(`cannot read ${helpersOnly}: it declares no top-level rule`);
    expect(runProcessSync).not.toHaveBeenCalled();
  });

  it('refuses a rule name two controls declare, naming both', () => {
    const install = fakeInstall();
    const file = path.join(install.root, 'package', 'template.json');
    // At the top of the rules folder: listed before the service folders' files, sorted after.
    writeFileSync(
      path.join(install.rulesDir, 'ct-x-pr-1.guard'),
      guardFile('own', 'api_route_auth'),
    );
    writeFileSync(
      path.join(install.metadataDir, 'ct-x-pr-1.metadata.json'),
      metadata('CT.X.PR.1', 'title', ['AWS::X::Thing']),
    );
    const error = errorOf(() => guardTemplate(file, TEMPLATE, new Map(), install));
    expect(error.name).toBe('CfnGuardError');
    expect(error.message).toBe(
      'cannot attribute guard results: rule api_route_auth belongs to both CT.APIGATEWAY.PR.5 and CT.X.PR.1',
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The verdicts and the exceptions, on controls and outcomes written out.

type Outcome = Parameters<typeof judge>[1];

function outcome(parts: {
  compliant?: string[];
  notApplicable?: string[];
  failures?: [string, string[]][];
}): Outcome {
  return {
    compliant: new Set(parts.compliant),
    notApplicable: new Set(parts.notApplicable),
    failures: new Map(parts.failures),
  };
}

function control(id: string, ruleNames: string[], evaluatedTypes: string[]): Control {
  return { id, title: `Title of ${id}`, ruleFile: `${id}.guard`, ruleNames, evaluatedTypes };
}

const STAGES = control('CT.APIGATEWAY.PR.4', ['stage_logs'], ['AWS::ApiGatewayV2::Stage']);
const ROUTES = control(
  'CT.APIGATEWAY.PR.5',
  ['route_auth', 'override_auth'],
  ['AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::ApiGatewayManagedOverrides'],
);
const BUCKETS = control(
  'CT.S3.PR.1',
  ['bucket_rule'],
  ['AWS::S3::Bucket', 'AWS::S3::BucketPolicy'],
);

describe('judge', () => {
  it('passes a control any of whose rules guard found compliant, naming what it evaluated', () => {
    const report = judge(
      [ROUTES],
      outcome({ compliant: ['override_auth'], notApplicable: ['route_auth'] }),
      TEMPLATE,
      new Map(),
    );
    expect(report).toEqual({
      rows: [
        {
          control: 'CT.APIGATEWAY.PR.5',
          status: 'PASS',
          reason: 'Title of CT.APIGATEWAY.PR.5: BookRoute, BookProxyRoute',
          relevant: true,
        },
      ],
      problems: [],
    });
  });

  it('fails a control when one of its rules fails, though another passed', () => {
    const report = judge(
      [ROUTES],
      outcome({
        compliant: ['route_auth'],
        failures: [
          ['override_auth', ['Overrides']],
          ['route_auth', ['BookRoute']],
        ],
      }),
      TEMPLATE,
      new Map(),
    );
    // The resources in the order of the control's rules.
    expect(report.rows[0]).toMatchObject({
      status: 'FAIL',
      reason: 'Title of CT.APIGATEWAY.PR.5: BookRoute, Overrides',
    });
    expect(report.problems).toEqual([
      'CT.APIGATEWAY.PR.5 fails with no recorded exception: Title of CT.APIGATEWAY.PR.5: BookRoute, Overrides',
    ]);
  });

  it('skips a control guard found not applicable, saying why', () => {
    const template = structuredClone(TEMPLATE);
    template.Resources.TestStage = { Type: 'AWS::ApiGatewayV2::Stage', Properties: {} };
    const report = judge(
      [STAGES, BUCKETS],
      outcome({ notApplicable: ['stage_logs', 'bucket_rule'] }),
      template,
      new Map(),
    );
    expect(report.rows).toEqual([
      {
        control: 'CT.APIGATEWAY.PR.4',
        status: 'SKIP',
        reason: 'not applicable: DefaultStage, TestStage set nothing it checks',
        relevant: true,
      },
      {
        control: 'CT.S3.PR.1',
        status: 'SKIP',
        reason: 'not applicable: no AWS::S3::Bucket or AWS::S3::BucketPolicy',
        relevant: false,
      },
    ]);
    expect(report.problems).toEqual([]);
  });

  it('records an excepted failure with the exception reason and no problem', () => {
    const report = judge(
      [ROUTES],
      outcome({ failures: [['route_auth', ['BookRoute']]] }),
      TEMPLATE,
      new Map([['CT.APIGATEWAY.PR.5', 'public catalog, by design']]),
    );
    expect(report).toEqual({
      rows: [
        {
          control: 'CT.APIGATEWAY.PR.5',
          status: 'EXCEPTION',
          reason: 'public catalog, by design',
          relevant: true,
        },
      ],
      problems: [],
    });
  });

  it('reports stale exceptions on passing and skipped controls, and unknown ones', () => {
    const exceptions = new Map([
      ['CT.NOPE.PR.1', 'misspelt'],
      ['CT.APIGATEWAY.PR.4', 'fixed since'],
      ['CT.S3.PR.1', 'no bucket any more'],
    ]);
    const report = judge(
      [STAGES, ROUTES, BUCKETS],
      outcome({
        compliant: ['stage_logs'],
        notApplicable: ['bucket_rule'],
        failures: [['route_auth', ['BookRoute']]],
      }),
      TEMPLATE,
      exceptions,
    );
    expect(report.rows.map((row) => [row.control, row.status])).toEqual([
      ['CT.APIGATEWAY.PR.4', 'PASS'],
      ['CT.APIGATEWAY.PR.5', 'FAIL'],
      ['CT.S3.PR.1', 'SKIP'],
    ]);
    expect(report.problems).toEqual([
      'CT.APIGATEWAY.PR.4: stale exception (the control is PASS); remove it from policy/exceptions.yml',
      'CT.APIGATEWAY.PR.5 fails with no recorded exception: Title of CT.APIGATEWAY.PR.5: BookRoute',
      'CT.S3.PR.1: stale exception (the control is SKIP); remove it from policy/exceptions.yml',
      'CT.NOPE.PR.1: exception for a control the rules do not define (misspelt?)',
    ]);
  });
});

describe('formatGuardTable', () => {
  it('lists failures, exceptions, passes, then relevant skips, each by control id', () => {
    const table = formatGuardTable([
      { control: 'CT.S3.PR.1', status: 'SKIP', reason: 'not applicable: no S3', relevant: false },
      { control: 'CT.LAMBDA.PR.2', status: 'PASS', reason: 'ok 2', relevant: true },
      { control: 'CT.APIGATEWAY.PR.4', status: 'SKIP', reason: 'nothing set', relevant: true },
      { control: 'CT.CLOUDWATCH.PR.3', status: 'EXCEPTION', reason: 'aws keys', relevant: true },
      { control: 'CT.LAMBDA.PR.1', status: 'PASS', reason: 'ok 1', relevant: false },
      { control: 'CT.EC2.PR.1', status: 'FAIL', reason: 'broken', relevant: true },
      { control: 'CT.CLOUDWATCH.PR.2', status: 'EXCEPTION', reason: 'a parameter', relevant: true },
      { control: 'CT.EC2.PR.2', status: 'SKIP', reason: 'not applicable: no EC2', relevant: false },
    ]);
    expect(table).toBe(
      [
        'CONTROL             STATUS     REASON',
        'CT.EC2.PR.1         FAIL       broken',
        'CT.CLOUDWATCH.PR.2  EXCEPTION  a parameter',
        'CT.CLOUDWATCH.PR.3  EXCEPTION  aws keys',
        'CT.LAMBDA.PR.1      PASS       ok 1',
        'CT.LAMBDA.PR.2      PASS       ok 2',
        'CT.APIGATEWAY.PR.4  SKIP       nothing set',
        '(2 more controls SKIP: the template has none of the resource types they evaluate)',
      ].join('\n'),
    );
  });

  it('keeps the header as wide as its word when no row is shown', () => {
    const table = formatGuardTable([
      { control: 'CT.S3.PR.1', status: 'SKIP', reason: 'not applicable: no S3', relevant: false },
    ]);
    expect(table).toBe(
      [
        'CONTROL  STATUS     REASON',
        '(1 more controls SKIP: the template has none of the resource types they evaluate)',
      ].join('\n'),
    );
  });

  it('pads short control ids to the header', () => {
    const table = formatGuardTable([
      { control: 'CT.A', status: 'PASS', reason: 'ok', relevant: true },
    ]);
    expect(table.split('\n').slice(0, 2)).toEqual([
      'CONTROL  STATUS     REASON',
      'CT.A     PASS       ok',
    ]);
  });
});
