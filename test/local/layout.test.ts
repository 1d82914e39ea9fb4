// The local emulator's import rules (scripts/local/README.md), checked on every file under
// scripts/local/: each component folder imports only what its README allows, and nothing in
// the emulator imports the deploy machinery (scripts/cloud, scripts/checks).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../scripts/workspace/manifests.ts';

const LOCAL = path.join(repoRoot, 'scripts', 'local');

/** Repo-relative prefixes each part of scripts/local may import (besides its own folder). */
const ALLOWED: Record<string, readonly string[]> = {
  gateway: [
    'scripts/local/alb/load-balancer.ts',
    'scripts/local/http/',
    'scripts/workspace/',
    'scripts/cli/',
  ],
  // ELB's success-code matcher: the manifests are checked by it, the ALB shows codes by it.
  alb: ['scripts/local/http/', 'scripts/workspace/http-codes.ts'],
  ecs: ['scripts/local/alb/target-group.ts', 'scripts/workspace/', 'scripts/cli/'],
  http: [],
  // The console sees the stack through what it returns (handle.ts, events.ts), and reads the
  // ALB's rules to explain an answer.
  console: [
    'scripts/local/handle.ts',
    'scripts/local/events.ts',
    'scripts/local/context.ts',
    'scripts/local/route-table.ts',
    'scripts/local/alb/load-balancer.ts',
    'scripts/local/http/',
    'scripts/workspace/',
  ],
  // stack.ts, index.ts, line-sink.ts: the composition.
  '.': [
    'scripts/local/',
    'scripts/workspace/',
    'scripts/cli/',
    // Which of its modules tooling may use is the architecture test's business.
    'services/common/src/',
  ],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(dir, file));
}

/** Relative imports of one file, resolved to repo-relative paths. */
function relativeImports(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)];
  return specifiers.map((m) =>
    path.relative(repoRoot, path.resolve(path.dirname(file), m[1] as string)),
  );
}

function violations(file: string, text: string): string[] {
  const relative = path.relative(LOCAL, file);
  const part = relative.includes(path.sep) ? (relative.split(path.sep)[0] as string) : '.';
  const own = part === '.' ? 'scripts/local/' : `scripts/local/${part}/`;
  const allowed = ALLOWED[part];
  if (allowed === undefined) return [`${relative}: folder ${part} has no import rule`];
  return relativeImports(file, text)
    .filter((target) => !target.startsWith(own) || part === '.')
    .filter((target) => !allowed.some((prefix) => target.startsWith(prefix)))
    .map((target) => `scripts/local/${relative} imports ${target}`);
}

describe('scripts/local import rules', () => {
  it('every file imports only what its folder may', () => {
    const found = sources(LOCAL).flatMap((file) => violations(file, readFileSync(file, 'utf8')));
    expect(found).toEqual([]);
  });

  it('catches a forbidden import (the check cannot pass vacuously)', () => {
    const file = path.join(LOCAL, 'alb', 'load-balancer.ts');
    expect(violations(file, "import { Scheduler } from '../ecs/scheduler.ts';")).toEqual([
      'scripts/local/alb/load-balancer.ts imports scripts/local/ecs/scheduler.ts',
    ]);
    const stack = path.join(LOCAL, 'stack.ts');
    expect(violations(stack, "import { x } from '../cloud/aws.ts';")).toEqual([
      'scripts/local/stack.ts imports scripts/cloud/aws.ts',
    ]);
    const gateway = path.join(LOCAL, 'gateway', 'http-api.ts');
    expect(
      violations(gateway, "import type { Replica } from '../ecs/supervisor.ts';"),
    ).toHaveLength(1);
  });
});
