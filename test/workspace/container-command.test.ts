// The command a service's image runs, as the local stack and the bench read it from the
// Dockerfile: node's options, the script, and the refusals for anything that is not
// `CMD ["node", ...options, script]` in the final stage.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { containerCommand, nodeCommandOf } from '../../scripts/workspace/container-command.ts';
import { loadWorkspace } from '../../scripts/workspace/manifests.ts';

const BUILD_STAGE = 'FROM node:24-alpine AS build\nCMD ["node", "--from-build", "build.mjs"]\n';
const withRuntime = (runtime: string) =>
  `${BUILD_STAGE}FROM node:24-alpine AS runtime\n${runtime}\n`;

describe("a Dockerfile's node command", () => {
  it('splits node options, the script and its arguments', () => {
    expect(
      nodeCommandOf(withRuntime('CMD ["node", "--no-memory-reducer", "--a=1", "server.mjs", "x"]')),
    ).toEqual({
      nodeOptions: ['--no-memory-reducer', '--a=1'],
      script: 'server.mjs',
      scriptArgs: ['x'],
    });
    expect(nodeCommandOf(withRuntime('CMD ["node", "server.mjs"]'))).toEqual({
      nodeOptions: [],
      script: 'server.mjs',
      scriptArgs: [],
    });
  });

  it("is the final stage's last CMD, never the build stage's", () => {
    const twice = withRuntime('CMD ["node", "first.mjs"]\nCMD ["node", "--b", "last.mjs"]');
    expect(nodeCommandOf(twice)).toMatchObject({ nodeOptions: ['--b'], script: 'last.mjs' });
    expect(() => nodeCommandOf(withRuntime('USER node'))).toThrow(
      'CMD (none) is not the exec form ["node", ...options, script]',
    );
  });

  it.each([
    ['the shell form', 'CMD node server.mjs'],
    ['another program', 'CMD ["npm", "start"]'],
    ['node without a script', 'CMD ["node", "--no-memory-reducer"]'],
    ['a word that is not a string', 'CMD ["node", 3]'],
  ])('refuses %s, quoting the CMD', (_, cmd) => {
    expect(() => nodeCommandOf(withRuntime(cmd))).toThrow(
      `CMD ${cmd.slice('CMD '.length)} is not the exec form`,
    );
  });
});

describe("a service's container command", () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'container-command-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const service = loadWorkspace().services[0];
  if (!service) throw new Error('the workspace has no service');
  const file = service.manifest.image.build.dockerfile;

  it("is read from the manifest's image.build.dockerfile under the root given, by file", () => {
    expect(() => containerCommand(service, root)).toThrow(
      `${service.name}: ${file} (the manifest's image.build.dockerfile): no such file`,
    );
    mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(root, file), withRuntime('CMD node server.mjs'));
    expect(() => containerCommand(service, root)).toThrow(
      `${service.name}: ${file}: CMD node server.mjs is not the exec form`,
    );
    writeFileSync(path.join(root, file), withRuntime('CMD ["node", "--c", "server.mjs"]'));
    expect(containerCommand(service, root)).toMatchObject({ nodeOptions: ['--c'] });
  });
});
