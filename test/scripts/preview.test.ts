// deploy.ts's preview in this process: Copilot's package commands answered by the fake copilot's
// own rendering (rendering.ts), on this workspace or a copy broken one way, judged at chosen
// days. What it must do: stop before any change, naming the stack, the function, the runtime and
// the patch to add, when a rendered function runs on a runtime Lambda refuses (a new service
// without its patch; a day past the block date), when the patches did not apply (a Copilot that
// ignores them), or when Copilot cannot render (a patch on a path it does not render, an
// environment never deployed); warn, and go on, on a runtime in its last 180 days.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProgress } from '../../scripts/cli/command.ts';
import type { Copilot } from '../../scripts/cloud/copilot.ts';
import { type PreviewTarget, previewStacks } from '../../scripts/cloud/preview.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';
import { cliErrorOf as refused } from '../helpers/cli-error.ts';
import {
  addServiceWithoutPatches,
  renderPackage,
  type Tamper,
  workspaceCopies,
} from './rendering.ts';

const dirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A copilot whose package commands render the workspace at `root`; `fail` answers instead. */
function packager(
  root: string,
  o: { tamper?: Tamper; fail?: (args: string[]) => string | undefined } = {},
) {
  const calls: string[] = [];
  const copilot = {
    run: async (args: string[]) => {
      calls.push(args.join(' '));
      const failure = o.fail?.(args);
      if (failure) return { code: 1, stdout: '', stderr: `✘ ${failure}\n` };
      return renderPackage(root, args, o.tamper);
    },
  } as unknown as Copilot;
  return { copilot, calls };
}

function target(root: string, over: Partial<PreviewTarget> = {}): PreviewTarget {
  return {
    cmd: 'deploy',
    app: 'bookstore',
    env: 'test',
    environment: true,
    services: ['author-service', 'book-service'],
    dir: path.join(tempDir('rendered-'), 'out'),
    root,
    today: '2026-12-06',
    timeoutMs: 60_000,
    ...over,
  };
}

function capture() {
  const lines: string[] = [];
  return { log: createProgress('deploy', (l) => void lines.push(l)), text: () => lines.join('') };
}

const copies = workspaceCopies('preview-ws-');
afterAll(() => copies.cleanup());

/** Sets one function's runtime back, as a Copilot that skipped that patch would render it. */
const unpatch =
  (file: string, fn: string): Tamper =>
  (name, template) => {
    if (name !== file) return template;
    const resources = template.Resources as Record<string, { Properties: Record<string, unknown> }>;
    (resources[fn] as { Properties: Record<string, unknown> }).Properties.Runtime = 'nodejs20.x';
    return template;
  };

