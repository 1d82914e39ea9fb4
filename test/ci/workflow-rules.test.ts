// The workflow lint's own rules (scripts/checks/workflows.ts) on small workflows written here, in
// this process: which `uses:` values it accepts, the exact problems it reports and on which line,
// and which files it reads. GitHub's side of each rule:
// - pinning: "Pinning an action to a full length commit SHA is currently the only way to use an
//   action as an immutable release" (docs.github.com, Security hardening for GitHub Actions,
//   "Using third-party actions"); `uses:` forms are `{owner}/{repo}@{ref}`,
//   `{owner}/{repo}/{path}@{ref}`, `./path` (this repository) and `docker://image` (workflow
//   syntax, jobs.<job_id>.steps[*].uses and jobs.<job_id>.uses);
// - permissions: a job's `permissions:` replaces the workflow's, `permissions: {}` grants no
//   scope, `read-all` / `write-all` grant every scope (workflow syntax, permissions);
// - OIDC: a job can ask for a token only with `id-token: write` (Security hardening your
//   deployments, "Adding permissions settings"); the deploy role trusts an environment's subject;
// - time: a job runs until GitHub cancels it, by default after 360 minutes (workflow syntax,
//   jobs.<job_id>.timeout-minutes), so every job that runs steps bounds its own time; a job that
//   calls a reusable workflow cannot set it (the called workflow's jobs do).
import { describe, expect, it } from 'vitest';
import {
  checkWorkflow,
  checkWorkflows,
  pinProblem,
  WORKFLOWS_DIR,
  workflowFiles,
} from '../../scripts/checks/workflows.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { gh } from './workflow-files.ts';

const scratch = scratchFolders('workflow-rules');

const SHA = '3d3c42e5aac5ba805825da76410c181273ba90b1';
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const FILE = '.github/workflows/w.yml';

/** A workflow with `top` between `on:` and `jobs:` (line 3 on), then the jobs' text. */
const workflow = (jobs: string, top = 'permissions: {}\n') =>
  `name: w\non: push\n${top}jobs:\n${jobs}`;

/**
 * A job `id` on ubuntu with its `permissions:` lines (indented 4) and steps (indented 6), then
 * its timeout (last, so the lines above keep their numbers).
 */
const job = (id: string, permissions: string, steps = '      - run: echo ok\n', timeout = true) =>
  `  ${id}:\n    runs-on: ubuntu-24.04\n${permissions}    steps:\n${steps}${timeout ? '    timeout-minutes: 10\n' : ''}`;

const NONE = '    permissions: {}\n';

