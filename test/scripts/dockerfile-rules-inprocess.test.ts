// The Dockerfile rules `npm run lint` holds each service's image to (multi-stage, a runtime of the
// pinned Node major, only the build stage's output, a non-root user, exec-form CMD, EXPOSE of the
// manifest's port), and the command the image runs as the local stack and the bench read it:
// node's options, the script, its arguments. Texts are written here; files in scratch folders.
import { DockerfileParser } from 'dockerfile-ast';
import { describe, expect, it } from 'vitest';
import { lintDockerfile, lintService } from '../../scripts/checks/dockerfile-lint.ts';
import { nodeTarget } from '../../scripts/cloud/bundle.ts';
import {
  containerCommand,
  finalStage,
  nodeCommandIn,
  nodeCommandOf,
} from '../../scripts/workspace/container-command.ts';
import type { Service } from '../../scripts/workspace/manifests.ts';
import { scratchFolders } from '../helpers/scratch.ts';
import { manifestService } from '../helpers/workspace.ts';

const scratch = scratchFolders('dockerfile-rules');

const BUILD =
  'FROM node:24-alpine AS build\nWORKDIR /src\nCOPY . .\nRUN node scripts/build.ts svc\n';
const RUNTIME_BODY = 'WORKDIR /app\nCOPY --from=build /src/dist/svc/ ./\nUSER node\nEXPOSE 3000\n';
const CMD = 'CMD ["node", "server.mjs"]\n';

/** A Dockerfile that keeps every rule, with its runtime stage's `from`, body and CMD replaced. */
function dockerfile(parts: { from?: string; body?: string; cmd?: string } = {}): string {
  const { from = 'node:24-alpine', body = RUNTIME_BODY, cmd = CMD } = parts;
  return `${BUILD}\nFROM ${from}\n${body}${cmd}`;
}

/** The problems of `text` for a service on port 3000 and Node 24. */
const lint = (text: string) => lintDockerfile(text, 3000, '24');

/** What `run` throws. */
function failure(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('it did not throw');
}

/** `service` with its manifest's image.build changed. */
function withBuild(service: Service, build: { dockerfile?: string; context?: string }): Service {
  const image = service.manifest.image;
  return {
    ...service,
    manifest: { ...service.manifest, image: { ...image, build: { ...image.build, ...build } } },
  };
}