describe('the deploy preview', () => {
  it("renders every stack with Copilot's file names and passes this workspace today", async () => {
    const { copilot, calls } = packager(repoRoot);
    const t = target(repoRoot);
    const out = capture();
    const previewed = await previewStacks(copilot, t, out.log);
    expect(calls).toEqual([
      `env package --name test --app bookstore --output-dir ${t.dir}`,
      `svc package --name author-service --env test --app bookstore --output-dir ${t.dir}`,
      `svc package --name book-service --env test --app bookstore --output-dir ${t.dir}`,
    ]);
    expect(readdirSync(t.dir).sort()).toEqual([
      'author-service-test.stack.yml',
      'book-service-test.stack.yml',
      'test.env.yml',
    ]);
    expect(
      previewed.map((p) => [p.stack, p.functions.map((f) => `${f.fn} ${f.runtime}`), p.findings]),
    ).toEqual([
      [
        'bookstore-test',
        [
          'CertificateValidationFunction nodejs24.x',
          'CustomDomainFunction nodejs24.x',
          'DNSDelegationFunction nodejs24.x',
        ],
        [],
      ],
      ...['author-service', 'book-service'].map((s) => [
        `bookstore-test-${s}`,
        [
          'EnvControllerFunction nodejs24.x',
          'RulePriorityFunction nodejs24.x',
          'DynamicDesiredCountFunction nodejs24.x',
        ],
        [],
      ]),
    ]);
    expect(out.text()).not.toMatch(/WARN|FAIL/);
  });

  it('stops on a new service without a patch, naming each function, its runtime and the patch', async () => {
    const root = copies.copy();
    addServiceWithoutPatches(root);
    const { copilot } = packager(root);
    const out = capture();
    const error = await refused(
      previewStacks(
        copilot,
        target(root, { environment: false, services: ['publisher-service'] }),
        out.log,
      ),
    );
    expect(error.what).toBe('deploy: the preview refuses what Copilot would deploy');
    expect(error.why).toBe(
      `${['EnvControllerFunction', 'RulePriorityFunction', 'DynamicDesiredCountFunction']
        .map(
          (fn) =>
            `bookstore-test-publisher-service: ${fn} runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31)`,
        )
        .join('; ')}; nothing was changed`,
    );
    expect(error.next).toMatch(
      /^add to copilot\/publisher-service\/overrides\/cfn\.patches\.yml: \(details above\), then npm run check:runtimes/,
    );
    expect(out.text()).toContain(
      'fix: add to copilot/publisher-service/overrides/cfn.patches.yml:\n      - op: replace\n        path: /Resources/EnvControllerFunction/Properties/Runtime\n        value: nodejs24.x\n',
    );
  });

  it('stops when Copilot ignored the patch file, or a patch did not take', async () => {
    const ignored: Tamper = (name, template) =>
      name === 'book-service-test.stack.yml'
        ? {
            ...template,
            Description: 'CloudFormation template that represents a backend service on Amazon ECS.',
          }
        : template;
    const error = await refused(
      previewStacks(
        packager(repoRoot, { tamper: ignored }).copilot,
        target(repoRoot),
        capture().log,
      ),
    );
    expect(error.why).toBe(
      'bookstore-test-book-service: Copilot did not apply copilot/book-service/overrides/cfn.patches.yml: the rendered Description lacks its "using AWS Copilot with YAML patches." mark; nothing was changed',
    );
    const skipped = unpatch('author-service-test.stack.yml', 'RulePriorityFunction');
    const partial = await refused(
      previewStacks(
        packager(repoRoot, { tamper: skipped }).copilot,
        target(repoRoot),
        capture().log,
      ),
    );
    expect(partial.why).toBe(
      'bookstore-test-author-service: patch 1 of copilot/author-service/overrides/cfn.patches.yml (replace /Resources/RulePriorityFunction/Properties/Runtime) did not take: the rendered template has "nodejs20.x" there; bookstore-test-author-service: RulePriorityFunction runs nodejs20.x: Lambda refuses to create or update functions on it since 2026-09-30 (create since 2026-08-31); nothing was changed',
    );
  });

  it("warns in nodejs24.x's last days before its block, and stops from the block date on", async () => {
    for (const [today, outcome] of [
      ['2027-12-03', 'pass'],
      ['2027-12-04', 'warn'],
      ['2028-05-31', 'warn'],
      ['2028-06-01', 'stop'],
    ] as const) {
      const out = capture();
      const run = previewStacks(
        packager(repoRoot).copilot,
        target(repoRoot, { today, environment: false, services: ['book-service'] }),
        out.log,
      );
      if (outcome === 'stop') {
        const error = await refused(run);
        expect(error.why, today).toMatch(
          /^bookstore-test-book-service: EnvControllerFunction runs nodejs24\.x: Lambda refuses to create functions on it since 2028-06-01/,
        );
      } else {
        await run;
        expect(
          out
            .text()
            .includes('WARN bookstore-test-book-service: EnvControllerFunction runs nodejs24.x'),
          today,
        ).toBe(outcome === 'warn');
      }
    }
  });

  it('says which patch file to fix when Copilot cannot apply it, and what to deploy first when the environment never was', async () => {
    const patchError =
      'generate workload book-service template against environment test: override template: unable to apply the "replace" patch at index 3: key "/Resources": "Nope" not found in map';
    const broken = packager(repoRoot, {
      fail: (args) => (args[3] === 'book-service' ? patchError : undefined),
    });
    const error = await refused(previewStacks(broken.copilot, target(repoRoot), capture().log));
    expect(error.what).toBe('deploy: copilot svc package could not render book-service');
    expect(error.why).toBe(`${patchError}; nothing was changed`);
    expect(error.next).toMatch(
      /^fix copilot\/book-service\/overrides\/cfn\.patches\.yml \(npm run check:runtimes lists what Copilot renders for each manifest\), then npx zx scripts\/deploy\.ts --dry-run$/,
    );
    const undeployed = packager(repoRoot, {
      fail: (args) =>
        args[0] === 'svc'
          ? 'cannot deploy a service to an undeployed environment. Please run "copilot env deploy --name test" to deploy the environment first'
          : undefined,
    });
    const first = await refused(previewStacks(undeployed.copilot, target(repoRoot), capture().log));
    expect(first.next).toBe(
      'npx zx scripts/deploy.ts --env test --only env   (then this command again)',
    );
    // It stopped at the first service: nothing after it was rendered.
    expect(undeployed.calls).toHaveLength(2);
  });

  it('refuses a package command that succeeded without writing a template', async () => {
    const silent = {
      run: async (args: string[]) => {
        const dir = args[args.indexOf('--output-dir') + 1] as string;
        writeFileSync(path.join(dir, `${args[3]}.env.yml`), '');
        return { code: 0, stdout: '', stderr: '' };
      },
    } as unknown as Copilot;
    const t = target(repoRoot, { services: [] });
    const error = await refused(previewStacks(silent, t, capture().log));
    expect(error.what).toBe(
      `deploy: copilot wrote no template to ${path.relative(repoRoot, t.dir)}/test.env.yml`,
    );
  });
});
