// Lambda runtimes as dated data, and `npm run lint`'s check of every runtime this repository
// deploys (scripts/checks/lambda-runtimes.ts), run at chosen days: before, at and after each edge
// of the runtime table (the 180-day margin, deprecation, block create, block update), on this
// repository and on copies of it broken one way each (a new service without its patch, a patch
// on a function Copilot does not render, an addon on an old runtime, a malformed patch file).
import { execFile } from 'node:child_process';
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLambdaRuntimes, formatFinding } from '../../scripts/checks/lambda-runtimes.ts';
import {
  MARGIN_DAYS,
  RUNTIME_TABLE,
  type RuntimeDates,
  recommendedRuntime,
  runtimeVerdict,
} from '../../scripts/cloud/lambda-runtimes.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { addServiceWithoutPatches, workspaceCopies } from './rendering.ts';

const TODAY = '2026-12-06';
const DAY = 86_400_000;
const shift = (iso: string, days: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);

const copies = workspaceCopies('runtimes-');
afterAll(() => copies.cleanup());
const workspaceCopy = () => copies.copy();

describe('the runtime table', () => {
  const table = Object.entries(RUNTIME_TABLE.runtimes as Record<string, RuntimeDates>);

  it('says where and when it was read', () => {
    expect(RUNTIME_TABLE.source).toMatch(/^https:\/\/docs\.aws\.amazon\.com\/lambda\//);
    expect(RUNTIME_TABLE.read).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  for (const [runtime, d] of table) {
    it(`judges ${runtime} at each of its edges, the day before and the day after`, () => {
      const soon = shift(d.blockCreate, -MARGIN_DAYS);
      const edges: [string, string, string][] = [
        [soon, 'ok', 'soon'],
        [d.deprecation, 'soon', 'deprecated'],
        [d.blockCreate, 'deprecated', 'create-blocked'],
        [d.blockUpdate, 'create-blocked', 'update-blocked'],
      ];
      for (const [edge, before, at] of edges) {
        expect(runtimeVerdict(runtime, shift(edge, -1)).state, `${edge} - 1`).toBe(before);
        expect(runtimeVerdict(runtime, edge).state, edge).toBe(at);
        expect(runtimeVerdict(runtime, shift(edge, 1)).state, `${edge} + 1`).toBe(at);
      }
    });
  }

  it('knows no runtime it has no dates for', () => {
    const v = runtimeVerdict('python3.99', TODAY);
    expect(v.state).toBe('unknown');
    expect(v.summary).toContain(RUNTIME_TABLE.source);
  });

  it('recommends the acceptable Node.js runtime Lambda keeps longest, and none when none is', () => {
    expect(recommendedRuntime(TODAY)).toBe('nodejs24.x');
    // nodejs22.x's margin starts 2026-12-03: the day before, both are fine; 24 still lasts longer.
    expect(recommendedRuntime('2026-12-02')).toBe('nodejs24.x');
    expect(recommendedRuntime(shift('2028-06-01', -MARGIN_DAYS))).toBeUndefined();
  });
});

describe('the runtime check of this repository', () => {
  it('passes today, every function Copilot renders patched to nodejs24.x', () => {
    const report = checkLambdaRuntimes(repoRoot, TODAY);
    expect(report.findings.map(formatFinding)).toEqual([]);
    const fns = report.checked.map((c) => `${c.file} ${c.fn} ${c.runtime} ${c.from}`);
    expect(fns).toEqual(
      [
        [
          'environments',
          ['CertificateValidationFunction', 'CustomDomainFunction', 'DNSDelegationFunction'],
        ],
        [
          'author-service',
          ['EnvControllerFunction', 'RulePriorityFunction', 'DynamicDesiredCountFunction'],
        ],
        [
          'book-service',
          ['EnvControllerFunction', 'RulePriorityFunction', 'DynamicDesiredCountFunction'],
        ],
      ].flatMap(([dir, list]) =>
        (list as string[]).map(
          (fn) => `copilot/${dir}/overrides/cfn.patches.yml ${fn} nodejs24.x patch`,
        ),
      ),
    );
  });

  it("fails from the first day of nodejs24.x's margin, naming each function, the runtime and the date", () => {
    const edge = shift('2028-06-01', -MARGIN_DAYS);
    expect(checkLambdaRuntimes(repoRoot, shift(edge, -1)).findings).toEqual([]);
    for (const day of [edge, shift(edge, 1), '2028-07-01']) {
      const { findings } = checkLambdaRuntimes(repoRoot, day);
      expect(findings, day).toHaveLength(9);
      expect(findings[0]?.problem).toMatch(
        /^CertificateValidationFunction runs nodejs24\.x: .*2028-06-01/,
      );
    }
  });
});

describe('the runtime check of a broken copy', () => {
  it('fails a new service added without a patch, naming its functions, nodejs20.x and the date', () => {
    const root = workspaceCopy();
    addServiceWithoutPatches(root);
    const { findings } = checkLambdaRuntimes(root, TODAY);
    expect(findings.map((f) => f.fn)).toEqual([
      'EnvControllerFunction',
      'RulePriorityFunction',
      'DynamicDesiredCountFunction',
    ]);
    for (const f of findings) {
      expect(f.file).toBe('copilot/publisher-service/overrides/cfn.patches.yml');
      expect(f.problem).toMatch(
        /^Copilot renders \w+ \(workloads\/partials\/cf\/[\w-]+\.yml: .*\) on nodejs20\.x: Lambda refuses to create or update functions on it since 2026-09-30 \(create since 2026-08-31\), and copilot\/publisher-service\/overrides\/cfn\.patches\.yml has no patch that sets its Runtime$/,
      );
      expect(f.fix).toBe(
        `add to copilot/publisher-service/overrides/cfn.patches.yml:\n    - op: replace\n      path: /Resources/${f.fn}/Properties/Runtime\n      value: nodejs24.x`,
      );
    }
  });

  it('fails a patch on a function Copilot does not render for the manifest', () => {
    const root = workspaceCopy();
    appendFileSync(
      path.join(root, 'copilot', 'environments', 'overrides', 'cfn.patches.yml'),
      '- op: replace\n  path: /Resources/BucketCleanerFunction/Properties/Runtime\n  value: nodejs24.x\n',
    );
    appendFileSync(
      path.join(root, 'copilot', 'book-service', 'overrides', 'cfn.patches.yml'),
      '- op: replace\n  path: /Resources/DNSDelegationFunction/Properties/Runtime\n  value: nodejs24.x\n',
    );
    const { findings } = checkLambdaRuntimes(root, TODAY);
    expect(findings.map((f) => [f.file, f.fn, f.fix])).toEqual([
      [
        'copilot/environments/overrides/cfn.patches.yml',
        'BucketCleanerFunction',
        'remove patch 3 from copilot/environments/overrides/cfn.patches.yml',
      ],
      [
        'copilot/book-service/overrides/cfn.patches.yml',
        'DNSDelegationFunction',
        'remove patch 3 from copilot/book-service/overrides/cfn.patches.yml',
      ],
    ]);
    expect(findings[0]?.problem).toMatch(/only when `http\.public\.access_logs`/);
    expect(findings[1]?.problem).toMatch(
      /in another stack \(the environment: environment\/partials\/lambdas\.yml\)/,
    );
  });

  it('fails a patch to an old runtime, an addon on one, and a runtime without dates', () => {
    const root = workspaceCopy();
    const patches = path.join(root, 'copilot', 'author-service', 'overrides', 'cfn.patches.yml');
    writeFileSync(
      patches,
      readFileSync(patches, 'utf8').replace(/nodejs24\.x(?![\s\S]*nodejs24\.x)/, 'nodejs22.x'),
    );
    const fn = (runtime: string) =>
      `Resources:\n  Fn:\n    Type: AWS::Lambda::Function\n    Properties:\n      Runtime: ${runtime}\n      Handler: index.handler\n`;
    writeFileSync(path.join(root, 'addons', 'extra.yml'), fn('nodejs20.x'));
    mkdirSync(path.join(root, 'copilot', 'book-service', 'addons'));
    writeFileSync(
      path.join(root, 'copilot', 'book-service', 'addons', 'queue.yml'),
      fn('python3.99'),
    );
    const { findings } = checkLambdaRuntimes(root, TODAY);
    expect(findings.map((f) => `${f.file} ${f.fn}: ${f.problem}`)).toEqual([
      'copilot/author-service/overrides/cfn.patches.yml DynamicDesiredCountFunction: DynamicDesiredCountFunction runs nodejs22.x: function create blocked from 2027-06-01, update from 2027-07-01, within 180 days of 2026-12-06',
      'addons/extra.yml Fn: Fn runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31)',
      `copilot/book-service/addons/queue.yml Fn: Fn runs python3.99: no dates for it in the runtime table (${RUNTIME_TABLE.source}, read ${RUNTIME_TABLE.read})`,
    ]);
    expect(findings[0]?.fix).toBe(
      "set DynamicDesiredCountFunction's runtime to nodejs24.x in copilot/author-service/overrides/cfn.patches.yml (patch 2)",
    );
  });

  it('fails a patch file that is not a list of operations', () => {
    const root = workspaceCopy();
    writeFileSync(
      path.join(root, 'copilot', 'book-service', 'overrides', 'cfn.patches.yml'),
      'op: replace\n',
    );
    const { findings } = checkLambdaRuntimes(root, TODAY);
    expect(findings.map((f) => f.problem)).toEqual([
      'copilot/book-service/overrides/cfn.patches.yml: (top level): Invalid input: expected array, received object (a list of {op: add|remove|replace, path: /JSON/Pointer, value})',
    ]);
  });

  it('exits 1 from the command line on a broken copy, with the findings on stderr, 0 on this repository', async () => {
    const root = workspaceCopy();
    rmSync(path.join(root, 'copilot', 'book-service', 'overrides'), { recursive: true });
    const run = (checkout: string) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(
          process.execPath,
          [
            path.join(repoRoot, 'scripts', 'check-runtimes.ts'),
            '--root',
            checkout,
            '--date',
            TODAY,
          ],
          (error, stdout, stderr) =>
            resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
        );
      });
    const [failing, passing] = await Promise.all([run(root), run(repoRoot)]);
    expect(failing.code).toBe(1);
    expect(failing.stderr).toMatch(
      /^copilot\/book-service\/overrides\/cfn\.patches\.yml: Copilot renders EnvControllerFunction .* on nodejs20\.x: /m,
    );
    expect(failing.stdout).toMatch(
      /9 Lambda function\(s\) judged on 2026-12-06, 3 finding\(s\)\n$/,
    );
    expect([passing.code, passing.stderr]).toEqual([0, '']);
  });
});