describe('pinProblem: what a `uses:` value may be', () => {
  it('accepts a 40-hex commit with a version comment, however the comment spells the version', () => {
    for (const comment of [' v7.0.1', 'v7', ' 7', ' 7.0', ' v1.2.3-beta.1', '  v12 (node 24)']) {
      expect(pinProblem(`actions/checkout@${SHA}`, comment), comment).toBeUndefined();
    }
    expect(pinProblem(`o/r/.github/workflows/deploy.yml@${SHA}`, ' v1.0.0')).toBeUndefined();
    expect(pinProblem(`aws-actions/sub/path@${SHA}`, ' v6')).toBeUndefined();
  });

  it("accepts this repository's actions and workflows (./) without any ref", () => {
    expect(pinProblem('./.github/actions/setup', undefined)).toBeUndefined();
    expect(pinProblem('./.github/workflows/called.yml', undefined)).toBeUndefined();
  });

  it('refuses a path without ./ as an unpinned remote action, suggesting the SHA form', () => {
    expect(pinProblem('.github/actions/setup', undefined)).toBe(
      '.github/actions/setup: not pinned to a full commit SHA (a tag or branch can be moved); use .github/actions/setup@<40-hex commit> # <version>',
    );
    expect(pinProblem('x/./y@v1', ' v1')).toMatch(/^x\/\.\/y@v1: not pinned/);
  });

  it('names the reference without its ref in the fix it suggests', () => {
    expect(pinProblem('@main', undefined)).toBe(
      '@main: not pinned to a full commit SHA (a tag or branch can be moved); use @<40-hex commit> # <version>',
    );
    expect(pinProblem('actions/checkout@v7', ' v7')).toBe(
      'actions/checkout@v7: not pinned to a full commit SHA (a tag or branch can be moved); use actions/checkout@<40-hex commit> # <version>',
    );
    expect(pinProblem('o/r/.github/workflows/w.yml@main', undefined)).toBe(
      'o/r/.github/workflows/w.yml@main: not pinned to a full commit SHA (a tag or branch can be moved); use o/r/.github/workflows/w.yml@<40-hex commit> # <version>',
    );
  });

  it('refuses a bare commit SHA: it names no repository, so nothing is pinned', () => {
    expect(pinProblem(SHA, ' v7.0.1')).toBe(
      `${SHA}: not pinned to a full commit SHA (a tag or branch can be moved); use ${SHA}@<40-hex commit> # <version>`,
    );
  });

  it('refuses anything but exactly 40 lower-case hex digits after the last @', () => {
    for (const ref of [
      SHA.slice(0, 7),
      SHA.slice(0, 39),
      `${SHA}0`,
      `x${SHA}`,
      `${SHA.slice(0, 39)}g`,
      SHA.toUpperCase(),
      `${SHA} `,
      '',
    ]) {
      expect(pinProblem(`actions/checkout@${ref}`, ' v7'), ref).toMatch(
        /^actions\/checkout@\S* ?: not pinned to a full commit SHA/,
      );
    }
    // The ref is what follows the last @, not the first.
    expect(pinProblem(`actions/checkout@${SHA}@v7`, ' v7')).toMatch(/not pinned/);
    expect(pinProblem(`actions/checkout@v7@${SHA}`, ' v7')).toBeUndefined();
  });

  it('refuses a pinned SHA whose comment does not start with a version', () => {
    const message = `actions/checkout@${SHA}: pinned, but no version comment says which release the SHA is (# v1.2.3)`;
    for (const comment of [undefined, '', ' ', ' pinned v7', ' v', ' vv7', ' v7x', ' release 7']) {
      expect(pinProblem(`actions/checkout@${SHA}`, comment), String(comment)).toBe(message);
    }
  });

  it('accepts a container image only by digest', () => {
    expect(pinProblem(`docker://alpine@${DIGEST}`, undefined)).toBeUndefined();
    expect(pinProblem(`docker://ghcr.io/o/img:1.2@${DIGEST}`, undefined)).toBeUndefined();
    for (const image of [
      'docker://alpine:3.20',
      'docker://alpine',
      `docker://alpine@${DIGEST.slice(0, -1)}`,
      `docker://alpine@${DIGEST}0`,
      `docker://alpine@${DIGEST.toUpperCase().replace('SHA256', 'sha256')}`,
      `docker://alpine@${DIGEST}:latest`,
    ]) {
      expect(pinProblem(image, ' v1'), image).toBe(
        `${image}: a container image must be pinned by digest (docker://image@sha256:...)`,
      );
    }
  });
});

describe('checkWorkflow: pinning', () => {
  it('passes a workflow whose actions are all pinned with versions', async () => {
    const steps = `      - uses: actions/checkout@${SHA} # v7.0.1\n        with:\n          persist-credentials: false\n      - name: last key\n        uses: actions/setup-node@${SHA} # v7.0.0\n      - uses: ./.github/actions/local\n`;
    expect(await checkWorkflow(workflow(job('a', NONE, steps)), FILE)).toEqual([]);
  });

  it('reports every unpinned step and called workflow with its file and line, in order', async () => {
    const text = workflow(
      `${job(
        'build',
        NONE,
        `      - uses: actions/checkout@v7\n      - run: echo between\n      - uses: actions/setup-node@${SHA}\n      - uses: docker://alpine:3.20\n`,
      )}  call:\n    permissions: {}\n    uses: o/r/.github/workflows/w.yml@main\n`,
    );
    expect(await checkWorkflow(text, FILE)).toEqual([
      `${FILE}:9: actions/checkout@v7: not pinned to a full commit SHA (a tag or branch can be moved); use actions/checkout@<40-hex commit> # <version>`,
      `${FILE}:11: actions/setup-node@${SHA}: pinned, but no version comment says which release the SHA is (# v1.2.3)`,
      `${FILE}:12: docker://alpine:3.20: a container image must be pinned by digest (docker://image@sha256:...)`,
      `${FILE}:16: o/r/.github/workflows/w.yml@main: not pinned to a full commit SHA (a tag or branch can be moved); use o/r/.github/workflows/w.yml@<40-hex commit> # <version>`,
    ]);
  });

  it('takes the version from the comment beside `uses:`, not a comment on another line', async () => {
    const text = workflow(
      job('a', NONE, `      # v7.0.1\n      - uses: actions/checkout@${SHA}\n        # v7.0.1\n`),
    );
    expect(await checkWorkflow(text, FILE)).toEqual([
      `${FILE}:10: actions/checkout@${SHA}: pinned, but no version comment says which release the SHA is (# v1.2.3)`,
    ]);
  });

  it('checks the steps of every job, not only the first', async () => {
    const text = workflow(
      job('a', NONE, `      - uses: actions/checkout@${SHA} # v7\n`) +
        job('b', NONE, '      - uses: actions/checkout@v7\n'),
    );
    expect(await checkWorkflow(text, FILE)).toEqual([
      expect.stringMatching(/^\.github\/workflows\/w\.yml:15: actions\/checkout@v7: not pinned/),
    ]);
  });
});

