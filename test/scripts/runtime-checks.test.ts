// What `npm run lint`'s runtime check (scripts/checks/lambda-runtimes.ts) tells a user, judged in
// this process on chosen days against fixture workspaces written under .cache/ for each test:
// every function Copilot renders for a manifest needs a Runtime patch (the finding names the
// function, the Copilot file and setting that renders it, the patch file and the lines to add);
// a patched runtime is judged on the day (fine, within the margin from its first day, deprecated,
// refused, unknown) with the next step (the runtime to move to and the patch to change, or the
// table to extend when no runtime is acceptable); a patch aimed at a function Copilot does not
// render for that manifest (the setting it needs, or the stack that renders it); a malformed
// patch file; the runtimes of addons/*.yml and Copilot's addons (yml and yaml only); one finding
// per shared patch file however many environments use it; each finding as printed.
// test/scripts/runtimes.test.ts holds this repository to the check and runs its command line.

import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  checkLambdaRuntimes,
  formatFinding,
  type RuntimeReport,
} from '../../scripts/checks/lambda-runtimes.ts';
import { RUNTIME_TABLE } from '../../scripts/cloud/lambda-runtimes.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { serviceManifest } from '../helpers/service-manifest.ts';

const newFolder = scratchFolders('runtime-checks');

/** A day well before any margin of the table's Node.js 22 and 24: nodejs24.x is recommended. */
const DAY = '2026-12-06';
const ENV_PATCHES = 'copilot/environments/overrides/cfn.patches.yml';
const SVC_PATCHES = 'copilot/svc/overrides/cfn.patches.yml';
const ENV_FUNCTIONS = [
  'CertificateValidationFunction',
  'CustomDomainFunction',
  'DNSDelegationFunction',
];
const SVC_FUNCTIONS = [
  'EnvControllerFunction',
  'RulePriorityFunction',
  'DynamicDesiredCountFunction',
];
const TABLE_FIX = `read the runtime's dates on ${RUNTIME_TABLE.source} and add them to scripts/cloud/lambda-runtimes.ts (with the day read); a runtime acceptable for 180 more days is needed`;

/** Patches as a patch file holds them: `[logical id, runtime]` sets the function's runtime. */
const runtimePatches = (fns: [string, string][]) =>
  fns
    .map(
      ([fn, runtime]) =>
        `- op: replace\n  path: /Resources/${fn}/Properties/Runtime\n  value: ${runtime}\n`,
    )
    .join('');

/** A template with one function `Fn` of that type on that runtime. */
const lambdaTemplate = (runtime: string, type = 'AWS::Lambda::Function') =>
  `Resources:\n  Fn:\n    Type: ${type}\n    Properties:\n      Runtime: ${runtime}\n      Handler: index.handler\n`;

interface Fixture {
  root: string;
  write(relative: string, text: string): void;
  check(day: string): RuntimeReport;
}

/**
 * A workspace of its own under .cache/test-fixtures, removed after the test: the environments
 * (`test` unless told), the service `svc`, and every function Copilot renders for them patched to
 * `runtime` (no patch files when it is undefined).
 */
function fixture(runtime: string | undefined = 'nodejs24.x', envs = ['test']): Fixture {
  const { root, write } = newFolder();
  write('copilot/.workspace', 'application: bookstore\n');
  for (const env of envs) {
    write(`copilot/environments/${env}/manifest.yml`, `name: ${env}\ntype: Environment\n`);
  }
  write('copilot/svc/manifest.yml', stringify(serviceManifest('svc')));
  if (runtime) {
    write(ENV_PATCHES, runtimePatches(ENV_FUNCTIONS.map((fn) => [fn, runtime])));
    write(SVC_PATCHES, runtimePatches(SVC_FUNCTIONS.map((fn) => [fn, runtime])));
  }
  return { root, write, check: (day) => checkLambdaRuntimes(root, day) };
}

const lines = (report: RuntimeReport) =>
  report.findings.map((f) => `${f.file} ${f.fn}: ${f.problem} | fix: ${f.fix}`);

