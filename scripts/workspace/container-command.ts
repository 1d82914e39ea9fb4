// What a service's container runs: the exec-form `CMD ["node", ...]` of its Dockerfile's final
// stage, split into the options Node is given and the script. The Dockerfile is the one place a
// Node or V8 option of a service is set: the local ECS tasks and the bench's service row start
// the service with the same options, so an option the image gives Node is in force (and checked
// by the Node that runs it) wherever the service runs here, not only in the container.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { unreadable } from './files.ts';
import type { Service } from './manifests.ts';

export interface ContainerCommand {
  /** What `node` is given before the script: `--no-memory-reducer`. */
  nodeOptions: string[];
  /** The script the image runs: `server.mjs`, the bundle. */
  script: string;
  /** Arguments after the script. */
  scriptArgs: string[];
}

/** The instructions of a Dockerfile's final stage (from its last FROM), or none without one. */
export function finalStage(text: string): Instruction[] {
  const dockerfile = DockerfileParser.parse(text);
  const finalFrom = dockerfile.getFROMs().at(-1);
  if (!finalFrom) return [];
  const finalLine = finalFrom.getRange().start.line;
  return dockerfile.getInstructions().filter((i) => i.getRange().start.line >= finalLine);
}

/** The final stage's last CMD as node options, script and arguments (`nodeCommandIn`). */
export function nodeCommandOf(text: string): ContainerCommand {
  return nodeCommandIn(finalStage(text));
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
  let text: string;
  try {
    text = readFileSync(path.join(root, file), 'utf8');
  } catch (error) {
    const why = unreadable(error);
    throw new Error(`${service.name}: ${file} (the manifest's image.build.dockerfile): ${why}`);
  }
  try {
    return nodeCommandOf(text);
  } catch (error) {
    throw new Error(`${service.name}: ${file}: ${(error as Error).message}`);
  }
}