describe('checkWorkflow: permissions', () => {
  it('passes jobs that each grant their own scopes, with or without a workflow-level {}', async () => {
    const jobs = job('a', '    permissions:\n      contents: read\n') + job('b', NONE);
    expect(await checkWorkflow(workflow(jobs), FILE)).toEqual([]);
    expect(await checkWorkflow(workflow(jobs, ''), FILE)).toEqual([]);
  });

  it('refuses a workflow-level grant, as scopes or as read-all / write-all', async () => {
    const message =
      'workflow-level permissions grant scopes to every job: use `permissions: {}` and grant each job its own';
    const jobs = job('a', NONE);
    // At the grant: the scalar's line, or a block's first scope.
    for (const [top, line] of [
      ['permissions:\n  contents: read\n', 4],
      ['permissions: read-all\n', 3],
      ['permissions: write-all\n', 3],
    ] as const) {
      expect(await checkWorkflow(workflow(jobs, top), FILE), top).toEqual([
        `${FILE}:${line}: ${message}`,
      ]);
    }
  });

  it('refuses a workflow-level permissions: that is not a map of scopes', async () => {
    const problems = await checkWorkflow(
      workflow(job('a', NONE), 'permissions:\n  - contents\n'),
      FILE,
    );
    expect(problems).toContain(
      `${FILE}:4: workflow-level permissions grant scopes to every job: use \`permissions: {}\` and grant each job its own`,
    );
  });

  it("refuses a job without its own permissions: block, at the job's line", async () => {
    const text = workflow(job('a', NONE) + job('second', ''));
    expect(await checkWorkflow(text, FILE)).toEqual([
      `${FILE}:11: job second: no permissions: block (it would get the repository's default token scopes)`,
    ]);
  });

  it('refuses read-all and write-all in a job, naming the one granted', async () => {
    for (const all of ['read-all', 'write-all']) {
      const text = workflow(job('a', `    permissions: ${all}\n`));
      expect(await checkWorkflow(text, FILE)).toEqual([
        `${FILE}:7: job a: permissions: ${all} grants every scope at once; list the scopes it needs`,
      ]);
    }
  });

  it('grants id-token: write only to a job that runs in an environment', async () => {
    const oidc = '    permissions:\n      contents: read\n      id-token: write\n';
    expect(await checkWorkflow(workflow(job('deploy', oidc)), FILE)).toEqual([
      `${FILE}:8: job deploy: id-token: write without an environment: (the deploy role trusts only an environment's token)`,
    ]);
    const inEnvironment = workflow(job('deploy', `    environment: production\n${oidc}`));
    expect(await checkWorkflow(inEnvironment, FILE)).toEqual([]);
    const noToken = workflow(job('deploy', '    permissions:\n      id-token: none\n'));
    expect(await checkWorkflow(noToken, FILE)).toEqual([]);
  });

  it('reports pinning problems before permission problems, after actionlint', async () => {
    const text = workflow(
      job('a', '', '      - uses: actions/checkout@v7\n'),
      'permissions: write-all\n',
    );
    expect(await checkWorkflow(text, FILE)).toEqual([
      expect.stringMatching(/^\.github\/workflows\/w\.yml:8: actions\/checkout@v7: not pinned/),
      `${FILE}:3: workflow-level permissions grant scopes to every job: use \`permissions: {}\` and grant each job its own`,
      `${FILE}:5: job a: no permissions: block (it would get the repository's default token scopes)`,
    ]);
  });
});

