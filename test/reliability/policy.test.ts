// The policy over the Copilot manifests: the real repository holds it, and each control fails
// when its setting is broken, in memory (a mutated copy of the loaded workspace) and end to end
// (the CLI over a fixture copy of copilot/ with one line changed).
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyExceptions,
  CONTROLS,
  checkPolicy,
  evaluateControls,
  finalStageUser,
} from '../../scripts/checks/policy.ts';
import { repoRoot, type Workspace } from '../../scripts/workspace/manifests.ts';
import {
  book,
  dropOverride,
  envManifest,
  loose,
  mutated,
  readReal,
  real,
  rowOf,
  setOverride,
} from '../helpers/policy-workspace.ts';

describe('the real repository', () => {
  it('holds the policy: no failure without an exception, no stale exception', () => {
    const report = checkPolicy(real);
    expect(report.problems).toEqual([]);
    expect(report.rows.filter((r) => r.status === 'FAIL')).toEqual([]);
  });

  it('evaluates every control on every resource it applies to', () => {
    const rows = checkPolicy(real).rows;
    for (const control of CONTROLS) {
      const resources = rows.filter((r) => r.control === control.id).map((r) => r.resource);
      const expected =
        control.scope === 'service'
          ? real.services.map((s) => s.name)
          : real.environments.map((e) => e.name);
      expect(resources.sort(), control.id).toEqual(expected.sort());
    }
  });

  it('CLI: prints the table and exits 0', () => {
    const run = spawnSync(process.execPath, ['scripts/check-policy.ts'], {
      cwd: repoRoot,
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    for (const control of CONTROLS) expect(run.stdout).toContain(control.id);
    expect(run.stdout).toMatch(/^CONTROL\s+RESOURCE\s+STATUS\s+DETAIL$/m);
  });
});

describe('each control fails when its setting is broken', () => {
  it.each<[string, (ws: Workspace) => void]>([
    ['ECS.2', (ws) => (book(ws).manifest.network.vpc.placement = 'public')],
    ['ECS.5', (ws) => dropOverride(ws, 'ReadonlyRootFilesystem')],
    ['ECS.5', (ws) => setOverride(ws, 'ReadonlyRootFilesystem', false)],
    ['ECS.8', (ws) => (book(ws).variables.AWS_SECRET_ACCESS_KEY = 'plain')],
    ['ECS.8', (ws) => (book(ws).variables.DB_PASSWORD = 'plain')],
    ['ECS.20', (ws) => setOverride(ws, 'User', 'root')],
    ['ECS.20', (ws) => setOverride(ws, 'User', '0:0')],
    ['CT.ECS.PR.7', (ws) => (book(ws).manifest.memory = 300)],
    ['CT.ECS.PR.7', (ws) => delete loose(book(ws).manifest).cpu],
    ['CloudWatch.16', (ws) => (book(ws).manifest.logging = { retention: 90 })],
    ['PRJ.INIT_PROCESS', (ws) => dropOverride(ws, 'InitProcessEnabled')],
    ['PRJ.STOP_TIMEOUT', (ws) => dropOverride(ws, 'StopTimeout')],
    ['PRJ.STOP_TIMEOUT', (ws) => setOverride(ws, 'StopTimeout', 20)],
    ['PRJ.STOP_TIMEOUT', (ws) => setOverride(ws, 'StopTimeout', 150)],
    ['PRJ.STOP_TIMEOUT', (ws) => (book(ws).variables.DRAIN_TIMEOUT_SECONDS = '45')],
    ['PRJ.MIN_COUNT', (ws) => (book(ws).manifest.count.range.min = 1)],
  ])('%s', (control, edit) => {
    expect(rowOf(real, control).status).toBe('PASS');
    const row = rowOf(mutated(edit), control);
    expect(row.status, row.detail).toBe('FAIL');
    // Another service is untouched: the control judges each resource on its own.
    expect(rowOf(mutated(edit), control, 'author-service').status).toBe(
      rowOf(real, control, 'author-service').status,
    );
    const report = checkPolicy(mutated(edit), { manifests: [], templates: [], secrets: [] });
    expect(report.problems.join('\n')).toContain(`${control} fails on book-service`);
  });

  it.each<[string, (ws: Workspace) => void]>([
    ['ECS.12', (ws) => (envManifest(ws).observability = { container_insights: false })],
    ['ECS.12', (ws) => delete envManifest(ws).observability],
    ['PRJ.ALB_INGRESS', (ws) => (envManifest(ws).http = { private: { ingress: { vpc: true } } })],
    [
      'PRJ.ALB_INGRESS',
      (ws) =>
        (envManifest(ws).http = {
          private: { security_groups: { ingress: { from_vpc: true } } },
        }),
    ],
  ])('%s (environment)', (control, edit) => {
    expect(rowOf(real, control, 'test').status).toBe('PASS');
    expect(rowOf(mutated(edit), control, 'test').status).toBe('FAIL');
  });

  it('PRJ.IMAGE_USER: a root, missing or build-stage-only USER fails', () => {
    const dockerfile = readReal('services/book-service/Dockerfile');
    expect(finalStageUser(dockerfile)).toBe('node');
    const variants = [
      dockerfile.replace('USER node', 'USER root'),
      dockerfile.replace('USER node', 'USER 0:0'),
      dockerfile.replace('USER node\n', ''),
      dockerfile.replace('USER node\n', '').replace('WORKDIR /src\n', 'WORKDIR /src\nUSER node\n'),
    ];
    for (const text of variants) {
      expect(text).not.toBe(dockerfile);
      const readText = (relative: string) =>
        relative.includes('book-service') ? text : readReal(relative);
      expect(rowOf(real, 'PRJ.IMAGE_USER', 'book-service', readText).status).toBe('FAIL');
    }
  });

  it('a stale exception is reported: one recorded for a control that passes', () => {
    const report = applyExceptions(evaluateControls(real, readReal), [
      { control: 'ECS.20', resources: ['*'], reason: 'no longer needed' },
    ]);
    expect(report.problems).toEqual([expect.stringMatching(/stale exception for ECS\.20/)]);
  });
});

describe('CLI over a fixture copy', () => {
  const scratch = path.join(repoRoot, '.cache', 'test-fixtures');
  mkdirSync(scratch, { recursive: true });
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  function fixture(edit: (root: string) => void): string {
    const root = mkdtempSync(path.join(scratch, 'policy-'));
    made.push(root);
    for (const dir of ['copilot', 'policy', 'services/book-service', 'services/author-service']) {
      cpSync(path.join(repoRoot, dir), path.join(root, dir), {
        recursive: true,
        filter: (src) => !src.includes(`${path.sep}node_modules`),
      });
    }
    edit(root);
    return root;
  }
  const run = (root: string) =>
    spawnSync(process.execPath, [path.join(repoRoot, 'scripts/check-policy.ts'), '--root', root], {
      encoding: 'utf8',
    });
  const edit = (root: string, file: string, from: string, to: string) => {
    const target = path.join(root, file);
    const before = readFileSync(target, 'utf8');
    if (!before.includes(from)) throw new Error(`${file} has no "${from}"`);
    writeFileSync(target, before.replace(from, to));
  };

  it('exits 0 on an unchanged copy', () => {
    const result = run(fixture(() => {}));
    expect(result.status, result.stderr).toBe(0);
  });

  // `off` is a YAML 1.1 word Copilot decodes into the Go bool as false (yaml.v3 decode.go).
  it.each(['false', 'off'])(
    'exits 1 and names the control when Container Insights is turned off (%s)',
    (word) => {
      const root = fixture((r) =>
        edit(
          r,
          'copilot/environments/test/manifest.yml',
          'container_insights: true',
          `container_insights: ${word}`,
        ),
      );
      const result = run(root);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/ECS\.12 fails on test/);
      expect(result.stdout).toMatch(/^ECS\.12\s+test\s+FAIL/m);
    },
  );

  it('exits 1 when a Dockerfile runs as root', () => {
    const root = fixture((r) =>
      edit(r, 'services/author-service/Dockerfile', 'USER node', 'USER root'),
    );
    const result = run(root);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/PRJ\.IMAGE_USER fails on author-service/);
  });

  it('exits 2 when the exceptions file is broken', () => {
    const root = fixture((r) =>
      writeFileSync(path.join(r, 'policy/exceptions.yml'), 'manifests: 3\n'),
    );
    const result = run(root);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/policy\/exceptions\.yml/);
  });
});
