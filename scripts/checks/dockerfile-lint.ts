// Lints every service's Dockerfile: syntax with dockerfile-utils (the VS Code Docker
// linter), then the rules this project's images must keep, which a syntax linter cannot know:
// multi-stage, an Alpine runtime of the Node major the project pins, only the bundle in the final image, a non-root user,
// exec-form `CMD ["node", ...]`, and `EXPOSE` equal to the manifest's port.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type Dockerfile, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { nodeTarget } from '../cloud/bundle.ts';
import { finalStage, nodeCommandIn } from '../workspace/container-command.ts';
import type { Service } from '../workspace/manifests.ts';
import { expandVariables } from './dockerfile-variables.ts';

/**
 * Runtime images of Node `major`: the official Alpine image. Not distroless: its entrypoint is
 * node, so its CMD is the script alone (distroless nodejs/README.md), never `CMD ["node", ...]`.
 */
function runtimeImage(major: string): RegExp {
  return new RegExp(`^node:${major}(\\.\\d+)*-alpine[\\d.]*(@sha256:[0-9a-f]{64})?$`);
}

/**
 * `image` named as Docker Hub's official images are named when short: `docker.io/library/node`,
 * `index.docker.io/node` and `library/node` are all `node` (github.com/distribution/reference,
 * normalize.go: docker.io is the default domain, index.docker.io its legacy name, library/ the
 * official images' path).
 */
function shortName(image: string): string {
  return image.replace(/^(?:(?:index\.)?docker\.io\/)?(?:library\/)?/, '');
}

/**
 * An instruction's text as the build reads it, its variables given their values where it
 * stands (for a FROM: the ARGs before the first FROM, with their defaults, since the manifest's
 * image.build passes no build arguments), with what could not be read said.
 */
function expanded(dockerfile: Dockerfile, instruction: Instruction, text: string) {
  const line = instruction.getRange().start.line;
  const declared = dockerfile.getAvailableVariables(line);
  // dockerfile-ast gives an ARG declared with no value (nor a global default) as undefined.
  const lookup = (name: string) =>
    dockerfile.resolveVariable(name, line) ?? (declared.includes(name) ? null : undefined);
  const { text: value, undeclared, unknown } = expandVariables(text, lookup);
  const where = `final stage ${instruction.getKeyword()}`;
  const problems = [
    ...undeclared.map(
      (name) => `${where} uses \${${name}}, which nothing declares: it reads as empty`,
    ),
    ...unknown.map((form) => `${where} uses ${form}, a substitution this lint does not read`),
  ];
  return { value, problems };
}

/** The final stage's user, command and port: how the container runs. */
function runtimeProblems(
  dockerfile: Dockerfile,
  keyword: (k: string) => Instruction[],
  expectedPort: number,
): string[] {
  const problems: string[] = [];
  const userInstruction = keyword('USER').at(-1);
  const written = userInstruction?.getArgumentsContent()?.trim();
  if (!userInstruction || !written) {
    problems.push('final stage has no USER: the container would run as root');
  } else {
    const user = expanded(dockerfile, userInstruction, written);
    problems.push(...user.problems);
    const shown = user.value === written ? written : `${written} (read as "${user.value}")`;
    // A user that Go's strconv.Atoi reads as a number is that uid, so `00` and `+0` are root
    // (GetExecUser in github.com/moby/sys/user, user.go, which runc runs the container as); no
    // user at all (a variable read as empty) is the image's default, root.
    if (/^(root|[+-]?0+)?(:|$)/.test(user.value))
      problems.push(`final stage USER ${shown} is root`);
  }

  try {
    nodeCommandIn(keyword('CMD'));
  } catch (error) {
    problems.push(`${(error as Error).message}: use it, so node receives SIGTERM`);
  }
  if (keyword('ENTRYPOINT').length > 0) problems.push('ENTRYPOINT set: CMD ["node", ...] alone');

  const exposed = keyword('EXPOSE').flatMap((e) => {
    // EXPOSE takes variables too (Dockerfile reference, "Environment replacement").
    const port = expanded(dockerfile, e, e.getArgumentsContent() ?? '');
    problems.push(...port.problems);
    return port.value.split(/\s+/);
  });
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

  const written = finalFrom.getImage() ?? '';
  const image = expanded(dockerfile, finalFrom, written);
  problems.push(...image.problems);
  if (!runtimeImage(nodeMajor).test(shortName(image.value))) {
    const shown = image.value === written ? '' : ` (read as "${image.value}")`;
    problems.push(
      `final stage runs on "${written}"${shown}: use node:${nodeMajor}-alpine (package.json pins Node ${nodeMajor})`,
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

  problems.push(...runtimeProblems(dockerfile, keyword, expectedPort));
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