describe('functions Copilot renders around the manifests', () => {
  it('passes when every one is patched to an acceptable runtime, listing each with its patch file', () => {
    const report = fixture().check(DAY);
    expect(report.date).toBe(DAY);
    expect(report.findings).toEqual([]);
    expect(report.checked).toEqual([
      ...ENV_FUNCTIONS.map((fn) => ({
        file: ENV_PATCHES,
        fn,
        runtime: 'nodejs24.x',
        from: 'patch',
      })),
      ...SVC_FUNCTIONS.map((fn) => ({
        file: SVC_PATCHES,
        fn,
        runtime: 'nodejs24.x',
        from: 'patch',
      })),
    ]);
  });

  it("fails each one without a patch: Copilot's file and setting, its runtime on the day, the lines to add", () => {
    const ws = fixture();
    rmSync(path.join(ws.root, SVC_PATCHES));
    const report = ws.check(DAY);
    expect(report.findings.map((f) => [f.file, f.fn])).toEqual(
      SVC_FUNCTIONS.map((fn) => [SVC_PATCHES, fn]),
    );
    expect(report.findings[0]).toEqual({
      file: SVC_PATCHES,
      fn: 'EnvControllerFunction',
      problem:
        'Copilot renders EnvControllerFunction (workloads/partials/cf/env-controller.yml: always (backend/cf.yml includes env-controller unconditionally)) on nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31), and copilot/svc/overrides/cfn.patches.yml has no patch that sets its Runtime',
      fix: 'add to copilot/svc/overrides/cfn.patches.yml:\n    - op: replace\n      path: /Resources/EnvControllerFunction/Properties/Runtime\n      value: nodejs24.x',
    });
    expect(report.findings[1]?.problem).toMatch(
      /^Copilot renders RulePriorityFunction \(workloads\/partials\/cf\/alb\.yml: `http` is set .*\) on nodejs20\.x: /,
    );
    expect(report.checked.filter((c) => c.file === SVC_PATCHES)).toEqual(
      SVC_FUNCTIONS.map((fn) => ({
        file: SVC_PATCHES,
        fn,
        runtime: 'nodejs20.x',
        from: 'copilot default',
      })),
    );
  });

  it('names only the functions still missing a patch', () => {
    const ws = fixture();
    ws.write(
      ENV_PATCHES,
      runtimePatches([
        ['CertificateValidationFunction', 'nodejs24.x'],
        ['DNSDelegationFunction', 'nodejs24.x'],
        ['DNSDelegationFunction', 'nodejs24.x'],
      ]),
    );
    const { findings } = ws.check(DAY);
    expect(findings.map((f) => [f.file, f.fn])).toEqual([[ENV_PATCHES, 'CustomDomainFunction']]);
    expect(findings[0]?.problem).toBe(
      'Copilot renders CustomDomainFunction (environment/partials/lambdas.yml: no `http.public.certificates` (cf.yml `{{- if not .PublicHTTPConfig.ImportedCertARNs}}` around `include "lambdas"`)) on nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31), and copilot/environments/overrides/cfn.patches.yml has no patch that sets its Runtime',
    );
  });

  it("needs a patch even while Copilot's own runtime is still acceptable", () => {
    const ws = fixture();
    rmSync(path.join(ws.root, ENV_PATCHES));
    const { findings } = ws.check('2026-03-03');
    expect(findings.map((f) => f.fn)).toEqual(ENV_FUNCTIONS);
    expect(findings[0]?.problem).toContain(
      ' on nodejs20.x: deprecated from 2026-04-30; function create blocked from 2026-08-31, update from 2026-09-30, and copilot/environments/overrides/cfn.patches.yml has no patch that sets its Runtime',
    );
    expect(findings[0]?.fix).toContain('value: nodejs24.x');
  });

  it('sends the user to the runtime table when no runtime is acceptable on the day', () => {
    const ws = fixture();
    rmSync(path.join(ws.root, SVC_PATCHES));
    const { findings } = ws.check('2027-12-04');
    const missing = findings.filter((f) => f.problem.startsWith('Copilot renders'));
    expect(missing.map((f) => [f.fn, f.fix])).toEqual(SVC_FUNCTIONS.map((fn) => [fn, TABLE_FIX]));
  });

  it('reports a shared patch file once, however many environments use it', () => {
    const ws = fixture('nodejs24.x', ['test', 'prod']);
    expect(ws.check(DAY).checked.filter((c) => c.file === ENV_PATCHES)).toHaveLength(3);
    rmSync(path.join(ws.root, ENV_PATCHES));
    const report = ws.check(DAY);
    expect(report.findings.map((f) => f.fn)).toEqual(ENV_FUNCTIONS);
    expect(report.checked.filter((c) => c.file === ENV_PATCHES)).toHaveLength(3);
  });
});

