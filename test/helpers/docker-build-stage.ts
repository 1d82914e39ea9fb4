// Runs a Dockerfile's build stage as far as a machine without Docker allows: the build context
// is filtered by .dockerignore, COPY places files as Docker does, WORKDIR moves, and each RUN
// runs through `sh -c` with only Node (the project's pinned one, as the `node:<major>` image
// has) and npm on PATH. What cannot be reproduced: the Alpine base (musl) and the cache mount.
// Docker semantics followed: https://docs.docker.com/build/concepts/context/#dockerignore-files
// (last matching pattern wins, `!` re-includes, a pattern matching a folder covers its
// contents) and https://docs.docker.com/reference/dockerfile/#copy (a folder's contents are
// copied, not the folder; several sources need a folder destination).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';

/** True when `relPath` (posix, relative to the context) is sent to the builder. */
export function inContext(relPath: string, ignoreLines: readonly string[]): boolean {
  const prefixes = relPath.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const raw of ignoreLines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    const pattern = path.posix.normalize(negated ? line.slice(1) : line).replace(/^\/+/, '');
    if (prefixes.some((prefix) => path.matchesGlob(prefix, pattern))) included = negated;
  }
  return included;
}

function filesUnder(root: string, rel: string): string[] {
  const full = path.join(root, rel);
  if (!statSync(full).isDirectory()) return [rel];
  return readdirSync(full).flatMap((name) => filesUnder(root, path.posix.join(rel, name)));
}

function copy(context: string, ignore: readonly string[], args: string[], into: string): void {
  const dest = args.at(-1) as string;
  const sources = args.slice(0, -1);
  const destIsDir = sources.length > 1 || dest.endsWith('/');
  for (const source of sources) {
    const kept = existsSync(path.join(context, source))
      ? filesUnder(context, source).filter((file) => inContext(file, ignore))
      : [];
    if (kept.length === 0) throw new Error(`COPY ${source}: not found in the build context`);
    const isDir = statSync(path.join(context, source)).isDirectory();
    for (const file of kept) {
      const relative = isDir ? path.posix.relative(source, file) : path.posix.basename(file);
      const target = destIsDir || isDir ? path.join(into, dest, relative) : path.join(into, dest);
      mkdirSync(path.dirname(target), { recursive: true });
      cpSync(path.join(context, file), target);
    }
  }
}

/**
 * The machine's environment (its CA and network settings reach npm as a builder's would), less
 * what `npm test` adds (npm_* variables, node_modules/.bin on PATH): on PATH only the pinned
 * Node, as the `node:<major>` image has it, and the system's npm.
 */
function buildEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith('npm_')),
  );
  env.PATH = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':');
  return env;
}

/**
 * Runs the first stage of `dockerfile` with `context` as the build context; `/` of the image is
 * `root`. Returns the final WORKDIR, mapped under `root`.
 */
export function runBuildStage(dockerfile: string, context: string, root: string): string {
  const ignorePath = path.join(context, '.dockerignore');
  const ignore = existsSync(ignorePath) ? readFileSync(ignorePath, 'utf8').split('\n') : [];
  const parsed = DockerfileParser.parse(readFileSync(dockerfile, 'utf8'));
  const secondFrom = parsed.getFROMs()[1]?.getRange().start.line ?? Number.POSITIVE_INFINITY;
  let workdir = root;
  for (const instruction of parsed.getInstructions()) {
    if (instruction.getRange().start.line >= secondFrom) break;
    const keyword = instruction.getKeyword();
    const args = instruction.getArguments().map((a) => a.getValue());
    if (keyword === 'WORKDIR') {
      workdir = path.join(root, args[0] as string);
      mkdirSync(workdir, { recursive: true });
    } else if (keyword === 'COPY') {
      copy(context, ignore, args, workdir);
    } else if (keyword === 'RUN') {
      const command = args.filter((a) => !a.startsWith('--mount=')).join(' ');
      execFileSync('sh', ['-c', command], {
        cwd: workdir,
        env: buildEnv(),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    }
  }
  return workdir;
}
