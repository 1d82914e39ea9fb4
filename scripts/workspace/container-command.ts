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
  const words: string[] =
    Array.isArray(argv) && argv.every((a) => typeof a === 'string') ? argv : [];
  const optionsEnd = endOfOptions(words);
  const scriptAt = words[optionsEnd] === '--' ? optionsEnd + 1 : optionsEnd;
  if (words[0] !== 'node' || scriptAt >= words.length) {
    throw new Error(`CMD ${cmd || '(none)'} is not the exec form ["node", ...options, script]`);
  }
  return {
    nodeOptions: words.slice(1, optionsEnd),
    script: words[scriptAt] as string,
    scriptArgs: words.slice(scriptAt + 1),
  };
}

/**
 * Node's options that read their value from the next word when written without `=`
 * (`--import ./otel.mjs`): those `node --help` of Node 24 shows with a value. V8's options take
 * a value only after `=`; `--inspect` and its kin only after `=` too.
 */
const TAKES_VALUE = new Set(
  `-C --conditions -e --eval -p --print -r --require --import --loader --experimental-loader
  --allow-fs-read --allow-fs-write --build-snapshot-config --cpu-prof-dir --cpu-prof-interval
  --cpu-prof-name --diagnostic-dir --disable-proto --disable-warning --dns-result-order
  --env-file --env-file-if-exists --experimental-config-file --experimental-package-map
  --experimental-sea-config --experimental-test-tag-filter --heap-prof-dir --heap-prof-interval
  --heap-prof-name --heapsnapshot-near-heap-limit --heapsnapshot-signal --icu-data-dir
  --input-type --debug-port --inspect-port --inspect-publish-uid --localstorage-file
  --max-http-header-size --max-old-space-size-percentage
  --network-family-autoselection-attempt-timeout --openssl-config --redirect-warnings
  --report-directory --report-dir --report-filename --report-signal --run --secure-heap
  --secure-heap-min --snapshot-blob --test-concurrency --test-coverage-branches
  --test-coverage-exclude --test-coverage-functions --test-coverage-include
  --test-coverage-lines --test-global-setup --experimental-test-isolation --test-isolation
  --test-name-pattern --test-random-seed --test-reporter --test-reporter-destination
  --test-rerun-failures --test-shard --test-skip-pattern --test-timeout --title
  --tls-cipher-list --tls-keylog --trace-event-categories --trace-event-file-pattern
  --trace-require-module --unhandled-rejections --use-largepages --v8-pool-size
  --watch-kill-signal --watch-path`.split(/\s+/),
);

/**
 * Where node's options end in `words` (`node`, then its options): at the first word that is
 * neither an option nor an option's value, which is the script, or at `--`, after which the next
 * word is the script whatever it looks like (node --help).
 */
function endOfOptions(words: readonly string[]): number {
  let at = 1;
  while (words[at] !== '--' && words[at]?.startsWith('-')) {
    at += TAKES_VALUE.has(words[at] as string) ? 2 : 1;
  }
  return at;
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