describe('the Dockerfile lint: stages and the runtime image', () => {
  it('passes a Dockerfile that keeps the rules, for the Node major package.json pins by default', () => {
    expect(lint(dockerfile())).toEqual([]);
    const pinned = nodeTarget().slice('node'.length);
    const onPinned = dockerfile({ from: `node:${pinned}-alpine` });
    expect(lintDockerfile(onPinned, 3000)).toEqual([]);
    expect(lintDockerfile(dockerfile({ from: 'node:1-alpine' }), 3000)).toEqual([
      `final stage runs on "node:1-alpine": use node:${pinned}-alpine (package.json pins Node ${pinned})`,
    ]);
  });

  it("reports a syntax error at its line, counted from 1, with the linter's message", () => {
    const text = dockerfile({ body: RUNTIME_BODY.replace('WORKDIR /app', 'WORKDIRR /app') });
    const line = text.split('\n').indexOf('WORKDIRR /app') + 1;
    expect(lint(text)).toEqual([`line ${line}: Unknown instruction: WORKDIRR`]);
  });

  it('refuses a single stage, and a file with no FROM at all', () => {
    expect(lint(`FROM node:24-alpine\n${RUNTIME_BODY}${CMD}`)).toEqual([
      'not multi-stage: build in one stage, run in another',
    ]);
    const none = lint('# nothing but a comment\n');
    expect(none.slice(-2)).toEqual([
      'not multi-stage: build in one stage, run in another',
      'no FROM',
    ]);
  });

  it.each([
    'node:24-alpine',
    'node:24.11-alpine',
    'node:24.11.1-alpine3.22',
    `node:24-alpine@sha256:${'ab12'.repeat(16)}`,
  ])('accepts the runtime %s', (from) => {
    expect(lint(dockerfile({ from }))).toEqual([]);
  });

  it.each([
    ['another major', 'node:22-alpine'],
    ['a major that only starts with the pinned one', 'node:240-alpine'],
    ['the Debian image', 'node:24'],
    ['the slim image', 'node:24-slim'],
    ['another registry path', 'mynode:24-alpine'],
    ['a suffix after the Alpine version', 'node:24-alpine3.22-extra'],
    ['a short digest', `node:24-alpine@sha256:${'ab12'.repeat(15)}`],
    ['an upper-case digest', `node:24-alpine@sha256:${'AB12'.repeat(16)}`],
    ['a build stage', 'build'],
    // Distroless's entrypoint is node: its CMD is the script alone, which CMD ["node", ...]
    // is not (https://github.com/GoogleContainerTools/distroless/blob/main/nodejs/README.md).
    ['distroless', 'gcr.io/distroless/nodejs24-debian12'],
    ['distroless nonroot', 'gcr.io/distroless/nodejs24-debian12:nonroot'],
  ])('refuses %s as the runtime, naming the image and the pinned major', (_, from) => {
    const problems = lint(dockerfile({ from: `${from} AS runtime` }));
    expect(problems).toEqual([
      `final stage runs on "${from}": use node:24-alpine (package.json pins Node 24)`,
    ]);
  });

  it('refuses a final FROM with no image, showing it empty', () => {
    expect(lint(dockerfile({ from: '' }))).toContain(
      'final stage runs on "": use node:24-alpine (package.json pins Node 24)',
    );
  });

  it.each([
    'docker.io/library/node:24-alpine',
    'docker.io/node:24-alpine',
    'index.docker.io/library/node:24-alpine',
    'library/node:24-alpine',
  ])('accepts the official image by its full name, %s', (from) => {
    expect(lint(dockerfile({ from }))).toEqual([]);
  });

  it.each([
    'docker.io/someone/node:24-alpine',
    'registry.example.com/library/node:24-alpine',
    'public.ecr.aws/docker/library/node:22-alpine',
  ])('refuses %s, which is not Docker Hub official image of the pinned major', (from) => {
    expect(lint(dockerfile({ from }))).toEqual([
      `final stage runs on "${from}": use node:24-alpine (package.json pins Node 24)`,
    ]);
  });

  it('reads a FROM through the ARGs before the first FROM, with their defaults', () => {
    const onArg = (value: string, from = 'node:${NODE}-alpine') =>
      lint(`ARG NODE${value}\n${dockerfile({ from })}`);
    expect(onArg('=24')).toEqual([]);
    expect(onArg('="24"', 'docker.io/library/node:${NODE}-alpine')).toEqual([]);
    expect(onArg('=22')).toEqual([
      'final stage runs on "node:${NODE}-alpine" (read as "node:22-alpine"): use node:24-alpine (package.json pins Node 24)',
    ]);
    // Declared with no value and given none (the manifest passes no build arguments): empty.
    expect(onArg('', 'node:${NODE:-24}-alpine')).toEqual([]);
    expect(onArg('')).toEqual([
      'final stage runs on "node:${NODE}-alpine" (read as "node:-alpine"): use node:24-alpine (package.json pins Node 24)',
    ]);
  });

  it('reads only the ARGs before the first FROM in a FROM, as Docker does', () => {
    const text = `ARG NODE=24\n${BUILD}ARG NODE=22\n\nFROM node:\${NODE}-alpine\n${RUNTIME_BODY}${CMD}`;
    expect(lint(text)).toEqual([]);
  });

  it('names a variable nothing declares, and a substitution it does not read', () => {
    expect(lint(dockerfile({ from: 'node:${NODE}-alpine' }))).toEqual([
      'final stage FROM uses ${NODE}, which nothing declares: it reads as empty',
      'final stage runs on "node:${NODE}-alpine" (read as "node:-alpine"): use node:24-alpine (package.json pins Node 24)',
    ]);
    expect(lint(`ARG V=24.1\n${dockerfile({ from: 'node:${V%.*}-alpine' })}`)).toEqual([
      'final stage FROM uses ${V%.*}, a substitution this lint does not read',
      'final stage runs on "node:${V%.*}-alpine": use node:24-alpine (package.json pins Node 24)',
    ]);
  });

  it('judges only the last stage by its FROM', () => {
    const text = `FROM node:20 AS deps\nRUN npm ci\n${dockerfile()}`;
    expect(lint(text)).toEqual([]);
  });
});