describe('checkWorkflow: time', () => {
  it("refuses a job that runs steps with no timeout-minutes:, at the job's line", async () => {
    const text = workflow(job('a', NONE) + job('slow', NONE, undefined, false));
    expect(await checkWorkflow(text, FILE)).toEqual([
      `${FILE}:11: job slow: no timeout-minutes: (GitHub would let it run for 360 minutes)`,
    ]);
  });

  it('takes a timeout given as an expression, and asks none of a reusable workflow call', async () => {
    const expression = workflow(
      `${job('a', NONE, undefined, false)}    timeout-minutes: \${{ fromJSON(vars.MINUTES) }}\n`,
    );
    expect(await checkWorkflow(expression, FILE)).toEqual([]);
    const call = workflow(`  call:\n${NONE}    uses: ./.github/workflows/other.yml\n`);
    expect(await checkWorkflow(call, FILE)).toEqual([]);
  });

  it('reports time after permissions', async () => {
    const text = workflow(job('a', '', undefined, false));
    expect(await checkWorkflow(text, FILE)).toEqual([
      `${FILE}:5: job a: no permissions: block (it would get the repository's default token scopes)`,
      `${FILE}:5: job a: no timeout-minutes: (GitHub would let it run for 360 minutes)`,
    ]);
  });
});

describe('checkWorkflow: actionlint and malformed workflows', () => {
  it("puts actionlint's findings first, with line, column and kind", async () => {
    const text = workflow(
      job('a', NONE, `      - run: echo ${gh('nope.x')}\n      - uses: a/b@v1\n`),
    );
    expect(await checkWorkflow(text, FILE)).toEqual([
      `${FILE}:9:23: actionlint expression: undefined variable "nope". available variables are "env", "github", "inputs", "job", "matrix", "needs", "runner", "secrets", "steps", "strategy", "vars"`,
      expect.stringMatching(/^\.github\/workflows\/w\.yml:10: a\/b@v1: not pinned/),
    ]);
  });

  it('leaves to actionlint, without throwing, what is not a workflow: empty, scalar, list, malformed jobs', async () => {
    const list = await checkWorkflow('- uses: actions/checkout@v7\n', FILE);
    expect(list.length).toBeGreaterThan(0);
    for (const problem of list)
      expect(problem).toMatch(/^\.github\/workflows\/w\.yml:\d+:\d+: actionlint /);
    for (const text of [
      workflow('  - uses: actions/checkout@v7\n', 'permissions: {}\n'),
      workflow('  a: [uses, actions/checkout@v7]\n'),
      workflow(
        '  a:\n    runs-on: x\n    permissions: {}\n    timeout-minutes: 5\n    steps: actions/checkout@v7\n',
      ),
      workflow(
        '  a:\n    runs-on: x\n    permissions: {}\n    timeout-minutes: 5\n    steps:\n      - [actions/checkout@v7]\n      - actions/checkout@v7\n      - uses: [actions/checkout@v7]\n',
      ),
      'name: w\non: push\npermissions: {}\njobs: actions/checkout@v7\n',
      'name: w\non: push\npermissions: {}\njobs:\n',
      workflow('  a: actions/checkout@v7\n'),
      workflow(
        '  a:\n    runs-on: x\n    timeout-minutes: 5\n    permissions:\n      - id-token\n    steps:\n      - run: echo\n',
      ),
      '',
      'actions/checkout@v7\n',
    ]) {
      const problems = await checkWorkflow(text, FILE);
      expect(problems.length, text).toBeGreaterThan(0);
      for (const problem of problems) expect(problem, text).toMatch(/: actionlint /);
    }
  });
});

describe('workflowFiles and checkWorkflows', () => {
  it('read the .yml and .yaml files of .github/workflows, sorted, repository-relative', async () => {
    const root = scratch();
    const valid = workflow(job('a', NONE));
    root.write(`${WORKFLOWS_DIR}/b.yml`, valid);
    root.write(`${WORKFLOWS_DIR}/a.yaml`, workflow(job('a', '')));
    root.write(`${WORKFLOWS_DIR}/c.yml`, workflow(job('a', NONE), 'permissions: read-all\n'));
    root.write(`${WORKFLOWS_DIR}/notes.md`, 'not a workflow');
    root.write(`${WORKFLOWS_DIR}/x.yml.bak`, 'not: [a workflow');
    root.write(`${WORKFLOWS_DIR}/sub/d.yml`, 'not: [a workflow');
    root.write('.github/other.yml', 'not: [a workflow');
    const files = ['a.yaml', 'b.yml', 'c.yml'].map((name) => `${WORKFLOWS_DIR}/${name}`);
    expect(WORKFLOWS_DIR).toBe('.github/workflows');
    expect(workflowFiles(root.root)).toEqual(files);
    const result = await checkWorkflows(root.root);
    expect(result.files).toEqual(files);
    expect(result.problems).toEqual([
      `${files[0]}:5: job a: no permissions: block (it would get the repository's default token scopes)`,
      `${files[2]}:3: workflow-level permissions grant scopes to every job: use \`permissions: {}\` and grant each job its own`,
    ]);
  });
});