describe('a patched runtime, judged on the day', () => {
  /** The service's functions on nodejs24.x but DynamicDesiredCountFunction (patch 2) on `runtime`. */
  function oneOn(runtime: string): Fixture {
    const ws = fixture();
    ws.write(
      SVC_PATCHES,
      runtimePatches([
        ['EnvControllerFunction', 'nodejs24.x'],
        ['RulePriorityFunction', 'nodejs24.x'],
        ['DynamicDesiredCountFunction', runtime],
      ]),
    );
    return ws;
  }
  const setTo24 =
    "set DynamicDesiredCountFunction's runtime to nodejs24.x in copilot/svc/overrides/cfn.patches.yml (patch 2)";

  it.each<[string, string]>([
    // nodejs22.x: margin from 2026-12-03 (180 days before 2027-06-01), deprecated from 2027-04-30.
    [
      '2026-12-03',
      'nodejs22.x: function create blocked from 2027-06-01, update from 2027-07-01, within 180 days of 2026-12-03',
    ],
    [
      '2027-04-29',
      'nodejs22.x: function create blocked from 2027-06-01, update from 2027-07-01, within 180 days of 2027-04-29',
    ],
    [
      '2027-04-30',
      'nodejs22.x: deprecated since 2027-04-30; function create blocked from 2027-06-01, update from 2027-07-01',
    ],
    [
      '2027-05-31',
      'nodejs22.x: deprecated since 2027-04-30; function create blocked from 2027-06-01, update from 2027-07-01',
    ],
    [
      '2027-06-01',
      'nodejs22.x: Lambda refuses to create functions on it since 2027-06-01, and to update them from 2027-07-01',
    ],
    [
      '2027-07-01',
      'nodejs22.x: Lambda refuses to create or update functions on it since 2027-07-01 (create since 2027-06-01)',
    ],
  ])(
    'fails nodejs22.x on %s, naming the function, the runtime, its dates and the patch to change',
    (day, summary) => {
      const { findings } = oneOn('nodejs22.x').check(day);
      expect(findings).toEqual([
        {
          file: SVC_PATCHES,
          fn: 'DynamicDesiredCountFunction',
          problem: `DynamicDesiredCountFunction runs ${summary}`,
          fix: setTo24,
        },
      ]);
    },
  );

  it('passes nodejs22.x the day before its margin', () => {
    const report = oneOn('nodejs22.x').check('2026-12-02');
    expect(report.findings).toEqual([]);
    expect(report.checked).toContainEqual({
      file: SVC_PATCHES,
      fn: 'DynamicDesiredCountFunction',
      runtime: 'nodejs22.x',
      from: 'patch',
    });
  });

  it('passes nodejs24.x up to the day before its margin, then sends every function to the table', () => {
    const ws = fixture();
    expect(ws.check('2027-12-03').findings).toEqual([]);
    const { findings } = ws.check('2027-12-04');
    expect(findings.map((f) => [f.file, f.fn, f.fix])).toEqual([
      ...ENV_FUNCTIONS.map((fn) => [ENV_PATCHES, fn, TABLE_FIX]),
      ...SVC_FUNCTIONS.map((fn) => [SVC_PATCHES, fn, TABLE_FIX]),
    ]);
    expect(findings[0]?.problem).toBe(
      'CertificateValidationFunction runs nodejs24.x: function create blocked from 2028-06-01, update from 2028-07-01, within 180 days of 2027-12-04',
    );
  });

  it('fails a runtime the table has no dates for, sending the user to the table even when another runtime is acceptable', () => {
    const { findings } = oneOn('nodejs26.x').check(DAY);
    expect(findings).toEqual([
      {
        file: SVC_PATCHES,
        fn: 'DynamicDesiredCountFunction',
        problem: `DynamicDesiredCountFunction runs nodejs26.x: no dates for it in the runtime table (${RUNTIME_TABLE.source}, read ${RUNTIME_TABLE.read})`,
        fix: TABLE_FIX,
      },
    ]);
  });

  it('judges the runtime the last patch sets, as Copilot applies them in order', () => {
    const ws = fixture();
    ws.write(
      SVC_PATCHES,
      runtimePatches([
        ...SVC_FUNCTIONS.map((fn): [string, string] => [fn, 'nodejs20.x']),
        ...SVC_FUNCTIONS.map((fn): [string, string] => [fn, 'nodejs24.x']),
      ]),
    );
    expect(ws.check(DAY).findings).toEqual([]);
    ws.write(
      SVC_PATCHES,
      runtimePatches([
        ...SVC_FUNCTIONS.map((fn): [string, string] => [fn, 'nodejs24.x']),
        ['RulePriorityFunction', 'nodejs20.x'],
      ]),
    );
    expect(lines(ws.check(DAY))).toEqual([
      `${SVC_PATCHES} RulePriorityFunction: RulePriorityFunction runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31) | fix: set RulePriorityFunction's runtime to nodejs24.x in ${SVC_PATCHES} (patch 3)`,
    ]);
  });
});