describe('the Dockerfile lint: what the final stage holds', () => {
  it('refuses RUN and ADD in the final stage, quoting them; the build stage may run anything', () => {
    const body = `${RUNTIME_BODY}RUN npm ci\nADD https://example.com/x.tgz /x\n`;
    expect(lint(dockerfile({ body }))).toEqual([
      'final stage RUN "npm ci": build in the build stage and COPY --from it',
      'final stage ADD "https://example.com/x.tgz /x": build in the build stage and COPY --from it',
    ]);
  });

  it('refuses a copy from the build context, not one from a stage, whatever the flags before', () => {
    const body = `COPY --chown=node:node --from=build /src/dist/svc/ ./\nCOPY package.json ./\n${RUNTIME_BODY}`;
    expect(lint(dockerfile({ body }))).toEqual([
      `final stage copies "package.json ./" from the context: copy only the build stage's output`,
    ]);
  });
});

describe('the Dockerfile lint: how the container runs', () => {
  it('refuses a final stage with no USER, even when the build stage has one', () => {
    const text = `FROM node:24-alpine AS build\nUSER node\n${dockerfile({ body: RUNTIME_BODY.replace('USER node\n', '') }).slice(BUILD.length)}`;
    expect(lint(text)).toEqual(['final stage has no USER: the container would run as root']);
  });

  it('reads a USER with no name as none (a syntax error too)', () => {
    const body = RUNTIME_BODY.replace('USER node', 'USER');
    expect(lint(dockerfile({ body }))).toContain(
      'final stage has no USER: the container would run as root',
    );
  });

  // A numeric user is a uid as Go's strconv.Atoi reads it (github.com/moby/sys/user).
  it.each(['root', '0', 'root:node', '0:0', '00', '000:node', '+0', '-0'])(
    'refuses USER %s as root',
    (user) => {
      const body = RUNTIME_BODY.replace('USER node', `USER ${user}`);
      expect(lint(dockerfile({ body }))).toEqual([`final stage USER ${user} is root`]);
    },
  );

  it.each(['node', 'node:root', '1000', '10', 'rootless', '0abc'])('accepts USER %s', (user) => {
    const body = RUNTIME_BODY.replace('USER node', `USER ${user}`);
    expect(lint(dockerfile({ body }))).toEqual([]);
  });

  it('reads a USER through its variables, as the build will, showing what it read', () => {
    const viaArg = RUNTIME_BODY.replace('USER node', 'ARG RUN_AS=root\nUSER ${RUN_AS}');
    expect(lint(dockerfile({ body: viaArg }))).toEqual([
      'final stage USER ${RUN_AS} (read as "root") is root',
    ]);
    const viaEnv = RUNTIME_BODY.replace('USER node', 'ENV RUN_AS=node\nUSER $RUN_AS');
    expect(lint(dockerfile({ body: viaEnv }))).toEqual([]);
    const fallback = RUNTIME_BODY.replace('USER node', 'USER ${RUN_AS:-0}');
    expect(lint(dockerfile({ body: fallback }))).toEqual([
      'final stage USER ${RUN_AS:-0} (read as "0") is root',
    ]);
  });

  it('refuses a USER read as no user, or as a group alone: the container runs as root', () => {
    const undeclared = RUNTIME_BODY.replace('USER node', 'USER ${RUN_AS}');
    expect(lint(dockerfile({ body: undeclared }))).toEqual([
      'final stage USER uses ${RUN_AS}, which nothing declares: it reads as empty',
      'final stage USER ${RUN_AS} (read as "") is root',
    ]);
    const groupOnly = RUNTIME_BODY.replace('USER node', 'ARG RUN_AS\nUSER ${RUN_AS}:node');
    expect(lint(dockerfile({ body: groupOnly }))).toEqual([
      'final stage USER ${RUN_AS}:node (read as ":node") is root',
    ]);
  });

  it('judges the last USER of the final stage, the one the container runs as', () => {
    const rootLast = `${RUNTIME_BODY}USER root\n`;
    expect(lint(dockerfile({ body: rootLast }))).toEqual(['final stage USER root is root']);
    const nodeLast = RUNTIME_BODY.replace('USER node', 'USER root\nUSER node');
    expect(lint(dockerfile({ body: nodeLast }))).toEqual([]);
  });

  it('refuses a CMD that is not node in exec form, saying why the exec form matters', () => {
    expect(lint(dockerfile({ cmd: 'CMD node server.mjs\n' }))).toEqual([
      'CMD node server.mjs is not the exec form ["node", ...options, script]: use it, so node receives SIGTERM',
    ]);
    expect(lint(dockerfile({ cmd: '' }))).toEqual([
      'CMD (none) is not the exec form ["node", ...options, script]: use it, so node receives SIGTERM',
    ]);
  });

  it('refuses an ENTRYPOINT in the final stage, not in the build stage', () => {
    expect(lint(dockerfile({ cmd: `ENTRYPOINT ["tini", "--"]\n${CMD}` }))).toEqual([
      'ENTRYPOINT set: CMD ["node", ...] alone',
    ]);
    const text = dockerfile().replace('WORKDIR /src', 'WORKDIR /src\nENTRYPOINT ["sh"]');
    expect(lint(text)).toEqual([]);
  });

  it.each([
    ['an EXPOSE with no port', 'EXPOSE\n', '(none)'],
    ['a port split in two', 'EXPOSE 30 00\n', '30 00'],
    ['a protocol around the port', 'EXPOSE 30/tcp00\n', '30/tcp00'],
  ])('refuses %s (a syntax error or not), naming what it exposes', (_, expose, shown) => {
    const body = RUNTIME_BODY.replace('EXPOSE 3000\n', expose);
    expect(lint(dockerfile({ body }))).toContain(
      `EXPOSE ${shown}: the manifest's image.port is 3000`,
    );
  });

  it.each([
    ['a missing EXPOSE', '', '(none)'],
    ['ports apart by spaces', 'EXPOSE 3000   9229\n', '3000 9229'],
    ['another port', 'EXPOSE 80\n', '80'],
    ['a second port', 'EXPOSE 3000 9229\n', '3000 9229'],
    ['the port twice', 'EXPOSE 3000\nEXPOSE 3000\n', '3000 3000'],
    ['a UDP port', 'EXPOSE 3000/udp\n', '3000/udp'],
    ['a protocol not in lower case', 'EXPOSE 3000/TCP\n', '3000/TCP'],
    ['another port through a variable', 'ARG PORT=80\nEXPOSE ${PORT}\n', '80'],
  ])('refuses %s, naming the manifest port', (_, expose, shown) => {
    const body = RUNTIME_BODY.replace('EXPOSE 3000\n', expose);
    expect(lint(dockerfile({ body }))).toEqual([
      `EXPOSE ${shown}: the manifest's image.port is 3000`,
    ]);
  });

  it('names a variable of an EXPOSE that nothing declares', () => {
    const body = RUNTIME_BODY.replace('EXPOSE 3000\n', 'EXPOSE ${PORT}\n');
    expect(lint(dockerfile({ body }))).toEqual([
      'final stage EXPOSE uses ${PORT}, which nothing declares: it reads as empty',
      "EXPOSE (none): the manifest's image.port is 3000",
    ]);
  });

  it.each([
    'EXPOSE 3000',
    'EXPOSE   3000',
    // TCP is EXPOSE's default protocol (https://docs.docker.com/reference/dockerfile/#expose),
    // and Copilot reads `3000/tcp` as port 3000 (internal/pkg/docker/dockerfile/file.go, v1.33.2).
    'EXPOSE 3000/tcp',
    'ARG PORT=3000\nEXPOSE ${PORT}',
    'ENV PORT=3000\nEXPOSE $PORT/tcp',
  ])('accepts %s for port 3000', (expose) => {
    const body = RUNTIME_BODY.replace('EXPOSE 3000', expose);
    expect(lint(dockerfile({ body }))).toEqual([]);
  });

  it("compares EXPOSE with the port it is given, the manifest's", () => {
    expect(lintDockerfile(dockerfile(), 3001, '24')).toEqual([
      "EXPOSE 3000: the manifest's image.port is 3001",
    ]);
  });

  it('lists every broken rule at once, in order', () => {
    const text = `FROM node:22\nCOPY . .\nRUN npm ci\nUSER root\nEXPOSE 80\nENTRYPOINT ["npm"]\nCMD ["start"]\n`;
    expect(lint(text)).toEqual([
      'not multi-stage: build in one stage, run in another',
      'final stage runs on "node:22": use node:24-alpine (package.json pins Node 24)',
      'final stage RUN "npm ci": build in the build stage and COPY --from it',
      `final stage copies ". ." from the context: copy only the build stage's output`,
      'final stage USER root is root',
      'CMD ["start"] is not the exec form ["node", ...options, script]: use it, so node receives SIGTERM',
      'ENTRYPOINT set: CMD ["node", ...] alone',
      "EXPOSE 80: the manifest's image.port is 3000",
    ]);
  });
});

