// A workspace the local stack can never run is refused before anything starts, naming what is
// missing or wrong: not after the health-check grace period with every replica "not running".
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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

/** This repository's workspace, with `service`'s Dockerfile replaced by `dockerfile`. */
function workspaceWithDockerfile(service: string, dockerfile: string): string {
  const root = workspaceWithoutSources();
  cpSync(path.join(repoRoot, 'services'), path.join(root, 'services'), { recursive: true });
  writeFileSync(path.join(root, 'services', service, 'Dockerfile'), dockerfile);
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

  it('a service whose image command is not `node`: refused at once, naming its Dockerfile', async () => {
    const root = workspaceWithDockerfile(
      'book-service',
      'FROM node:24-alpine AS build\nFROM node:24-alpine\nCMD node server.mjs\n',
    );
    const lines: string[] = [];
    const started = startLocalStack({ root, apiPort: 0, log: (line) => lines.push(line) });
    await expect(started).rejects.toThrow(
      'book-service: services/book-service/Dockerfile: CMD node server.mjs is not the exec form ["node", ...options, script]',
    );
    expect(lines.filter((line) => /started: pid/.test(line))).toEqual([]);
  });
});
