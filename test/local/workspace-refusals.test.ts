// A workspace the local stack can never run is refused before anything starts, naming what is
// missing: not after the health-check grace period with every replica "not running".
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../scripts/local/index.ts';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** This repository's manifests and template, without the services' sources. */
function workspaceWithoutSources(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'no-sources-'));
  made.push(root);
  for (const dir of ['copilot', 'addons']) {
    cpSync(path.join(repoRoot, dir), path.join(root, dir), { recursive: true });
  }
  return root;
}

describe('the local stack on a workspace it cannot run', () => {
  it('a service without an entry point: refused at once, naming the file and the manifest', async () => {
    const root = workspaceWithoutSources();
    const lines: string[] = [];
    const started = startLocalStack({ root, apiPort: 0, log: (line) => lines.push(line) });
    await expect(started).rejects.toThrow(
      new RegExp(
        `^author-service: no entry point at ${path.join(root, 'services', 'author-service', 'src', 'server.ts')} \\(the manifest copilot/author-service/manifest.yml builds from`,
      ),
    );
    // Nothing was started: no replica, no listener.
    expect(lines.filter((line) => /started: pid/.test(line))).toEqual([]);
  });
});
