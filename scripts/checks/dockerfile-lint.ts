// Lints every service's Dockerfile: syntax with dockerfile-utils (the VS Code Docker
// linter), then the rules this project's images must keep, which a syntax linter cannot know:
// multi-stage, an Alpine runtime of the Node major the project pins, only the bundle in the final image, a non-root user,
// exec-form `CMD ["node", ...]`, and `EXPOSE` equal to the manifest's port.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { nodeTarget } from '../cloud/bundle.ts';
import { finalStage, nodeCommandIn } from '../workspace/container-command.ts';
import type { Service } from '../workspace/manifests.ts';

/**
 * Runtime images of Node `major`: the official Alpine image. Not distroless: its entrypoint is
 * node, so its CMD is the script alone (distroless nodejs/README.md), never `CMD ["node", ...]`.
 */
function runtimeImage(major: string): RegExp {
  return new RegExp(`^node:${major}(\\.\\d+)*-alpine[\\d.]*(@sha256:[0-9a-f]{64})?$`);
}

/** The final stage's user, command and port: how the container runs. */
function runtimeProblems(keyword: (k: string) => Instruction[], expectedPort: number): string[] {
  const problems: string[] = [];
  const user = keyword('USER').at(-1)?.getArgumentsContent()?.trim();
  if (!user) problems.push('final stage has no USER: the container would run as root');
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`final stage USER ${user} is root`);

  try {
    nodeCommandIn(keyword('CMD'));
  } catch (error) {
    problems.push(`${(error as Error).message}: use it, so node receives SIGTERM`);
  }
  if (keyword('ENTRYPOINT').length > 0) problems.push('ENTRYPOINT set: CMD ["node", ...] alone');

  const exposed = keyword('EXPOSE').flatMap((e) => (e.getArgumentsContent() ?? '').split(/\s+/));
  // TCP is EXPOSE's default protocol (Dockerfile reference, EXPOSE): `3000/tcp` is port 3000.
  const ports = exposed.map((p) => p.replace(/\/tcp$/, ''));
  if (ports.join(' ') !== String(expectedPort)) {
    problems.push(
      `EXPOSE ${exposed.join(' ') || '(none)'}: the manifest's image.port is ${expectedPort}`,
    );
  }
  return problems;
}

export function lintDockerfile(
  text: string,
  expectedPort: number,
  nodeMajor = nodeTarget().slice('node'.length),
): string[] {
  const problems = validate(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  const dockerfile = DockerfileParser.parse(text);
  const froms = dockerfile.getFROMs();
  if (froms.length < 2) problems.push('not multi-stage: build in one stage, run in another');
  const finalFrom = froms.at(-1);
  if (!finalFrom) return [...problems, 'no FROM'];

  const image = finalFrom.getImage() ?? '';
  if (!runtimeImage(nodeMajor).test(image)) {
    problems.push(
      `final stage runs on "${image}": use node:${nodeMajor}-alpine (package.json pins Node ${nodeMajor})`,
    );
  }
  const stage = finalStage(dockerfile);
  const keyword = (k: string) => stage.filter((i) => i.getKeyword() === k);

  for (const instruction of [...keyword('RUN'), ...keyword('ADD')]) {
    problems.push(
      `final stage ${instruction.getKeyword()} "${instruction.getArgumentsContent()}": build in the build stage and COPY --from it`,
    );
  }
  for (const copy of keyword('COPY')) {
    if (!/--from=/.test(copy.getTextContent())) {
      problems.push(
        `final stage copies "${copy.getArgumentsContent()}" from the context: copy only the build stage's output`,
      );
    }
  }

  problems.push(...runtimeProblems(keyword, expectedPort));
  return problems;
}

export function lintService(service: Service, root: string): string[] {
  const file = service.manifest.image.build.dockerfile;
  const context = path.join(root, service.manifest.image.build.context);
  const problems = lintDockerfile(readFileSync(path.join(root, file), 'utf8'), service.port).map(
    (p) => `${file}: ${p}`,
  );
  if (!existsSync(path.join(context, '.dockerignore'))) {
    problems.push(
      `${file}: no .dockerignore in its build context ${service.manifest.image.build.context}`,
    );
  }
  return problems;
}
