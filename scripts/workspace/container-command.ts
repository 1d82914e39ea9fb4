// What a service's container runs: the exec-form `CMD ["node", ...]` of its Dockerfile's final
// stage, split into the options Node is given and the script. The Dockerfile is the one place a
// Node or V8 option of a service is set: the local ECS tasks and the bench's service row start
// the service with the same options, so an option the image gives Node is in force (and checked
// by the Node that runs it) wherever the service runs here, not only in the container.
import path from 'node:path';
import { type Dockerfile, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { readText } from './files.ts';
import type { Service } from './manifests.ts';

export interface ContainerCommand {
  /** What `node` is given before the script: `--stack-trace-limit=7`, say. */
  nodeOptions: string[];
  /** The script the image runs: `server.mjs`, the bundle. */
  script: string;
  /** Arguments after the script. */
  scriptArgs: string[];
}

/** A parsed Dockerfile's final stage (from its last FROM): its instructions, or none. */
export function finalStage(dockerfile: Dockerfile): Instruction[] {
  const finalFrom = dockerfile.getFROMs().at(-1);
  if (!finalFrom) return [];
  const finalLine = finalFrom.getRange().start.line;
  return dockerfile.getInstructions().filter((i) => i.getRange().start.line >= finalLine);
}

/** The final stage's last CMD as node options, script and arguments (`nodeCommandIn`). */
export function nodeCommandOf(text: string): ContainerCommand {
  return nodeCommandIn(finalStage(DockerfileParser.parse(text)));
}

/**
 * The last CMD of `stage` (a Dockerfile stage's instructions) as node options, script and
 * arguments. Throws when it is not the exec form `["node", ...options, script, ...args]` (the
 * shell form would put a shell, not node, in front of SIGTERM; an image without a CMD of its
 * own inherits the base image's).
 */
export function nodeCommandIn(stage: readonly Instruction[]): ContainerCommand {
  const cmd =
    stage
      .filter((i) => i.getKeyword() === 'CMD')
      .at(-1)
      ?.getArgumentsContent()
      ?.trim() ?? '';
  let argv: unknown;
  try {
    argv = JSON.parse(cmd);
  } catch {
    argv = undefined;
  }
  const words = Array.isArray(argv) && argv.every((a) => typeof a === 'string') ? argv : [];
  const scriptAt = words.findIndex((word, i) => i > 0 && !word.startsWith('-'));
  if (words[0] !== 'node' || scriptAt < 0) {
    throw new Error(`CMD ${cmd || '(none)'} is not the exec form ["node", ...options, script]`);
  }
  return {
    nodeOptions: words.slice(1, scriptAt),
    script: words[scriptAt] as string,
    scriptArgs: words.slice(scriptAt + 1),
  };
}

/** The command of `service`'s image, read from its Dockerfile under `root`. */
export function containerCommand(service: Service, root: string): ContainerCommand {
  const file = service.manifest.image.build.dockerfile;
  const shown = `${service.name}: ${file} (the manifest's image.build.dockerfile)`;
  const text = readText(path.join(root, file), shown, (message) => new Error(message));
  try {
    return nodeCommandOf(text);
  } catch (error) {
    throw new Error(`${service.name}: ${file}: ${(error as Error).message}`);
  }
}
