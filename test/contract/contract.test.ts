import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadWorkspace, repoRoot } from '../../scripts/workspace/manifests.ts';
import { checkContract } from './checks.ts';

// Fixture workspaces live inside the repository so their code resolves node_modules.
const scratch = path.join(repoRoot, '.cache', 'test-fixtures');
const made: string[] = [];
mkdirSync(scratch, { recursive: true });

function copyWorkspace(edit: (root: string) => void): string {
  const root = mkdtempSync(path.join(scratch, 'contract-'));
  made.push(root);
  cpSync(path.join(repoRoot, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  cpSync(path.join(repoRoot, 'services'), path.join(root, 'services'), { recursive: true });
  edit(root);
  return root;
}

function replaceIn(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`fixture edit found nothing to replace in ${file}`);
  writeFileSync(file, next);
}

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

describe('manifest, Dockerfile and code agree', () => {
  it('holds for this repository', async () => {
    expect(await checkContract(loadWorkspace())).toEqual([]);
  });

  it('fails when the manifest port disagrees with EXPOSE and the server default', async () => {
    const root = copyWorkspace((r) =>
      replaceIn(path.join(r, 'copilot/book-service/manifest.yml'), /port: \d+/, 'port: 9999'),
    );
    const problems = await checkContract(loadWorkspace(root));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/book-service .*image\.port 9999 but the Dockerfile EXPOSEs/),
        expect.stringMatching(/book-service .*image\.port 9999 but the server defaults to/),
      ]),
    );
  });

  it('fails when the http.path disagrees with the routes', async () => {
    const root = copyWorkspace((r) =>
      replaceIn(
        path.join(r, 'copilot/author-service/manifest.yml'),
        'path: api/authors',
        'path: api/writers',
      ),
    );
    const problems = await checkContract(loadWorkspace(root));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/http\.path is \/api\/writers but the code serves \/api\/authors/),
        expect.stringMatching(/route \/api\/authors is outside http\.path \/api\/writers/),
      ]),
    );
  });

  it('fails when the health check path does not answer 200', async () => {
    const root = copyWorkspace((r) =>
      replaceIn(
        path.join(r, 'copilot/book-service/manifest.yml'),
        'path: /api/books/health',
        'path: /health',
      ),
    );
    expect(await checkContract(loadWorkspace(root))).toEqual(
      expect.arrayContaining([expect.stringMatching(/health check \/health answers 404/)]),
    );
  });

  it('fails when a service folder has no manifest', async () => {
    const root = copyWorkspace((r) => {
      cpSync(path.join(r, 'services/book-service'), path.join(r, 'services/orphan-service'), {
        recursive: true,
      });
    });
    expect(await checkContract(loadWorkspace(root))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/services\/orphan-service has a Dockerfile but no copilot/),
      ]),
    );
  });
});
