// Shared by the local-stack tests (and, re-exported, the reliability tests): the stack's log
// with timestamps, a stack per suite, `npm start` as a user runs it, and a workspace with a
// third service derived from this repository's own. HTTP clients and waiting: test/helpers/.
import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { stringify } from 'yaml';
import {
  type LocalStack,
  type LocalStackOptions,
  startLocalStack,
} from '../../scripts/local/index.ts';
import { loadWorkspace, repoRoot } from '../../scripts/workspace/manifests.ts';
import {
  HTTP_API_TEMPLATE,
  loadTemplate,
  resourcesOfType,
} from '../../scripts/workspace/template.ts';

// ---------------------------------------------------------------- the stack's log

export interface StackLog {
  /** Pass as `startLocalStack({ log })`. */
  log: (line: string) => void;
  /** Every line with the `performance.now()` it arrived at (the stack runs in this process). */
  lines: { at: number; line: string }[];
  /** When a line containing `text` first arrived after `since`, if it has. */
  when(text: string, since?: number): number | undefined;
}

export function stackLog(): StackLog {
  const lines: { at: number; line: string }[] = [];
  return {
    lines,
    log: (line) => {
      lines.push({ at: performance.now(), line });
    },
    when: (text, since = 0) => lines.find((l) => l.at >= since && l.line.includes(text))?.at,
  };
}

// ---------------------------------------------------------------- a stack per suite

/** Stage throttling raised out of the way: these tests measure the path, not the stage's 429s. */
export const NO_THROTTLING = { ThrottlingRateLimit: 1_000_000, ThrottlingBurstLimit: 1_000_000 };

/** Every replica process the stack started, from its `started: pid N` log lines. */
export function startedPids(log: StackLog): number[] {
  return log.lines
    .map((l) => /started: pid (\d+)/.exec(l.line)?.[1])
    .filter((pid): pid is string => pid !== undefined)
    .map(Number);
}

/** Every pid is gone: kill(pid, 0) throws ESRCH for a process that does not exist. */
export function livePids(pids: readonly (number | undefined)[]): number[] {
  return pids.filter((pid): pid is number => {
    if (pid === undefined) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * This repository's stack for one describe block: started on ephemeral ports before its
 * tests, replicas' output dropped, the stage unthrottled (options override any of these);
 * stopped after them, asserting that every replica process it started has exited.
 */
export function stackForSuite(options: LocalStackOptions = {}): {
  log: StackLog;
  readonly stack: LocalStack;
} {
  const log = stackLog();
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    stack = await startLocalStack({
      apiPort: 0,
      replicaOutput: 'ignore',
      parameters: NO_THROTTLING,
      log: log.log,
      ...options,
    });
  });
  afterAll(async () => {
    await stack?.stop();
    expect(livePids(startedPids(log))).toEqual([]);
  });
  return {
    log,
    get stack() {
      if (stack === undefined) throw new Error('the stack has not started');
      return stack;
    },
  };
}

// ---------------------------------------------------------------- npm start

export interface NpmStart {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr interleaved as they came. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

/**
 * `npm start` arguments for a stack a test drives: free ports, fast health checks, no access
 * log or per-request lines.
 */
export const QUIET_STACK_ARGS: readonly string[] = [
  '--port',
  '0',
  '--console-port',
  '0',
  '--health-check-scale',
  '0.1',
  '--quiet',
  '--no-access-log',
];

/**
 * `npm start -- <args>` in this repository, as a user would run it. `group`: in a process
 * group of its own, as a terminal runs a command, so a test can signal the whole group as
 * Ctrl-C does (`process.kill(-pid, 'SIGINT')`).
 */
export function npmStart(
  args: string[],
  env: Record<string, string> = {},
  options: { group?: boolean } = {},
): NpmStart {
  const started = performance.now();
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.group ?? false,
  });
  let text = '';
  const listeners = new Set<() => void>();
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      for (const listener of listeners) listener();
    });
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>(
    (resolve) =>
      child.once('close', (code, signal) =>
        resolve({ code, signal, ms: performance.now() - started }),
      ),
  );
  return {
    child,
    output: () => text,
    exited,
    waitFor: (pattern, timeoutMs) =>
      new Promise((resolve, reject) => {
        const look = () => {
          const match = pattern.exec(text);
          if (match === null) return;
          cleanup();
          resolve(match);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${pattern} in ${timeoutMs} ms; output:\n${text}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(look);
        };
        listeners.add(look);
        look();
      }),
  };
}

/**
 * Whether a process is gone: no such pid, or a zombie (it has exited; its new parent, here a
 * pid 1 that does not reap, has not collected it). kill(pid, 0) alone counts zombies alive.
 */
export function processGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'local');
export const THIRD_SERVICE = 'slow-service';

/**
 * A temporary workspace: this repository's manifests and services, plus the fixture's third
 * service, and the addon template with that service's routes added the way the existing
 * services' routes are written (cloned from them, path swapped). Returns its root.
 */
export function workspaceWithThirdService(): { root: string; remove: () => void } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'local-stack-'));
  cpSync(path.join(repoRoot, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  cpSync(path.join(FIXTURE, 'copilot'), path.join(root, 'copilot'), { recursive: true });
  mkdirSync(path.join(root, 'services'));
  for (const service of loadWorkspace(repoRoot).services) {
    symlinkSync(service.sourceDir, path.join(root, 'services', path.basename(service.sourceDir)));
  }
  symlinkSync(path.join(repoRoot, 'services', 'common'), path.join(root, 'services', 'common'));
  symlinkSync(path.join(FIXTURE, THIRD_SERVICE), path.join(root, 'services', THIRD_SERVICE));

  const workspace = loadWorkspace(root);
  const third = workspace.services.find((s) => s.name === THIRD_SERVICE);
  const model = workspace.services.find((s) => s.name !== THIRD_SERVICE);
  if (!third || !model) throw new Error('the fixture workspace lacks its services');
  writeTemplateWithRoutesFor(root, model.pathPrefix, third.pathPrefix);
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Writes `<root>/addons/http-api.yml`: this repository's template plus routes for `newPrefix`,
 * cloned from the routes of `modelPrefix` (path swapped), the way a third service's routes
 * would be written.
 */
export function writeTemplateWithRoutesFor(
  root: string,
  modelPrefix: string,
  newPrefix: string,
): void {
  const template = loadTemplate(HTTP_API_TEMPLATE);
  for (const [id, route] of resourcesOfType(template, 'AWS::ApiGatewayV2::Route')) {
    const key = String(route.Properties?.RouteKey);
    if (!key.includes(modelPrefix)) continue;
    template.Resources[`Fixture${id}`] = {
      ...route,
      Properties: { ...route.Properties, RouteKey: key.replace(modelPrefix, newPrefix) },
    };
  }
  mkdirSync(path.join(root, 'addons'));
  writeFileSync(path.join(root, 'addons', 'http-api.yml'), stringify(template));
}
