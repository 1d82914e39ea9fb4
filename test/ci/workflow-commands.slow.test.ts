// Every script a workflow step runs exists and accepts the flags the step passes: each is run
// with --help (flags read from its help text), and the plan step's command as written, with
// --dry-run --plan-only, which calls neither AWS nor copilot.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

interface Step {
  run?: string;
}
const workflow = (name: string) =>
  parse(readFileSync(path.join(repoRoot, '.github/workflows', name), 'utf8')) as {
    jobs: Record<string, { steps: Step[] }>;
  };

/** `npx zx scripts/x.ts --a --b` and `node scripts/x.ts ...` in the steps' scripts. */
function scriptCalls(name: string): { script: string; flags: string[] }[] {
  const runs = Object.values(workflow(name).jobs).flatMap((job) =>
    job.steps.map((s) => s.run ?? ''),
  );
  return runs.flatMap((run) =>
    [...run.matchAll(/(?:npx zx|node) (scripts\/[\w-]+\.ts)([^\n>|]*)/g)].map(
      ([, script, rest]) => ({
        script: script ?? '',
        flags: [...(rest ?? '').matchAll(/(?:^|\s)(--[a-z][a-z-]*)/g)].map((m) => m[1] ?? ''),
      }),
    ),
  );
}

const node = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8' });

describe.each(['deploy.yml'])('.github/workflows/%s', (name) => {
  const calls = scriptCalls(name);
  it.each(calls.map((c) => [c.script, c.flags] as const))(
    '%s %j: exists, takes those flags',
    (script, flags) => {
      const help = node([script, '--help']);
      for (const flag of flags) expect(help, `${script} ${flag}`).toContain(flag);
    },
  );
});

it('the test workflow runs .ci/run with the pinned Python tools', () => {
  const runs =
    workflow('test.yml')
      .jobs.ci?.steps.map((s) => s.run ?? '')
      .join('\n') ?? '';
  expect(runs).toContain('bash .ci/run');
  expect(runs).toContain('pip" install --quiet -r .ci/requirements.txt');
  expect(readFileSync(path.join(repoRoot, '.ci/requirements.txt'), 'utf8')).toMatch(
    /^cfn-lint==1\.51\.0$/m,
  );
});

describe('the deploy workflow', () => {
  it('calls the scripts it is documented to call', () => {
    expect(scriptCalls('deploy.yml').map((c) => c.script)).toEqual(
      expect.arrayContaining([
        'scripts/deploy.ts',
        'scripts/smoke.ts',
        'scripts/diagnose.ts',
        'scripts/install-copilot.ts',
        'scripts/ci-summary.ts',
      ]),
    );
  });

  it("plans with the deploy step's own --only, without AWS or copilot", () => {
    const plan = JSON.parse(
      node([
        'node_modules/zx/build/cli.js',
        'scripts/deploy.ts',
        '--dry-run',
        '--plan-only',
        '--only',
        'env,services,api',
        '--json',
      ]),
    ) as {
      app: string;
      env: string;
      plan: { step: string }[];
    };
    expect(plan.plan.map((s) => s.step)).toEqual(['preview', 'env', 'services', 'services', 'api']);
    const out = path.join(repoRoot, '.cache', 'ci-plan-test.json');
    execFileSync('sh', ['-c', `cat > ${out}`], { input: JSON.stringify(plan) });
    expect(node(['scripts/ci-summary.ts', 'outputs', out])).toBe(
      `app=${plan.app}\nenv=${plan.env}\n`,
    );
  });
});
