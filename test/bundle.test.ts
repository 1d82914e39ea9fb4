// What the Dockerfiles ship: one bundled file per service, run with no node_modules beside it,
// by the Dockerfile's own command (its node options and script name).
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleService } from '../scripts/cloud/bundle.ts';
import { containerCommand } from '../scripts/workspace/container-command.ts';
import { loadWorkspace, repoRoot } from '../scripts/workspace/manifests.ts';
import { startNodeProcess } from './helpers/process.ts';

const outside = mkdtempSync(path.join(tmpdir(), 'bundle-'));
afterAll(() => rmSync(outside, { recursive: true, force: true }));

describe('production bundles', () => {
  it('of a service that does not exist: refused, naming the ones that do (as the manifests do)', async () => {
    const names = loadWorkspace()
      .services.map((s) => s.name)
      .sort();
    await expect(bundleService('no-such-service', path.join(outside, 'none'))).rejects.toThrow(
      `no entry point at services/no-such-service/src/server.ts (services: ${names.join(', ')})`,
    );
  });

  for (const service of loadWorkspace().services) {
    it(`${service.name} runs from its bundle alone`, async () => {
      const built = path.join(repoRoot, '.cache', 'bundles', service.name);
      const file = await bundleService(service.name, built);
      // Copied away from the repository so no node_modules can be resolved.
      const isolated = path.join(outside, service.name);
      mkdirSync(isolated, { recursive: true });
      cpSync(path.dirname(file), isolated, { recursive: true });
      // Run as the image runs it: its Dockerfile's node options and script.
      const command = containerCommand(service, repoRoot);
      const started = await startNodeProcess(
        path.join(isolated, command.script),
        {},
        undefined,
        command.nodeOptions,
      );
      try {
        const base = `http://127.0.0.1:${started.port}`;
        const health = await fetch(`${base}${service.health.path}`);
        expect(health.status).toBe(200);
        const list = await fetch(`${base}${service.pathPrefix}`);
        expect(((await list.json()) as unknown[]).length).toBe(6);
        started.child.kill('SIGTERM');
        expect((await started.exited).code).toBe(0);
      } finally {
        started.child.kill('SIGKILL');
      }
    });
  }
});
