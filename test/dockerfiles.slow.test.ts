import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintDockerfile, lintService } from '../scripts/checks/dockerfile-lint.ts';
import { containerCommand } from '../scripts/workspace/container-command.ts';
import { loadWorkspace, repoRoot } from '../scripts/workspace/manifests.ts';
import { inContext, runBuildStage } from './helpers/docker-build-stage.ts';
import { startNodeProcess } from './helpers/process.ts';

const good = `FROM node:24-alpine AS build
WORKDIR /src
COPY . .
RUN node scripts/build.ts svc

FROM node:24-alpine
WORKDIR /app
COPY --from=build /src/dist/svc/ ./
USER node
EXPOSE 3000
CMD ["node", "server.mjs"]
`;

describe('Dockerfile lint', () => {
  it('passes every service Dockerfile in the repository', () => {
    const workspace = loadWorkspace();
    expect(workspace.services.flatMap((s) => lintService(s, workspace.root))).toEqual([]);
  });

  it('passes a Dockerfile that keeps the rules', () => {
    expect(lintDockerfile(good, 3000)).toEqual([]);
  });

  it.each([
    [
      'a syntax error',
      good.replace('WORKDIR /app', 'WORKDIRR /app'),
      /Unknown instruction: WORKDIRR/,
    ],
    ['one stage', good.slice(good.indexOf('FROM node:24-alpine\n')), /not multi-stage/],
    [
      'an old runtime',
      good.replace('FROM node:24-alpine\n', 'FROM node:20-alpine\n'),
      /final stage runs on "node:20-alpine"/,
    ],
    ['root', good.replace('USER node', 'USER root'), /USER root is root/],
    ['no user', good.replace('USER node\n', ''), /no USER/],
    [
      'shell-form CMD',
      good.replace('CMD ["node", "server.mjs"]', 'CMD node server.mjs'),
      /exec form/,
    ],
    ['npm start', good.replace('CMD ["node", "server.mjs"]', 'CMD ["npm", "start"]'), /exec form/],
    [
      'a wrong port',
      good.replace('EXPOSE 3000', 'EXPOSE 80'),
      /EXPOSE 80: the manifest's image.port is 3000/,
    ],
    [
      'sources in the image',
      good.replace('COPY --from=build', 'COPY . .\nCOPY --from=build'),
      /copies "\. \." from the context/,
    ],
    [
      'npm in the image',
      good.replace('USER node', 'RUN npm ci\nUSER node'),
      /final stage RUN "npm ci"/,
    ],
  ])('fails on %s', (_, text, expected) => {
    expect(lintDockerfile(text, 3000).join('\n')).toMatch(expected);
  });
});

describe('Dockerfile build stages, run as Docker runs them', () => {
  const ignore = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n');

  it('sends the builder only what the Dockerfiles copy', () => {
    for (const kept of ['package.json', 'scripts/build.ts', 'services/book-service/src/app.ts']) {
      expect(inContext(kept, ignore), kept).toBe(true);
    }
    for (const dropped of [
      'README.md',
      'scripts/local.ts',
      'services/book-service/test/app.test.ts',
    ]) {
      expect(inContext(dropped, ignore), dropped).toBe(false);
    }
  });

  for (const service of loadWorkspace().services) {
    it(`${service.name}: npm ci and the bundle build succeed from the filtered context`, {
      timeout: 180_000,
    }, async () => {
      const root = mkdtempSync(path.join(tmpdir(), `docker-${service.name}-`));
      try {
        const workdir = runBuildStage(
          path.join(repoRoot, 'services', service.name, 'Dockerfile'),
          repoRoot,
          root,
        );
        // What the runtime stage copies from the build stage runs with nothing beside it.
        const command = containerCommand(service, repoRoot);
        const started = await startNodeProcess(
          path.join(workdir, 'dist', service.name, command.script),
          {},
          undefined,
          command.nodeOptions,
        );
        try {
          const health = await fetch(`http://127.0.0.1:${started.port}${service.health.path}`);
          expect(health.status).toBe(200);
        } finally {
          started.child.kill('SIGKILL');
        }
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }
});