describe("the Dockerfile lint of a service, by the manifest's image.build", () => {
  it("prefixes each problem with the Dockerfile's path and wants a .dockerignore in the context", () => {
    const service = manifestService('book-service');
    const folder = scratch();
    const file = 'images/book/Dockerfile';
    const built = withBuild(service, { dockerfile: file, context: 'images' });
    const body = RUNTIME_BODY.replace('EXPOSE 3000', `EXPOSE ${service.port}`);
    folder.write(file, dockerfile({ body, cmd: 'CMD npm start\n' }));
    folder.write('.dockerignore', '*\n');
    expect(lintService(built, folder.root)).toEqual([
      `${file}: CMD npm start is not the exec form ["node", ...options, script]: use it, so node receives SIGTERM`,
      `${file}: no .dockerignore in its build context images`,
    ]);
    folder.write('images/.dockerignore', '*\n');
    folder.write(file, dockerfile({ body }));
    expect(lintService(built, folder.root)).toEqual([]);
  });

  it("holds EXPOSE to the service's port from its manifest", () => {
    const service = manifestService('book-service');
    const folder = scratch();
    const file = service.manifest.image.build.dockerfile;
    folder.write(file, dockerfile({ body: RUNTIME_BODY.replace('EXPOSE 3000', 'EXPOSE 1') }));
    folder.write('.dockerignore', '*\n');
    expect(lintService(withBuild(service, { context: '.' }), folder.root)).toEqual([
      `${file}: EXPOSE 1: the manifest's image.port is ${service.port}`,
    ]);
  });
});