describe('a patch aimed at a function Copilot does not render for the manifest', () => {
  it('fails a function of the same stack whose setting the manifest lacks, naming the setting and the patch to remove', () => {
    const ws = fixture();
    ws.write(
      ENV_PATCHES,
      runtimePatches([
        ...ENV_FUNCTIONS.map((fn): [string, string] => [fn, 'nodejs24.x']),
        ['BucketCleanerFunction', 'nodejs24.x'],
      ]) +
        '- op: add\n  path: /Resources/UniqueJSONValuesFunction/Properties/Timeout\n  value: 60\n',
    );
    expect(ws.check(DAY).findings).toEqual([
      {
        file: ENV_PATCHES,
        fn: 'BucketCleanerFunction',
        problem:
          'patch 3 (replace /Resources/BucketCleanerFunction/Properties/Runtime) targets BucketCleanerFunction, which Copilot renders only when `http.public.access_logs` without a bucket of your own (cf.yml `{{- if .PublicHTTPConfig.ELBAccessLogs.ShouldCreateBucket }}`), which this manifest does not set: Copilot fails the deploy on a path it cannot find',
        fix: `remove patch 3 from ${ENV_PATCHES}`,
      },
      {
        file: ENV_PATCHES,
        fn: 'UniqueJSONValuesFunction',
        problem:
          'patch 4 (add /Resources/UniqueJSONValuesFunction/Properties/Timeout) targets UniqueJSONValuesFunction, which Copilot renders only when `cdn` is set (cf.yml `{{- if .CDNConfig}}`), which this manifest does not set: Copilot fails the deploy on a path it cannot find',
        fix: `remove patch 4 from ${ENV_PATCHES}`,
      },
    ]);
  });

  it.each<[string, string]>([
    ['DNSDelegationFunction', 'the environment: environment/partials/lambdas.yml'],
    ['TriggerStateMachineFunction', 'a Static Site: workloads/services/static-site/cf.yml'],
    ['BacklogPerTaskCalculatorFunction', 'a Worker Service: workloads/partials/cf/autoscaling.yml'],
    ['NLBCertValidatorFunction', 'a Load Balanced Web Service: workloads/partials/cf/nlb.yml'],
  ])("fails %s in a service's patch file, naming the stack that renders it", (fn, stack) => {
    const ws = fixture();
    ws.write(
      SVC_PATCHES,
      runtimePatches([
        ...SVC_FUNCTIONS.map((f): [string, string] => [f, 'nodejs24.x']),
        [fn, 'nodejs24.x'],
      ]),
    );
    expect(lines(ws.check(DAY))).toEqual([
      `${SVC_PATCHES} ${fn}: patch 3 (replace /Resources/${fn}/Properties/Runtime) targets ${fn}, which Copilot renders in another stack (${stack}): Copilot fails the deploy on a path it cannot find | fix: remove patch 3 from ${SVC_PATCHES}`,
    ]);
  });

  it("fails a service's function in the environments' patch file", () => {
    const ws = fixture();
    ws.write(
      ENV_PATCHES,
      runtimePatches([
        ['EnvControllerFunction', 'nodejs24.x'],
        ...ENV_FUNCTIONS.map((f): [string, string] => [f, 'nodejs24.x']),
      ]),
    );
    const { findings } = ws.check(DAY);
    expect(findings.map((f) => [f.file, f.fn, f.fix])).toEqual([
      [ENV_PATCHES, 'EnvControllerFunction', `remove patch 0 from ${ENV_PATCHES}`],
    ]);
    expect(findings[0]?.problem).toContain(
      'which Copilot renders in another stack (a Backend Service: workloads/partials/cf/env-controller.yml)',
    );
  });

  it('also judges the runtime such a patch sets', () => {
    const ws = fixture();
    ws.write(
      ENV_PATCHES,
      runtimePatches([
        ...ENV_FUNCTIONS.map((f): [string, string] => [f, 'nodejs24.x']),
        ['BucketCleanerFunction', 'nodejs20.x'],
      ]),
    );
    const { findings } = ws.check(DAY);
    expect(findings.map((f) => [f.fn, f.fix])).toEqual([
      [
        'BucketCleanerFunction',
        `set BucketCleanerFunction's runtime to nodejs24.x in ${ENV_PATCHES} (patch 3)`,
      ],
      ['BucketCleanerFunction', `remove patch 3 from ${ENV_PATCHES}`],
    ]);
  });

  it('leaves other patches alone: a rendered function, a resource that is no Copilot function, outside Resources', () => {
    const ws = fixture();
    ws.write(
      SVC_PATCHES,
      `${runtimePatches(SVC_FUNCTIONS.map((f) => [f, 'nodejs24.x']))}- op: add
  path: /Resources/EnvControllerFunction/Properties/Timeout
  value: 60
- op: replace
  path: /Resources/TaskDefinition/Properties/Cpu
  value: 512
- op: add
  path: /Outputs/Extra
  value: {Value: x}
`,
    );
    expect(ws.check(DAY).findings).toEqual([]);
  });
});

