import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateControls } from '../scripts/checks/policy.ts';
import {
  loadWorkspace,
  ManifestError,
  parseDuration,
  repoRoot,
  taskdefOverride,
} from '../scripts/workspace/manifests.ts';

const scratch = path.join(repoRoot, '.cache', 'test-fixtures');
mkdirSync(scratch, { recursive: true });
const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

function workspaceWith(file: string, edit: (text: string) => string): string {
  const root = mkdtempSync(path.join(scratch, 'manifests-'));
  made.push(root);
  cpSync(path.join(repoRoot, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  const target = path.join(root, file);
  const before = readFileSync(target, 'utf8');
  const after = edit(before);
  if (after === before) throw new Error(`fixture edit changed nothing in ${file}`);
  writeFileSync(target, after);
  return root;
}

function loadError(root: string): string {
  try {
    loadWorkspace(root);
  } catch (error) {
    expect(error).toBeInstanceOf(ManifestError);
    return (error as Error).message;
  }
  throw new Error('expected the workspace to be rejected');
}

describe('Copilot manifests', () => {
  const workspace = loadWorkspace();

  it('define the app, the test environment and both services', () => {
    expect(workspace.application).toBe('bookstore');
    expect(workspace.environments.map((e) => e.name)).toEqual(['test']);
    expect(workspace.services.map((s) => s.name).sort()).toEqual([
      'author-service',
      'book-service',
    ]);
  });

  it('keep production settings on every service', () => {
    for (const service of workspace.services) {
      const m = service.manifest;
      expect(service.minCount, service.name).toBeGreaterThanOrEqual(2);
      expect([m.cpu, m.memory]).toEqual([256, 512]);
      expect(m.network.vpc.placement).toBe('private');
      expect(service.health.path.startsWith(`${service.pathPrefix}/`)).toBe(true);
      expect(
        taskdefOverride(service, 'ContainerDefinitions[0].LinuxParameters.InitProcessEnabled'),
      ).toBe(true);
      expect(taskdefOverride(service, 'ContainerDefinitions[0].ReadonlyRootFilesystem')).toBe(true);
      expect(
        Number(taskdefOverride(service, 'ContainerDefinitions[0].StopTimeout')),
      ).toBeGreaterThan(0);
    }
  });

  it('turn Container Insights on and keep the internal ALB closed to the VPC', () => {
    const env = workspace.environments[0]?.manifest;
    expect(env?.observability?.container_insights).toBe(true);
    expect(env?.http?.private?.ingress?.vpc).not.toBe(true);
  });

  it('reject a misspelt field, naming file and field', () => {
    const root = workspaceWith('copilot/book-service/manifest.yml', (t) =>
      t.replace('healthy_threshold: 2', 'healthy_treshold: 2'),
    );
    const message = loadError(root);
    expect(message).toContain('copilot/book-service/manifest.yml');
    expect(message).toContain('http.healthcheck.healthy_treshold');
  });

  it('reject a manifest that is not YAML in one line, naming file, line and column', () => {
    const root = workspaceWith('copilot/book-service/manifest.yml', (t) =>
      t.replace('  path: api/books\n', '  path: "api/books\n'),
    );
    expect(loadError(root)).toMatch(
      /^copilot\/book-service\/manifest\.yml: is not valid YAML: .* at line \d+, column \d+$/,
    );
  });

  it('reject a wrong value, naming file and field', () => {
    const root = workspaceWith('copilot/author-service/manifest.yml', (t) =>
      t.replace('interval: 10s', 'interval: ten seconds'),
    );
    const message = loadError(root);
    expect(message).toMatch(
      /copilot\/author-service\/manifest\.yml: field http\.healthcheck\.interval: expected a duration/,
    );
  });

  it('reject opening the internal ALB to the whole VPC (the policy does, naming the field)', () => {
    const root = workspaceWith(
      'copilot/environments/test/manifest.yml',
      (t) => `${t}\nhttp:\n  private:\n    ingress:\n      vpc: true\n`,
    );
    // The fixture holds copilot/ only: the policy reads the other files from this checkout.
    const rows = evaluateControls(loadWorkspace(root), (relative) =>
      readFileSync(path.join(repoRoot, relative), 'utf8'),
    );
    const row = rows.find((r) => r.control === 'PRJ.ALB_INGRESS' && r.resource === 'test');
    expect(row?.status).toBe('FAIL');
    expect(row?.detail).toMatch(/http\.private\.ingress\.vpc/);
  });

  it.each([
    ['default', 100, 200],
    ['recreate', 0, 100],
    ['Recreate', 0, 100],
  ])(
    'read `deployment.rolling: %s` as Copilot renders it (transformers.go)',
    (rolling, min, max) => {
      const root = workspaceWith(
        'copilot/book-service/manifest.yml',
        (t) => `${t}\ndeployment:\n  rolling: ${rolling}\n`,
      );
      const books = loadWorkspace(root).services.find((s) => s.name === 'book-service');
      expect([books?.minimumHealthyPercent, books?.maximumPercent]).toEqual([min, max]);
    },
  );

  it('reject a rolling strategy Copilot does not have, naming file and field', () => {
    const root = workspaceWith(
      'copilot/book-service/manifest.yml',
      (t) => `${t}\ndeployment:\n  rolling: blue-green\n`,
    );
    expect(loadError(root)).toMatch(
      /copilot\/book-service\/manifest\.yml: field deployment\.rolling: /,
    );
  });

  it('reject a service whose name is not its folder', () => {
    const root = workspaceWith('copilot/book-service/manifest.yml', (t) =>
      t.replace('name: book-service', 'name: books'),
    );
    expect(loadError(root)).toMatch(
      /field name: "books" must equal its folder name "book-service"/,
    );
  });

  it('parse Copilot durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(() => parseDuration('')).toThrow();
    expect(() => parseDuration('10')).toThrow();
  });
});