describe("a Dockerfile's final stage", () => {
  it('starts at the last FROM and holds every instruction after it', () => {
    const stage = finalStage(DockerfileParser.parse(dockerfile()));
    expect(stage.map((i) => i.getKeyword())).toEqual([
      'FROM',
      'WORKDIR',
      'COPY',
      'USER',
      'EXPOSE',
      'CMD',
    ]);
    expect(finalStage(DockerfileParser.parse('# only a comment\n'))).toEqual([]);
  });

  it('is the last CMD of the stage given, for the command', () => {
    const stage = DockerfileParser.parse('CMD ["node", "a.mjs"]\nCMD ["node", "b.mjs"]\n');
    expect(nodeCommandIn(stage.getInstructions())).toMatchObject({ script: 'b.mjs' });
    expect(() => nodeCommandIn([])).toThrow('CMD (none) is not the exec form');
    expect(() => nodeCommandOf('CMD ["node", "a.mjs"]\n')).toThrow('CMD (none) is not');
    expect(() => nodeCommandIn(DockerfileParser.parse('CMD\n').getInstructions())).toThrow(
      'CMD (none) is not the exec form',
    );
  });
});

describe("the node command of an image's CMD", () => {
  const command = (cmd: string) => nodeCommandOf(dockerfile({ cmd: `${cmd}\n` }));

  it('reads the JSON array as Docker does: spaces, continued lines, escapes', () => {
    const expected = {
      nodeOptions: ['--enable-source-maps'],
      script: 'server.mjs',
      scriptArgs: [],
    };
    expect(command('CMD   [ "node" , "--enable-source-maps", "server.mjs" ]   ')).toEqual(expected);
    expect(command('CMD ["node", \\\n  "--enable-source-maps", \\\n  "server.mjs"]')).toEqual(
      expected,
    );
    expect(command('CMD ["\\u006eode", "--enable-source-maps", "server.mjs"]')).toEqual(expected);
  });

  it.each([
    ['a JSON string', 'CMD "node server.mjs"'],
    ['a JSON object', 'CMD {"node": "server.mjs"}'],
    ['single quotes (not JSON: Docker runs it through a shell)', "CMD ['node', 'server.mjs']"],
    ['text after the array (shell form to Docker)', 'CMD ["node", "server.mjs"] # main'],
    ['an empty array', 'CMD []'],
    ['a path to node', 'CMD ["/usr/local/bin/node", "server.mjs"]'],
    ['a trailing number', 'CMD ["node", "server.mjs", 1]'],
    ['options only', 'CMD ["node", "--enable-source-maps", "--title=svc"]'],
  ])('refuses %s, quoting the CMD', (_, cmd) => {
    expect(() => command(cmd)).toThrow(
      `CMD ${cmd.slice('CMD '.length)} is not the exec form ["node", ...options, script]`,
    );
  });

  it('keeps the arguments after the script, options among them, for the script', () => {
    expect(command('CMD ["node", "--title=svc", "server.mjs", "--port", "3000"]')).toEqual({
      nodeOptions: ['--title=svc'],
      script: 'server.mjs',
      scriptArgs: ['--port', '3000'],
    });
  });

  // `node --import ./instrument.mjs server.mjs` preloads the module and runs the script: an
  // option of Node's that takes a value reads the next word when not written with `=`
  // (https://nodejs.org/docs/latest-v24.x/api/cli.html, `node --help`).
  it.each([
    ['--import', './instrument.mjs'],
    ['--require', 'dd-trace/init'],
    ['-r', 'dd-trace/init'],
    ['--conditions', 'production'],
    ['-C', 'production'],
    ['--env-file', '.env'],
    ['--title', 'book-service'],
    ['--unhandled-rejections', 'strict'],
    ['--inspect-port', '9230'],
  ])('reads the value of %s from the next word, not as the script', (option, value) => {
    expect(
      command(`CMD ["node", "${option}", "${value}", "--no-warnings", "server.mjs", "a"]`),
    ).toEqual({
      nodeOptions: [option, value, '--no-warnings'],
      script: 'server.mjs',
      scriptArgs: ['a'],
    });
  });

  it('refuses an option whose value is missing: there is no script', () => {
    expect(() => command('CMD ["node", "--enable-source-maps", "--import"]')).toThrow(
      'is not the exec form',
    );
    expect(() => command('CMD ["node", "--import", "server.mjs"]')).toThrow('is not the exec form');
  });

  it("takes the word after -- as the script, leaving -- out of node's options", () => {
    // `--`: the end of node's options, the next argument the script (node --help, Node 24).
    expect(command('CMD ["node", "--no-warnings", "--", "server.mjs", "--", "x"]')).toEqual({
      nodeOptions: ['--no-warnings'],
      script: 'server.mjs',
      scriptArgs: ['--', 'x'],
    });
    expect(command('CMD ["node", "--", "-script.mjs"]')).toMatchObject({
      nodeOptions: [],
      script: '-script.mjs',
    });
    expect(() => command('CMD ["node", "--no-warnings", "--"]')).toThrow('is not the exec form');
  });
});

describe("a service's container command, from its manifest's Dockerfile", () => {
  it('reads the file under the root given, naming the service and file in each refusal', () => {
    const service = manifestService('author-service');
    const folder = scratch();
    const file = service.manifest.image.build.dockerfile;
    const missing = failure(() => containerCommand(service, folder.root));
    expect(missing).toBeInstanceOf(Error);
    expect(missing.message).toBe(
      `${service.name}: ${file} (the manifest's image.build.dockerfile): no such file`,
    );
    folder.write(file, dockerfile({ cmd: 'CMD ["npm", "start"]\n' }));
    expect(() => containerCommand(service, folder.root)).toThrow(
      `${service.name}: ${file}: CMD ["npm", "start"] is not the exec form ["node", ...options, script]`,
    );
    folder.write(file, dockerfile({ cmd: 'CMD ["node", "--import", "./otel.mjs", "main.mjs"]\n' }));
    expect(containerCommand(service, folder.root)).toEqual({
      nodeOptions: ['--import', './otel.mjs'],
      script: 'main.mjs',
      scriptArgs: [],
    });
  });
});