describe('a malformed patch file', () => {
  it('fails it, naming the file and what is wrong, and still checks the other stacks', () => {
    const ws = fixture();
    ws.write(SVC_PATCHES, 'op: replace\n');
    rmSync(path.join(ws.root, ENV_PATCHES));
    const report = ws.check(DAY);
    expect(report.findings.map((f) => f.fn)).toEqual([...ENV_FUNCTIONS, undefined]);
    expect(report.findings[3]).toEqual({
      file: SVC_PATCHES,
      problem: `${SVC_PATCHES}: (top level): Invalid input: expected array, received object (a list of {op: add|remove|replace, path: /JSON/Pointer, value})`,
      fix: `fix ${SVC_PATCHES}`,
    });
    expect(report.checked.map((c) => c.file)).not.toContain(SVC_PATCHES);
  });
});

describe("the templates' runtimes: addons/ and Copilot's addons", () => {
  it('judges every Lambda function of addons/*.yml and copilot/*/addons/*.yml|yaml, naming file and function', () => {
    const ws = fixture();
    ws.write('addons/old.yml', lambdaTemplate('nodejs20.x'));
    ws.write(
      'copilot/svc/addons/queue.yml',
      lambdaTemplate('nodejs22.x', 'AWS::Serverless::Function'),
    );
    ws.write('copilot/environments/addons/hook.yaml', lambdaTemplate('nodejs24.x'));
    const report = ws.check('2027-05-01');
    expect(lines(report)).toEqual([
      "addons/old.yml Fn: Fn runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31) | fix: set Fn's runtime to nodejs24.x in addons/old.yml",
      "copilot/svc/addons/queue.yml Fn: Fn runs nodejs22.x: deprecated since 2027-04-30; function create blocked from 2027-06-01, update from 2027-07-01 | fix: set Fn's runtime to nodejs24.x in copilot/svc/addons/queue.yml",
    ]);
    expect(report.checked.filter((c) => c.from === 'template')).toEqual([
      { file: 'addons/old.yml', fn: 'Fn', runtime: 'nodejs20.x', from: 'template' },
      {
        file: 'copilot/environments/addons/hook.yaml',
        fn: 'Fn',
        runtime: 'nodejs24.x',
        from: 'template',
      },
      { file: 'copilot/svc/addons/queue.yml', fn: 'Fn', runtime: 'nodejs22.x', from: 'template' },
    ]);
  });

  it('passes an addon on an acceptable runtime, and sends it to the table when none is left', () => {
    const ws = fixture();
    ws.write('copilot/environments/addons/hook.yml', lambdaTemplate('nodejs24.x'));
    expect(ws.check('2027-12-03').findings).toEqual([]);
    const addon = ws.check('2027-12-04').findings.filter((f) => f.file.includes('addons'));
    expect(addon).toEqual([
      {
        file: 'copilot/environments/addons/hook.yml',
        fn: 'Fn',
        problem:
          'Fn runs nodejs24.x: function create blocked from 2028-06-01, update from 2028-07-01, within 180 days of 2027-12-04',
        fix: TABLE_FIX,
      },
    ]);
  });

  it('fails an addon runtime the table has no dates for', () => {
    const ws = fixture();
    ws.write('addons/new.yml', lambdaTemplate('nodejs26.x'));
    expect(lines(ws.check(DAY))).toEqual([
      `addons/new.yml Fn: Fn runs nodejs26.x: no dates for it in the runtime table (${RUNTIME_TABLE.source}, read ${RUNTIME_TABLE.read}) | fix: ${TABLE_FIX}`,
    ]);
  });

  it('reads neither files Copilot skips (not .yml or .yaml) nor addons.parameters.yml as functions', () => {
    const ws = fixture();
    ws.write('addons/old.yml.bak', lambdaTemplate('nodejs20.x'));
    ws.write('copilot/svc/addons/notes.txt', lambdaTemplate('nodejs20.x'));
    ws.write(
      'copilot/svc/addons/addons.parameters.yml',
      'Parameters:\n  ServiceName: !GetAtt Service.Name\n',
    );
    const report = ws.check(DAY);
    expect(report.findings).toEqual([]);
    expect(report.checked.filter((c) => c.from === 'template')).toEqual([]);
  });

  // A runtime from a parameter was skipped without a word (neither judged nor listed): it is
  // judged on the parameter's Default, what a deploy without that parameter set uses.
  it('does not pass an addon function whose runtime comes from a parameter Lambda refuses', () => {
    const ws = fixture();
    ws.write(
      'addons/param.yml',
      'Parameters:\n  LambdaRuntime:\n    Type: String\n    Default: nodejs20.x\nResources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: !Ref LambdaRuntime\n      Handler: index.handler\n',
    );
    const report = ws.check(DAY);
    expect(report.findings.map((f) => [f.file, f.fn])).toEqual([['addons/param.yml', 'Fn']]);
  });

  // A runtime of another language was sent to the Node.js page (the table's source) for its
  // dates; Lambda's page of all runtimes has them.
  it("does not send a Python function's owner to the Node.js page for its dates", () => {
    const ws = fixture();
    ws.write('addons/py.yml', lambdaTemplate('python3.13'));
    const [finding] = ws.check(DAY).findings;
    expect(finding?.fn).toBe('Fn');
    expect(finding?.fix).not.toContain(RUNTIME_TABLE.source);
  });
});

describe('a finding as printed', () => {
  it('starts with the file, then the problem, then the fix on its own line', () => {
    const ws = fixture();
    rmSync(path.join(ws.root, SVC_PATCHES));
    const [first] = ws.check(DAY).findings;
    if (!first) throw new Error('no finding');
    expect(formatFinding(first)).toBe(
      `${SVC_PATCHES}: ${first.problem}\n  fix: add to ${SVC_PATCHES}:\n    - op: replace\n      path: /Resources/EnvControllerFunction/Properties/Runtime\n      value: nodejs24.x`,
    );
  });
});
